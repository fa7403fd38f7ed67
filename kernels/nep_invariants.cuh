// The angular invariants of one radial order n (docs/descriptors.md#angular-invariants),
// built from its angular sums s_alpha, and their gradients with respect to s.
//
// Index of s: s[l*l - 1] is s_{l,0}; s[l*l - 1 + 2m - 1] and s[l*l - 1 + 2m]
// are the real and imaginary parts of s_{l,m}, m = 1..l (nep_harmonics.cuh):
//   l = 1: s0 s1 s2;  l = 2: s3 .. s7;  l = 3: s8 .. s14;  l = 4: s15 .. s23.
//
// 3-body: q_l = sum_alpha W3B[alpha] s_alpha^2 over the components of l, with
// W3B = C_{l,0} for m = 0 and 2 C_{l,m} for m > 0, where
// C_{l,m} = (2l+1)/(4 pi) (l-m)!/(l+m)! / a_lm^2 and Z_l^m = a_lm d^m P_l/dz^m
// (values from that closed form in double precision).
//
// The many-body invariants are rotation-invariant contractions of three (four)
// s_l with Clebsch-Gordan (Gaunt) coefficients, here expanded into monomials
// of the real components. Each is ONE list of terms (an X-macro: coefficient,
// factor indices); the value and the gradient are two expansions of the same
// list, so they cannot disagree, and every index is a literal, so s and the
// gradient stay in registers once the loops over l are unrolled.
#ifndef NEP_INVARIANTS_CUH
#define NEP_INVARIANTS_CUH

#include "nep_arch.cuh"

__constant__ real NEP_W3B[80] = {
  // l = 1
  0.238732414637843, 2 * 0.1193662073189215, 2 * 0.1193662073189215,
  // l = 2
  0.099471839432434594, 2 * 0.59683103659460768, 2 * 0.59683103659460768,
  2 * 0.14920775914865192, 2 * 0.14920775914865192,
  // l = 3
  0.13926057520540844, 2 * 0.10444543140405634, 2 * 0.10444543140405634,
  2 * 1.0444543140405633, 2 * 1.0444543140405633, 2 * 0.17407571900676055,
  2 * 0.17407571900676055,
  // l = 4
  0.011190581936148891, 2 * 0.22381163872297782, 2 * 0.22381163872297782,
  2 * 0.11190581936148891, 2 * 0.11190581936148891, 2 * 1.5666814710608448,
  2 * 1.5666814710608448, 2 * 0.1958351838826056, 2 * 0.1958351838826056,
  // l = 5
  0.013677377921959756, 2 * 0.10258033441469817, 2 * 0.10258033441469817,
  2 * 2.8722493636115485, 2 * 2.8722493636115485, 2 * 0.11967705681714787,
  2 * 0.11967705681714787, 2 * 2.1541870227086615, 2 * 2.1541870227086615,
  2 * 0.21541870227086615, 2 * 0.21541870227086615,
  // l = 6
  0.0040410434769426549, 2 * 0.1697238260315915, 2 * 0.1697238260315915,
  2 * 0.10607739126974468, 2 * 0.10607739126974468, 2 * 0.42430956507897877,
  2 * 0.42430956507897877, 2 * 0.12729286952369362, 2 * 0.12729286952369362,
  2 * 2.80044312952126, 2 * 2.80044312952126, 2 * 0.23337026079343834,
  2 * 0.23337026079343834,
  // l = 7
  0.0046627424733953716, 2 * 0.0040798996642209505, 2 * 0.0040798996642209505,
  2 * 0.024479397985325699, 2 * 0.024479397985325699, 2 * 0.01223969899266285,
  2 * 0.01223969899266285, 2 * 0.53854675567716548, 2 * 0.53854675567716548,
  2 * 0.13463668891929137, 2 * 0.13463668891929137, 2 * 3.5005539119015752,
  2 * 3.5005539119015752, 2 * 0.25003956513582681, 2 * 0.25003956513582681,
  // l = 8
  8.2569397966376367e-05, 2 * 0.005944996653579099, 2 * 0.005944996653579099,
  2 * 0.10403744143763421, 2 * 0.10403744143763421, 2 * 0.76294123720931761,
  2 * 0.76294123720931761, 2 * 0.11444118558139764, 2 * 0.11444118558139764,
  2 * 5.9509416502326777, 2 * 5.9509416502326777, 2 * 0.14168908691030185,
  2 * 0.14168908691030185, 2 * 4.2506726073090553, 2 * 4.2506726073090553,
  2 * 0.26566703795681595, 2 * 0.26566703795681595,
};

// Constants of 4-body q_222 (l = 2, 2, 2).
#define NEP_C4B_0 (-0.007499480826664)
#define NEP_C4B_1 (-0.134990654879954)
#define NEP_C4B_2 0.067495327439977
#define NEP_C4B_3 0.404971964639861
#define NEP_C4B_4 (-0.809943929279723)
// q_222 = C4B_0 (s3 s3 s3)
//   + C4B_1 (s3 s4 s4 + s3 s5 s5)
//   + C4B_2 (s3 s6 s6 + s3 s7 s7)
//   + C4B_3 (s6 s5 s5 - s6 s4 s4)
//   + C4B_4 (s4 s5 s7)
#define NEP_Q222_TERMS(X) \
  X(NEP_C4B_0, 3, 3, 3) \
  X(NEP_C4B_1, 3, 4, 4) \
  X(NEP_C4B_1, 3, 5, 5) \
  X(NEP_C4B_2, 3, 6, 6) \
  X(NEP_C4B_2, 3, 7, 7) \
  X(NEP_C4B_3, 6, 5, 5) \
  X(-NEP_C4B_3, 6, 4, 4) \
  X(NEP_C4B_4, 4, 5, 7)

// Constants of q_112 (l = 1, 1, 2).
#define NEP_C112_0 0.027493550848847
#define NEP_C112_1 0.164961305093080
#define NEP_C112_2 (-0.013746775424423)
#define NEP_C112_3 0.041240326273270
#define NEP_C112_4 0.082480652546540
// q_112 = C112_0 (s0 s0 s3)
//   + C112_1 (s0 s1 s4 + s0 s2 s5)
//   + C112_2 (s3 s1 s1 + s3 s2 s2)
//   + C112_3 (s6 s1 s1 - s6 s2 s2)
//   + C112_4 (s1 s2 s7)
#define NEP_Q112_TERMS(X) \
  X(NEP_C112_0, 0, 0, 3) \
  X(NEP_C112_1, 0, 1, 4) \
  X(NEP_C112_1, 0, 2, 5) \
  X(NEP_C112_2, 3, 1, 1) \
  X(NEP_C112_2, 3, 2, 2) \
  X(NEP_C112_3, 6, 1, 1) \
  X(-NEP_C112_3, 6, 2, 2) \
  X(NEP_C112_4, 1, 2, 7)

// Constants of q_123 (l = 1, 2, 3).
#define NEP_C123_0 (-0.008418146349617)
#define NEP_C123_1 (-0.016836292699234)
#define NEP_C123_2 (-0.033672585398469)
#define NEP_C123_3 (-0.042090731748086)
#define NEP_C123_4 (-0.067345170796937)
#define NEP_C123_5 (-0.084181463496172)
#define NEP_C123_6 (-0.168362926992344)
// q_123 = C123_0 (s10 s2 s6 - s10 s1 s7 - s2 s7 s9 - s1 s6 s9)
//   + C123_1 (s3 s10 s2 + s3 s0 s8 + s3 s1 s9)
//   + C123_2 (- s8 s2 s5 - s8 s1 s4)
//   + C123_3 (s14 s2 s6 - s13 s2 s7 + s1 s13 s6 + s1 s14 s7)
//   + C123_4 (s0 s10 s5 + s0 s4 s9)
//   + C123_5 (s0 s11 s6 + s0 s12 s7)
//   + C123_6 (s12 s2 s4 - s11 s2 s5 + s1 s11 s4 + s1 s12 s5)
#define NEP_Q123_TERMS(X) \
  X(NEP_C123_6, 12, 2, 4) \
  X(-NEP_C123_6, 11, 2, 5) \
  X(NEP_C123_6, 1, 11, 4) \
  X(NEP_C123_6, 1, 12, 5) \
  X(NEP_C123_5, 0, 11, 6) \
  X(NEP_C123_5, 0, 12, 7) \
  X(NEP_C123_3, 14, 2, 6) \
  X(-NEP_C123_3, 13, 2, 7) \
  X(NEP_C123_3, 1, 13, 6) \
  X(NEP_C123_3, 1, 14, 7) \
  X(NEP_C123_4, 0, 10, 5) \
  X(NEP_C123_4, 0, 4, 9) \
  X(NEP_C123_1, 3, 10, 2) \
  X(NEP_C123_1, 3, 0, 8) \
  X(NEP_C123_1, 3, 1, 9) \
  X(NEP_C123_0, 10, 2, 6) \
  X(-NEP_C123_0, 10, 1, 7) \
  X(-NEP_C123_0, 2, 7, 9) \
  X(-NEP_C123_0, 1, 6, 9) \
  X(-NEP_C123_2, 8, 2, 5) \
  X(-NEP_C123_2, 8, 1, 4)

// Constants of q_233 (l = 2, 3, 3).
#define NEP_C233_0 0.008572620635186
#define NEP_C233_1 0.009644198214584
#define NEP_C233_2 0.019288396429168
#define NEP_C233_3 0.025717861905558
#define NEP_C233_4 0.026789439484956
#define NEP_C233_5 0.032147327381947
#define NEP_C233_6 0.038576792858337
#define NEP_C233_7 0.128589309527790
#define NEP_C233_8 0.192883964291685
#define NEP_C233_9 0.321473273819474
// q_233 = C233_0 (s3 s8 s8)
//   + C233_1 (s3 s9 s9 + s3 s10 s10)
//   + C233_2 (s6 s9 s9 - s6 s10 s10)
//   + C233_3 (s8 s4 s9 + s8 s5 s10)
//   + C233_4 (- s3 s13 s13 - s3 s14 s14)
//   + C233_5 (- s14 s7 s9 - s13 s6 s9 - s10 s14 s6 + s10 s13 s7)
//   + C233_6 (s10 s7 s9)
//   + C233_7 (- s8 s11 s6 - s8 s12 s7)
//   + C233_8 (s11 s4 s9 + s12 s5 s9 + s10 s12 s4 - s10 s11 s5)
//   + C233_9 (s12 s14 s4 + s11 s14 s5 + s13 s11 s4 - s13 s12 s5)
#define NEP_Q233_TERMS(X) \
  X(NEP_C233_0, 3, 8, 8) \
  X(NEP_C233_1, 3, 9, 9) \
  X(NEP_C233_1, 3, 10, 10) \
  X(NEP_C233_2, 6, 9, 9) \
  X(-NEP_C233_2, 6, 10, 10) \
  X(NEP_C233_3, 8, 4, 9) \
  X(NEP_C233_3, 8, 5, 10) \
  X(-NEP_C233_4, 3, 13, 13) \
  X(-NEP_C233_4, 3, 14, 14) \
  X(-NEP_C233_5, 14, 7, 9) \
  X(-NEP_C233_5, 13, 6, 9) \
  X(-NEP_C233_5, 10, 14, 6) \
  X(NEP_C233_5, 10, 13, 7) \
  X(NEP_C233_6, 10, 7, 9) \
  X(-NEP_C233_7, 8, 11, 6) \
  X(-NEP_C233_7, 8, 12, 7) \
  X(NEP_C233_8, 11, 4, 9) \
  X(NEP_C233_8, 12, 5, 9) \
  X(NEP_C233_8, 10, 12, 4) \
  X(-NEP_C233_8, 10, 11, 5) \
  X(NEP_C233_9, 12, 14, 4) \
  X(NEP_C233_9, 11, 14, 5) \
  X(NEP_C233_9, 13, 11, 4) \
  X(-NEP_C233_9, 13, 12, 5)

// Constants of q_134 (l = 1, 3, 4).
#define NEP_C134_0 0.003645164295772
#define NEP_C134_1 0.004860219061029
#define NEP_C134_2 0.006075273826286
#define NEP_C134_3 0.018225821478859
#define NEP_C134_4 0.024301095305146
#define NEP_C134_5 0.036451642957719
#define NEP_C134_6 0.042526916784005
#define NEP_C134_7 0.072903285915437
#define NEP_C134_8 0.085053833568010
#define NEP_C134_9 0.255161500704030
// q_134 = C134_0 (- s15 s10 s2 - s15 s1 s9)
//   + C134_1 (s0 s15 s8)
//   + C134_2 (- s1 s13 s18 - s1 s14 s19 - s2 s14 s18 + s2 s13 s19)
//   + C134_3 (- s10 s18 s2 + s1 s10 s19 + s1 s18 s9 + s2 s19 s9)
//   + C134_4 (s8 s1 s16 + s8 s2 s17)
//   + C134_5 (s0 s10 s17 + s0 s16 s9 - s1 s11 s16 - s1 s12 s17 - s2 s12 s16 + s2 s11 s17)
//   + C134_6 (s1 s13 s22 + s1 s14 s23 - s2 s14 s22 + s2 s13 s23)
//   + C134_7 (s0 s11 s18 + s0 s12 s19)
//   + C134_8 (s0 s13 s20 + s0 s14 s21)
//   + C134_9 (s1 s11 s20 + s1 s12 s21 - s2 s12 s20 + s2 s11 s21)
#define NEP_Q134_TERMS(X) \
  X(-NEP_C134_0, 15, 10, 2) \
  X(-NEP_C134_0, 15, 1, 9) \
  X(NEP_C134_1, 0, 15, 8) \
  X(-NEP_C134_2, 1, 13, 18) \
  X(-NEP_C134_2, 1, 14, 19) \
  X(-NEP_C134_2, 2, 14, 18) \
  X(NEP_C134_2, 2, 13, 19) \
  X(-NEP_C134_3, 10, 18, 2) \
  X(NEP_C134_3, 1, 10, 19) \
  X(NEP_C134_3, 1, 18, 9) \
  X(NEP_C134_3, 2, 19, 9) \
  X(NEP_C134_4, 8, 1, 16) \
  X(NEP_C134_4, 8, 2, 17) \
  X(NEP_C134_5, 0, 10, 17) \
  X(NEP_C134_5, 0, 16, 9) \
  X(-NEP_C134_5, 1, 11, 16) \
  X(-NEP_C134_5, 1, 12, 17) \
  X(-NEP_C134_5, 2, 12, 16) \
  X(NEP_C134_5, 2, 11, 17) \
  X(NEP_C134_6, 1, 13, 22) \
  X(NEP_C134_6, 1, 14, 23) \
  X(-NEP_C134_6, 2, 14, 22) \
  X(NEP_C134_6, 2, 13, 23) \
  X(NEP_C134_7, 0, 11, 18) \
  X(NEP_C134_7, 0, 12, 19) \
  X(NEP_C134_8, 0, 13, 20) \
  X(NEP_C134_8, 0, 14, 21) \
  X(NEP_C134_9, 1, 11, 20) \
  X(NEP_C134_9, 1, 12, 21) \
  X(-NEP_C134_9, 2, 12, 20) \
  X(NEP_C134_9, 2, 11, 21)

// Constants of the 5-body q_1111 = C5B_0 a^2 + C5B_1 a b + C5B_2 b^2 with
// a = s0^2, b = s1^2 + s2^2 (l = 1, 1, 1, 1), expanded into monomials.
#define NEP_C5B_0 0.026596810706114
#define NEP_C5B_1 0.053193621412227
#define NEP_C5B_2 0.026596810706114
#define NEP_Q1111_TERMS(X) \
  X(NEP_C5B_0, 0, 0, 0, 0) \
  X(NEP_C5B_1, 0, 0, 1, 1) \
  X(NEP_C5B_1, 0, 0, 2, 2) \
  X(NEP_C5B_2, 1, 1, 1, 1) \
  X(2 * NEP_C5B_2, 1, 1, 2, 2) \
  X(NEP_C5B_2, 2, 2, 2, 2)

#define NEP_CUBIC_VALUE(c, a, b, d) q += (real)(c) * s[a] * s[b] * s[d];
#define NEP_CUBIC_GRADIENT(c, a, b, d) \
  grad[a] += w * (real)(c) * s[b] * s[d];  \
  grad[b] += w * (real)(c) * s[a] * s[d];  \
  grad[d] += w * (real)(c) * s[a] * s[b];
#define NEP_QUARTIC_VALUE(c, a, b, d, e) q += (real)(c) * s[a] * s[b] * s[d] * s[e];
#define NEP_QUARTIC_GRADIENT(c, a, b, d, e)       \
  grad[a] += w * (real)(c) * s[b] * s[d] * s[e];  \
  grad[b] += w * (real)(c) * s[a] * s[d] * s[e];  \
  grad[d] += w * (real)(c) * s[a] * s[b] * s[e];  \
  grad[e] += w * (real)(c) * s[a] * s[b] * s[d];

// The NEP_N_INVARIANTS invariants of one radial order, in descriptor order:
// 3-body l = 1..L, then the enabled extras 4-body, 5-body, q_112, q_123,
// q_233, q_134. `s` holds the NEP_N_ABC sums of the order.
__device__ __forceinline__ void nep_invariants(const real* s, real* out)
{
  int b = 0;
  NEP_UNROLL
  for (int l = 1; l <= NEP_L_MAX; ++l) {
    real sum = (real)0;
    NEP_UNROLL
    for (int a = l * l - 1; a < (l + 1) * (l + 1) - 1; ++a) sum += NEP_W3B[a] * s[a] * s[a];
    out[b++] = sum;
  }
  real q;
  if (NEP_EXTRAS & NEP_HAS_Q4B) { q = (real)0; NEP_Q222_TERMS(NEP_CUBIC_VALUE) out[b++] = q; }
  if (NEP_EXTRAS & NEP_HAS_Q5B) { q = (real)0; NEP_Q1111_TERMS(NEP_QUARTIC_VALUE) out[b++] = q; }
  if (NEP_EXTRAS & NEP_HAS_Q112) { q = (real)0; NEP_Q112_TERMS(NEP_CUBIC_VALUE) out[b++] = q; }
  if (NEP_EXTRAS & NEP_HAS_Q123) { q = (real)0; NEP_Q123_TERMS(NEP_CUBIC_VALUE) out[b++] = q; }
  if (NEP_EXTRAS & NEP_HAS_Q233) { q = (real)0; NEP_Q233_TERMS(NEP_CUBIC_VALUE) out[b++] = q; }
  if (NEP_EXTRAS & NEP_HAS_Q134) { q = (real)0; NEP_Q134_TERMS(NEP_CUBIC_VALUE) out[b++] = q; }
}

// grad[alpha] = sum_b dU/dq_b dq_b/ds_alpha for one radial order, with
// dU_dq[b] the network's gradient for invariant b of that order (the order
// of nep_invariants).
__device__ __forceinline__ void nep_invariants_gradient(const real* s, const real* dU_dq, real* grad)
{
  NEP_UNROLL
  for (int a = 0; a < NEP_N_ABC; ++a) grad[a] = (real)0;
  int b = 0;
  NEP_UNROLL
  for (int l = 1; l <= NEP_L_MAX; ++l, ++b) {
    NEP_UNROLL
    for (int a = l * l - 1; a < (l + 1) * (l + 1) - 1; ++a) grad[a] += (real)2 * dU_dq[b] * NEP_W3B[a] * s[a];
  }
  real w;
  if (NEP_EXTRAS & NEP_HAS_Q4B) { w = dU_dq[b++]; NEP_Q222_TERMS(NEP_CUBIC_GRADIENT) }
  if (NEP_EXTRAS & NEP_HAS_Q5B) { w = dU_dq[b++]; NEP_Q1111_TERMS(NEP_QUARTIC_GRADIENT) }
  if (NEP_EXTRAS & NEP_HAS_Q112) { w = dU_dq[b++]; NEP_Q112_TERMS(NEP_CUBIC_GRADIENT) }
  if (NEP_EXTRAS & NEP_HAS_Q123) { w = dU_dq[b++]; NEP_Q123_TERMS(NEP_CUBIC_GRADIENT) }
  if (NEP_EXTRAS & NEP_HAS_Q233) { w = dU_dq[b++]; NEP_Q233_TERMS(NEP_CUBIC_GRADIENT) }
  if (NEP_EXTRAS & NEP_HAS_Q134) { w = dU_dq[b++]; NEP_Q134_TERMS(NEP_CUBIC_GRADIENT) }
}

#endif  // NEP_INVARIANTS_CUH
