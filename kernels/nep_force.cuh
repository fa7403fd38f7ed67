// Descriptor forces and per-atom virials of one atom (NEP_SPEC §3.9-3.10),
// gather form: device functions shared by the separate force kernels (model
// types whose plans combine launches) and the fused nep_force (potentials).
//
// With f_ij = dU_i/dr_ij (r_ij = r_j - r_i), thread i evaluates both f_ij and
// f_ji for each neighbor j from the pair vector alone (the lists are
// symmetric because pair cutoffs are), and adds
//   F_i += f_ij - f_ji,   W_i += r_ij (x) f_ji   (GPUMD's neighbor-side split)
// to f (3) and w (9, row-major [a * 3 + b] = r_a f_b).
// fp (dim, N) is dU/dq (its first n_max_radial + 1 rows are read); dU_ds the
// output of the angular gradient (layout of the sums, nep_descriptor.cuh). With n_pre > 0,
// pre_radial and type_slot are nep_potential's pre-contracted radial
// derivatives (see nep_potential.cu) and replace fp and c_radial.
#ifndef NEP_FORCE_CUH
#define NEP_FORCE_CUH

#include "nep_common.cuh"
#include "nep_pair.cuh"

// Radial part of atom i (NEP_SPEC §3.9, first term).
__device__ __forceinline__ void nep_force_radial_atom(
  int i, int N, int n_types, int n_max_radial, int n_basis_radial, int n_pre,
  int capacity_radial, const int* __restrict__ types, const int* __restrict__ type_slot,
  const int* __restrict__ nn_radial, const int* __restrict__ nl_radial,
  const double* __restrict__ dx_radial, const double* __restrict__ dy_radial,
  const double* __restrict__ dz_radial, const real* __restrict__ rc_radial,
  const real* __restrict__ c_radial, const real* __restrict__ fp,
  const real* __restrict__ pre_radial, double* f, double* w)
{
  const int ti = types[i];
  const int n_radial = n_max_radial + 1;
  const int n_k = n_basis_radial + 1;
  const int c_stride = n_radial * n_k;
  real fp_i[NEP_MAX_NUM_N];
  for (int n = 0; n < n_radial; ++n) fp_i[n] = fp[n * N + i];
  real fn[NEP_MAX_NUM_N], fnp[NEP_MAX_NUM_N];
  // dU/df_k of a neighbor of type t: component type_slot[t] * n_k + k (when n_pre > 0)
  const int n_pre_k = n_pre * n_k;
  const int slot_i = n_pre > 0 ? type_slot[ti] : 0;
  int stride_i;
  const real* pre_i = pre_radial + (n_pre > 0 ? nep_tiled_base(i, n_pre_k, N, stride_i) : 0);

  const int count = nep_stored(nn_radial[i], capacity_radial);
  for (int slot = 0; slot < count; ++slot) {
    const long long idx = nep_tiled(slot, i, capacity_radial, N);
    const int j = nl_radial[idx];
    const int tj = types[j];
    real r12[3];
    const real r = nep_pair_vector(dx_radial, dy_radial, dz_radial, idx, r12);
    const real rinv = (real)1 / r;
    nep_pair_basis_and_derivative(n_basis_radial, rc_radial[ti * n_types + tj], r, fn, fnp);
    // dU_i/dr and dU_j/dr along the pair
    real d_ij = (real)0, d_ji = (real)0;
    if (n_pre > 0) {
      int stride_j;
      const real* pre_ij = pre_i + type_slot[tj] * n_k * stride_i;
      const real* pre_ji = pre_radial + nep_tiled_base(j, n_pre_k, N, stride_j) + slot_i * n_k * stride_j;
      for (int k = 0; k < n_k; ++k) {
        d_ij += pre_ij[k * stride_i] * fnp[k];
        d_ji += pre_ji[k * stride_j] * fnp[k];
      }
    } else {
      const real* c_ij = c_radial + (ti * n_types + tj) * c_stride;
      const real* c_ji = c_radial + (tj * n_types + ti) * c_stride;
      for (int n = 0; n < n_radial; ++n) {
        real gp_ij = (real)0, gp_ji = (real)0;
        for (int k = 0; k < n_k; ++k) {
          gp_ij += c_ij[n * n_k + k] * fnp[k];
          gp_ji += c_ji[n * n_k + k] * fnp[k];
        }
        d_ij += fp_i[n] * gp_ij;
        d_ji += fp[n * N + j] * gp_ji;
      }
    }
    // f_ij = d_ij u, f_ji = -d_ji u with u = r_ij / r
    for (int a = 0; a < 3; ++a) {
      const real u = r12[a] * rinv;
      f[a] += (double)((d_ij + d_ji) * u);
      for (int b = 0; b < 3; ++b) w[a * 3 + b] -= (double)(r12[a] * d_ji * r12[b] * rinv);
    }
  }
}

// Angular part of atom i (NEP_SPEC §3.9, second term).
__device__ __forceinline__ void nep_force_angular_atom(
  int i, int N, int n_types, int n_max_angular, int n_basis_angular, int l_max,
  int capacity_angular, const int* __restrict__ types, const int* __restrict__ nn_angular,
  const int* __restrict__ nl_angular, const double* __restrict__ dx_angular,
  const double* __restrict__ dy_angular, const double* __restrict__ dz_angular,
  const real* __restrict__ rc_angular, const real* __restrict__ c_angular,
  const real* __restrict__ dU_ds, double* f, double* w)
{
  const int ti = types[i];
  const int n_angular = n_max_angular + 1;
  const int n_k = n_basis_angular + 1;
  const int c_stride = n_angular * n_k;
  real fn[NEP_MAX_NUM_N], fnp[NEP_MAX_NUM_N];
  real g_ij[NEP_MAX_NUM_N], gp_ij[NEP_MAX_NUM_N], g_ji[NEP_MAX_NUM_N], gp_ji[NEP_MAX_NUM_N];
  real Y[NEP_NUM_OF_ABC], Yx[NEP_NUM_OF_ABC], Yy[NEP_NUM_OF_ABC], Yz[NEP_NUM_OF_ABC];

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
    nep_pair_radial_functions(n_angular, n_k, c_angular + (ti * n_types + tj) * c_stride, fn, fnp,
                              g_ij, gp_ij);
    nep_pair_radial_functions(n_angular, n_k, c_angular + (tj * n_types + ti) * c_stride, fn, fnp,
                              g_ji, gp_ji);
    nep_angular_basis_and_gradient(l_max, u[0], u[1], u[2], Y, Yx, Yy, Yz);
    // f_ij from i's G; f_ji from j's G seen along -r_ij (nep_pair.cuh, NEP_SPEC §3.9)
    real f_ij[3], f_ji[3];
    nep_angular_pair_force(N, i, n_angular, l_max, dU_ds, g_ij, gp_ij, Y, Yx, Yy, Yz, u, rinv,
                           false, f_ij);
    nep_angular_pair_force(N, j, n_angular, l_max, dU_ds, g_ji, gp_ji, Y, Yx, Yy, Yz, u, rinv,
                           true, f_ji);
    for (int a = 0; a < 3; ++a) {
      f[a] += (double)(f_ij[a] - f_ji[a]);
      for (int b = 0; b < 3; ++b) w[a * 3 + b] += (double)(r12[a] * f_ji[b]);
    }
  }
}

// The own half of atom i's angular forces (NEP_SPEC §3.9): f_ij = dU_i/dr_ij
// for every angular pair, from G_i = dU_ds of atom i alone, stored at
// e = nep_tiled(slot, i, capacity_angular, N) as f_angular[e], [e + C], [e + 2C]
// (C = capacity_angular * N). nep_angular_reverse_atom adds the other half
// from the partners' stored pairs, so every directed pair is evaluated once
// (GPUMD's partial forces), not once from each side as in nep_force_angular_atom.
__device__ __forceinline__ void nep_angular_partial_atom(
  int i, int N, int n_types, int n_max_angular, int n_basis_angular, int l_max,
  int capacity_angular, const int* __restrict__ types, const int* __restrict__ nn_angular,
  const int* __restrict__ nl_angular, const double* __restrict__ dx_angular,
  const double* __restrict__ dy_angular, const double* __restrict__ dz_angular,
  const real* __restrict__ rc_angular, const real* __restrict__ c_angular,
  const real* __restrict__ dU_ds, real* __restrict__ f_angular)
{
  const int ti = types[i];
  const int n_angular = n_max_angular + 1;
  const int n_k = n_basis_angular + 1;
  const int c_stride = n_angular * n_k;
  const int n_abc = (l_max + 1) * (l_max + 1) - 1;
  const long long C = (long long)capacity_angular * N;
  real fn[NEP_MAX_NUM_N], fnp[NEP_MAX_NUM_N], g[NEP_MAX_NUM_N], gp[NEP_MAX_NUM_N];
  real Y[NEP_NUM_OF_ABC], Yx[NEP_NUM_OF_ABC], Yy[NEP_NUM_OF_ABC], Yz[NEP_NUM_OF_ABC];
  // G_i as [alpha][n], read once for all pairs
  real G_i[NEP_NUM_OF_ABC * NEP_MAX_NUM_N];
  int stride_i;
  const real* G_column = dU_ds + nep_tiled_base(i, n_angular * n_abc, N, stride_i);
  for (int n = 0; n < n_angular; ++n)
    for (int al = 0; al < n_abc; ++al) G_i[al * n_angular + n] = G_column[(n * n_abc + al) * stride_i];

  const int count = nep_stored(nn_angular[i], capacity_angular);
  for (int slot = 0; slot < count; ++slot) {
    const long long idx = nep_tiled(slot, i, capacity_angular, N);
    const int tj = types[nl_angular[idx]];
    real r12[3];
    const real r = nep_pair_vector(dx_angular, dy_angular, dz_angular, idx, r12);
    const real rinv = (real)1 / r;
    const real u[3] = {r12[0] * rinv, r12[1] * rinv, r12[2] * rinv};
    nep_pair_basis_and_derivative(n_basis_angular, rc_angular[ti * n_types + tj], r, fn, fnp);
    nep_pair_radial_functions(n_angular, n_k, c_angular + (ti * n_types + tj) * c_stride, fn, fnp,
                              g, gp);
    nep_angular_basis_and_gradient(l_max, u[0], u[1], u[2], Y, Yx, Yy, Yz);
    // d[g(r) Y(u)]/dr_ij = g' Y u + (g / r) (grad Y - (u . grad Y) u)
    real sy = (real)0;
    real v[3] = {(real)0, (real)0, (real)0};
    for (int al = 0; al < n_abc; ++al) {
      real a = (real)0, b = (real)0;
      for (int n = 0; n < n_angular; ++n) {
        const real G = G_i[al * n_angular + n];
        a += G * gp[n];
        b += G * g[n];
      }
      sy += a * Y[al];
      v[0] += b * Yx[al];
      v[1] += b * Yy[al];
      v[2] += b * Yz[al];
    }
    const real uv = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    for (int a = 0; a < 3; ++a) f_angular[idx + a * C] = sy * u[a] + (v[a] - uv * u[a]) * rinv;
  }
}

// Atom i's angular forces and virial from the stored pair forces (see
// nep_angular_partial_atom): F_i += f_ij - f_ji, W_i += r_ij (x) f_ji, where
// f_ji = dU_j/dr_ji is j's entry for the reverse pair: neighbor i at the
// vector -r_ij (the lists are symmetric, and each is sorted by neighbor
// index, so a binary search finds i's images in j's list). An entry missing
// from an overflowing list contributes nothing; the evaluator reruns such an
// evaluation with larger lists anyway.
__device__ __forceinline__ void nep_angular_reverse_atom(
  int i, int N, int capacity_angular, const int* __restrict__ nn_angular,
  const int* __restrict__ nl_angular, const double* __restrict__ dx_angular,
  const double* __restrict__ dy_angular, const double* __restrict__ dz_angular,
  const real* __restrict__ f_angular, double* f, double* w)
{
  const long long C = (long long)capacity_angular * N;
  const int count = nep_stored(nn_angular[i], capacity_angular);
  for (int slot = 0; slot < count; ++slot) {
    const long long idx = nep_tiled(slot, i, capacity_angular, N);
    const int j = nl_angular[idx];
    const double x = dx_angular[idx], y = dy_angular[idx], z = dz_angular[idx];
    int stride;
    const long long base = nep_tiled_base(j, capacity_angular, N, stride);
    int lo = 0, hi = nep_stored(nn_angular[j], capacity_angular);
    const int end = hi;
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      if (nl_angular[base + (long long)mid * stride] < i) lo = mid + 1; else hi = mid;
    }
    real f_ji[3] = {(real)0, (real)0, (real)0};
    for (int e = lo; e < end; ++e) {
      const long long k = base + (long long)e * stride;
      if (nl_angular[k] != i) break;
      // exactly -r_ij in exact arithmetic; other images of i differ by a lattice vector
      if (fabs(dx_angular[k] + x) + fabs(dy_angular[k] + y) + fabs(dz_angular[k] + z) < 1e-6) {
        for (int a = 0; a < 3; ++a) f_ji[a] = f_angular[k + a * C];
        break;
      }
    }
    const real r12[3] = {(real)x, (real)y, (real)z};
    for (int a = 0; a < 3; ++a) {
      f[a] += (double)(f_angular[idx + a * C] - f_ji[a]);
      for (int b = 0; b < 3; ++b) w[a * 3 + b] += (double)(r12[a] * f_ji[b]);
    }
  }
}

#endif  // NEP_FORCE_CUH
