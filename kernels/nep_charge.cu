// Charge models (qNEP, NEP_SPEC §4): the network with its charge head, the
// chain rule through the charges, and the pair part of the Born effective
// charges. One thread per atom, gather form, no atomics.
//
//   nep_ann_charge(N, dim, n_neuron, types, q_scaler, ann, ann_charge, q,
//                  energy, charge, fp, fp_charge)
//   nep_charge_chain_rule(N, dim, fp_charge, potential, fp)
//   nep_bec_radial(N, n_types, n_max_radial, n_basis_radial, capacity_radial,
//                  types, nn_radial, nl_radial, dx_radial, dy_radial, dz_radial,
//                  rc_radial, c_radial, fp_charge, bec)
//   nep_bec_angular(N, n_types, n_max_angular, n_basis_angular, l_max,
//                   capacity_angular, types, nn_angular, nl_angular, dx_angular,
//                   dy_angular, dz_angular, rc_angular, c_angular, dQ_ds, bec)
//
// ann is nep_ann's layout (per type W0, b0, w1 of the energy head, bias);
// ann_charge holds the charge head's output weights, n_neuron per type (the
// charge head has no bias, §4.1). charge (N) receives the raw charges,
// fp_charge (dim, N) dq_i^raw/dq like fp. potential (N) is D_i = dE_es/dq_i
// (with the mean-D correction already applied where wanted, §4.3).
// bec (9, N) receives 1/2 sum_j r_ij (x) (fq_ij + fq_ji), [a * 3 + b] = r_a fq_b;
// the host adds q_i I and scales by sqrt_epsilon_infinity (§4.4).
#include "nep_common.cuh"
#include "nep_pair.cuh"

extern "C" __global__ void nep_ann_charge(
  int N,
  int dim,
  int n_neuron,
  const int* __restrict__ types,
  const real* __restrict__ q_scaler,
  const real* __restrict__ ann,
  const real* __restrict__ ann_charge,
  const real* __restrict__ q,
  double* __restrict__ energy,
  double* __restrict__ charge,
  real* __restrict__ fp,
  real* __restrict__ fp_charge)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const real* w0 = ann + types[i] * ((dim + 2) * n_neuron + 1);
  const real* b0 = w0 + n_neuron * dim;
  const real* w1 = b0 + n_neuron;
  const real bias = w1[n_neuron];
  const real* w1q = ann_charge + types[i] * n_neuron;

  real x[NEP_MAX_DIM], dudx[NEP_MAX_DIM], dqdx[NEP_MAX_DIM];
  for (int nu = 0; nu < dim; ++nu) {
    x[nu] = q_scaler[nu] * q[nu * N + i];
    dudx[nu] = (real)0;
    dqdx[nu] = (real)0;
  }
  // one hidden layer, two heads: U = w1 . h - bias, q_raw = w1q . h (§4.1)
  real u = (real)0, qr = (real)0;
  for (int mu = 0; mu < n_neuron; ++mu) {
    const real* row = w0 + mu * dim;
    real a = (real)0;
    for (int nu = 0; nu < dim; ++nu) a += row[nu] * x[nu];
    const real h = nep_tanh(a - b0[mu]);
    const real dh = (real)1 - h * h;
    u += w1[mu] * h;
    qr += w1q[mu] * h;
    const real du = w1[mu] * dh, dq = w1q[mu] * dh;
    for (int nu = 0; nu < dim; ++nu) {
      dudx[nu] += du * row[nu];
      dqdx[nu] += dq * row[nu];
    }
  }
  energy[i] = (double)(u - bias);
  charge[i] = (double)qr;
  for (int nu = 0; nu < dim; ++nu) {
    fp[nu * N + i] = q_scaler[nu] * dudx[nu];
    fp_charge[nu * N + i] = q_scaler[nu] * dqdx[nu];
  }
}

// Fp_eff = Fp + D_i Fp^Q (§4.3): the descriptor forces then include the
// electrostatic energy's dependence on the charges.
extern "C" __global__ void nep_charge_chain_rule(
  int N,
  int dim,
  const real* __restrict__ fp_charge,
  const double* __restrict__ potential,
  real* __restrict__ fp)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const real d = (real)potential[i];
  for (int nu = 0; nu < dim; ++nu) fp[nu * N + i] += d * fp_charge[nu * N + i];
}

extern "C" __global__ void nep_bec_radial(
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
  const real* __restrict__ fp_charge,
  double* __restrict__ bec)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int ti = types[i];
  const int n_radial = n_max_radial + 1;
  const int n_k = n_basis_radial + 1;
  const int c_stride = n_radial * n_k;
  real fn[NEP_MAX_NUM_N], fnp[NEP_MAX_NUM_N];
  double z[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};

  const int count = nep_stored(nn_radial[i], capacity_radial);
  for (int slot = 0; slot < count; ++slot) {
    const long long idx = nep_tiled(slot, i, capacity_radial, N);
    const int j = nl_radial[idx];
    const int tj = types[j];
    real r12[3];
    const real r = nep_pair_vector(dx_radial, dy_radial, dz_radial, idx, r12);
    const real rinv = (real)1 / r;
    nep_pair_basis_and_derivative(n_basis_radial, rc_radial[ti * n_types + tj], r, fn, fnp);
    const real d_ij = nep_radial_pair_derivative(
      N, i, n_radial, n_k, c_radial + (ti * n_types + tj) * c_stride, fnp, fp_charge);
    const real d_ji = nep_radial_pair_derivative(
      N, j, n_radial, n_k, c_radial + (tj * n_types + ti) * c_stride, fnp, fp_charge);
    // fq_ij + fq_ji = (d_ij - d_ji) u
    const real half = (real)0.5 * (d_ij - d_ji);
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) z[a * 3 + b] += (double)(half * r12[a] * r12[b] * rinv);
  }
  for (int k = 0; k < 9; ++k) bec[k * N + i] += z[k];
}

extern "C" __global__ void nep_bec_angular(
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
  const real* __restrict__ dQ_ds,
  double* __restrict__ bec)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int ti = types[i];
  const int n_angular = n_max_angular + 1;
  const int n_k = n_basis_angular + 1;
  const int c_stride = n_angular * n_k;
  real fn[NEP_MAX_NUM_N], fnp[NEP_MAX_NUM_N], g[NEP_MAX_NUM_N], gp[NEP_MAX_NUM_N];
  real Y[NEP_NUM_OF_ABC], Yx[NEP_NUM_OF_ABC], Yy[NEP_NUM_OF_ABC], Yz[NEP_NUM_OF_ABC];
  double z[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};

  const int count = nep_stored(nn_angular[i], capacity_angular);
  for (int slot = 0; slot < count; ++slot) {
    const long long idx = nep_tiled(slot, i, capacity_angular, N);
    const int j = nl_angular[idx];
    const int tj = types[j];
    real r12[3];
    const real r = nep_pair_vector(dx_angular, dy_angular, dz_angular, idx, r12);
    const real rinv = (real)1 / r;
    const real u[3] = {r12[0] * rinv, r12[1] * rinv, r12[2] * rinv};
    nep_pair_basis_and_derivative(n_basis_angular, rc_angular[ti * n_types + tj], r, fn, fnp);
    nep_angular_basis_and_gradient(l_max, u[0], u[1], u[2], Y, Yx, Yy, Yz);
    real f_ij[3], f_ji[3];
    nep_pair_radial_functions(n_angular, n_k, c_angular + (ti * n_types + tj) * c_stride, fn,
                              fnp, g, gp);
    nep_angular_pair_force(N, i, n_angular, l_max, dQ_ds, g, gp, Y, Yx, Yy, Yz, u, rinv,
                           false, f_ij);
    nep_pair_radial_functions(n_angular, n_k, c_angular + (tj * n_types + ti) * c_stride, fn,
                              fnp, g, gp);
    nep_angular_pair_force(N, j, n_angular, l_max, dQ_ds, g, gp, Y, Yx, Yy, Yz, u, rinv,
                           true, f_ji);
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b)
        z[a * 3 + b] += (double)((real)0.5 * r12[a] * (f_ij[b] + f_ji[b]));
  }
  for (int k = 0; k < 9; ++k) bec[k * N + i] += z[k];
}
