// Descriptors on their own, one thread per atom (docs/descriptors.md): for
// the plans that combine separate launches (charge and tensor models, and a
// potential's descriptor output). Compiled for the model's architecture.
//
//   nep_descriptor(N, capacity_radial, capacity_angular, <atoms>, <lists>, params, q, sums)
//
// q (NEP_DIM, N) unscaled descriptor, q[nu * N + i]; sums the angular sums,
// NEP_N_SUMS per atom in the nep_tiled layout (component n * NEP_N_ABC + alpha).
// Arguments <atoms>, <lists>: see nep_potential.cu.
#include "nep_descriptor.cuh"

extern "C" __global__ void nep_descriptor(
  NEP_PAIR_PARAMS,
  real* __restrict__ q,
  real* __restrict__ sums)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  real qi[NEP_DIM], si[NEP_N_SUMS];
  nep_descriptor_atom(i, atoms, radial, angular, params, qi, si);
  for (int nu = 0; nu < NEP_DIM; ++nu) q[(long long)nu * N + i] = qi[nu];
  int stride;
  real* my_sums = sums + nep_tiled_base(i, NEP_N_SUMS, N, stride);
  for (int c = 0; c < NEP_N_SUMS; ++c) my_sums[(long long)c * stride] = si[c];
}
