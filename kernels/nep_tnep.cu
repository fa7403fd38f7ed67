// Dipole models (docs/tensors.md#dipole-models): mu = -sum_i sum_j |r_ij|^2 f_ij with
// f_ij = dF_i/dr_ij of the dipole network's output F. One thread per atom,
// center side: atom i's part is -sum_j |r_ij|^2 f_ij over its radial and its
// angular pairs (per-structure sums of the parts are the dipoles). Compiled
// for the model's architecture.
//
//   nep_dipole_radial(<pairs>, fp, dipole)
//   nep_dipole_angular(<pairs>, dF_ds, dipole)
//
// fp (NEP_DIM, N) and dF_ds (the output of nep_angular_gradient) as in
// nep_force.cu; dipole (3, N) double is added to. <pairs>: NEP_PAIR_PARAMS.
// Polarizability models need no kernel of their own: their tensor part is the
// virial of the first network (nep_force_*), their scalar part the second
// network's output (nep_ann).
#include "nep_force.cuh"

extern "C" __global__ void nep_dipole_radial(
  NEP_PAIR_PARAMS,
  const real* __restrict__ fp,
  double* __restrict__ dipole)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  double mu[3] = {0.0, 0.0, 0.0};
  nep_radial_pairs(i, atoms, radial, params, NepRadialGradient{0, nullptr, nullptr, fp},
                   [&](long long, int, const real* r12, real r, real d_ij, real) {
    // |r|^2 f_ij = |r|^2 d_ij r_ij / r = r d_ij r_ij
    for (int a = 0; a < 3; ++a) mu[a] -= (double)(r * d_ij * r12[a]);
  });
  for (int a = 0; a < 3; ++a) dipole[(long long)a * N + i] += mu[a];
}

extern "C" __global__ void nep_dipole_angular(
  NEP_PAIR_PARAMS,
  const real* __restrict__ dF_ds,
  double* __restrict__ dipole)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NEP_PAIR_STRUCTS;
  double mu[3] = {0.0, 0.0, 0.0};
  real G_i[NEP_N_SUMS];
  nep_load_gradient(dF_ds, i, N, G_i);
  nep_angular_pairs(i, atoms, angular, params,
                    [&](long long, int, const NepAngularPair& p, const real* coef_ij, const real*) {
    real f_ij[3];
    nep_angular_side(p, coef_ij, G_i, false, f_ij);
    const real rsq = p.r12[0] * p.r12[0] + p.r12[1] * p.r12[1] + p.r12[2] * p.r12[2];
    for (int a = 0; a < 3; ++a) mu[a] -= (double)(rsq * f_ij[a]);
  });
  for (int a = 0; a < 3; ++a) dipole[(long long)a * N + i] += mu[a];
}
