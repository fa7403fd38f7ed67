// The network of one atom (docs/network.md) and the chain rule from its
// descriptor back to the angular sums (docs/forces.md#angular-pair-forces).
//
// A network block (one per type; NEP3 repeats its single network) holds
// NEP_ANN_BLOCK values: W0 [mu * NEP_DIM + nu], b0 (n_neuron), w1 (n_neuron),
// and the output bias b1 (plus the type's own bias for NEP5).
#ifndef NEP_ANN_CUH
#define NEP_ANN_CUH

#include "nep_arch.cuh"
#include "nep_invariants.cuh"

// U - bias = sum_mu w1 tanh(W0 x - b0) - b1 for the unscaled descriptor q
// (x = q_scaler q), and fp[nu] = dU/dq_nu = q_scaler[nu] dU/dx_nu (the scaler
// enters twice). With a second head (charge models: `head` holds its output
// weights, n_neuron values), its output goes to *second and its gradient to
// fp_second.
template <bool SECOND_HEAD>
__device__ __forceinline__ real nep_network(
  const real* __restrict__ block, const real* __restrict__ q_scaler, const real* q, real* fp,
  const real* __restrict__ head, real* second, real* fp_second)
{
  const real* w0 = block;
  const real* b0 = w0 + NEP_N_NEURON * NEP_DIM;
  const real* w1 = b0 + NEP_N_NEURON;
  const real bias = w1[NEP_N_NEURON];
  real x[NEP_DIM];
  NEP_UNROLL
  for (int nu = 0; nu < NEP_DIM; ++nu) {
    x[nu] = q_scaler[nu] * q[nu];
    fp[nu] = (real)0;
    if (SECOND_HEAD) fp_second[nu] = (real)0;
  }
  real u = (real)0, u2 = (real)0;
  NEP_NO_UNROLL
  for (int mu = 0; mu < NEP_N_NEURON; ++mu) {
    const real* row = w0 + mu * NEP_DIM;
    real a = (real)0;
    NEP_UNROLL
    for (int nu = 0; nu < NEP_DIM; ++nu) a += row[nu] * x[nu];
    const real h = nep_tanh(a - b0[mu]);
    const real dh = (real)1 - h * h;
    u += w1[mu] * h;
    const real du = w1[mu] * dh;
    NEP_UNROLL
    for (int nu = 0; nu < NEP_DIM; ++nu) fp[nu] += du * row[nu];
    if (SECOND_HEAD) {
      u2 += head[mu] * h;
      const real dq = head[mu] * dh;
      NEP_UNROLL
      for (int nu = 0; nu < NEP_DIM; ++nu) fp_second[nu] += dq * row[nu];
    }
  }
  NEP_UNROLL
  for (int nu = 0; nu < NEP_DIM; ++nu) {
    fp[nu] *= q_scaler[nu];
    if (SECOND_HEAD) fp_second[nu] *= q_scaler[nu];
  }
  if (SECOND_HEAD) *second = u2;
  return u - bias;
}

// Replaces the angular sums s_{n,alpha} of one atom by
// G_{n,alpha} = sum_b dU/dq_{b,n} dq_{b,n}/ds_{n,alpha}, all the angular
// forces need of the atom. fp is dU/dq in descriptor order.
__device__ __forceinline__ void nep_angular_gradient_atom(const real* fp, real* sums)
{
  NEP_UNROLL
  for (int n = 0; n < NEP_N_ANGULAR; ++n) {
    real dU_dq[NEP_N_INVARIANTS], grad[NEP_N_ABC];
    NEP_UNROLL
    for (int b = 0; b < NEP_N_INVARIANTS; ++b) dU_dq[b] = fp[NEP_N_RADIAL + b * NEP_N_ANGULAR + n];
    nep_invariants_gradient(sums + n * NEP_N_ABC, dU_dq, grad);
    NEP_UNROLL
    for (int a = 0; a < NEP_N_ABC; ++a) sums[n * NEP_N_ABC + a] = grad[a];
  }
}

#endif  // NEP_ANN_CUH
