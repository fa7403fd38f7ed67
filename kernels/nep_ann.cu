// The network and the chain rule back to the angular sums as separate
// launches, for the plans that combine them (charge and tensor models; a
// potential runs the fused nep_potential). One thread per atom, compiled for
// the model's architecture.
//
//   nep_ann(N, network, types, params, q, energy, fp)
//       network 0: the model's (first) network; 1: a polarizability model's
//       scalar network. q (NEP_DIM, N) unscaled descriptor; energy (N) double
//       receives the output (written); fp (NEP_DIM, N) its gradient dF/dq.
//   nep_angular_gradient(N, fp, sums)
//       overwrites each atom's angular sums (nep_tiled, NEP_N_SUMS per atom)
//       with G = dF/ds for the gradient fp (docs/forces.md#angular-pair-forces)
#include "nep_ann.cuh"
#include "nep_layout.cuh"

extern "C" __global__ void nep_ann(
  int N,
  int network,
  const int* __restrict__ types,
  const real* __restrict__ params,
  const real* __restrict__ q,
  double* __restrict__ energy,
  real* __restrict__ fp)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  real qi[NEP_DIM], fpi[NEP_DIM];
  for (int nu = 0; nu < NEP_DIM; ++nu) qi[nu] = q[(long long)nu * N + i];
  const real* block = params + (network == 1 ? NEP_P_ANN_POLAR : NEP_P_ANN) + types[i] * NEP_ANN_BLOCK;
  energy[i] = (double)nep_network<false>(block, params + NEP_P_Q_SCALER, qi, fpi, nullptr, nullptr,
                                         nullptr);
  for (int nu = 0; nu < NEP_DIM; ++nu) fp[(long long)nu * N + i] = fpi[nu];
}

extern "C" __global__ void nep_angular_gradient(
  int N,
  const real* __restrict__ fp,
  real* __restrict__ sums)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  real fpi[NEP_DIM], si[NEP_N_SUMS];
  for (int nu = 0; nu < NEP_DIM; ++nu) fpi[nu] = fp[(long long)nu * N + i];
  int stride;
  real* column = sums + nep_tiled_base(i, NEP_N_SUMS, N, stride);
  for (int c = 0; c < NEP_N_SUMS; ++c) si[c] = column[(long long)c * stride];
  nep_angular_gradient_atom(fpi, si);
  for (int c = 0; c < NEP_N_SUMS; ++c) column[(long long)c * stride] = si[c];
}
