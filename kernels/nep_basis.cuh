// The radial functions of a pair (docs/descriptors.md#cutoff-function-and-chebyshev-basis): the
// cutoff function fc(r) = (1 + cos(pi r / rc)) / 2 for r < rc (0 beyond) and
// the K Chebyshev basis functions f_k(r) = (T_k(x) + 1) fc(r) / 2 with
// x = 2 (r / rc - 1)^2 - 1, k = 0 .. K - 1, and their r-derivatives
// (T_k' = k U_{k-1}, dx/dr = 4 (r / rc - 1) / rc). K is a compile-time
// constant, so fn and fnp live in registers.
#ifndef NEP_BASIS_CUH
#define NEP_BASIS_CUH

#include "nep_types.cuh"

template <int K>
__device__ __forceinline__ void nep_basis(real rc, real r, real* fn)
{
  const real rcinv = (real)1 / rc;
  const real fc = r < rc ? (real)0.5 * nep_cos(NEP_PI * r * rcinv) + (real)0.5 : (real)0;
  const real t = r * rcinv - (real)1;
  const real x = (real)2 * t * t - (real)1;
  real t0 = (real)1, t1 = x;
  fn[0] = fc;
  if (K > 1) fn[1] = (real)0.5 * (x + (real)1) * fc;
  NEP_UNROLL
  for (int k = 2; k < K; ++k) {
    const real t2 = (real)2 * x * t1 - t0;
    fn[k] = (real)0.5 * (t2 + (real)1) * fc;
    t0 = t1;
    t1 = t2;
  }
}

template <int K>
__device__ __forceinline__ void nep_basis_and_derivative(real rc, real r, real* fn, real* fnp)
{
  const real rcinv = (real)1 / rc;
  real fc = (real)0, fcp = (real)0;
  if (r < rc) {
    const real a = NEP_PI * r * rcinv;
    fc = (real)0.5 * nep_cos(a) + (real)0.5;
    fcp = (real)(-0.5) * NEP_PI * rcinv * nep_sin(a);
  }
  const real t = r * rcinv - (real)1;
  const real x = (real)2 * t * t - (real)1;
  const real dxdr = (real)4 * t * rcinv;
  real t0 = (real)1, t1 = x;            // T_{k-2}, T_{k-1}
  real u0 = (real)1, u1 = (real)2 * x;  // U_{k-2}, U_{k-1} (for k >= 2)
  fn[0] = fc;
  fnp[0] = fcp;
  if (K > 1) {
    fn[1] = (real)0.5 * (x + (real)1) * fc;
    fnp[1] = (real)0.5 * (dxdr * fc + (x + (real)1) * fcp);
  }
  NEP_UNROLL
  for (int k = 2; k < K; ++k) {
    const real t2 = (real)2 * x * t1 - t0;
    fn[k] = (real)0.5 * (t2 + (real)1) * fc;
    fnp[k] = (real)0.5 * ((real)k * u1 * dxdr * fc + (t2 + (real)1) * fcp);
    t0 = t1;
    t1 = t2;
    const real u2 = (real)2 * x * u1 - u0;
    u0 = u1;
    u1 = u2;
  }
}

// g_n = sum_k c[n][k] f_k for N radial orders (c: one type pair's
// coefficients, [n][k] row-major, from the first order wanted).
template <int N, int K>
__device__ __forceinline__ void nep_contract(const real* __restrict__ c, const real* f, real* g)
{
  NEP_UNROLL
  for (int n = 0; n < N; ++n) {
    real sum = (real)0;
    NEP_UNROLL
    for (int k = 0; k < K; ++k) sum += c[n * K + k] * f[k];
    g[n] = sum;
  }
}

#endif  // NEP_BASIS_CUH
