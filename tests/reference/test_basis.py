"""Cutoff function and Chebyshev basis against numpy's Chebyshev series.

docs/descriptors.md#cutoff-function-and-chebyshev-basis

Tolerances: float64 round-off (1e-13) for values, and the O(h^2) error of
central differences with step 1e-6 (1e-8) for derivatives.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import chebyshev

from gpunep.reference.basis import chebyshev_basis, cutoff_function, radial_functions


def test_basis_is_half_shifted_chebyshev_times_cutoff():
    rc = 4.5
    r = np.linspace(0.1, 4.49, 40)
    f, _ = chebyshev_basis(r, np.full_like(r, rc), 16)
    x = 2 * (r / rc - 1) ** 2 - 1
    fc = 0.5 * (1 + np.cos(np.pi * r / rc))
    for k in range(17):
        expected = 0.5 * (chebyshev.chebval(x, [0] * k + [1]) + 1) * fc
        assert np.abs(f[:, k] - expected).max() <= 1e-13


def test_cutoff_is_zero_at_and_beyond_rc():
    r = np.array([3.0, 3.5, 4.0])
    fc, dfc = cutoff_function(r, np.full(3, 3.0))
    assert np.all(fc == 0) and np.all(dfc == 0)


def test_derivatives_match_central_differences():
    r = np.linspace(0.3, 5.9, 30)
    rc = np.full_like(r, 6.0)
    h = 1e-6
    _, df = chebyshev_basis(r, rc, 16)
    numeric = (chebyshev_basis(r + h, rc, 16)[0] - chebyshev_basis(r - h, rc, 16)[0]) / (2 * h)
    assert np.abs(numeric - df).max() <= 1e-8


def test_radial_functions_pick_the_coefficients_of_the_ordered_type_pair():
    rng = np.random.default_rng(0)
    weights = rng.uniform(-1, 1, (4, 3, 5))   # T = 2: pairs (0,0) (0,1) (1,0) (1,1)
    r = np.array([1.0, 2.0, 3.0])
    rc = np.full(3, 4.0)
    pair_type = np.array([1, 2, 3])
    g, _ = radial_functions(r, rc, pair_type, weights)
    f, _ = chebyshev_basis(r, rc, 4)
    for p in range(3):
        assert np.allclose(g[p], weights[pair_type[p]] @ f[p], rtol=0, atol=1e-14)
