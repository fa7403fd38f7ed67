// The neural network of one atom (NEP_SPEC §3.8) and the chain rule from its
// descriptor back to the angular sums (§3.9): device functions shared by the
// separate kernels of nep_ann.cu and the fused per-atom kernel of
// nep_potential.cu.
//
// ann holds one block per type, (dim + 2) * n_neuron + 1 values:
//   W0 [mu * dim + nu] (n_neuron * dim), b0 (n_neuron), w1 (n_neuron),
//   bias = b1 (+ the type's own output bias for NEP5; NEP3 repeats its single
//   network for every type).
#ifndef NEP_ANN_CUH
#define NEP_ANN_CUH

#include "nep_common.cuh"
#include "nep_invariants.cuh"

// U_i - bias for the unscaled descriptor q; fp[nu] = dU_i/dq_nu =
// q_scaler[nu] * dU_i/dx_nu (the scaler applies twice, NEP_SPEC §8.3).
__device__ __forceinline__ real nep_ann_atom(
  int dim, int n_neuron, const real* __restrict__ block, const real* __restrict__ q_scaler,
  const real* q, real* fp)
{
  const real* w0 = block;
  const real* b0 = w0 + n_neuron * dim;
  const real* w1 = b0 + n_neuron;
  const real bias = w1[n_neuron];

  real x[NEP_MAX_DIM], dudx[NEP_MAX_DIM];
  for (int nu = 0; nu < dim; ++nu) {
    x[nu] = q_scaler[nu] * q[nu];
    dudx[nu] = (real)0;
  }
  // U = sum_mu w1 tanh(W0 x - b0) - bias; both biases are subtracted
  real u = (real)0;
  for (int mu = 0; mu < n_neuron; ++mu) {
    const real* row = w0 + mu * dim;
    real a = (real)0;
    for (int nu = 0; nu < dim; ++nu) a += row[nu] * x[nu];
    const real h = nep_tanh(a - b0[mu]);
    u += w1[mu] * h;
    const real dh = w1[mu] * ((real)1 - h * h);
    for (int nu = 0; nu < dim; ++nu) dudx[nu] += dh * row[nu];
  }
  for (int nu = 0; nu < dim; ++nu) fp[nu] = q_scaler[nu] * dudx[nu];
  return u - bias;
}

// Overwrites atom i's angular sums s_{n,alpha} in sums (nep_tiled layout, see
// nep_descriptor.cuh) with G_{n,alpha} = sum_lambda fp_{lambda,n} dq_{lambda,n}/ds_{n,alpha}
// (NEP_SPEC §3.9), which is all the angular force needs of atom i. fp[nu * fp_stride]
// is dU_i/dq_nu (stride N for a (dim, N) array at column i, 1 for a local array).
__device__ __forceinline__ void nep_angular_gradient_atom(
  int i, int N, int n_max_radial, int n_max_angular, int l_max, int extras,
  const real* fp, int fp_stride, real* __restrict__ sums)
{
  const int n_radial = n_max_radial + 1;
  const int n_angular = n_max_angular + 1;
  const int n_abc = (l_max + 1) * (l_max + 1) - 1;
  const int num_l = nep_invariant_count(l_max, extras);
  int stride;
  real* my_sums = sums + nep_tiled_base(i, n_angular * n_abc, N, stride);
  for (int n = 0; n < n_angular; ++n) {
    real s[NEP_NUM_OF_ABC], grad[NEP_NUM_OF_ABC], w[NEP_MAX_L + 6];
    real* column = my_sums + n * n_abc * stride;
    for (int a = 0; a < NEP_NUM_OF_ABC; ++a) s[a] = a < n_abc ? column[a * stride] : (real)0;
    for (int b = 0; b < num_l; ++b) w[b] = fp[(n_radial + b * n_angular + n) * fp_stride];
    nep_invariants_gradient(l_max, extras, s, w, grad);
    for (int a = 0; a < n_abc; ++a) column[a * stride] = grad[a];
  }
}

#endif  // NEP_ANN_CUH
