"""Angular functions and invariants (docs/descriptors.md#angular-polynomials,
docs/descriptors.md#angular-invariants) against independent forms.

* the 3-body invariant equals the Legendre double sum
  ``(2l+1)/(4 pi) sum_jk g_j g_k P_l(u_j . u_k)`` (numpy's Legendre series);
* each cubic many-body invariant (the 4-body terms of Fan et al. 2022, JCP
  157 114801, Sect. II.C, and their later relatives) equals the Wigner 3j
  contraction of the orthonormal complex harmonic sums (scipy's associated
  Legendre functions, 3j symbols from Racah's formula), a rotation
  invariant by construction;
* the first 24 ``Y`` components equal the explicit polynomials of the docs;
* every ``Z_l^m`` is proportional to ``d^m P_l / dz^m``;
* every invariant is unchanged by rotations and inversion;
* gradients (of ``Y`` and of each invariant) match central differences.
Tolerances: float64 round-off on O(1) quantities (1e-12), and for the
central differences with step 1e-5 the O(h^2) error (~1e-9).
"""

from __future__ import annotations

import numpy as np
import pytest
from math import factorial, sqrt

from numpy.polynomial import legendre, polynomial
from scipy.special import lpmv

from gpunep.reference.angular import (
    MANY_BODY_INVARIANTS,
    Z_COEFFICIENTS,
    harmonics,
    polynomial_invariant,
    three_body_weights,
)
from reference_cases import random_rotation

L_MAX = 8


def unit_vectors(n, seed):
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def angular_sums(u, g):
    y, _ = harmonics(u, L_MAX)
    return g @ y   # s_alpha = sum_j g_j Y_alpha(u_j)


@pytest.mark.parametrize("l", range(1, L_MAX + 1))
def test_three_body_equals_legendre_double_sum(l):
    u = unit_vectors(9, seed=l)
    g = np.random.default_rng(100 + l).uniform(-1, 1, 9)
    s = angular_sums(u, g)
    block = s[l * l - 1:l * l + 2 * l]
    ours = np.sum(three_body_weights(l) * block**2)
    p_l = legendre.legval(u @ u.T, [0] * l + [1])
    expected = (2 * l + 1) / (4 * np.pi) * g @ p_l @ g   # includes the j = k terms
    assert abs(ours - expected) <= 1e-12 * max(1.0, abs(expected))


def test_first_24_components_are_the_listed_polynomials():
    u = unit_vectors(20, seed=1)
    x, y, z = u.T
    listed = [z, x, y,
              3 * z**2 - 1, x * z, y * z, x**2 - y**2, 2 * x * y,
              5 * z**3 - 3 * z, (5 * z**2 - 1) * x, (5 * z**2 - 1) * y, z * (x**2 - y**2),
              2 * x * y * z, x**3 - 3 * x * y**2, 3 * x**2 * y - y**3,
              35 * z**4 - 30 * z**2 + 3, (7 * z**3 - 3 * z) * x, (7 * z**3 - 3 * z) * y,
              (7 * z**2 - 1) * (x**2 - y**2), (7 * z**2 - 1) * 2 * x * y, z * (x**3 - 3 * x * y**2),
              z * (3 * x**2 * y - y**3), x**4 - 6 * x**2 * y**2 + y**4, 4 * x**3 * y - 4 * x * y**3]
    ours, _ = harmonics(u, 4)
    assert np.abs(ours - np.array(listed).T).max() <= 1e-12


@pytest.mark.parametrize("l", range(1, L_MAX + 1))
def test_z_polynomials_are_derivatives_of_legendre(l):
    p_l = legendre.leg2poly([0] * l + [1])   # ascending powers
    for m in range(l + 1):
        derivative = polynomial.polyder(p_l, m)
        z_lm = np.array(Z_COEFFICIENTS[l][m][::-1], dtype=float)
        ratio = z_lm[-1] / derivative[-1]
        assert np.allclose(z_lm, ratio * derivative, rtol=0, atol=1e-9)


def test_harmonic_gradients_match_central_differences():
    # Y as a polynomial of independent x, y, z, evaluated off the unit sphere too
    p = np.random.default_rng(2).normal(size=(6, 3))
    _, dy = harmonics(p, L_MAX)
    h = 1e-5
    for k in range(3):
        step = np.zeros(3)
        step[k] = h
        numeric = (harmonics(p + step, L_MAX)[0] - harmonics(p - step, L_MAX)[0]) / (2 * h)
        assert np.abs(numeric - dy[:, :, k]).max() <= 1e-6 * max(1.0, np.abs(dy).max())


@pytest.mark.parametrize("name", sorted(MANY_BODY_INVARIANTS))
def test_invariants_are_rotation_and_inversion_invariant(name):
    terms = MANY_BODY_INVARIANTS[name][2]
    u = unit_vectors(7, seed=3)
    g = np.random.default_rng(4).uniform(0.2, 1.0, 7)
    q, _ = polynomial_invariant(angular_sums(u, g), terms)
    assert abs(q) > 1e-6, "a vanishing invariant would test nothing"
    for seed in (5, 6):
        turned, _ = polynomial_invariant(angular_sums(u @ random_rotation(seed).T, g), terms)
        assert abs(turned - q) <= 1e-12 * max(1.0, abs(q))
    inverted, _ = polynomial_invariant(angular_sums(-u, g), terms)
    assert abs(inverted - q) <= 1e-12 * max(1.0, abs(q))


@pytest.mark.parametrize("name", sorted(MANY_BODY_INVARIANTS))
def test_invariant_gradients_match_central_differences(name):
    terms = MANY_BODY_INVARIANTS[name][2]
    s = np.random.default_rng(7).uniform(-1, 1, 80)
    _, grad = polynomial_invariant(s, terms)
    h = 1e-5
    for a in range(24):
        step = np.zeros(80)
        step[a] = h
        numeric = (polynomial_invariant(s + step, terms)[0]
                   - polynomial_invariant(s - step, terms)[0]) / (2 * h)
        assert abs(numeric - grad[a]) <= 1e-9


def test_five_body_is_the_square_of_the_l1_three_body_term():
    # docs/descriptors.md#many-body-invariants: q_1111 = (b_0 / C_{1,0}^2) q_{n,1}^2 = (7/15) q_{n,1}^2
    s = angular_sums(unit_vectors(5, seed=8), np.random.default_rng(9).uniform(0, 1, 5))
    q1 = np.sum(three_body_weights(1) * s[:3] ** 2)
    q1111, _ = polynomial_invariant(s, MANY_BODY_INVARIANTS["1111"][2])
    assert abs(q1111 - 7.0 / 15.0 * q1**2) <= 1e-12


def wigner_3j(l1, l2, l3, m1, m2, m3):
    """The Wigner 3j symbol by Racah's formula (integer arguments)."""
    if m1 + m2 + m3 != 0 or not abs(l1 - l2) <= l3 <= l1 + l2:
        return 0.0
    if abs(m1) > l1 or abs(m2) > l2 or abs(m3) > l3:
        return 0.0
    f = factorial
    triangle = f(l1 + l2 - l3) * f(l1 - l2 + l3) * f(-l1 + l2 + l3) / f(l1 + l2 + l3 + 1)
    norm = sqrt(triangle * f(l1 + m1) * f(l1 - m1) * f(l2 + m2) * f(l2 - m2) * f(l3 + m3) * f(l3 - m3))
    total = 0.0
    for k in range(l1 + l2 + l3 + 1):
        den = (k, l1 + l2 - l3 - k, l1 - m1 - k, l2 + m2 - k, l3 - l2 + m1 + k, l3 - l1 - m2 + k)
        if min(den) >= 0:
            total += (-1) ** k / np.prod([float(f(d)) for d in den])
    return (-1) ** (l1 - l2 - m3) * norm * total


def test_wigner_3j_known_values():
    assert abs(wigner_3j(1, 1, 0, 0, 0, 0) + 1 / sqrt(3)) <= 1e-15
    assert abs(wigner_3j(2, 2, 2, 0, 0, 0) + sqrt(2 / 35)) <= 1e-15
    assert abs(wigner_3j(1, 1, 2, 1, -1, 0) - sqrt(1 / 30)) <= 1e-15


def complex_harmonic_sums(u, g, l):
    """``A_lm = sum_j g_j Y_l^m(u_j)``, orthonormal with the Condon-Shortley phase, m = -l..l."""
    theta, phi = np.arccos(u[:, 2]), np.arctan2(u[:, 1], u[:, 0])
    sums = {}
    for m in range(-l, l + 1):
        am = abs(m)
        norm = sqrt((2 * l + 1) / (4 * np.pi) * factorial(l - am) / factorial(l + am))
        y = norm * lpmv(am, l, np.cos(theta)) * np.exp(1j * am * phi)
        sums[m] = g @ (y if m >= 0 else (-1) ** am * np.conj(y))
    return sums


@pytest.mark.parametrize("name", ["222", "112", "123", "233", "134"])
def test_cubic_invariants_are_wigner_3j_contractions(name):
    l1, l2, l3 = (int(c) for c in name)
    u = unit_vectors(7, seed=10)
    g = np.random.default_rng(11).uniform(0.2, 1.0, 7)
    q, _ = polynomial_invariant(angular_sums(u, g), MANY_BODY_INVARIANTS[name][2])
    a1, a2, a3 = (complex_harmonic_sums(u, g, l) for l in (l1, l2, l3))
    contraction = sum(wigner_3j(l1, l2, l3, m1, m2, -m1 - m2) * a1[m1] * a2[m2] * a3[-m1 - m2]
                      for m1 in range(-l1, l1 + 1) for m2 in range(-l2, l2 + 1) if abs(m1 + m2) <= l3)
    assert abs(q) > 1e-6, "a vanishing invariant would test nothing"
    assert abs(contraction.imag) <= 1e-12
    assert abs(contraction.real - q) <= 1e-12 * max(1.0, abs(q))
