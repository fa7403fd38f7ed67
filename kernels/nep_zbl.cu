// ZBL short-range repulsion (NEP_SPEC §3.11) on its own, one thread per atom,
// for the plans of model types other than potentials (gpunep/plans.py);
// potentials get it inside nep_force (same device function, nep_zbl.cuh).
//
//   nep_zbl(N, n_types, capacity_angular, types, nn_angular, nl_angular,
//           dx_angular, dy_angular, dz_angular, zbl, energy, force, virial)
//
// zbl: see nep_zbl.cuh. energy (N), force (3, N) and virial (9, N) are added to.
#include "nep_zbl.cuh"

extern "C" __global__ void nep_zbl(
  int N,
  int n_types,
  int capacity_angular,
  const int* __restrict__ types,
  const int* __restrict__ nn_angular,
  const int* __restrict__ nl_angular,
  const double* __restrict__ dx_angular,
  const double* __restrict__ dy_angular,
  const double* __restrict__ dz_angular,
  const real* __restrict__ zbl,
  double* __restrict__ energy,
  double* __restrict__ force,
  double* __restrict__ virial)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  double e_i = 0.0;
  double f[3] = {0.0, 0.0, 0.0};
  double w[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  nep_zbl_atom(i, N, n_types, capacity_angular, types, nn_angular, nl_angular, dx_angular,
               dy_angular, dz_angular, zbl, e_i, f, w);
  energy[i] += e_i;
  for (int a = 0; a < 3; ++a) force[a * N + i] += f[a];
  for (int k = 0; k < 9; ++k) virial[k * N + i] += w[k];
}
