// The neural network (NEP_SPEC §3.8) and the chain rule from the descriptor
// back to the angular sums: one thread per atom.
//
//   nep_ann(N, dim, n_neuron, types, q_scaler, ann, q, energy, fp)
//   nep_angular_gradient(N, n_max_radial, n_max_angular, l_max, extras, fp, sum_fxyz)
//
// ann holds one block per type, (dim + 2) * n_neuron + 1 values:
//   W0 [mu * dim + nu] (n_neuron * dim), b0 (n_neuron), w1 (n_neuron),
//   bias = b1 (+ the type's own output bias for NEP5; NEP3 repeats its single
//   network for every type).
// q (dim, N) is the unscaled descriptor; fp (dim, N) receives
// dU_i/dq_nu = q_scaler[nu] * dU_i/dx_nu (the scaler applies twice, NEP_SPEC §8.3).
#include "nep_common.cuh"
#include "nep_invariants.cuh"

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
  const real* w0 = ann + types[i] * ((dim + 2) * n_neuron + 1);
  const real* b0 = w0 + n_neuron * dim;
  const real* w1 = b0 + n_neuron;
  const real bias = w1[n_neuron];

  real x[NEP_MAX_DIM], dudx[NEP_MAX_DIM];
  for (int nu = 0; nu < dim; ++nu) {
    x[nu] = q_scaler[nu] * q[nu * N + i];
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
  energy[i] = (double)(u - bias);
  for (int nu = 0; nu < dim; ++nu) fp[nu * N + i] = q_scaler[nu] * dudx[nu];
}

// Overwrites the angular sums s_{n,alpha}(i) in sum_fxyz with
// G_{n,alpha}(i) = dU_i/ds_{n,alpha} = sum_lambda fp_{lambda,n}(i) dq_{lambda,n}/ds_{n,alpha}
// (NEP_SPEC §3.9), which is all the angular force kernel needs of atom i.
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
  const int n_radial = n_max_radial + 1;
  const int n_angular = n_max_angular + 1;
  const int n_abc = (l_max + 1) * (l_max + 1) - 1;
  int num_l = l_max;
  for (int bit = 1; bit <= NEP_HAS_Q134; bit <<= 1) num_l += (extras & bit) ? 1 : 0;
  for (int n = 0; n < n_angular; ++n) {
    real s[NEP_NUM_OF_ABC], grad[NEP_NUM_OF_ABC], w[NEP_MAX_L + 6];
    for (int a = 0; a < NEP_NUM_OF_ABC; ++a) s[a] = a < n_abc ? sum_fxyz[(n * n_abc + a) * N + i] : (real)0;
    for (int b = 0; b < num_l; ++b) w[b] = fp[(n_radial + b * n_angular + n) * N + i];
    nep_invariants_gradient(l_max, extras, s, w, grad);
    for (int a = 0; a < n_abc; ++a) sum_fxyz[(n * n_abc + a) * N + i] = grad[a];
  }
}
