// Descriptors (NEP_SPEC §3.3-3.7) on their own, one thread per atom: for the
// model types whose plans combine the launches (gpunep/plans.py). Potentials
// run the fused nep_potential instead (same device function, nep_descriptor.cuh).
//
//   nep_descriptor(N, n_types, n_max_radial, n_basis_radial, n_max_angular,
//                  n_basis_angular, l_max, extras, capacity_radial,
//                  capacity_angular, types, nn_radial, nl_radial, dx_radial,
//                  dy_radial, dz_radial, nn_angular, nl_angular, dx_angular,
//                  dy_angular, dz_angular, rc_radial, rc_angular, c_radial,
//                  c_angular, q, sum_fxyz)
//
// Layouts: see nep_descriptor.cuh; q (dim, N) unscaled descriptor q[nu * N + i],
// sum_fxyz the angular sums ((n_max_angular + 1) * NABC per atom, nep_tiled layout).
#include "nep_descriptor.cuh"

extern "C" __global__ void nep_descriptor(
  int N,
  int n_types,
  int n_max_radial,
  int n_basis_radial,
  int n_max_angular,
  int n_basis_angular,
  int l_max,
  int extras,
  int capacity_radial,
  int capacity_angular,
  const int* __restrict__ types,
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
  real* __restrict__ q,
  real* __restrict__ sum_fxyz)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  real qi[NEP_MAX_DIM];
  nep_descriptor_atom(i, N, n_types, n_max_radial, n_basis_radial, n_max_angular, n_basis_angular,
                      l_max, extras, capacity_radial, capacity_angular, types, nn_radial, nl_radial,
                      dx_radial, dy_radial, dz_radial, nn_angular, nl_angular, dx_angular,
                      dy_angular, dz_angular, rc_radial, rc_angular, c_radial, c_angular, qi,
                      sum_fxyz);
  const int dim = n_max_radial + 1 + (n_max_angular + 1) * nep_invariant_count(l_max, extras);
  for (int nu = 0; nu < dim; ++nu) q[nu * N + i] = qi[nu];
}
