// The descriptor of one atom (docs/descriptors.md): device functions shared by
// the fused nep_potential kernel and the nep_descriptor kernel of the plans.
//
//   radial   q_n = sum_j sum_k c_nk(t_i, t_j) f_k(r_ij),        n < NEP_N_RADIAL
//   angular  s_{n,alpha} = sum_j g_n(r_ij) Y_alpha(u_ij),  g_n = sum_k c_nk f_k,
//            then the invariants of each n (nep_invariants.cuh)
//
// params layout: nep_arch.cuh. Lists: nep_pairs.cuh.
#ifndef NEP_DESCRIPTOR_CUH
#define NEP_DESCRIPTOR_CUH

#include "nep_arch.cuh"
#include "nep_basis.cuh"
#include "nep_harmonics.cuh"
#include "nep_invariants.cuh"
#include "nep_pairs.cuh"

// q[n] += sum_k c[n][k] run[k] for a run of neighbors of one type, then run = 0.
__device__ __forceinline__ void nep_close_run(const real* __restrict__ c, real* run, real* q)
{
  NEP_UNROLL
  for (int n = 0; n < NEP_N_RADIAL; ++n) {
    real g = (real)0;
    NEP_UNROLL
    for (int k = 0; k < NEP_K_RADIAL; ++k) g += c[n * NEP_K_RADIAL + k] * run[k];
    q[n] += g;
  }
  NEP_UNROLL
  for (int k = 0; k < NEP_K_RADIAL; ++k) run[k] = (real)0;
}

// The radial descriptor of atom i into q[0 .. NEP_N_RADIAL). The basis values
// are summed over each run of same-type neighbors and contracted with c once
// per run (lists are sorted by j, and structures usually keep a species'
// atoms together), not once per neighbor. The same order on every executor,
// so that they give the same bits.
__device__ __forceinline__ void nep_radial_descriptor(
  int i, const NepAtoms& atoms, const NepLists& radial, const real* __restrict__ params, real* q)
{
  const NepCenter c = atoms.center(i);
  const int ti = atoms.types[i];
  const real* rc = params + NEP_P_RC_RADIAL + ti * NEP_N_TYPES;
  const real* coef = params + NEP_P_C_RADIAL + (long long)ti * NEP_N_TYPES * NEP_N_RADIAL * NEP_K_RADIAL;
  NEP_UNROLL
  for (int n = 0; n < NEP_N_RADIAL; ++n) q[n] = (real)0;
  real run[NEP_K_RADIAL];
  NEP_UNROLL
  for (int k = 0; k < NEP_K_RADIAL; ++k) run[k] = (real)0;
  int run_type = -1;
  const NepList list = nep_list(radial, i);
  for (int slot = 0; slot < list.count; ++slot) {
    const long long e = list.entry(slot);
    const int j = radial.neighbor(e);
    const int tj = atoms.types[j];
    if (tj != run_type) {
      if (run_type >= 0) nep_close_run(coef + run_type * NEP_N_RADIAL * NEP_K_RADIAL, run, q);
      run_type = tj;
    }
    real r12[3];
    const real r = nep_pair(c, atoms, radial, e, j, r12);
    real fn[NEP_K_RADIAL];
    nep_basis<NEP_K_RADIAL>(rc[tj], r, fn);
    NEP_UNROLL
    for (int k = 0; k < NEP_K_RADIAL; ++k) run[k] += fn[k];
  }
  if (run_type >= 0) nep_close_run(coef + run_type * NEP_N_RADIAL * NEP_K_RADIAL, run, q);
}

// The angular sums of atom i into sums[n * NEP_N_ABC + alpha]. One pass over
// the neighbors accumulates NEP_SUM_CHUNK radial orders in registers (the
// pair's basis and harmonics are recomputed per pass): nothing is read back
// from memory inside the neighbor loop.
__device__ __forceinline__ void nep_angular_sums(
  int i, const NepAtoms& atoms, const NepLists& angular, const real* __restrict__ params, real* sums)
{
  const NepCenter c = atoms.center(i);
  const int ti = atoms.types[i];
  const real* rc = params + NEP_P_RC_ANGULAR + ti * NEP_N_TYPES;
  const real* coef = params + NEP_P_C_ANGULAR + (long long)ti * NEP_N_TYPES * NEP_N_ANGULAR * NEP_K_ANGULAR;
  const NepList list = nep_list(angular, i);
  NEP_UNROLL
  for (int n0 = 0; n0 < NEP_N_ANGULAR; n0 += NEP_SUM_CHUNK_SIZE) {
    real s[NEP_SUM_CHUNK_SIZE][NEP_N_ABC];
    NEP_UNROLL
    for (int m = 0; m < NEP_SUM_CHUNK_SIZE; ++m) {
      NEP_UNROLL
      for (int a = 0; a < NEP_N_ABC; ++a) s[m][a] = (real)0;
    }
    for (int slot = 0; slot < list.count; ++slot) {
      const long long e = list.entry(slot);
      const int j = angular.neighbor(e);
      const int tj = atoms.types[j];
      real r12[3];
      const real r = nep_pair(c, atoms, angular, e, j, r12);
      real fn[NEP_K_ANGULAR];
      nep_basis<NEP_K_ANGULAR>(rc[tj], r, fn);
      const real rinv = (real)1 / r;
      real Y[NEP_N_ABC];
      nep_harmonics<NEP_L_MAX>(r12[0] * rinv, r12[1] * rinv, r12[2] * rinv, Y);
      const real* cj = coef + tj * NEP_N_ANGULAR * NEP_K_ANGULAR;
      NEP_UNROLL
      for (int m = 0; m < NEP_SUM_CHUNK_SIZE; ++m) {
        if (n0 + m >= NEP_N_ANGULAR) break;
        real g = (real)0;
        NEP_UNROLL
        for (int k = 0; k < NEP_K_ANGULAR; ++k) g += cj[(n0 + m) * NEP_K_ANGULAR + k] * fn[k];
        NEP_UNROLL
        for (int a = 0; a < NEP_N_ABC; ++a) s[m][a] += g * Y[a];
      }
    }
    NEP_UNROLL
    for (int m = 0; m < NEP_SUM_CHUNK_SIZE; ++m) {
      if (n0 + m >= NEP_N_ANGULAR) break;
      NEP_UNROLL
      for (int a = 0; a < NEP_N_ABC; ++a) sums[(n0 + m) * NEP_N_ABC + a] = s[m][a];
    }
  }
}

// The unscaled descriptor of atom i into q (NEP_DIM values in descriptor
// order: radial, then invariant b of angular order n at NEP_N_RADIAL + b *
// NEP_N_ANGULAR + n) and its angular sums into sums (NEP_N_SUMS values).
__device__ __forceinline__ void nep_descriptor_atom(
  int i, const NepAtoms& atoms, const NepLists& radial, const NepLists& angular,
  const real* __restrict__ params, real* q, real* sums)
{
  nep_radial_descriptor(i, atoms, radial, params, q);
  nep_angular_sums(i, atoms, angular, params, sums);
  NEP_UNROLL
  for (int n = 0; n < NEP_N_ANGULAR; ++n) {
    real inv[NEP_N_INVARIANTS];
    nep_invariants(sums + n * NEP_N_ABC, inv);
    NEP_UNROLL
    for (int b = 0; b < NEP_N_INVARIANTS; ++b) q[NEP_N_RADIAL + b * NEP_N_ANGULAR + n] = inv[b];
  }
}

#endif  // NEP_DESCRIPTOR_CUH
