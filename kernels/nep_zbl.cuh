// ZBL short-range repulsion (docs/forces.md#zbl-repulsion) over the ANGULAR neighbor
// list of one atom: half of each pair energy to each side.
//
// params[NEP_P_ZBL + pair * 12] per ordered type pair [t_i * T + t_j]:
//   r_inner, r_outer, K_C Z_i Z_j, 1/a = (Z_i^0.23 + Z_j^0.23) / 0.46848,
//   A_1, B_1, ..., A_4, B_4.
// Universal, typewise (r_inner = 0, r_outer capped per pair) and flexible ZBL
// differ only in these values, which the host fills in.
#ifndef NEP_ZBL_CUH
#define NEP_ZBL_CUH

#include "nep_arch.cuh"
#include "nep_pairs.cuh"

// phi(r) S(r) and its r-derivative for one pair.
__device__ __forceinline__ void nep_zbl_pair(const real* p, real r, real& e, real& dedr)
{
  const real r_inner = p[0], r_outer = p[1], zz = p[2], a_inv = p[3];
  const real rinv = (real)1 / r;
  real sum = (real)0, dsum = (real)0;
  NEP_UNROLL
  for (int k = 0; k < 4; ++k) {
    const real b = p[5 + 2 * k] * a_inv;
    const real term = p[4 + 2 * k] * nep_exp(-b * r);
    sum += term;
    dsum -= b * term;
  }
  const real phi = zz * rinv * sum;
  const real dphi = zz * rinv * (dsum - sum * rinv);
  real s = (real)1, ds = (real)0;
  if (r >= r_inner) {
    const real width_inv = (real)1 / (r_outer - r_inner);
    const real a = NEP_PI * (r - r_inner) * width_inv;
    s = (real)0.5 * nep_cos(a) + (real)0.5;
    ds = (real)(-0.5) * NEP_PI * width_inv * nep_sin(a);
  }
  e = phi * s;
  dedr = dphi * s + phi * ds;
}

// Adds atom i's ZBL energy, force and virial to e_i, f (3) and w (9): U_i gets
// e/2; f_ij = (dedr/2) u and f_ji = -(dedr/2) u, so F_i += dedr u and
// W_i += r_ij (x) f_ji.
__device__ __forceinline__ void nep_zbl_atom(
  int i, const NepAtoms& atoms, const NepLists& angular, const real* __restrict__ params,
  double& e_i, double* f, double* w)
{
  const NepCenter c = atoms.center(i);
  const int ti = atoms.types[i];
  const NepList list = nep_list(angular, i);
  for (int slot = 0; slot < list.count; ++slot) {
    const long long e = list.entry(slot);
    const int j = angular.nbr[e];
    const real* p = params + NEP_P_ZBL + (ti * NEP_N_TYPES + atoms.types[j]) * NEP_ZBL_STRIDE;
    real r12[3];
    const real r = nep_pair(c, atoms, angular, e, j, r12);
    if (r >= p[1]) continue;
    real energy, dedr;
    nep_zbl_pair(p, r, energy, dedr);
    e_i += (double)((real)0.5 * energy);
    const real rinv = (real)1 / r;
    NEP_UNROLL
    for (int a = 0; a < 3; ++a) {
      f[a] += (double)(dedr * r12[a] * rinv);
      NEP_UNROLL
      for (int b = 0; b < 3; ++b) w[a * 3 + b] -= (double)((real)0.5 * dedr * r12[a] * r12[b] * rinv);
    }
  }
}

#endif  // NEP_ZBL_CUH
