// The angular functions Y_alpha(u) of a unit vector u = (x, y, z), alpha =
// (l, m) for l = 1 .. L (docs/descriptors.md#angular-polynomials): real solid
// harmonics without normalisation, Z_l^m(z) Re((x + iy)^m) and
// Z_l^m(z) Im((x + iy)^m), with Z_l^m a fixed integer polynomial of z.
// Ordering: index l^2 - 1 is Z_l^0; l^2 - 1 + 2m - 1 and l^2 - 1 + 2m are the
// real and imaginary parts for m = 1 .. l. L is a compile-time constant.
#ifndef NEP_HARMONICS_CUH
#define NEP_HARMONICS_CUH

#include "nep_types.cuh"

// Row (l, m): the coefficients of z^(l-m), z^(l-m-2), ... (same parity only).
#define NEP_ZTERMS 5
__constant__ real NEP_ZCOEF[9][9][NEP_ZTERMS] = {
  {{0}},
  {{1}, {1}},
  {{3, -1}, {1}, {1}},
  {{5, -3}, {5, -1}, {1}, {1}},
  {{35, -30, 3}, {7, -3}, {7, -1}, {1}, {1}},
  {{63, -70, 15}, {21, -14, 1}, {3, -1}, {9, -1}, {1}, {1}},
  {{231, -315, 105, -5}, {33, -30, 5}, {33, -18, 1}, {11, -3}, {11, -1}, {1}, {1}},
  {{429, -693, 315, -35}, {429, -495, 135, -5}, {143, -110, 15}, {143, -66, 3},
   {13, -3}, {13, -1}, {1}, {1}},
  {{6435, -12012, 6930, -1260, 35}, {715, -1001, 385, -35}, {143, -143, 33, -1},
   {39, -26, 3}, {65, -26, 1}, {5, -1}, {15, -1}, {1}, {1}},
};

// Z_l^m(z) and dZ_l^m/dz from the powers zp[p] = z^p.
__device__ __forceinline__ void nep_zlm(int l, int m, const real* zp, real& value, real& deriv)
{
  value = (real)0;
  deriv = (real)0;
  NEP_UNROLL
  for (int t = 0, p = l - m; p >= 0; ++t, p -= 2) {
    const real c = NEP_ZCOEF[l][m][t];
    value += c * zp[p];
    if (p > 0) deriv += c * (real)p * zp[p - 1];
  }
}

// z^p and the real and imaginary parts of (x + iy)^p for p = 0 .. L.
template <int L>
__device__ __forceinline__ void nep_harmonic_powers(real x, real y, real z, real* zp, real* re, real* im)
{
  zp[0] = (real)1;
  re[0] = (real)1;
  im[0] = (real)0;
  NEP_UNROLL
  for (int p = 1; p <= L; ++p) {
    zp[p] = zp[p - 1] * z;
    re[p] = re[p - 1] * x - im[p - 1] * y;
    im[p] = re[p - 1] * y + im[p - 1] * x;
  }
}

template <int L>
__device__ __forceinline__ void nep_harmonics(real x, real y, real z, real* Y)
{
  real zp[L + 1], re[L + 1], im[L + 1];
  nep_harmonic_powers<L>(x, y, z, zp, re, im);
  NEP_UNROLL
  for (int l = 1; l <= L; ++l) {
    const int base = l * l - 1;
    NEP_UNROLL
    for (int m = 0; m <= l; ++m) {
      real zlm, dz;
      nep_zlm(l, m, zp, zlm, dz);
      if (m == 0) {
        Y[base] = zlm;
      } else {
        Y[base + 2 * m - 1] = zlm * re[m];
        Y[base + 2 * m] = zlm * im[m];
      }
    }
  }
}

// Y_alpha and its gradient with x, y, z taken as independent variables (the
// projection onto the sphere is the caller's, docs/forces.md#angular-pair-forces):
// d Re(w^m)/dx = m Re(w^(m-1)), d Re(w^m)/dy = -m Im(w^(m-1)),
// d Im(w^m)/dx = m Im(w^(m-1)), d Im(w^m)/dy = m Re(w^(m-1)), w = x + iy.
template <int L>
__device__ __forceinline__ void nep_harmonics_and_gradient(
  real x, real y, real z, real* Y, real* Yx, real* Yy, real* Yz)
{
  real zp[L + 1], re[L + 1], im[L + 1];
  nep_harmonic_powers<L>(x, y, z, zp, re, im);
  NEP_UNROLL
  for (int l = 1; l <= L; ++l) {
    const int base = l * l - 1;
    NEP_UNROLL
    for (int m = 0; m <= l; ++m) {
      real zlm, dz;
      nep_zlm(l, m, zp, zlm, dz);
      if (m == 0) {
        Y[base] = zlm;
        Yx[base] = (real)0;
        Yy[base] = (real)0;
        Yz[base] = dz;
      } else {
        const real mz = (real)m * zlm;
        const int c = base + 2 * m - 1;
        Y[c] = zlm * re[m];
        Yx[c] = mz * re[m - 1];
        Yy[c] = -mz * im[m - 1];
        Yz[c] = dz * re[m];
        Y[c + 1] = zlm * im[m];
        Yx[c + 1] = mz * im[m - 1];
        Yy[c + 1] = mz * re[m - 1];
        Yz[c + 1] = dz * im[m];
      }
    }
  }
}

#endif  // NEP_HARMONICS_CUH
