// Dipole models (NEP_SPEC §5): mu = -sum_i sum_j |r_ij|^2 f_ij with
// f_ij = dF_i/dr_ij of the dipole network's output F. One thread per atom,
// center side: atom i's part is -sum_j |r_ij|^2 f_ij over its radial and its
// angular pairs (per-structure sums of the parts are the dipoles).
//
//   nep_dipole_radial(N, n_types, n_max_radial, n_basis_radial, capacity_radial,
//                     types, nn_radial, nl_radial, dx_radial, dy_radial, dz_radial,
//                     rc_radial, c_radial, fp, dipole)
//   nep_dipole_angular(N, n_types, n_max_angular, n_basis_angular, l_max,
//                      capacity_angular, types, nn_angular, nl_angular, dx_angular,
//                      dy_angular, dz_angular, rc_angular, c_angular, dF_ds, dipole)
//
// fp (dim, N) and dF_ds (the output of nep_angular_gradient) as in
// kernels/nep_force.cu; dipole (3, N) double is added to.
// Polarizability models need no kernel of their own: their tensor part is the
// virial of the first network (nep_force_*), their scalar part the second
// network's output (nep_ann).
#include "nep_common.cuh"
#include "nep_pair.cuh"

extern "C" __global__ void nep_dipole_radial(
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
  const real* __restrict__ fp,
  double* __restrict__ dipole)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int ti = types[i];
  const int n_radial = n_max_radial + 1;
  const int n_k = n_basis_radial + 1;
  real fn[NEP_MAX_NUM_N], fnp[NEP_MAX_NUM_N];
  double mu[3] = {0.0, 0.0, 0.0};

  const int count = nep_stored(nn_radial[i], capacity_radial);
  for (int slot = 0; slot < count; ++slot) {
    const long long idx = nep_tiled(slot, i, capacity_radial, N);
    const int tj = types[nl_radial[idx]];
    real r12[3];
    const real r = nep_pair_vector(dx_radial, dy_radial, dz_radial, idx, r12);
    nep_pair_basis_and_derivative(n_basis_radial, rc_radial[ti * n_types + tj], r, fn, fnp);
    const real d_ij = nep_radial_pair_derivative(
      N, i, n_radial, n_k, c_radial + (ti * n_types + tj) * n_radial * n_k, fnp, fp);
    // |r|^2 f_ij = |r|^2 d_ij r_ij / r = r d_ij r_ij
    for (int a = 0; a < 3; ++a) mu[a] -= (double)(r * d_ij * r12[a]);
  }
  for (int a = 0; a < 3; ++a) dipole[a * N + i] += mu[a];
}

extern "C" __global__ void nep_dipole_angular(
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
  const real* __restrict__ dF_ds,
  double* __restrict__ dipole)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int ti = types[i];
  const int n_angular = n_max_angular + 1;
  const int n_k = n_basis_angular + 1;
  real fn[NEP_MAX_NUM_N], fnp[NEP_MAX_NUM_N], g[NEP_MAX_NUM_N], gp[NEP_MAX_NUM_N];
  real Y[NEP_NUM_OF_ABC], Yx[NEP_NUM_OF_ABC], Yy[NEP_NUM_OF_ABC], Yz[NEP_NUM_OF_ABC];
  double mu[3] = {0.0, 0.0, 0.0};

  const int count = nep_stored(nn_angular[i], capacity_angular);
  for (int slot = 0; slot < count; ++slot) {
    const long long idx = nep_tiled(slot, i, capacity_angular, N);
    const int tj = types[nl_angular[idx]];
    const real r12[3] = {(real)dx_angular[idx], (real)dy_angular[idx], (real)dz_angular[idx]};
    const real rsq = r12[0] * r12[0] + r12[1] * r12[1] + r12[2] * r12[2];
    const real r = nep_sqrt(rsq);
    const real rinv = (real)1 / r;
    const real u[3] = {r12[0] * rinv, r12[1] * rinv, r12[2] * rinv};
    nep_pair_basis_and_derivative(n_basis_angular, rc_angular[ti * n_types + tj], r, fn, fnp);
    nep_angular_basis_and_gradient(l_max, u[0], u[1], u[2], Y, Yx, Yy, Yz);
    nep_pair_radial_functions(n_angular, n_k, c_angular + (ti * n_types + tj) * n_angular * n_k,
                              fn, fnp, g, gp);
    real f_ij[3];
    nep_angular_pair_force(N, i, n_angular, l_max, dF_ds, g, gp, Y, Yx, Yy, Yz, u, rinv, false,
                           f_ij);
    for (int a = 0; a < 3; ++a) mu[a] -= (double)(rsq * f_ij[a]);
  }
  for (int a = 0; a < 3; ++a) dipole[a * N + i] += mu[a];
}
