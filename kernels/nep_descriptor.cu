// Descriptors (NEP_SPEC §3.3-3.7): one thread per atom.
//
//   nep_descriptor(N, n_types, n_max_radial, n_basis_radial, n_max_angular,
//                  n_basis_angular, l_max, extras, capacity_radial,
//                  capacity_angular, types, nn_radial, nl_radial, dx_radial,
//                  dy_radial, dz_radial, nn_angular, nl_angular, dx_angular,
//                  dy_angular, dz_angular, rc_radial, rc_angular, c_radial,
//                  c_angular, q, sum_fxyz)
//
// Layouts (N atoms, T types, NABC = (l_max + 1)^2 - 1):
//   neighbor lists   slot-major: nl[slot * N + i], dx[slot * N + i] = x_j - x_i
//   rc_*             (T*T,) pair cutoffs, center-major [t_i * T + t_j]
//   c_radial         [((t_i * T + t_j) * (n_max_radial + 1) + n) * (n_basis_radial + 1) + k]
//   c_angular        likewise with the angular sizes
//   q                (dim, N) unscaled descriptor, q[nu * N + i]
//   sum_fxyz         (n_max_angular + 1, NABC, N) angular sums s_{n,alpha}(i)
#include "nep_common.cuh"
#include "nep_invariants.cuh"

extern "C" __global__ void nep_descriptor(
  int N,
  int n_types,
  int n_max_radial,
  int n_basis_radial,
  int n_max_angular,
  int n_basis_angular,
  int l_max,
  int extras,
  int capacity_radial,
  int capacity_angular,
  const int* __restrict__ types,
  const int* __restrict__ nn_radial,
  const int* __restrict__ nl_radial,
  const double* __restrict__ dx_radial,
  const double* __restrict__ dy_radial,
  const double* __restrict__ dz_radial,
  const int* __restrict__ nn_angular,
  const int* __restrict__ nl_angular,
  const double* __restrict__ dx_angular,
  const double* __restrict__ dy_angular,
  const double* __restrict__ dz_angular,
  const real* __restrict__ rc_radial,
  const real* __restrict__ rc_angular,
  const real* __restrict__ c_radial,
  const real* __restrict__ c_angular,
  real* __restrict__ q,
  real* __restrict__ sum_fxyz)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int ti = types[i];
  const int n_radial = n_max_radial + 1;
  const int n_angular = n_max_angular + 1;
  const int c_stride_radial = n_radial * (n_basis_radial + 1);
  const int c_stride_angular = n_angular * (n_basis_angular + 1);
  const int n_abc = (l_max + 1) * (l_max + 1) - 1;
  real fn[NEP_MAX_NUM_N];

  // radial descriptor q_n = sum_j g_n(r_ij) (NEP_SPEC §3.4)
  real qr[NEP_MAX_NUM_N];
  for (int n = 0; n < n_radial; ++n) qr[n] = (real)0;
  const int count_radial = nep_stored(nn_radial[i], capacity_radial);
  for (int slot = 0; slot < count_radial; ++slot) {
    const int idx = slot * N + i;
    const int tj = types[nl_radial[idx]];
    const real x = (real)dx_radial[idx], y = (real)dy_radial[idx], z = (real)dz_radial[idx];
    const real r = nep_sqrt(x * x + y * y + z * z);
    const real rc = rc_radial[ti * n_types + tj];
    const real rcinv = (real)1 / rc;
    real fc, fcp;
    nep_fc_and_fcp(rc, rcinv, r, fc, fcp);
    nep_basis(n_basis_radial, rcinv, r, fc, fn);
    const real* c = c_radial + (ti * n_types + tj) * c_stride_radial;
    for (int n = 0; n < n_radial; ++n) {
      real g = (real)0;
      for (int k = 0; k <= n_basis_radial; ++k) g += c[n * (n_basis_radial + 1) + k] * fn[k];
      qr[n] += g;
    }
  }
  for (int n = 0; n < n_radial; ++n) q[n * N + i] = qr[n];

  // angular sums and invariants, one radial order at a time (NEP_SPEC §3.5-3.6)
  const int count_angular = nep_stored(nn_angular[i], capacity_angular);
  real Y[NEP_NUM_OF_ABC];
  for (int n = 0; n < n_angular; ++n) {
    real s[NEP_NUM_OF_ABC];
    for (int a = 0; a < NEP_NUM_OF_ABC; ++a) s[a] = (real)0;
    for (int slot = 0; slot < count_angular; ++slot) {
      const int idx = slot * N + i;
      const int tj = types[nl_angular[idx]];
      const real x = (real)dx_angular[idx], y = (real)dy_angular[idx], z = (real)dz_angular[idx];
      const real r = nep_sqrt(x * x + y * y + z * z);
      const real rc = rc_angular[ti * n_types + tj];
      const real rcinv = (real)1 / rc;
      real fc, fcp;
      nep_fc_and_fcp(rc, rcinv, r, fc, fcp);
      nep_basis(n_basis_angular, rcinv, r, fc, fn);
      const real* c = c_angular + (ti * n_types + tj) * c_stride_angular + n * (n_basis_angular + 1);
      real g = (real)0;
      for (int k = 0; k <= n_basis_angular; ++k) g += c[k] * fn[k];
      const real rinv = (real)1 / r;
      nep_angular_basis(l_max, x * rinv, y * rinv, z * rinv, Y);
      for (int a = 0; a < n_abc; ++a) s[a] += g * Y[a];
    }
    for (int a = 0; a < n_abc; ++a) sum_fxyz[(n * n_abc + a) * N + i] = s[a];
    real qa[NEP_MAX_L + 6];
    const int num_l = nep_invariants(l_max, extras, s, qa);
    for (int b = 0; b < num_l; ++b) q[(n_radial + b * n_angular + n) * N + i] = qa[b];
  }
}
