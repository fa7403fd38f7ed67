// The descriptor of one atom (NEP_SPEC §3.3-3.7): a device function shared by
// the nep_descriptor kernel (model types whose plans need the descriptor on
// its own) and the fused nep_potential kernel.
//
// Layouts (N atoms, T types, NABC = (l_max + 1)^2 - 1):
//   neighbor lists   nl[e], dx[e] = x_j - x_i with e = nep_tiled(slot, i, capacity, N)
//                    (slot-major in tiles of 8 atoms, nep_layout.cuh)
//   rc_*             (T*T,) pair cutoffs, center-major [t_i * T + t_j]
//   c_radial         [((t_i * T + t_j) * (n_max_radial + 1) + n) * (n_basis_radial + 1) + k]
//   c_angular        likewise with the angular sizes
//   sums             angular sums s_{n,alpha}(i) at nep_tiled(n * NABC + alpha, i,
//                    (n_max_angular + 1) * NABC, N)
#ifndef NEP_DESCRIPTOR_CUH
#define NEP_DESCRIPTOR_CUH

#include "nep_common.cuh"
#include "nep_invariants.cuh"

// q[n] += sum_k c[n * n_k + k] run[k], then run = 0 (a run of same-type neighbors).
__device__ __forceinline__ void nep_close_run(const real* __restrict__ c, int n_radial, int n_k,
                                              real* run, real* q)
{
  for (int n = 0; n < n_radial; ++n) {
    real g = (real)0;
    for (int k = 0; k < n_k; ++k) g += c[n * n_k + k] * run[k];
    q[n] += g;
  }
  for (int k = 0; k < n_k; ++k) run[k] = (real)0;
}

// The unscaled descriptor of atom i into q (dim values, NEP_SPEC §3.7 order)
// and its angular sums into column i of sums.
__device__ __forceinline__ void nep_descriptor_atom(
  int i, int N, int n_types, int n_max_radial, int n_basis_radial, int n_max_angular,
  int n_basis_angular, int l_max, int extras, int capacity_radial, int capacity_angular,
  const int* __restrict__ types, const int* __restrict__ nn_radial,
  const int* __restrict__ nl_radial, const double* __restrict__ dx_radial,
  const double* __restrict__ dy_radial, const double* __restrict__ dz_radial,
  const int* __restrict__ nn_angular, const int* __restrict__ nl_angular,
  const double* __restrict__ dx_angular, const double* __restrict__ dy_angular,
  const double* __restrict__ dz_angular, const real* __restrict__ rc_radial,
  const real* __restrict__ rc_angular, const real* __restrict__ c_radial,
  const real* __restrict__ c_angular, real* q, real* __restrict__ sums)
{
  const int ti = types[i];
  const int n_radial = n_max_radial + 1;
  const int n_angular = n_max_angular + 1;
  const int n_k_radial = n_basis_radial + 1;
  const int n_k_angular = n_basis_angular + 1;
  const int c_stride_radial = n_radial * n_k_radial;
  const int c_stride_angular = n_angular * n_k_angular;
  const int n_abc = (l_max + 1) * (l_max + 1) - 1;
  real fn[NEP_MAX_NUM_N];

  // radial descriptor q_n = sum_j sum_k c_nk(t_i, t_j) f_k(r_ij) (NEP_SPEC §3.4):
  // the basis values are summed over each run of same-type neighbors and
  // contracted with c once per run (lists are sorted by j, and structures
  // usually keep a species' atoms together), not once per neighbor
  for (int n = 0; n < n_radial; ++n) q[n] = (real)0;
  real run[NEP_MAX_NUM_N];
  for (int k = 0; k < n_k_radial; ++k) run[k] = (real)0;
  int run_type = -1;
  const int count_radial = nep_stored(nn_radial[i], capacity_radial);
  for (int slot = 0; slot < count_radial; ++slot) {
    const long long idx = nep_tiled(slot, i, capacity_radial, N);
    const int tj = types[nl_radial[idx]];
    if (tj != run_type) {
      if (run_type >= 0)
        nep_close_run(c_radial + (ti * n_types + run_type) * c_stride_radial, n_radial, n_k_radial, run, q);
      run_type = tj;
    }
    const real x = (real)dx_radial[idx], y = (real)dy_radial[idx], z = (real)dz_radial[idx];
    const real r = nep_sqrt(x * x + y * y + z * z);
    nep_pair_basis(n_basis_radial, rc_radial[ti * n_types + tj], r, fn);
    for (int k = 0; k < n_k_radial; ++k) run[k] += fn[k];
  }
  if (run_type >= 0)
    nep_close_run(c_radial + (ti * n_types + run_type) * c_stride_radial, n_radial, n_k_radial, run, q);

  // angular sums s_{n,alpha} = sum_j g_n(r_ij) Y_alpha(u_ij) (NEP_SPEC §3.5),
  // accumulated in column i of sums: the pair functions are evaluated once
  // per neighbor, not once per radial order
  int stride;
  real* my_sums = sums + nep_tiled_base(i, n_angular * n_abc, N, stride);
  for (int c = 0; c < n_angular * n_abc; ++c) my_sums[c * stride] = (real)0;
  const int count_angular = nep_stored(nn_angular[i], capacity_angular);
  real Y[NEP_NUM_OF_ABC];
  for (int slot = 0; slot < count_angular; ++slot) {
    const long long idx = nep_tiled(slot, i, capacity_angular, N);
    const int tj = types[nl_angular[idx]];
    const real x = (real)dx_angular[idx], y = (real)dy_angular[idx], z = (real)dz_angular[idx];
    const real r = nep_sqrt(x * x + y * y + z * z);
    nep_pair_basis(n_basis_angular, rc_angular[ti * n_types + tj], r, fn);
    const real rinv = (real)1 / r;
    nep_angular_basis(l_max, x * rinv, y * rinv, z * rinv, Y);
    const real* c = c_angular + (ti * n_types + tj) * c_stride_angular;
    for (int n = 0; n < n_angular; ++n) {
      real g = (real)0;
      for (int k = 0; k < n_k_angular; ++k) g += c[n * n_k_angular + k] * fn[k];
      real* s = my_sums + n * n_abc * stride;
      for (int a = 0; a < n_abc; ++a) s[a * stride] += g * Y[a];
    }
  }
  // invariants per radial order (NEP_SPEC §3.6-3.7)
  for (int n = 0; n < n_angular; ++n) {
    real s[NEP_NUM_OF_ABC], qa[NEP_MAX_L + 6];
    for (int a = 0; a < NEP_NUM_OF_ABC; ++a) s[a] = a < n_abc ? my_sums[(n * n_abc + a) * stride] : (real)0;
    const int num_l = nep_invariants(l_max, extras, s, qa);
    for (int b = 0; b < num_l; ++b) q[n_radial + b * n_angular + n] = qa[b];
  }
}

#endif  // NEP_DESCRIPTOR_CUH
