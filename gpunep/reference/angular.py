"""Angular functions and invariants (docs/descriptors.md#angular-polynomials,
docs/descriptors.md#angular-invariants; Fan et al. 2021 PRB 104 104309 for the
3-body terms, Fan et al. 2022 JCP 157 114801 for the 4- and 5-body terms).

``Y_alpha(u)`` are GPUMD's unnormalised polynomials of the unit vector
``u = (x, y, z)``: for each ``l`` the components ``Z_l^0(z)``, then for
``m = 1..l`` the pair ``Z_l^m(z) Re[(x+iy)^m]``, ``Z_l^m(z) Im[(x+iy)^m]``,
at indices ``l^2 - 1 .. l^2 - 1 + 2l``. The angular sums are
``s_{n,alpha}(i) = sum_j g_n(r_ij) Y_alpha(u_ij)``; every invariant is a
polynomial in the ``s`` of one ``n``.
"""

from __future__ import annotations

from math import factorial

import numpy as np
from numpy.polynomial import legendre, polynomial

from gpunep.model.fields import MIN_L_MAX_3B

L_MAX = 8

# Z_l^m(z) as integer coefficients, highest power first
# (docs/descriptors.md#angular-polynomials). Their
# scale and sign matter: the 4-body constants below are tied to them.
Z_COEFFICIENTS: dict[int, tuple[tuple[int, ...], ...]] = {
    1: ((1, 0), (1,)),
    2: ((3, 0, -1), (1, 0), (1,)),
    3: ((5, 0, -3, 0), (5, 0, -1), (1, 0), (1,)),
    4: ((35, 0, -30, 0, 3), (7, 0, -3, 0), (7, 0, -1), (1, 0), (1,)),
    5: ((63, 0, -70, 0, 15, 0), (21, 0, -14, 0, 1), (3, 0, -1, 0), (9, 0, -1), (1, 0), (1,)),
    6: ((231, 0, -315, 0, 105, 0, -5), (33, 0, -30, 0, 5, 0), (33, 0, -18, 0, 1),
        (11, 0, -3, 0), (11, 0, -1), (1, 0), (1,)),
    7: ((429, 0, -693, 0, 315, 0, -35, 0), (429, 0, -495, 0, 135, 0, -5),
        (143, 0, -110, 0, 15, 0), (143, 0, -66, 0, 3), (13, 0, -3, 0), (13, 0, -1), (1, 0), (1,)),
    8: ((6435, 0, -12012, 0, 6930, 0, -1260, 0, 35), (715, 0, -1001, 0, 385, 0, -35, 0),
        (143, 0, -143, 0, 33, 0, -1), (39, 0, -26, 0, 3, 0), (65, 0, -26, 0, 1), (5, 0, -1, 0),
        (15, 0, -1), (1, 0), (1,)),
}


def n_harmonics(l_max: int) -> int:
    """Number of components ``Y_alpha`` for ``l = 1..l_max``: ``(l_max + 1)^2 - 1``."""
    return (l_max + 1) ** 2 - 1


def harmonics(u: np.ndarray, l_max: int) -> tuple[np.ndarray, np.ndarray]:
    """``Y_alpha(u)`` and its gradient with x, y, z treated as independent variables.

    Parameters
    ----------
    u : (P, 3) unit vectors

    Returns
    -------
    y : (P, (l_max+1)^2 - 1)
    dy : (P, (l_max+1)^2 - 1, 3) ``dY/dx, dY/dy, dY/dz``
    """
    x, yy, z = u[:, 0], u[:, 1], u[:, 2]
    # (x + iy)^m and its m-fold structure: d/dx (x+iy)^m = m (x+iy)^(m-1), d/dy = i m (x+iy)^(m-1)
    w = x + 1j * yy
    powers = [np.ones_like(w)]
    for _ in range(l_max):
        powers.append(powers[-1] * w)
    n = n_harmonics(l_max)
    y = np.empty((u.shape[0], n))
    dy = np.empty((u.shape[0], n, 3))
    for l in range(1, l_max + 1):
        base = l * l - 1
        for m in range(l + 1):
            coeffs = Z_COEFFICIENTS[l][m]
            zm = np.polyval(coeffs, z)
            dzm = np.polyval(np.polyder(coeffs), z) if len(coeffs) > 1 else np.zeros_like(z)
            if m == 0:
                y[:, base] = zm
                dy[:, base] = 0.0
                dy[:, base, 2] = dzm
                continue
            p, dp = powers[m], m * powers[m - 1]
            for offset, part in ((2 * m - 1, np.real), (2 * m, np.imag)):
                y[:, base + offset] = zm * part(p)
                dy[:, base + offset, 0] = zm * part(dp)
                dy[:, base + offset, 1] = zm * part(1j * dp)
                dy[:, base + offset, 2] = dzm * part(p)
    return y, dy


def three_body_constant(l: int, m: int) -> float:
    """``C_{l,m} = (2l+1)/(4 pi) (l-m)!/(l+m)! / a_lm^2`` with ``Z_l^m = a_lm d^m P_l / dz^m``.

    docs/descriptors.md#three-body-invariants
    """
    dmp = polynomial.polyder(legendre.leg2poly([0] * l + [1]), m)  # ascending powers
    a_lm = Z_COEFFICIENTS[l][m][0] / dmp[-1]
    return (2 * l + 1) / (4 * np.pi) * factorial(l - m) / factorial(l + m) / a_lm**2


def three_body_weights(l: int) -> np.ndarray:
    """Weights ``w`` with ``q_{n,l} = sum_alpha w_alpha s_{n,alpha}^2`` over the block of ``l``.

    ``C_{l,0}`` for ``m = 0`` and ``2 C_{l,m}`` for both the cos and the sin
    component of ``m >= 1``. Shape ``(2l + 1,)``.
    """
    weights = np.empty(2 * l + 1)
    weights[0] = three_body_constant(l, 0)
    for m in range(1, l + 1):
        weights[2 * m - 1] = weights[2 * m] = 2.0 * three_body_constant(l, m)
    return weights


# The 4-body, 5-body and newer invariants (docs/descriptors.md#many-body-invariants)
# as sums of monomials
# ``coefficient * s_a * s_b * s_c [* s_d]`` over the s of one n.
_C4B = (-0.007499480826664, -0.134990654879954, 0.067495327439977, 0.404971964639861,
        -0.809943929279723)
_C5B = (0.026596810706114, 0.053193621412227, 0.026596810706114)
_C4B2 = (0.027493550848847, 0.164961305093080, -0.013746775424423, 0.041240326273270,
         0.082480652546540)
_C4B_123 = (-0.008418146349617, -0.016836292699234, -0.033672585398469, -0.042090731748086,
            -0.067345170796937, -0.084181463496172, -0.168362926992344)
_C4B_233 = (0.008572620635186, 0.009644198214584, 0.019288396429168, 0.025717861905558,
            0.026789439484956, 0.032147327381947, 0.038576792858337, 0.128589309527790,
            0.192883964291685, 0.321473273819474)
_C4B_134 = (0.003645164295772, 0.004860219061029, 0.006075273826286, 0.018225821478859,
            0.024301095305146, 0.036451642957719, 0.042526916784005, 0.072903285915437,
            0.085053833568010, 0.255161500704030)

Term = tuple[float, tuple[int, ...]]


def _terms_222() -> list[Term]:
    a = _C4B
    # A0 s3^3 + A1 s3(s4^2+s5^2) + A2 s3(s6^2+s7^2) + A3 s6(s5^2-s4^2) + A4 s4 s5 s7
    return [(a[0], (3, 3, 3)), (a[1], (3, 4, 4)), (a[1], (3, 5, 5)), (a[2], (3, 6, 6)),
            (a[2], (3, 7, 7)), (a[3], (6, 5, 5)), (-a[3], (6, 4, 4)), (a[4], (4, 5, 7))]


def _terms_1111() -> list[Term]:
    b = _C5B
    # B0 a^2 + B1 a b + B2 b^2 with a = s0^2, b = s1^2 + s2^2
    return [(b[0], (0, 0, 0, 0)), (b[1], (0, 0, 1, 1)), (b[1], (0, 0, 2, 2)),
            (b[2], (1, 1, 1, 1)), (2 * b[2], (1, 1, 2, 2)), (b[2], (2, 2, 2, 2))]


def _terms_112() -> list[Term]:
    d = _C4B2
    # D0 s0^2 s3 + D1 s0(s1 s4 + s2 s5) + D2 s3(s1^2+s2^2) + D3 s6(s1^2-s2^2) + D4 s1 s2 s7
    return [(d[0], (0, 0, 3)), (d[1], (0, 1, 4)), (d[1], (0, 2, 5)), (d[2], (3, 1, 1)),
            (d[2], (3, 2, 2)), (d[3], (6, 1, 1)), (-d[3], (6, 2, 2)), (d[4], (1, 2, 7))]


def _terms_123() -> list[Term]:
    e = _C4B_123
    return [
        # E6 (s12 s2 s4 - s11 s2 s5 + s1 s11 s4 + s1 s12 s5)
        (e[6], (12, 2, 4)), (-e[6], (11, 2, 5)), (e[6], (1, 11, 4)), (e[6], (1, 12, 5)),
        # E5 s0 (s11 s6 + s12 s7)
        (e[5], (0, 11, 6)), (e[5], (0, 12, 7)),
        # E3 (s14 s2 s6 - s13 s2 s7 + s1 s13 s6 + s1 s14 s7)
        (e[3], (14, 2, 6)), (-e[3], (13, 2, 7)), (e[3], (1, 13, 6)), (e[3], (1, 14, 7)),
        # E4 s0 (s10 s5 + s4 s9)
        (e[4], (0, 10, 5)), (e[4], (0, 4, 9)),
        # E1 s3 (s10 s2 + s0 s8 + s1 s9)
        (e[1], (3, 10, 2)), (e[1], (3, 0, 8)), (e[1], (3, 1, 9)),
        # E0 (s10 s2 s6 - s10 s1 s7 - s2 s7 s9 - s1 s6 s9)
        (e[0], (10, 2, 6)), (-e[0], (10, 1, 7)), (-e[0], (2, 7, 9)), (-e[0], (1, 6, 9)),
        # -E2 s8 (s2 s5 + s1 s4)
        (-e[2], (8, 2, 5)), (-e[2], (8, 1, 4)),
    ]


def _terms_233() -> list[Term]:
    f = _C4B_233
    return [
        # F0 s3 s8^2 + F1 s3(s9^2+s10^2) + F2 s6(s9^2-s10^2) + F3 s8(s4 s9 + s5 s10)
        (f[0], (3, 8, 8)), (f[1], (3, 9, 9)), (f[1], (3, 10, 10)), (f[2], (6, 9, 9)),
        (-f[2], (6, 10, 10)), (f[3], (8, 4, 9)), (f[3], (8, 5, 10)),
        # - F4 s3 (s13^2 + s14^2)
        (-f[4], (3, 13, 13)), (-f[4], (3, 14, 14)),
        # F5 (-s14 s7 s9 - s13 s6 s9 - s10 s14 s6 + s10 s13 s7)
        (-f[5], (14, 7, 9)), (-f[5], (13, 6, 9)), (-f[5], (10, 14, 6)), (f[5], (10, 13, 7)),
        # F6 s10 s7 s9 - F7 s8 (s11 s6 + s12 s7)
        (f[6], (10, 7, 9)), (-f[7], (8, 11, 6)), (-f[7], (8, 12, 7)),
        # F8 (s11 s4 s9 + s12 s5 s9 + s10 s12 s4 - s10 s11 s5)
        (f[8], (11, 4, 9)), (f[8], (12, 5, 9)), (f[8], (10, 12, 4)), (-f[8], (10, 11, 5)),
        # F9 (s12 s14 s4 + s11 s14 s5 + s13 s11 s4 - s13 s12 s5)
        (f[9], (12, 14, 4)), (f[9], (11, 14, 5)), (f[9], (13, 11, 4)), (-f[9], (13, 12, 5)),
    ]


def _terms_134() -> list[Term]:
    g = _C4B_134
    return [
        # -G0 s15 (s10 s2 + s1 s9) + G1 s0 s15 s8
        (-g[0], (15, 10, 2)), (-g[0], (15, 1, 9)), (g[1], (0, 15, 8)),
        # G2 (-s1 s13 s18 - s1 s14 s19 - s2 s14 s18 + s2 s13 s19)
        (-g[2], (1, 13, 18)), (-g[2], (1, 14, 19)), (-g[2], (2, 14, 18)), (g[2], (2, 13, 19)),
        # G3 (-s10 s18 s2 + s1 s10 s19 + s1 s18 s9 + s2 s19 s9)
        (-g[3], (10, 18, 2)), (g[3], (1, 10, 19)), (g[3], (1, 18, 9)), (g[3], (2, 19, 9)),
        # G4 s8 (s1 s16 + s2 s17)
        (g[4], (8, 1, 16)), (g[4], (8, 2, 17)),
        # G5 (s0 s10 s17 + s0 s16 s9 - s1 s11 s16 - s1 s12 s17 - s2 s12 s16 + s2 s11 s17)
        (g[5], (0, 10, 17)), (g[5], (0, 16, 9)), (-g[5], (1, 11, 16)), (-g[5], (1, 12, 17)),
        (-g[5], (2, 12, 16)), (g[5], (2, 11, 17)),
        # G6 (s1 s13 s22 + s1 s14 s23 - s2 s14 s22 + s2 s13 s23)
        (g[6], (1, 13, 22)), (g[6], (1, 14, 23)), (-g[6], (2, 14, 22)), (g[6], (2, 13, 23)),
        # G7 s0 (s11 s18 + s12 s19) + G8 s0 (s13 s20 + s14 s21)
        (g[7], (0, 11, 18)), (g[7], (0, 12, 19)), (g[8], (0, 13, 20)), (g[8], (0, 14, 21)),
        # G9 (s1 s11 s20 + s1 s12 s21 - s2 s12 s20 + s2 s11 s21)
        (g[9], (1, 11, 20)), (g[9], (1, 12, 21)), (-g[9], (2, 12, 20)), (g[9], (2, 11, 21)),
    ]


# name -> (model attribute that enables it, smallest l_max_3b whose s it reads, terms)
MANY_BODY_INVARIANTS: dict[str, tuple[str, int, list[Term]]] = {
    "222": ("l_max_4b", MIN_L_MAX_3B["l_max_4b"], _terms_222()),
    "1111": ("l_max_5b", MIN_L_MAX_3B["l_max_5b"], _terms_1111()),
    "112": ("has_q_112", MIN_L_MAX_3B["has_q_112"], _terms_112()),
    "123": ("has_q_123", MIN_L_MAX_3B["has_q_123"], _terms_123()),
    "233": ("has_q_233", MIN_L_MAX_3B["has_q_233"], _terms_233()),
    "134": ("has_q_134", MIN_L_MAX_3B["has_q_134"], _terms_134()),
}


def polynomial_invariant(s: np.ndarray, terms: list[Term]) -> tuple[np.ndarray, np.ndarray]:
    """Value and gradient of ``sum_terms c prod_k s[..., idx_k]``.

    Parameters
    ----------
    s : (..., n_alpha) angular sums

    Returns
    -------
    q : (...) the invariant
    dq_ds : (..., n_alpha) its derivative with respect to each ``s_alpha``
    """
    q = np.zeros(s.shape[:-1])
    dq = np.zeros_like(s)
    for coefficient, idx in terms:
        factors = [s[..., a] for a in idx]
        q += coefficient * np.prod(factors, axis=0)
        for k, a in enumerate(idx):  # product rule
            others = factors[:k] + factors[k + 1:]
            dq[..., a] += coefficient * np.prod(others, axis=0)
    return q, dq
