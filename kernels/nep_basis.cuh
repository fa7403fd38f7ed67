// The radial functions of a pair (docs/descriptors.md#cutoff-function-and-chebyshev-basis): the
// cutoff function fc(r) = (1 + cos(pi r / rc)) / 2 for r < rc (0 beyond) and
// the K Chebyshev basis functions f_k(r) = (T_k(x) + 1) fc(r) / 2 with
// x = 2 (r / rc - 1)^2 - 1, k = 0 .. K - 1, and their r-derivatives
// (T_k' = k U_{k-1}, dx/dr = 4 (r / rc - 1) / rc). K is a compile-time
// constant, so fn and fnp live in registers.
#ifndef NEP_BASIS_CUH
#define NEP_BASIS_CUH

#include "nep_types.cuh"

// cos(pi x) and sin(pi x) for x in [0, 1], the cutoff function's two
// transcendental parts: with u = pi (x - 1/2) in [-pi/2, pi/2],
// cos(pi x) = -sin(u) and sin(pi x) = cos(u), summed as their Taylor series
// in Horner form, to a truncation error below the precision's rounding: sin
// to u^13 and cos to u^12 in float (truncation < 7e-9, rounding ~1 ulp), to
// u^21 and u^22 in double (< 3e-16). A few FMAs instead of two libm calls
// with range reduction, the same on a GPU and a CPU.
__device__ __forceinline__ void nep_cos_sin_pi(float x, float& c, float& s)
{
  const float u = 3.14159265358979323846f * (x - 0.5f);
  const float v = u * u;
  c = -u * (1.0f
            + v * (-0.16666666666666666f
            + v * (0.008333333333333333f
            + v * (-0.0001984126984126984f
            + v * (2.7557319223985893e-06f
            + v * (-2.505210838544172e-08f
            + v * (1.6059043836821613e-10f)))))));
  s = 1.0f
      + v * (-0.5f
      + v * (0.041666666666666664f
      + v * (-0.001388888888888889f
      + v * (2.48015873015873e-05f
      + v * (-2.755731922398589e-07f
      + v * (2.08767569878681e-09f))))));
}

__device__ __forceinline__ void nep_cos_sin_pi(double x, double& c, double& s)
{
  const double u = 3.14159265358979323846 * (x - 0.5);
  const double v = u * u;
  c = -u * (1.0
            + v * (-0.16666666666666666
            + v * (0.008333333333333333
            + v * (-0.0001984126984126984
            + v * (2.7557319223985893e-06
            + v * (-2.505210838544172e-08
            + v * (1.6059043836821613e-10
            + v * (-7.647163731819816e-13
            + v * (2.8114572543455206e-15
            + v * (-8.22063524662433e-18
            + v * (1.9572941063391263e-20)))))))))));
  s = 1.0
      + v * (-0.5
      + v * (0.041666666666666664
      + v * (-0.001388888888888889
      + v * (2.48015873015873e-05
      + v * (-2.755731922398589e-07
      + v * (2.08767569878681e-09
      + v * (-1.1470745597729725e-11
      + v * (4.779477332387385e-14
      + v * (-1.5619206968586225e-16
      + v * (4.110317623312165e-19
      + v * (-8.896791392450574e-22)))))))))));
}

template <int K>
__device__ __forceinline__ void nep_basis(real rc, real r, real* fn)
{
  const real rcinv = (real)1 / rc;
  real cos_pi, sin_pi;
  nep_cos_sin_pi(r * rcinv, cos_pi, sin_pi);
  const real fc = r < rc ? (real)0.5 * cos_pi + (real)0.5 : (real)0;
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
    real cos_pi, sin_pi;
    nep_cos_sin_pi(r * rcinv, cos_pi, sin_pi);
    fc = (real)0.5 * cos_pi + (real)0.5;
    fcp = (real)(-0.5) * NEP_PI * rcinv * sin_pi;
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
