// Pair partial forces f_ij = dF_i/dr_ij (r_ij = r_j - r_i) of any per-atom
// scalar F of the descriptor, for the kernels that need them one at a time:
// Born effective charges (F = raw charge) and dipoles (F = the dipole
// network). NEP_SPEC §3.9 for the formulas; §4.4 and §5 for their users.
//
// F enters through its gradient with respect to the descriptor: fp (dim, N)
// for the radial part, and dF_ds, the output of nep_angular_gradient (layout of
// the angular sums, nep_descriptor.cuh), for the angular part.
#ifndef NEP_PAIR_CUH
#define NEP_PAIR_CUH

#include "nep_common.cuh"

// dF_atom/dr along the pair for a radial pair with coefficients c (of the
// atom's type first) and basis derivatives fnp: sum_n fp_n(atom) g_n'(r).
// The pair force is this times u (seen from the center) or minus this times u
// (seen from the neighbor, whose pair vector is -r_ij).
__device__ __forceinline__ real nep_radial_pair_derivative(
  int N, int atom, int n_radial, int n_k, const real* c, const real* fnp, const real* fp)
{
  real d = (real)0;
  for (int n = 0; n < n_radial; ++n) {
    real gp = (real)0;
    for (int k = 0; k < n_k; ++k) gp += c[n * n_k + k] * fnp[k];
    d += fp[n * N + atom] * gp;
  }
  return d;
}

// g_n(r) and g_n'(r) of an angular pair with coefficients c.
__device__ __forceinline__ void nep_pair_radial_functions(
  int n_angular, int n_k, const real* c, const real* fn, const real* fnp, real* g, real* gp)
{
  for (int n = 0; n < n_angular; ++n) {
    real a = (real)0, ap = (real)0;
    for (int k = 0; k < n_k; ++k) {
      a += c[n * n_k + k] * fn[k];
      ap += c[n * n_k + k] * fnp[k];
    }
    g[n] = a;
    gp[n] = ap;
  }
}

// The angular pair force of `atom`: d[sum_{n,alpha} G_{n,alpha} g_n(r) Y_alpha]/dr
// with G = dF_ds of the atom, for the pair vector r u seen from the center
// (reversed = false) or -r u seen from the neighbor (reversed = true; then
// Y(-u) = (-1)^l Y(u), grad Y(-u) = -(-1)^l grad Y(u), and the derivative is
// taken with respect to -r u). g, gp must be the atom's own radial functions
// (coefficients of its type first); Y and its gradient are those of u.
__device__ __forceinline__ void nep_angular_pair_force(
  int N, int atom, int n_angular, int l_max, const real* dF_ds, const real* g, const real* gp,
  const real* Y, const real* Yx, const real* Yy, const real* Yz, const real* u, real rinv,
  bool reversed, real* f)
{
  const int n_abc = (l_max + 1) * (l_max + 1) - 1;
  int stride;
  const real* G_atom = dF_ds + nep_tiled_base(atom, n_angular * n_abc, N, stride);
  real sy = (real)0;
  real v[3] = {(real)0, (real)0, (real)0};
  for (int l = 1; l <= l_max; ++l) {
    const real parity = (reversed && (l & 1)) ? (real)(-1) : (real)1;
    for (int al = l * l - 1; al < (l + 1) * (l + 1) - 1; ++al) {
      real a = (real)0, b = (real)0;
      for (int n = 0; n < n_angular; ++n) {
        const real G = G_atom[(n * n_abc + al) * stride];
        a += G * gp[n];
        b += G * g[n];
      }
      a *= parity;
      b *= parity;
      sy += a * Y[al];
      v[0] += b * Yx[al];
      v[1] += b * Yy[al];
      v[2] += b * Yz[al];
    }
  }
  // d[g Y(u)]/dr = g' Y u + (g / r) (grad Y - (u . grad Y) u)
  const real uv = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  const real sign = reversed ? (real)(-1) : (real)1;
  for (int a = 0; a < 3; ++a) f[a] = sign * (sy * u[a] + (v[a] - uv * u[a]) * rinv);
}

#endif  // NEP_PAIR_CUH
