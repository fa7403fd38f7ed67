// Forces and per-atom virials (NEP_SPEC §3.9-3.11): one thread per atom,
// gather form, no atomics (device functions in nep_force.cuh, nep_zbl.cuh).
//
//   nep_force(N, n_types, n_max_radial, n_basis_radial, n_pre, has_zbl,
//             capacity_radial, capacity_angular, types, type_slot, nn_radial,
//             nl_radial, dx_radial, dy_radial, dz_radial, nn_angular, nl_angular,
//             dx_angular, dy_angular, dz_angular, rc_radial, c_radial, fp,
//             pre_radial, f_angular, zbl, energy, force, virial)
//       a potential's radial, angular and ZBL parts in one launch (one
//       thread-team barrier on the host executor instead of three); force (3, N)
//       and virial (9, N) are WRITTEN, energy (N) gets the ZBL energy added.
//       fp, pre_radial, type_slot and the angular pair forces f_angular come
//       from nep_potential; zbl is the table of nep_zbl.cuh (any array when
//       has_zbl = 0).
//   nep_force_radial(N, n_types, n_max_radial, n_basis_radial, capacity_radial,
//                    types, nn_radial, nl_radial, dx_radial, dy_radial, dz_radial,
//                    rc_radial, c_radial, fp, force, virial)
//   nep_force_angular(N, n_types, n_max_angular, n_basis_angular, l_max,
//                     capacity_angular, types, nn_angular, nl_angular, dx_angular,
//                     dy_angular, dz_angular, rc_angular, c_angular, dU_ds,
//                     force, virial)
//       the parts on their own for the plans of other model types
//       (gpunep/plans.py); these ADD to force and virial.
//
// force is double, [a * N + i]; virial double, [(a * 3 + b) * N + i] = r_a f_b.
#include "nep_force.cuh"
#include "nep_zbl.cuh"

extern "C" __global__ void nep_force(
  int N,
  int n_types,
  int n_max_radial,
  int n_basis_radial,
  int n_pre,
  int has_zbl,
  int capacity_radial,
  int capacity_angular,
  const int* __restrict__ types,
  const int* __restrict__ type_slot,
  const int* __restrict__ nn_radial,
  const int* __restrict__ nl_radial,
  const double* __restrict__ dx_radial,
  const double* __restrict__ dy_radial,
  const double* __restrict__ dz_radial,
  const int* __restrict__ nn_angular,
  const int* __restrict__ nl_angular,
  const double* __restrict__ dx_angular,
  const double* __restrict__ dy_angular,
  const double* __restrict__ dz_angular,
  const real* __restrict__ rc_radial,
  const real* __restrict__ c_radial,
  const real* __restrict__ fp,
  const real* __restrict__ pre_radial,
  const real* __restrict__ f_angular,
  const real* __restrict__ zbl,
  double* __restrict__ energy,
  double* __restrict__ force,
  double* __restrict__ virial)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  // one accumulator per part, summed in the order the separate kernels add them
  double f_r[3] = {0.0, 0.0, 0.0}, f_a[3] = {0.0, 0.0, 0.0};
  double w_r[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  double w_a[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  nep_force_radial_atom(i, N, n_types, n_max_radial, n_basis_radial, n_pre, capacity_radial,
                        types, type_slot, nn_radial, nl_radial, dx_radial, dy_radial, dz_radial,
                        rc_radial, c_radial, fp, pre_radial, f_r, w_r);
  nep_angular_reverse_atom(i, N, capacity_angular, nn_angular, nl_angular, dx_angular, dy_angular,
                           dz_angular, f_angular, f_a, w_a);
  double f[3], w[9];
  for (int a = 0; a < 3; ++a) f[a] = f_r[a] + f_a[a];
  for (int k = 0; k < 9; ++k) w[k] = w_r[k] + w_a[k];
  if (has_zbl) {
    double e_z = 0.0, f_z[3] = {0.0, 0.0, 0.0};
    double w_z[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    nep_zbl_atom(i, N, n_types, capacity_angular, types, nn_angular, nl_angular, dx_angular,
                 dy_angular, dz_angular, zbl, e_z, f_z, w_z);
    energy[i] += e_z;
    for (int a = 0; a < 3; ++a) f[a] += f_z[a];
    for (int k = 0; k < 9; ++k) w[k] += w_z[k];
  }
  for (int a = 0; a < 3; ++a) force[a * N + i] = f[a];
  for (int k = 0; k < 9; ++k) virial[k * N + i] = w[k];
}

extern "C" __global__ void nep_force_radial(
  int N,
  int n_types,
  int n_max_radial,
  int n_basis_radial,
  int capacity_radial,
  const int* __restrict__ types,
  const int* __restrict__ nn_radial,
  const int* __restrict__ nl_radial,
  const double* __restrict__ dx_radial,
  const double* __restrict__ dy_radial,
  const double* __restrict__ dz_radial,
  const real* __restrict__ rc_radial,
  const real* __restrict__ c_radial,
  const real* __restrict__ fp,
  double* __restrict__ force,
  double* __restrict__ virial)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  double f[3] = {0.0, 0.0, 0.0};
  double w[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  // n_pre = 0: contract fp with c per pair (type_slot and pre_radial are not read)
  nep_force_radial_atom(i, N, n_types, n_max_radial, n_basis_radial, 0, capacity_radial, types,
                        types, nn_radial, nl_radial, dx_radial, dy_radial, dz_radial, rc_radial,
                        c_radial, fp, fp, f, w);
  for (int a = 0; a < 3; ++a) force[a * N + i] += f[a];
  for (int k = 0; k < 9; ++k) virial[k * N + i] += w[k];
}

extern "C" __global__ void nep_force_angular(
  int N,
  int n_types,
  int n_max_angular,
  int n_basis_angular,
  int l_max,
  int capacity_angular,
  const int* __restrict__ types,
  const int* __restrict__ nn_angular,
  const int* __restrict__ nl_angular,
  const double* __restrict__ dx_angular,
  const double* __restrict__ dy_angular,
  const double* __restrict__ dz_angular,
  const real* __restrict__ rc_angular,
  const real* __restrict__ c_angular,
  const real* __restrict__ dU_ds,
  double* __restrict__ force,
  double* __restrict__ virial)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  double f[3] = {0.0, 0.0, 0.0};
  double w[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  nep_force_angular_atom(i, N, n_types, n_max_angular, n_basis_angular, l_max, capacity_angular,
                         types, nn_angular, nl_angular, dx_angular, dy_angular, dz_angular,
                         rc_angular, c_angular, dU_ds, f, w);
  for (int a = 0; a < 3; ++a) force[a * N + i] += f[a];
  for (int k = 0; k < 9; ++k) virial[k * N + i] += w[k];
}
