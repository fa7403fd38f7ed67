// The force parts on their own, for the plans that combine launches (charge
// and polarizability models; a potential runs the fused nep_force). One
// thread per atom, gather form, compiled for the model's architecture; these
// ADD to force (3, N) and virial (9, N) [(a * 3 + b) * N + i] = r_a f_b.
//
//   nep_force_radial(<pairs>, fp, force, virial)
//       radial pairs from fp (NEP_DIM, N) of both atoms
//   nep_force_angular(<pairs>, dF_ds, force, virial)
//       angular pairs from both atoms' G (nep_angular_gradient's output),
//       each pair evaluated from both sides
//   nep_zbl(<pairs>, energy, force, virial)
//       ZBL over the angular pairs (energy (N) double is added to)
// <pairs>: NEP_PAIR_PARAMS (nep_pairs.cuh).
#include "nep_force.cuh"
#include "nep_zbl.cuh"

__device__ __forceinline__ void nep_add_atom(int i, int N, const double* f, const double* w,
                                             double* __restrict__ force, double* __restrict__ virial)
{
  for (int a = 0; a < 3; ++a) force[(long long)a * N + i] += f[a];
  for (int k = 0; k < 9; ++k) virial[(long long)k * N + i] += w[k];
}

extern "C" __global__ void nep_force_radial(
  NEP_PAIR_PARAMS,
  const real* __restrict__ fp,
  double* __restrict__ force,
  double* __restrict__ virial)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  double f[3] = {0.0, 0.0, 0.0};
  double w[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  // fp's first NEP_N_RADIAL rows are the radial gradients
  nep_radial_forces(i, atoms, radial, params, NepRadialGradient{0, nullptr, nullptr, fp}, f, w);
  nep_add_atom(i, N, f, w, force, virial);
}

extern "C" __global__ void nep_force_angular(
  NEP_PAIR_PARAMS,
  const real* __restrict__ dF_ds,
  double* __restrict__ force,
  double* __restrict__ virial)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  double f[3] = {0.0, 0.0, 0.0};
  double w[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  real G_i[NEP_N_SUMS];
  nep_load_gradient(dF_ds, i, N, G_i);
  nep_angular_pairs(i, atoms, angular, params,
                    [&](long long, int j, const NepAngularPair& p, const real* coef_ij, const real* coef_ji) {
    real G_j[NEP_N_SUMS];
    nep_load_gradient(dF_ds, j, N, G_j);
    real f_ij[3], f_ji[3];
    nep_angular_side(p, coef_ij, G_i, false, f_ij);
    nep_angular_side(p, coef_ji, G_j, true, f_ji);
    for (int a = 0; a < 3; ++a) {
      f[a] += (double)(f_ij[a] - f_ji[a]);
      for (int b = 0; b < 3; ++b) w[a * 3 + b] += (double)(p.r12[a] * f_ji[b]);
    }
  });
  nep_add_atom(i, N, f, w, force, virial);
}

extern "C" __global__ void nep_zbl(
  NEP_PAIR_PARAMS,
  double* __restrict__ energy,
  double* __restrict__ force,
  double* __restrict__ virial)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  double e = 0.0;
  double f[3] = {0.0, 0.0, 0.0};
  double w[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  nep_zbl_atom(i, atoms, angular, params, e, f, w);
  energy[i] += e;
  nep_add_atom(i, N, f, w, force, virial);
}
