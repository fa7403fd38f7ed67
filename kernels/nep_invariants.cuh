// The angular invariants of one radial order n, built from the angular sums
// s_alpha (NEP_SPEC §3.6), and their gradients with respect to s.
//
// 3-body: q_l = sum_alpha W3B[alpha] s_alpha^2 over the components of l, with
// W3B = C_{l,0} for m = 0 and 2 C_{l,m} for m > 0, where
// C_{l,m} = (2l+1)/(4 pi) (l-m)!/(l+m)! / a_lm^2 and Z_l^m = a_lm d^m P_l/dz^m
// (values computed from that closed form in double precision).
//
// The many-body invariants are polynomials in s; each is stored as a list of
// monomials (coefficient, factor indices), so the value and the gradient come
// from one generic loop and cannot disagree with each other.
#ifndef NEP_INVARIANTS_CUH
#define NEP_INVARIANTS_CUH

#include "nep_common.cuh"

__constant__ real NEP_W3B[NEP_NUM_OF_ABC] = {
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

// Constants of the many-body invariants (NEP_SPEC §3.6: C4B, C5B, C4B2,
// C4B_123, C4B_233, C4B_134).
#define A0 (-0.007499480826664)
#define A1 (-0.134990654879954)
#define A2 0.067495327439977
#define A3 0.404971964639861
#define A4 (-0.809943929279723)
#define B0 0.026596810706114
#define B1 0.053193621412227
#define B2 0.026596810706114
#define D0 0.027493550848847
#define D1 0.164961305093080
#define D2 (-0.013746775424423)
#define D3 0.041240326273270
#define D4 0.082480652546540
#define E0 (-0.008418146349617)
#define E1 (-0.016836292699234)
#define E2 (-0.033672585398469)
#define E3 (-0.042090731748086)
#define E4 (-0.067345170796937)
#define E5 (-0.084181463496172)
#define E6 (-0.168362926992344)
#define F0 0.008572620635186
#define F1 0.009644198214584
#define F2 0.019288396429168
#define F3 0.025717861905558
#define F4 0.026789439484956
#define F5 0.032147327381947
#define F6 0.038576792858337
#define F7 0.128589309527790
#define F8 0.192883964291685
#define F9 0.321473273819474
#define G0 0.003645164295772
#define G1 0.004860219061029
#define G2 0.006075273826286
#define G3 0.018225821478859
#define G4 0.024301095305146
#define G5 0.036451642957719
#define G6 0.042526916784005
#define G7 0.072903285915437
#define G8 0.085053833568010
#define G9 0.255161500704030

// Cubic invariants q_222, q_112, q_123, q_233, q_134 as monomial lists
// c * s_a * s_b * s_c. NEP_CUBIC_START[k]..NEP_CUBIC_START[k+1] are the terms
// of invariant k in that order.
#define NEP_N_CUBIC 92
__constant__ int NEP_CUBIC_START[6] = {0, 8, 16, 37, 61, 92};
__constant__ real NEP_CUBIC_COEF[NEP_N_CUBIC] = {
  // q_222
  A0, A1, A1, A2, A2, A3, -A3, A4,
  // q_112
  D0, D1, D1, D2, D2, D3, -D3, D4,
  // q_123
  E6, -E6, E6, E6, E5, E5, E3, -E3, E3, E3, E4, E4, E1, E1, E1,
  E0, -E0, -E0, -E0, -E2, -E2,
  // q_233
  F0, F1, F1, F2, -F2, F3, F3, -F4, -F4, -F5, -F5, -F5, F5, F6,
  -F7, -F7, F8, F8, F8, -F8, F9, F9, F9, -F9,
  // q_134
  -G0, -G0, G1, -G2, -G2, -G2, G2, -G3, G3, G3, G3, G4, G4,
  G5, G5, -G5, -G5, -G5, G5, G6, G6, -G6, G6, G7, G7, G8, G8, G9, G9, -G9, G9,
};
__constant__ int NEP_CUBIC_INDEX[NEP_N_CUBIC][3] = {
  // q_222 = A0 s3^3 + A1 s3 (s4^2 + s5^2) + A2 s3 (s6^2 + s7^2)
  //       + A3 s6 (s5^2 - s4^2) + A4 s4 s5 s7
  {3, 3, 3}, {3, 4, 4}, {3, 5, 5}, {3, 6, 6}, {3, 7, 7}, {6, 5, 5}, {6, 4, 4}, {4, 5, 7},
  // q_112 = D0 s0^2 s3 + D1 s0 (s1 s4 + s2 s5) + D2 s3 (s1^2 + s2^2)
  //       + D3 s6 (s1^2 - s2^2) + D4 s1 s2 s7
  {0, 0, 3}, {0, 1, 4}, {0, 2, 5}, {3, 1, 1}, {3, 2, 2}, {6, 1, 1}, {6, 2, 2}, {1, 2, 7},
  // q_123
  {12, 2, 4}, {11, 2, 5}, {1, 11, 4}, {1, 12, 5}, {0, 11, 6}, {0, 12, 7},
  {14, 2, 6}, {13, 2, 7}, {1, 13, 6}, {1, 14, 7}, {0, 10, 5}, {0, 4, 9},
  {3, 10, 2}, {3, 0, 8}, {3, 1, 9}, {10, 2, 6}, {10, 1, 7}, {2, 7, 9}, {1, 6, 9},
  {8, 2, 5}, {8, 1, 4},
  // q_233
  {3, 8, 8}, {3, 9, 9}, {3, 10, 10}, {6, 9, 9}, {6, 10, 10}, {8, 4, 9}, {8, 5, 10},
  {3, 13, 13}, {3, 14, 14}, {14, 7, 9}, {13, 6, 9}, {10, 14, 6}, {10, 13, 7},
  {10, 7, 9}, {8, 11, 6}, {8, 12, 7}, {11, 4, 9}, {12, 5, 9}, {10, 12, 4},
  {10, 11, 5}, {12, 14, 4}, {11, 14, 5}, {13, 11, 4}, {13, 12, 5},
  // q_134
  {15, 10, 2}, {15, 1, 9}, {0, 15, 8}, {1, 13, 18}, {1, 14, 19}, {2, 14, 18},
  {2, 13, 19}, {10, 18, 2}, {1, 10, 19}, {1, 18, 9}, {2, 19, 9}, {8, 1, 16},
  {8, 2, 17}, {0, 10, 17}, {0, 16, 9}, {1, 11, 16}, {1, 12, 17}, {2, 12, 16},
  {2, 11, 17}, {1, 13, 22}, {1, 14, 23}, {2, 14, 22}, {2, 13, 23}, {0, 11, 18},
  {0, 12, 19}, {0, 13, 20}, {0, 14, 21}, {1, 11, 20}, {1, 12, 21}, {2, 12, 20},
  {2, 11, 21},
};

// q_1111 = B0 a^2 + B1 a b + B2 b^2 with a = s0^2, b = s1^2 + s2^2, expanded.
#define NEP_N_QUARTIC 6
__constant__ real NEP_QUARTIC_COEF[NEP_N_QUARTIC] = {B0, B1, B1, B2, 2 * B2, B2};
__constant__ int NEP_QUARTIC_INDEX[NEP_N_QUARTIC][4] = {
  {0, 0, 0, 0}, {0, 0, 1, 1}, {0, 0, 2, 2}, {1, 1, 1, 1}, {1, 1, 2, 2}, {2, 2, 2, 2},
};

#undef A0
#undef A1
#undef A2
#undef A3
#undef A4
#undef B0
#undef B1
#undef B2
#undef D0
#undef D1
#undef D2
#undef D3
#undef D4
#undef E0
#undef E1
#undef E2
#undef E3
#undef E4
#undef E5
#undef E6
#undef F0
#undef F1
#undef F2
#undef F3
#undef F4
#undef F5
#undef F6
#undef F7
#undef F8
#undef F9
#undef G0
#undef G1
#undef G2
#undef G3
#undef G4
#undef G5
#undef G6
#undef G7
#undef G8
#undef G9

// Cubic invariant k (0: 222, 1: 112, 2: 123, 3: 233, 4: 134) of s.
__device__ __forceinline__ real nep_cubic_value(int k, const real* s)
{
  real q = (real)0;
  for (int t = NEP_CUBIC_START[k]; t < NEP_CUBIC_START[k + 1]; ++t) {
    q += NEP_CUBIC_COEF[t] * s[NEP_CUBIC_INDEX[t][0]] * s[NEP_CUBIC_INDEX[t][1]] *
         s[NEP_CUBIC_INDEX[t][2]];
  }
  return q;
}

// grad[alpha] += w * d(cubic invariant k)/ds_alpha
__device__ __forceinline__ void nep_cubic_gradient(int k, const real* s, real w, real* grad)
{
  for (int t = NEP_CUBIC_START[k]; t < NEP_CUBIC_START[k + 1]; ++t) {
    const int a = NEP_CUBIC_INDEX[t][0], b = NEP_CUBIC_INDEX[t][1], c = NEP_CUBIC_INDEX[t][2];
    const real wc = w * NEP_CUBIC_COEF[t];
    grad[a] += wc * s[b] * s[c];
    grad[b] += wc * s[a] * s[c];
    grad[c] += wc * s[a] * s[b];
  }
}

__device__ __forceinline__ real nep_quartic_value(const real* s)
{
  real q = (real)0;
  for (int t = 0; t < NEP_N_QUARTIC; ++t) {
    q += NEP_QUARTIC_COEF[t] * s[NEP_QUARTIC_INDEX[t][0]] * s[NEP_QUARTIC_INDEX[t][1]] *
         s[NEP_QUARTIC_INDEX[t][2]] * s[NEP_QUARTIC_INDEX[t][3]];
  }
  return q;
}

__device__ __forceinline__ void nep_quartic_gradient(const real* s, real w, real* grad)
{
  for (int t = 0; t < NEP_N_QUARTIC; ++t) {
    const int a = NEP_QUARTIC_INDEX[t][0], b = NEP_QUARTIC_INDEX[t][1];
    const int c = NEP_QUARTIC_INDEX[t][2], d = NEP_QUARTIC_INDEX[t][3];
    const real wc = w * NEP_QUARTIC_COEF[t];
    grad[a] += wc * s[b] * s[c] * s[d];
    grad[b] += wc * s[a] * s[c] * s[d];
    grad[c] += wc * s[a] * s[b] * s[d];
    grad[d] += wc * s[a] * s[b] * s[c];
  }
}

// num_L: the invariants of one radial order, l_max 3-body ones plus the extras.
__device__ __forceinline__ int nep_invariant_count(int L, int extras)
{
  int count = L;
  for (int bit = 1; bit <= NEP_HAS_Q134; bit <<= 1) count += (extras & bit) ? 1 : 0;
  return count;
}

// The num_L invariants of one radial order (NEP_SPEC §3.7 order: 3-body
// l = 1..L, then the enabled extras in the order 222, 1111, 112, 123, 233, 134).
// `s` has NEP_NUM_OF_ABC entries; components beyond (L+1)^2 - 1 must be zero.
__device__ __forceinline__ int nep_invariants(int L, int extras, const real* s, real* q)
{
  int out = 0;
  for (int l = 1; l <= L; ++l) {
    real sum = (real)0;
    for (int a = l * l - 1; a < (l + 1) * (l + 1) - 1; ++a) sum += NEP_W3B[a] * s[a] * s[a];
    q[out++] = sum;
  }
  if (extras & NEP_HAS_Q222) q[out++] = nep_cubic_value(0, s);
  if (extras & NEP_HAS_Q1111) q[out++] = nep_quartic_value(s);
  if (extras & NEP_HAS_Q112) q[out++] = nep_cubic_value(1, s);
  if (extras & NEP_HAS_Q123) q[out++] = nep_cubic_value(2, s);
  if (extras & NEP_HAS_Q233) q[out++] = nep_cubic_value(3, s);
  if (extras & NEP_HAS_Q134) q[out++] = nep_cubic_value(4, s);
  return out;
}

// grad[alpha] = sum_lambda w[lambda] d q_lambda / d s_alpha for the same
// invariant order as nep_invariants (w = dU/dq of this radial order).
__device__ __forceinline__ void nep_invariants_gradient(
  int L, int extras, const real* s, const real* w, real* grad)
{
  for (int a = 0; a < NEP_NUM_OF_ABC; ++a) grad[a] = (real)0;
  int k = 0;
  for (int l = 1; l <= L; ++l, ++k) {
    for (int a = l * l - 1; a < (l + 1) * (l + 1) - 1; ++a)
      grad[a] += (real)2 * w[k] * NEP_W3B[a] * s[a];
  }
  if (extras & NEP_HAS_Q222) nep_cubic_gradient(0, s, w[k++], grad);
  if (extras & NEP_HAS_Q1111) nep_quartic_gradient(s, w[k++], grad);
  if (extras & NEP_HAS_Q112) nep_cubic_gradient(1, s, w[k++], grad);
  if (extras & NEP_HAS_Q123) nep_cubic_gradient(2, s, w[k++], grad);
  if (extras & NEP_HAS_Q233) nep_cubic_gradient(3, s, w[k++], grad);
  if (extras & NEP_HAS_Q134) nep_cubic_gradient(4, s, w[k++], grad);
}

#endif  // NEP_INVARIANTS_CUH
