// Ewald electrostatics of the charge models at fixed charges (docs/charges.md#ewald-summation),
// every structure of a batch with its own k-vectors.
//
//   nep_ewald_structure_factor(n_k, k_system, kx, ky, kz, offsets, positions,
//                              charge, s_real, s_imag)
//       one thread per k-vector: S(k) = sum_j q_j e^{-i k.r_j} over the atoms
//       of the k-vector's structure
//   nep_ewald_reciprocal(N, system_index, k_offsets, kx, ky, kz, k_weight,
//                        s_real, s_imag, positions, charge, alpha, energy,
//                        force, virial, potential)
//       one thread per atom, over its structure's k-vectors
//   nep_ewald_real_space(<pairs>, charge, alpha, energy, force, virial, potential)
//       charge_mode 1 only: the erfc term over the radial list and the self term
//
// Layouts (N atoms, S structures, K k-vectors of all structures together):
//   k-vectors of structure s are k_offsets[s] .. k_offsets[s+1]-1 (half space,
//   from gpunep.engine.kspace.kvectors); k_system (K) their structure;
//   kx, ky, kz (K) double (1/Å); k_weight (K) double G(k) = (4 pi / V) e^{-k^2/4 alpha^2} / k^2;
//   offsets (S + 1) int, system_index (N) int; positions (N, 3) double;
//   charge (N) double, the neutralised charges; s_real, s_imag (K) double.
// energy (N), force (3, N), virial (9, N, [a * 3 + b]) are added to;
// potential (N) = D_i = dE/dq_i is written by the reciprocal kernel and added
// to by the real-space kernel, so the reciprocal kernel runs first.
//
// Per-atom splits (docs/charges.md#reciprocal-space): reciprocal E_i = K_C q_i sum_k G Re(S e^{ik.r_i}),
// real-space pair terms half to each atom.
#include "nep_pairs.cuh"

#define NEP_K_C 14.399645  // eV Å / e^2 (GPUMD's Coulomb constant)
#define NEP_TWO_PI 6.283185307179586476925
#define NEP_TWO_OVER_SQRT_PI 1.128379167095512573896


// cos and sin of a phase k.r in the build's precision. The phase (up to a few
// hundred radians in large cells) is reduced to [-pi, pi] in double first, so
// that a float32 build loses no digits to the argument's size.
__device__ __forceinline__ void nep_phase(double phase, real& c, real& s)
{
  const double reduced = phase - NEP_TWO_PI * rint(phase * (1.0 / NEP_TWO_PI));
  c = nep_cos((real)reduced);
  s = nep_sin((real)reduced);
}

extern "C" __global__ void nep_ewald_structure_factor(
  int n_k,
  const int* __restrict__ k_system,
  const double* __restrict__ kx,
  const double* __restrict__ ky,
  const double* __restrict__ kz,
  const int* __restrict__ offsets,
  const double* __restrict__ positions,
  const double* __restrict__ charge,
  double* __restrict__ s_real,
  double* __restrict__ s_imag)
{
  const int k = nep_thread_index();
  if (k >= n_k) return;
  const int s = k_system[k];
  const double k0 = kx[k], k1 = ky[k], k2 = kz[k];
  double sr = 0.0, si = 0.0;
  for (int j = offsets[s]; j < offsets[s + 1]; ++j) {
    real c, sn;
    nep_phase(k0 * positions[3LL * j] + k1 * positions[3LL * j + 1] + k2 * positions[3LL * j + 2], c, sn);
    sr += charge[j] * (double)c;
    si -= charge[j] * (double)sn;
  }
  s_real[k] = sr;
  s_imag[k] = si;
}

extern "C" __global__ void nep_ewald_reciprocal(
  int N,
  const int* __restrict__ system_index,
  const int* __restrict__ k_offsets,
  const double* __restrict__ kx,
  const double* __restrict__ ky,
  const double* __restrict__ kz,
  const double* __restrict__ k_weight,
  const double* __restrict__ s_real,
  const double* __restrict__ s_imag,
  const double* __restrict__ positions,
  const double* __restrict__ charge,
  double alpha,
  double* __restrict__ energy,
  double* __restrict__ force,
  double* __restrict__ virial,
  double* __restrict__ potential)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  const int s = system_index[i];
  const double x = positions[3LL * i], y = positions[3LL * i + 1], z = positions[3LL * i + 2];
  const double inv_4a2 = 1.0 / (4.0 * alpha * alpha);
  double sum = 0.0;                                  // sum_k G Re(S e^{ik.r_i})
  double f[3] = {0.0, 0.0, 0.0};                     // sum_k G Im(S e^{ik.r_i}) k
  double w[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  for (int k = k_offsets[s]; k < k_offsets[s + 1]; ++k) {
    const double kv[3] = {kx[k], ky[k], kz[k]};
    real c, sn;
    nep_phase(kv[0] * x + kv[1] * y + kv[2] * z, c, sn);
    const double re = s_real[k] * (double)c - s_imag[k] * (double)sn;
    const double im = s_real[k] * (double)sn + s_imag[k] * (double)c;
    const double g = k_weight[k];
    const double ksq = kv[0] * kv[0] + kv[1] * kv[1] + kv[2] * kv[2];
    const double rg = re * g;
    // dE/d eps_ab of G|S|^2: delta_ab - 2 (1/(4 alpha^2) + 1/k^2) k_a k_b (docs/charges.md#reciprocal-space)
    const double strain = 2.0 * (inv_4a2 + 1.0 / ksq);
    sum += rg;
    for (int a = 0; a < 3; ++a) {
      f[a] += g * im * kv[a];
      for (int b = 0; b < 3; ++b) w[a * 3 + b] -= rg * strain * kv[a] * kv[b];
    }
  }
  const double qi = charge[i];
  energy[i] += NEP_K_C * qi * sum;
  potential[i] = 2.0 * NEP_K_C * sum;
  for (int a = 0; a < 3; ++a) {
    force[(long long)a * N + i] += 2.0 * NEP_K_C * qi * f[a];
    w[a * 3 + a] += sum;
  }
  for (int k = 0; k < 9; ++k) virial[(long long)k * N + i] += NEP_K_C * qi * w[k];
}

extern "C" __global__ void nep_ewald_real_space(
  NEP_PAIR_PARAMS,
  const double* __restrict__ charge,
  double alpha,
  double* __restrict__ energy,
  double* __restrict__ force,
  double* __restrict__ virial,
  double* __restrict__ potential)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  const NepCenter c = atoms.center(i);
  const real a = (real)alpha;
  const real two_a_sqrtpi = (real)(NEP_TWO_OVER_SQRT_PI * alpha);
  const real qi = (real)charge[i];
  double e = 0.0, d = 0.0;
  double f[3] = {0.0, 0.0, 0.0};
  double w[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  const NepList list = nep_list(radial, i);
  for (int slot = 0; slot < list.count; ++slot) {
    const long long idx = list.entry(slot);
    const int j = radial.neighbor(idx);
    const real qj = (real)charge[j];
    real r12[3];
    const real r = nep_pair(c, atoms, radial, idx, j, r12);
    const real rsq = r12[0] * r12[0] + r12[1] * r12[1] + r12[2] * r12[2];
    const real screened = nep_erfc(a * r) / r;
    e += (double)((real)0.5 * qi * qj * screened);
    d += (double)(qj * screened);
    // f_ij = d(1/2 K_C q_i q_j erfc(alpha r)/r)/dr_ij = c r_ij and f_ji = -f_ij, so
    // F_i += f_ij - f_ji = 2 c r_ij and W_i += r_ij (x) f_ji = -c r_ij (x) r_ij
    const real cf = (real)(-0.5) * qi * qj * (screened + two_a_sqrtpi * nep_exp(-a * a * rsq)) / rsq;
    for (int p = 0; p < 3; ++p) {
      f[p] += (double)((real)2 * cf * r12[p]);
      for (int q = 0; q < 3; ++q) w[p * 3 + q] -= (double)(cf * r12[p] * r12[q]);
    }
  }
  // self term -alpha/sqrt(pi) q_i^2 and its derivative -2 alpha/sqrt(pi) q_i
  const double self = NEP_TWO_OVER_SQRT_PI * alpha;
  energy[i] += NEP_K_C * (e - 0.5 * self * charge[i] * charge[i]);
  potential[i] += NEP_K_C * (d - self * charge[i]);
  for (int p = 0; p < 3; ++p) force[(long long)p * N + i] += NEP_K_C * f[p];
  for (int k = 0; k < 9; ++k) virial[(long long)k * N + i] += NEP_K_C * w[k];
}
