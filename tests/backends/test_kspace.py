"""The engine's Ewald k-vectors (gpunep.engine.kspace) against the reference's (gpunep.reference.ewald).

The two are written separately (the reference from the inverse cell and a
mask on a meshgrid, the engine from cross products and a half-space rule),
so the kernel-vs-reference agreement tests of charge models compare two
constructions of the set. Here the sets must be the same vectors in the
same order, for cubic, triclinic, strongly skewed and left-handed cells and
both kspace modes; a brute-force search over a wider range of integers
checks that neither misses a vector.
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest

from gpunep import random_model
from gpunep.engine import kspace as engine
from gpunep.errors import UnsupportedModelError
from gpunep.reference import charges as reference_charges
from gpunep.reference import ewald as reference

CELLS = {
    "cubic": [[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]],
    "triclinic": [[9.0, 0.0, 0.0], [2.0, 10.0, 0.0], [1.5, 2.5, 11.0]],
    "skewed": [[6.0, 0.0, 0.0], [5.5, 6.0, 0.0], [5.0, 5.5, 6.0]],
    "rotated": [[7.0, 3.0, -1.0], [-2.0, 8.0, 2.5], [1.0, -1.5, 9.5]],
    "left-handed": [[2.0, 10.0, 0.0], [9.0, 0.0, 0.0], [1.5, 2.5, 11.0]],
    "long thin": [[4.0, 0.0, 0.0], [0.0, 4.5, 0.0], [0.3, 0.2, 30.0]],
}
ALPHA = math.pi / 6.0  # a charge model with a 6 Å radial cutoff
# The two constructions give each vector from the same integers by different
# float operations (inverse vs cross products): a few ulp of |k| <= 4 pi alpha ~ 7 Å^-1.
K_ATOL = 1e-12


@pytest.mark.parametrize("kspace", ["truncated", "converged"])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_engine_and_reference_k_vectors_are_the_same_list(name, kspace):
    cell = np.array(CELLS[name])
    ours = engine.kvectors(cell, ALPHA, kspace)
    theirs = reference.kvectors(cell, ALPHA, kspace)
    assert len(ours) > 10  # a real set, not two empty ones
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=K_ATOL)


@pytest.mark.parametrize("kspace", ["truncated", "converged"])
@pytest.mark.parametrize("name", ["triclinic", "skewed", "left-handed"])
def test_k_vectors_are_every_half_space_vector_below_the_cutoff(name, kspace):
    cell = np.array(CELLS[name])
    k_c = {"truncated": 2.0, "converged": 4.0}[kspace] * math.pi * ALPHA
    basis = 2.0 * math.pi * np.linalg.inv(cell).T
    # wider than any bound: |n_i| <= k_c |a_i| / 2 pi, plus a margin of 3
    reach = [int(k_c * np.linalg.norm(a) / (2.0 * math.pi)) + 3 for a in cell]
    expected = set()
    for n in product(*(range(-r, r + 1) for r in reach)):
        first_nonzero = next((v for v in n if v != 0), 0)
        k = np.array(n, dtype=float) @ basis
        if first_nonzero > 0 and k @ k < k_c * k_c:
            expected.add(n)
    found = np.rint(engine.kvectors(cell, ALPHA, kspace) @ cell.T / (2.0 * math.pi)).astype(int)
    assert sorted(map(tuple, found)) == sorted(expected)
    assert [tuple(n) for n in found] == sorted(map(tuple, found))  # n1, then n2, then n3 ascending


def test_alpha_and_checks_match_the_reference():
    model = random_model(("Na", "Cl"), model_type="potential_with_charges", charge_mode=2, seed=3)
    assert engine.ewald_alpha(model) == reference_charges.ewald_alpha(model)
    per_type = random_model(("Na", "Cl"), cutoff=([5.0, 6.0], [4.0, 4.0]),
                            model_type="potential_with_charges", charge_mode=2, seed=3)
    with pytest.raises(UnsupportedModelError, match="single radial cutoff"):
        engine.ewald_alpha(per_type)
    with pytest.raises(ValueError, match="kspace"):
        engine.kvectors(np.eye(3) * 10.0, ALPHA, "pppm")
