// Forces and per-atom virials from the descriptor gradients
// (docs/forces.md), gather form, no atomics.
//
// With f_ij = dU_i/dr_ij (r_ij = r_j - r_i), atom i's force is
// F_i = sum_j (f_ij - f_ji) and its virial W_i = sum_j r_ij (x) f_ji
// (GPUMD's neighbor-side split; row-major [a * 3 + b] = r_a f_b). The lists
// are symmetric because the pair cutoffs are.
#ifndef NEP_FORCE_CUH
#define NEP_FORCE_CUH

#include "nep_arch.cuh"
#include "nep_basis.cuh"
#include "nep_harmonics.cuh"
#include "nep_pairs.cuh"

// The pair force of one angular pair seen from `atom`:
// d[sum_{n,alpha} G_{n,alpha} g_n(r) Y_alpha(u)]/dr_ij
//   = sum (G g'_n) Y u + (G g_n / r) (grad Y - (u . grad Y) u)
// for G of the atom ([n][alpha]), its radial functions g, gp (coefficients of
// its type first) and Y, grad Y of u. `reversed` evaluates it for the pair
// vector -r u (the neighbor's view: Y(-u) = (-1)^l Y(u),
// grad Y(-u) = -(-1)^l grad Y(u), derivative with respect to -r u).
__device__ __forceinline__ void nep_angular_pair_force(
  const real* G, const real* g, const real* gp, const real* Y, const real* Yx, const real* Yy,
  const real* Yz, const real* u, real rinv, bool reversed, real* f)
{
  real sy = (real)0;
  real v[3] = {(real)0, (real)0, (real)0};
  NEP_UNROLL
  for (int l = 1; l <= NEP_L_MAX; ++l) {
    const real parity = (reversed && (l & 1)) ? (real)(-1) : (real)1;
    NEP_UNROLL
    for (int al = l * l - 1; al < (l + 1) * (l + 1) - 1; ++al) {
      // sum_n G_{n,alpha} g'_n and sum_n G_{n,alpha} g_n: one component at a
      // time, so that only Y and its gradient stay live in registers
      real a = (real)0, b = (real)0;
      NEP_UNROLL
      for (int n = 0; n < NEP_N_ANGULAR; ++n) {
        a += G[n * NEP_N_ABC + al] * gp[n];
        b += G[n * NEP_N_ABC + al] * g[n];
      }
      a *= parity;
      b *= parity;
      sy += a * Y[al];
      v[0] += b * Yx[al];
      v[1] += b * Yy[al];
      v[2] += b * Yz[al];
    }
  }
  const real uv = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  const real sign = reversed ? (real)(-1) : (real)1;
  NEP_UNROLL
  for (int a = 0; a < 3; ++a) f[a] = sign * (sy * u[a] + (v[a] - uv * u[a]) * rinv);
}

// The geometry of one angular pair: u, 1/r, g_n, g'_n (coefficients of the
// center type ti), Y and its gradient.
struct NepAngularPair {
  real r12[3];
  real u[3];
  real rinv;
  real fn[NEP_K_ANGULAR], fnp[NEP_K_ANGULAR];
  real Y[NEP_N_ABC], Yx[NEP_N_ABC], Yy[NEP_N_ABC], Yz[NEP_N_ABC];
};

__device__ __forceinline__ void nep_angular_pair(
  const NepCenter& c, const NepAtoms& atoms, const NepLists& lists, long long e, int j, real rc,
  NepAngularPair& p)
{
  const real r = nep_pair(c, atoms, lists, e, j, p.r12);
  p.rinv = (real)1 / r;
  NEP_UNROLL
  for (int a = 0; a < 3; ++a) p.u[a] = p.r12[a] * p.rinv;
  nep_basis_and_derivative<NEP_K_ANGULAR>(rc, r, p.fn, p.fnp);
  nep_harmonics_and_gradient<NEP_L_MAX>(p.u[0], p.u[1], p.u[2], p.Y, p.Yx, p.Yy, p.Yz);
}

// The own half of atom i's angular forces (fused potential kernel): f_ij for
// every angular pair from G of atom i alone, stored at list entry e as
// f_angular[e], [e + C], [e + 2C] (C = capacity * N). nep_angular_reverse
// adds the other half from the partners' entries, so every directed pair is
// evaluated once (GPUMD's partial forces).
__device__ __forceinline__ void nep_angular_partial_forces(
  int i, const NepAtoms& atoms, const NepLists& angular, const real* __restrict__ params,
  const real* G, real* __restrict__ f_angular)
{
  const NepCenter c = atoms.center(i);
  const int ti = atoms.types[i];
  const real* rc = params + NEP_P_RC_ANGULAR + ti * NEP_N_TYPES;
  const real* coef = params + NEP_P_C_ANGULAR + (long long)ti * NEP_N_TYPES * NEP_N_ANGULAR * NEP_K_ANGULAR;
  const long long C = (long long)angular.capacity * angular.N;
  const NepList list = nep_list(angular, i);
  for (int slot = 0; slot < list.count; ++slot) {
    const long long e = list.entry(slot);
    const int j = angular.neighbor(e);
    const int tj = atoms.types[j];
    NepAngularPair p;
    nep_angular_pair(c, atoms, angular, e, j, rc[tj], p);
    real g[NEP_N_ANGULAR], gp[NEP_N_ANGULAR];
    nep_contract<NEP_N_ANGULAR, NEP_K_ANGULAR>(coef + tj * NEP_N_ANGULAR * NEP_K_ANGULAR, p.fn, g);
    nep_contract<NEP_N_ANGULAR, NEP_K_ANGULAR>(coef + tj * NEP_N_ANGULAR * NEP_K_ANGULAR, p.fnp, gp);
    real f[3];
    nep_angular_pair_force(G, g, gp, p.Y, p.Yx, p.Yy, p.Yz, p.u, p.rinv, false, f);
    NEP_UNROLL
    for (int a = 0; a < 3; ++a) f_angular[e + a * C] = f[a];
  }
}

// The entry of atom j's list that points back at atom i along -r_ij, or -1:
// j's list is sorted by (neighbor, image), so a binary search finds i's
// entries, and among them the one with the opposite image.
__device__ __forceinline__ long long nep_reverse_entry(
  const NepCenter& c, const NepLists& lists, int i, int j, long long e)
{
  const NepList list = nep_list(lists, j);
  int lo = 0, hi = list.count;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (lists.neighbor(list.entry(mid)) < i) lo = mid + 1; else hi = mid;
  }
  // the opposite image: code 26 - code of a mic entry, -k of a stored shift
  int k[3];
  nep_unpack_shift(c.mic ? 0 : lists.shift[e], k);
  const int opposite = c.mic ? (i | ((2 * NEP_ZERO_IMAGE - (lists.nbr[e] >> NEP_NBR_BITS)) << NEP_NBR_BITS))
                             : nep_pack_shift(-k[0], -k[1], -k[2]);
  for (int slot = lo; slot < list.count; ++slot) {
    const long long r = list.entry(slot);
    if (lists.neighbor(r) != i) break;
    if ((c.mic ? lists.nbr[r] : lists.shift[r]) == opposite) return r;
  }
  return -1;
}

// Atom i's angular forces and virial from the stored pair forces:
// F_i += f_ij - f_ji, W_i += r_ij (x) f_ji. An entry missing from an
// overflowing list contributes nothing; such an evaluation is rerun with
// larger lists anyway.
__device__ __forceinline__ void nep_angular_reverse(
  int i, const NepAtoms& atoms, const NepLists& angular, const real* __restrict__ f_angular,
  double* f, double* w)
{
  const NepCenter c = atoms.center(i);
  const long long C = (long long)angular.capacity * angular.N;
  const NepList list = nep_list(angular, i);
  for (int slot = 0; slot < list.count; ++slot) {
    const long long e = list.entry(slot);
    const int j = angular.neighbor(e);
    real r12[3];
    nep_pair(c, atoms, angular, e, j, r12);
    const long long back = nep_reverse_entry(c, angular, i, j, e);
    real f_ji[3] = {(real)0, (real)0, (real)0};
    if (back >= 0) {
      NEP_UNROLL
      for (int a = 0; a < 3; ++a) f_ji[a] = f_angular[back + a * C];
    }
    NEP_UNROLL
    for (int a = 0; a < 3; ++a) {
      f[a] += (double)(f_angular[e + a * C] - f_ji[a]);
      NEP_UNROLL
      for (int b = 0; b < 3; ++b) w[a * 3 + b] += (double)(r12[a] * f_ji[b]);
    }
  }
}

// dU_atom/dr along a radial pair: sum_n fp_n g'_n(r) with the coefficients of
// the atom's type first (c) and basis derivatives fnp.
__device__ __forceinline__ real nep_radial_derivative(const real* __restrict__ c, const real* fnp,
                                                      const real* fp)
{
  real gp[NEP_N_RADIAL];
  nep_contract<NEP_N_RADIAL, NEP_K_RADIAL>(c, fnp, gp);
  real d = (real)0;
  NEP_UNROLL
  for (int n = 0; n < NEP_N_RADIAL; ++n) d += fp[n] * gp[n];
  return d;
}

// The radial pair derivatives of every neighbor of atom i, d_ij = dU_i/dr and
// d_ji = dU_j/dr along the pair, handed to `visit(e, j, r12, r, d_ij, d_ji)`.
// dU/df_k comes either from `pre` (n_pre > 0: per atom and present neighbor
// type, sum_n fp_n c_nk(t_atom, t), nep_tiled layout with n_pre * K values,
// slot of type t = type_slot[t]) or from the radial gradients fp_radial
// (NEP_N_RADIAL, N) and the coefficients.
struct NepRadialGradient {
  int n_pre;
  const int* type_slot;
  const real* pre;
  const real* fp_radial;
};

template <typename Visit>
__device__ __forceinline__ void nep_radial_pairs(
  int i, const NepAtoms& atoms, const NepLists& radial, const real* __restrict__ params,
  const NepRadialGradient& grad, Visit visit)
{
  const NepCenter c = atoms.center(i);
  const int ti = atoms.types[i];
  const int N = radial.N;
  const real* rc = params + NEP_P_RC_RADIAL + ti * NEP_N_TYPES;
  const real* coef = params + NEP_P_C_RADIAL;
  constexpr int C_PAIR = NEP_N_RADIAL * NEP_K_RADIAL;
  const int n_pre_k = grad.n_pre * NEP_K_RADIAL;
  int stride_i = 1;
  const real* pre_i = grad.n_pre > 0 ? grad.pre + nep_tiled_base(i, n_pre_k, N, stride_i) : grad.pre;
  const int slot_i = grad.n_pre > 0 ? grad.type_slot[ti] : 0;
  real fp_i[NEP_N_RADIAL];
  if (grad.n_pre == 0) {
    NEP_UNROLL
    for (int n = 0; n < NEP_N_RADIAL; ++n) fp_i[n] = grad.fp_radial[(long long)n * N + i];
  }
  const NepList list = nep_list(radial, i);
  for (int slot = 0; slot < list.count; ++slot) {
    const long long e = list.entry(slot);
    const int j = radial.neighbor(e);
    const int tj = atoms.types[j];
    real r12[3];
    const real r = nep_pair(c, atoms, radial, e, j, r12);
    real fn[NEP_K_RADIAL], fnp[NEP_K_RADIAL];
    nep_basis_and_derivative<NEP_K_RADIAL>(rc[tj], r, fn, fnp);
    real d_ij = (real)0, d_ji = (real)0;
    if (grad.n_pre > 0) {
      int stride_j;
      const real* pre_ij = pre_i + grad.type_slot[tj] * NEP_K_RADIAL * stride_i;
      const real* pre_ji = grad.pre + nep_tiled_base(j, n_pre_k, N, stride_j) + slot_i * NEP_K_RADIAL * stride_j;
      NEP_UNROLL
      for (int k = 0; k < NEP_K_RADIAL; ++k) {
        d_ij += pre_ij[k * stride_i] * fnp[k];
        d_ji += pre_ji[k * stride_j] * fnp[k];
      }
    } else {
      real fp_j[NEP_N_RADIAL];
      NEP_UNROLL
      for (int n = 0; n < NEP_N_RADIAL; ++n) fp_j[n] = grad.fp_radial[(long long)n * N + j];
      d_ij = nep_radial_derivative(coef + (ti * NEP_N_TYPES + tj) * C_PAIR, fnp, fp_i);
      d_ji = nep_radial_derivative(coef + (tj * NEP_N_TYPES + ti) * C_PAIR, fnp, fp_j);
    }
    visit(e, j, r12, r, d_ij, d_ji);
  }
}

// Radial forces and virial of atom i: f_ij = d_ij u, f_ji = -d_ji u.
__device__ __forceinline__ void nep_radial_forces(
  int i, const NepAtoms& atoms, const NepLists& radial, const real* __restrict__ params,
  const NepRadialGradient& grad, double* f, double* w)
{
  nep_radial_pairs(i, atoms, radial, params, grad,
                   [&](long long, int, const real* r12, real r, real d_ij, real d_ji) {
    const real rinv = (real)1 / r;
    NEP_UNROLL
    for (int a = 0; a < 3; ++a) {
      f[a] += (double)((d_ij + d_ji) * (r12[a] * rinv));
      NEP_UNROLL
      for (int b = 0; b < 3; ++b) w[a * 3 + b] -= (double)(r12[a] * d_ji * r12[b] * rinv);
    }
  });
}

// ------------------------------------------------ plans: gradients in memory
// The plans of charge and tensor models keep each atom's G = dF/ds in a
// global array (NEP_N_SUMS per atom, nep_tiled layout) and evaluate an
// angular pair from both sides.

// G of `atom` ([n][alpha]) from the tiled array dF_ds.
__device__ __forceinline__ void nep_load_gradient(const real* __restrict__ dF_ds, int atom, int N,
                                                  real* G)
{
  int stride;
  const real* column = dF_ds + nep_tiled_base(atom, NEP_N_SUMS, N, stride);
  NEP_UNROLL
  for (int c = 0; c < NEP_N_SUMS; ++c) G[c] = column[(long long)c * stride];
}

// The pair force of one side of an angular pair: the coefficients of that
// side's atom type first (coef) and its G; reversed for the neighbor's side.
__device__ __forceinline__ void nep_angular_side(
  const NepAngularPair& p, const real* __restrict__ coef, const real* G, bool reversed, real* f)
{
  real g[NEP_N_ANGULAR], gp[NEP_N_ANGULAR];
  nep_contract<NEP_N_ANGULAR, NEP_K_ANGULAR>(coef, p.fn, g);
  nep_contract<NEP_N_ANGULAR, NEP_K_ANGULAR>(coef, p.fnp, gp);
  nep_angular_pair_force(G, g, gp, p.Y, p.Yx, p.Yy, p.Yz, p.u, p.rinv, reversed, f);
}

// Every angular pair of atom i with its geometry, handed to
// `visit(e, j, pair, coef_ij, coef_ji)` (coefficients of t_i -> t_j and t_j -> t_i).
template <typename Visit>
__device__ __forceinline__ void nep_angular_pairs(
  int i, const NepAtoms& atoms, const NepLists& angular, const real* __restrict__ params, Visit visit)
{
  const NepCenter c = atoms.center(i);
  const int ti = atoms.types[i];
  const real* rc = params + NEP_P_RC_ANGULAR + ti * NEP_N_TYPES;
  constexpr int C_PAIR = NEP_N_ANGULAR * NEP_K_ANGULAR;
  const real* coef = params + NEP_P_C_ANGULAR;
  const NepList list = nep_list(angular, i);
  for (int slot = 0; slot < list.count; ++slot) {
    const long long e = list.entry(slot);
    const int j = angular.neighbor(e);
    const int tj = atoms.types[j];
    NepAngularPair p;
    nep_angular_pair(c, atoms, angular, e, j, rc[tj], p);
    visit(e, j, p, coef + (ti * NEP_N_TYPES + tj) * C_PAIR, coef + (tj * NEP_N_TYPES + ti) * C_PAIR);
  }
}

#endif  // NEP_FORCE_CUH
