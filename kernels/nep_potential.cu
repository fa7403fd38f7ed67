// A potential's kernels (docs/forces.md), one thread per atom, compiled for
// the model's architecture (nep_arch.cuh):
//
//   nep_potential  descriptor, network and everything of dU_i that only atom
//                  i's own lists give: the energy U_i, the radial gradient
//                  (fp_radial, or pre-contracted per present neighbor type in
//                  pre_radial), and the angular pair forces f_ij = dU_i/dr_ij
//                  of every angular entry (f_angular)
//   nep_force      gathers forces and per-atom virials: the radial pairs from
//                  both atoms' gradients, the angular pairs from the stored
//                  f_ij and the partners' f_ji, and ZBL
//
// Arguments, grouped as the structs of nep_pairs.cuh:
//   atoms   positions (N, 3) double, types, system_index (N) int,
//           frames, frame_ints (nep_frame.cuh)
//   lists   capacity, nn (N), nbr and shift (capacity * N) of the radial and
//           the angular list (nep_neighbor.cu)
//   model   params (NEP_P_SIZE, nep_arch.cuh); type_slot (T) the slot of each
//           type present in the batch, -1 if absent
// Outputs (N atoms, C = capacity_angular * N):
//   energy       (N) double: U_i, written by nep_potential, ZBL added by nep_force
//   fp_radial    (NEP_N_RADIAL, N) dU_i/dq_n (n_pre = 0; else empty)
//   pre_radial   n_pre * NEP_K_RADIAL per atom, nep_tiled layout: component
//                type_slot[t] * K + k = sum_n fp_n c_nk(t_i, t), the derivative
//                of U_i by f_k of a neighbor of type t (n_pre > 0; else empty)
//   f_angular    (3, C) f_ij at each angular entry
//   force        (3, N) double, virial (9, N) double [(a * 3 + b) * N + i] = r_a f_b: written
#include "nep_ann.cuh"
#include "nep_descriptor.cuh"
#include "nep_force.cuh"
#include "nep_zbl.cuh"

extern "C" __global__ void nep_potential(
  NEP_PAIR_PARAMS,
  int n_pre,
  const int* __restrict__ type_slot,
  double* __restrict__ energy,
  real* __restrict__ fp_radial,
  real* __restrict__ pre_radial,
  real* __restrict__ f_angular)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  const int ti = types[i];

  real q[NEP_DIM], sums[NEP_N_SUMS];
  nep_descriptor_atom(i, atoms, radial, angular, params, q, sums);
  real fp[NEP_DIM];
  energy[i] = (double)nep_network<false>(params + NEP_P_ANN + ti * NEP_ANN_BLOCK,
                                         params + NEP_P_Q_SCALER, q, fp, nullptr, nullptr, nullptr);
  if (n_pre > 0) {
    int stride;
    real* pre = pre_radial + nep_tiled_base(i, n_pre * NEP_K_RADIAL, N, stride);
    const real* coef = params + NEP_P_C_RADIAL + (long long)ti * NEP_N_TYPES * NEP_N_RADIAL * NEP_K_RADIAL;
    for (int t = 0; t < NEP_N_TYPES; ++t) {
      const int p = type_slot[t];
      if (p < 0) continue;
      const real* c = coef + t * NEP_N_RADIAL * NEP_K_RADIAL;
      NEP_UNROLL
      for (int k = 0; k < NEP_K_RADIAL; ++k) {
        real sum = (real)0;
        NEP_UNROLL
        for (int n = 0; n < NEP_N_RADIAL; ++n) sum += fp[n] * c[n * NEP_K_RADIAL + k];
        pre[(p * NEP_K_RADIAL + k) * stride] = sum;
      }
    }
  } else {
    NEP_UNROLL
    for (int n = 0; n < NEP_N_RADIAL; ++n) fp_radial[(long long)n * N + i] = fp[n];
  }
  nep_angular_gradient_atom(fp, sums);
  nep_angular_partial_forces(i, atoms, angular, params, sums, f_angular);
}

extern "C" __global__ void nep_force(
  NEP_PAIR_PARAMS,
  int n_pre,
  const int* __restrict__ type_slot,
  const real* __restrict__ fp_radial,
  const real* __restrict__ pre_radial,
  const real* __restrict__ f_angular,
  double* __restrict__ energy,
  double* __restrict__ force,
  double* __restrict__ virial)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  // one accumulator per part, summed in the order the separate kernels add them
  double f_r[3] = {0.0, 0.0, 0.0}, f_a[3] = {0.0, 0.0, 0.0};
  double w_r[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  double w_a[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  nep_radial_forces(i, atoms, radial, params, NepRadialGradient{n_pre, type_slot, pre_radial, fp_radial},
                    f_r, w_r);
  nep_angular_reverse(i, atoms, angular, f_angular, f_a, w_a);
  double f[3], w[9];
  for (int a = 0; a < 3; ++a) f[a] = f_r[a] + f_a[a];
  for (int k = 0; k < 9; ++k) w[k] = w_r[k] + w_a[k];
  if (NEP_HAS_ZBL) {
    double e_z = 0.0, f_z[3] = {0.0, 0.0, 0.0};
    double w_z[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    nep_zbl_atom(i, atoms, angular, params, e_z, f_z, w_z);
    energy[i] += e_z;
    for (int a = 0; a < 3; ++a) f[a] += f_z[a];
    for (int k = 0; k < 9; ++k) w[k] += w_z[k];
  }
  for (int a = 0; a < 3; ++a) force[(long long)a * N + i] = f[a];
  for (int k = 0; k < 9; ++k) virial[(long long)k * N + i] = w[k];
}
