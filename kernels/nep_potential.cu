// Everything of one atom of a potential that needs only its own neighbor
// lists, one thread per atom: the descriptor (NEP_SPEC §3.3-3.7), the network
// (§3.8) and the parts of dU_i that nep_force gathers (§3.9). GPUMD fuses the
// descriptor and the network the same way; one launch instead of three also
// spares the host executor two thread-team barriers.
//
//   nep_potential(N, n_types, n_max_radial, n_basis_radial, n_max_angular,
//                 n_basis_angular, l_max, extras, dim, n_neuron, n_pre,
//                 capacity_radial, capacity_angular, types, type_slot,
//                 nn_radial, nl_radial, dx_radial, dy_radial, dz_radial,
//                 nn_angular, nl_angular, dx_angular, dy_angular, dz_angular,
//                 rc_radial, rc_angular, c_radial, c_angular, q_scaler, ann,
//                 q, energy, fp, pre_radial, dU_ds, f_angular)
//
// Layouts (N atoms, T types, NABC = (l_max + 1)^2 - 1, n_k = n_basis_radial + 1):
//   lists, rc_*, c_*  see nep_descriptor.cuh;  ann  see nep_ann.cuh
//   q                (dim, N) unscaled descriptor, q[nu * N + i]
//   energy           (N,) double: U_i (written, not added to)
//   fp               (dim, N): dU_i/dq_nu
//   type_slot        (T,) the slot of each type present in the batch, -1 if absent
//   pre_radial       n_pre * n_k values per atom (nep_tiled layout), when n_pre > 0:
//                    component type_slot[t] * n_k + k = sum_n fp_i[n] c_radial[t_i, t][n, k],
//                    dU_i/df_k(r) for one neighbor of type t, so that nep_force
//                    needs n_k products per pair and side instead of
//                    (n_max + 1) n_k (n_pre = 0: nep_force contracts fp itself)
//   dU_ds            the angular sums s_{n,alpha}(i) (layout: nep_descriptor.cuh) while
//                    they are accumulated, then G_{n,alpha}(i) = dU_i/ds_{n,alpha}
//   f_angular        (3, capacity_angular * N): f_ij = dU_i/dr_ij of every angular
//                    pair, at the pair's list index (nep_angular_partial_atom)
#include "nep_ann.cuh"
#include "nep_descriptor.cuh"
#include "nep_force.cuh"

extern "C" __global__ void nep_potential(
  int N,
  int n_types,
  int n_max_radial,
  int n_basis_radial,
  int n_max_angular,
  int n_basis_angular,
  int l_max,
  int extras,
  int dim,
  int n_neuron,
  int n_pre,
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
  const real* __restrict__ rc_angular,
  const real* __restrict__ c_radial,
  const real* __restrict__ c_angular,
  const real* __restrict__ q_scaler,
  const real* __restrict__ ann,
  real* __restrict__ q,
  double* __restrict__ energy,
  real* __restrict__ fp,
  real* __restrict__ pre_radial,
  real* __restrict__ dU_ds,
  real* __restrict__ f_angular)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int ti = types[i];
  real qi[NEP_MAX_DIM], fpi[NEP_MAX_DIM];
  nep_descriptor_atom(i, N, n_types, n_max_radial, n_basis_radial, n_max_angular, n_basis_angular,
                      l_max, extras, capacity_radial, capacity_angular, types, nn_radial, nl_radial,
                      dx_radial, dy_radial, dz_radial, nn_angular, nl_angular, dx_angular,
                      dy_angular, dz_angular, rc_radial, rc_angular, c_radial, c_angular, qi, dU_ds);
  for (int nu = 0; nu < dim; ++nu) q[nu * N + i] = qi[nu];

  energy[i] = (double)nep_ann_atom(dim, n_neuron, ann + ti * ((dim + 2) * n_neuron + 1), q_scaler,
                                   qi, fpi);
  for (int nu = 0; nu < dim; ++nu) fp[nu * N + i] = fpi[nu];

  const int n_radial = n_max_radial + 1;
  const int n_k = n_basis_radial + 1;
  int stride;
  real* pre = pre_radial + (n_pre > 0 ? nep_tiled_base(i, n_pre * n_k, N, stride) : 0);
  for (int t = 0; t < n_types && n_pre > 0; ++t) {
    const int p = type_slot[t];
    if (p < 0) continue;
    const real* c = c_radial + (ti * n_types + t) * n_radial * n_k;
    for (int k = 0; k < n_k; ++k) {
      real sum = (real)0;
      for (int n = 0; n < n_radial; ++n) sum += fpi[n] * c[n * n_k + k];
      pre[(p * n_k + k) * stride] = sum;
    }
  }
  nep_angular_gradient_atom(i, N, n_max_radial, n_max_angular, l_max, extras, fpi, 1, dU_ds);
  nep_angular_partial_atom(i, N, n_types, n_max_angular, n_basis_angular, l_max, capacity_angular,
                           types, nn_angular, nl_angular, dx_angular, dy_angular, dz_angular,
                           rc_angular, c_angular, dU_ds, f_angular);
}
