// Charge models (qNEP, docs/charges.md): the network with its charge head,
// the chain rule through the charges, and the pair part of the Born
// effective charges. One thread per atom, gather form, no atomics; compiled
// for the model's architecture (NEP_HAS_CHARGE_HEAD).
//
//   nep_ann_charge(N, types, params, q, energy, charge, fp, fp_charge)
//   nep_charge_chain_rule(N, fp_charge, potential, fp)
//   nep_bec_radial(<pairs>, fp_charge, bec)
//   nep_bec_angular(<pairs>, dQ_ds, bec)
//
// The charge head's output weights are params[NEP_P_ANN_CHARGE + type *
// n_neuron] (no bias). q (NEP_DIM, N) is the unscaled descriptor; charge (N)
// receives the raw charges, fp_charge (NEP_DIM, N) dq_i^raw/dq like fp.
// potential (N) is D_i = dE_es/dq_i (with the mean-D correction applied where
// wanted). bec (9, N) receives 1/2 sum_j r_ij (x) (fq_ij + fq_ji),
// [a * 3 + b] = r_a fq_b; the host adds q_i I and scales by sqrt_epsilon_infinity.
// <pairs>: NEP_PAIR_PARAMS (nep_pairs.cuh).
#include "nep_ann.cuh"
#include "nep_force.cuh"

extern "C" __global__ void nep_ann_charge(
  int N,
  const int* __restrict__ types,
  const real* __restrict__ params,
  const real* __restrict__ q,
  double* __restrict__ energy,
  double* __restrict__ charge,
  real* __restrict__ fp,
  real* __restrict__ fp_charge)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  const int ti = types[i];
  real qi[NEP_DIM], fpi[NEP_DIM], fqi[NEP_DIM];
  for (int nu = 0; nu < NEP_DIM; ++nu) qi[nu] = q[(long long)nu * N + i];
  real raw;
  energy[i] = (double)nep_network<true>(params + NEP_P_ANN + ti * NEP_ANN_BLOCK, params + NEP_P_Q_SCALER,
                                        qi, fpi, params + NEP_P_ANN_CHARGE + ti * NEP_N_NEURON, &raw, fqi);
  charge[i] = (double)raw;
  for (int nu = 0; nu < NEP_DIM; ++nu) {
    fp[(long long)nu * N + i] = fpi[nu];
    fp_charge[(long long)nu * N + i] = fqi[nu];
  }
}

// Fp_eff = Fp + D_i Fp^Q: the descriptor forces then include the
// electrostatic energy's dependence on the charges (docs/charges.md#chain-rule-through-the-charges).
extern "C" __global__ void nep_charge_chain_rule(
  int N,
  const real* __restrict__ fp_charge,
  const double* __restrict__ potential,
  real* __restrict__ fp)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  const real d = (real)potential[i];
  for (int nu = 0; nu < NEP_DIM; ++nu) fp[(long long)nu * N + i] += d * fp_charge[(long long)nu * N + i];
}

extern "C" __global__ void nep_bec_radial(
  NEP_PAIR_PARAMS,
  const real* __restrict__ fp_charge,
  double* __restrict__ bec)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  double z[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  nep_radial_pairs(i, atoms, radial, params, NepRadialGradient{0, nullptr, nullptr, fp_charge},
                   [&](long long, int, const real* r12, real r, real d_ij, real d_ji) {
    // fq_ij + fq_ji = (d_ij - d_ji) u
    const real half = (real)0.5 * (d_ij - d_ji);
    const real rinv = (real)1 / r;
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) z[a * 3 + b] += (double)(half * r12[a] * r12[b] * rinv);
  });
  for (int k = 0; k < 9; ++k) bec[(long long)k * N + i] += z[k];
}

extern "C" __global__ void nep_bec_angular(
  NEP_PAIR_PARAMS,
  const real* __restrict__ dQ_ds,
  double* __restrict__ bec)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  double z[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  real G_i[NEP_N_SUMS];
  nep_load_gradient(dQ_ds, i, N, G_i);
  nep_angular_pairs(i, atoms, angular, params,
                    [&](long long, int j, const NepAngularPair& p, const real* coef_ij, const real* coef_ji) {
    real G_j[NEP_N_SUMS];
    nep_load_gradient(dQ_ds, j, N, G_j);
    real f_ij[3], f_ji[3];
    nep_angular_side(p, coef_ij, G_i, false, f_ij);
    nep_angular_side(p, coef_ji, G_j, true, f_ji);
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) z[a * 3 + b] += (double)((real)0.5 * p.r12[a] * (f_ij[b] + f_ji[b]));
  });
  for (int k = 0; k < 9; ++k) bec[(long long)k * N + i] += z[k];
}
