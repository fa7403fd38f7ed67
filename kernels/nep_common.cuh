// Shared device code of the NEP kernels: the real type, compile-time limits,
// the cutoff function and Chebyshev radial basis, and the angular polynomials.
//
// Written from ../shared/NEP_SPEC.md (§3.2 basis, §3.5 angular polynomials,
// §6.4 limits). Runs under both executors (CUDA and the host shim): no shared
// memory, no __syncthreads, no warp intrinsics.
//
// Host-injected compile-time constant: NEP_REAL (float or double).
#ifndef NEP_COMMON_CUH
#define NEP_COMMON_CUH

#include "nep_layout.cuh"

#ifndef NEP_REAL
#error "compile with -DNEP_REAL=float or -DNEP_REAL=double"
#endif

#ifndef NEP_REAL_DEFINED
#define NEP_REAL_DEFINED
typedef NEP_REAL real;
#endif

// Register-array limits (NEP_SPEC §6.4); the evaluator checks every model
// against them on the host before any launch.
#define NEP_MAX_NUM_N 17     // n_max + 1 and basis_size + 1
#define NEP_MAX_DIM 103      // descriptor length
#define NEP_NUM_OF_ABC 80    // (l_max + 1)^2 - 1 angular components for l_max <= 8
#define NEP_MAX_L 8

// Bits of the `extras` kernel argument: the optional angular invariant blocks
// in descriptor order (NEP_SPEC §3.7).
#define NEP_HAS_Q222 1
#define NEP_HAS_Q1111 2
#define NEP_HAS_Q112 4
#define NEP_HAS_Q123 8
#define NEP_HAS_Q233 16
#define NEP_HAS_Q134 32

// Overloads so that `real` code calls the single- or double-precision libm
// function (the float versions are what GPUMD uses).
__device__ __forceinline__ float nep_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double nep_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float nep_cos(float x) { return cosf(x); }
__device__ __forceinline__ double nep_cos(double x) { return cos(x); }
__device__ __forceinline__ float nep_sin(float x) { return sinf(x); }
__device__ __forceinline__ double nep_sin(double x) { return sin(x); }
__device__ __forceinline__ float nep_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double nep_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float nep_exp(float x) { return expf(x); }
__device__ __forceinline__ double nep_exp(double x) { return exp(x); }

#define NEP_PI ((real)3.14159265358979323846)

// Neighbor counts may exceed the list capacity (the true count is kept so
// that overflow can be detected); kernels only read the stored slots.
__device__ __forceinline__ int nep_stored(int count, int capacity)
{
  return count < capacity ? count : capacity;
}

// ---------------------------------------------------------------- radial basis
// NEP_SPEC §3.2: fc(r) = (1 + cos(pi r / rc)) / 2 and its derivative.
__device__ __forceinline__ void nep_fc_and_fcp(real rc, real rcinv, real r, real& fc, real& fcp)
{
  if (r < rc) {
    const real a = NEP_PI * r * rcinv;
    fc = (real)0.5 * nep_cos(a) + (real)0.5;
    fcp = (real)(-0.5) * NEP_PI * rcinv * nep_sin(a);
  } else {
    fc = (real)0;
    fcp = (real)0;
  }
}

// f_k(r) = (T_k(x) + 1) fc / 2 with x = 2 (r/rc - 1)^2 - 1, k = 0..n_basis.
__device__ __forceinline__ void nep_basis(int n_basis, real rcinv, real r, real fc, real* fn)
{
  const real t = r * rcinv - (real)1;
  const real x = (real)2 * t * t - (real)1;
  real t0 = (real)1;
  real t1 = x;
  fn[0] = fc;
  if (n_basis >= 1) fn[1] = (real)0.5 * (x + (real)1) * fc;
  for (int k = 2; k <= n_basis; ++k) {
    const real t2 = (real)2 * x * t1 - t0;
    fn[k] = (real)0.5 * (t2 + (real)1) * fc;
    t0 = t1;
    t1 = t2;
  }
}

// f_k and df_k/dr; T_k' = k U_{k-1}, dx/dr = 4 (r/rc - 1) / rc.
__device__ __forceinline__ void nep_basis_and_derivative(
  int n_basis, real rcinv, real r, real fc, real fcp, real* fn, real* fnp)
{
  const real t = r * rcinv - (real)1;
  const real x = (real)2 * t * t - (real)1;
  const real dxdr = (real)4 * t * rcinv;
  real t0 = (real)1, t1 = x;    // T_{k-2}, T_{k-1}
  real u0 = (real)1, u1 = (real)2 * x;  // U_{k-2}, U_{k-1} (for k >= 2)
  fn[0] = fc;
  fnp[0] = fcp;
  if (n_basis >= 1) {
    fn[1] = (real)0.5 * (x + (real)1) * fc;
    fnp[1] = (real)0.5 * (dxdr * fc + (x + (real)1) * fcp);
  }
  for (int k = 2; k <= n_basis; ++k) {
    const real t2 = (real)2 * x * t1 - t0;
    // T_k' = k U_{k-1}; u1 holds U_{k-1}
    fn[k] = (real)0.5 * (t2 + (real)1) * fc;
    fnp[k] = (real)0.5 * ((real)k * u1 * dxdr * fc + (t2 + (real)1) * fcp);
    t0 = t1;
    t1 = t2;
    const real u2 = (real)2 * x * u1 - u0;
    u0 = u1;
    u1 = u2;
  }
}

// Every pair loop opens with the pair's basis at its type pair's cutoff rc;
// these keep the cutoff function and the basis in one place (NEP_SPEC §3.2).
__device__ __forceinline__ void nep_pair_basis(int n_basis, real rc, real r, real* fn)
{
  const real rcinv = (real)1 / rc;
  real fc, fcp;
  nep_fc_and_fcp(rc, rcinv, r, fc, fcp);
  nep_basis(n_basis, rcinv, r, fc, fn);
}

__device__ __forceinline__ void nep_pair_basis_and_derivative(
  int n_basis, real rc, real r, real* fn, real* fnp)
{
  const real rcinv = (real)1 / rc;
  real fc, fcp;
  nep_fc_and_fcp(rc, rcinv, r, fc, fcp);
  nep_basis_and_derivative(n_basis, rcinv, r, fc, fcp, fn, fnp);
}

// Pair vector r_ij of list entry idx into r12, returning |r_ij|: the lists
// store displacements in float64 and the kernels compute in real.
__device__ __forceinline__ real nep_pair_vector(
  const double* __restrict__ dx, const double* __restrict__ dy, const double* __restrict__ dz,
  long long idx, real* r12)
{
  r12[0] = (real)dx[idx];
  r12[1] = (real)dy[idx];
  r12[2] = (real)dz[idx];
  return nep_sqrt(r12[0] * r12[0] + r12[1] * r12[1] + r12[2] * r12[2]);
}

// ------------------------------------------------------- angular polynomials
// NEP_SPEC §3.5: Z_l^m(z) are fixed integer polynomials. Row (l, m) holds the
// coefficients of z^(l-m), z^(l-m-2), ... (same-parity powers only).
#define NEP_ZTERMS 5
__constant__ real NEP_ZCOEF[NEP_MAX_L + 1][NEP_MAX_L + 1][NEP_ZTERMS] = {
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

// Z_l^m(z) and its derivative; zp[p] = z^p.
__device__ __forceinline__ void nep_zlm(int l, int m, const real* zp, real& value, real& deriv)
{
  value = (real)0;
  deriv = (real)0;
  for (int t = 0, p = l - m; p >= 0; ++t, p -= 2) {
    const real c = NEP_ZCOEF[l][m][t];
    value += c * zp[p];
    if (p > 0) deriv += c * (real)p * zp[p - 1];
  }
}

// z^p and the real and imaginary parts of (x + iy)^p for p = 0 .. L, the
// factors every Y_alpha is built from (NEP_SPEC §3.5).
__device__ __forceinline__ void nep_angular_powers(
  int L, real x, real y, real z, real* zp, real* re, real* im)
{
  zp[0] = (real)1;
  re[0] = (real)1;
  im[0] = (real)0;
  for (int p = 1; p <= L; ++p) {
    zp[p] = zp[p - 1] * z;
    re[p] = re[p - 1] * x - im[p - 1] * y;
    im[p] = re[p - 1] * y + im[p - 1] * x;
  }
}

// Y_alpha(x, y, z) for alpha = 0 .. (L+1)^2 - 2 (NEP_SPEC §3.5 ordering):
// index l^2 - 1 is Z_l^0, l^2 - 1 + 2m - 1 / l^2 - 1 + 2m are Z_l^m times the
// real / imaginary part of (x + iy)^m.
__device__ __forceinline__ void nep_angular_basis(int L, real x, real y, real z, real* Y)
{
  real zp[NEP_MAX_L + 1], re[NEP_MAX_L + 1], im[NEP_MAX_L + 1];
  nep_angular_powers(L, x, y, z, zp, re, im);
  for (int l = 1; l <= L; ++l) {
    const int base = l * l - 1;
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

// Y_alpha and its gradient with x, y, z treated as independent variables
// (NEP_SPEC §3.9; the projection onto the sphere is done by the caller).
__device__ __forceinline__ void nep_angular_basis_and_gradient(
  int L, real x, real y, real z, real* Y, real* Yx, real* Yy, real* Yz)
{
  real zp[NEP_MAX_L + 1], re[NEP_MAX_L + 1], im[NEP_MAX_L + 1];
  nep_angular_powers(L, x, y, z, zp, re, im);
  for (int l = 1; l <= L; ++l) {
    const int base = l * l - 1;
    for (int m = 0; m <= l; ++m) {
      real zlm, dz;
      nep_zlm(l, m, zp, zlm, dz);
      if (m == 0) {
        Y[base] = zlm;
        Yx[base] = (real)0;
        Yy[base] = (real)0;
        Yz[base] = dz;
      } else {
        // d Re(w^m)/dx = m Re(w^(m-1)), d Re(w^m)/dy = -m Im(w^(m-1)),
        // d Im(w^m)/dx = m Im(w^(m-1)), d Im(w^m)/dy = m Re(w^(m-1)), w = x + iy
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

#endif  // NEP_COMMON_CUH
