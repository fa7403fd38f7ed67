// The neural network (NEP_SPEC §3.8) and the chain rule from the descriptor
// back to the angular sums, as separate launches for the model types whose
// plans combine them (gpunep/plans.py): one thread per atom. Potentials run
// the fused nep_potential instead (same device functions, nep_ann.cuh).
//
//   nep_ann(N, dim, n_neuron, types, q_scaler, ann, q, energy, fp)
//   nep_angular_gradient(N, n_max_radial, n_max_angular, l_max, extras, fp, sum_fxyz)
//
// ann: see nep_ann.cuh. q (dim, N) is the unscaled descriptor; fp (dim, N)
// receives dU_i/dq_nu; energy (N) receives U_i (written, not added to).
#include "nep_ann.cuh"

extern "C" __global__ void nep_ann(
  int N,
  int dim,
  int n_neuron,
  const int* __restrict__ types,
  const real* __restrict__ q_scaler,
  const real* __restrict__ ann,
  const real* __restrict__ q,
  double* __restrict__ energy,
  real* __restrict__ fp)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  real qi[NEP_MAX_DIM], fpi[NEP_MAX_DIM];
  for (int nu = 0; nu < dim; ++nu) qi[nu] = q[nu * N + i];
  energy[i] = (double)nep_ann_atom(dim, n_neuron, ann + types[i] * ((dim + 2) * n_neuron + 1),
                                   q_scaler, qi, fpi);
  for (int nu = 0; nu < dim; ++nu) fp[nu * N + i] = fpi[nu];
}

// Overwrites the angular sums s_{n,alpha}(i) in sum_fxyz with G_{n,alpha}(i)
// (see nep_angular_gradient_atom).
extern "C" __global__ void nep_angular_gradient(
  int N,
  int n_max_radial,
  int n_max_angular,
  int l_max,
  int extras,
  const real* __restrict__ fp,
  real* __restrict__ sum_fxyz)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  nep_angular_gradient_atom(i, N, n_max_radial, n_max_angular, l_max, extras, fp + i, N, sum_fxyz);
}
