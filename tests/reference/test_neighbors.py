"""The neighbor search against two independent enumerations.

ASE's ``primitive_neighbor_list`` (a different algorithm, one cutoff), and a
brute-force loop over a generous box of shifts with per-type-pair cutoffs.
Cells: tiny (cutoff many times the cell), very skewed, triclinic, and
periodic in only some directions. Pairs are compared as sets of
``(i, j, r_ij)``; vectors agree to round-off.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from ase.neighborlist import primitive_neighbor_list

from gpunep.reference.neighbors import find_pairs

CELLS = {
    "tiny_cubic": np.diag([1.3, 1.3, 1.3]),
    "skewed": np.array([[4.0, 0.0, 0.0], [3.7, 1.1, 0.0], [3.1, 0.8, 0.9]]),
    "triclinic": np.array([[5.1, 0.0, 0.0], [-1.7, 4.6, 0.0], [1.2, 2.1, 4.9]]),
    "flat": np.array([[6.0, 0.0, 0.0], [0.0, 6.0, 0.0], [0.5, 0.4, 0.6]]),
}
PBCS = [(True, True, True), (True, False, True), (False, False, True), (False, False, False)]


def structure(cell, n_atoms, seed):
    rng = np.random.default_rng(seed)
    # some atoms outside the cell, to exercise the wrapping
    positions = rng.uniform(-0.5, 1.5, (n_atoms, 3)) @ cell
    types = rng.integers(0, 2, n_atoms).astype(np.int32)
    return positions, types


def as_set(i, j, vectors):
    return {(int(a), int(b), *np.round(v, 8)) for a, b, v in zip(i, j, vectors)}


@pytest.mark.parametrize("pbc", PBCS, ids=["TTT", "TFT", "FFT", "FFF"])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_against_ase(name, pbc):
    cell = CELLS[name]
    positions, types = structure(cell, 7, seed=len(name))
    cutoff = 4.3
    pairs = find_pairs(positions, cell, np.array(pbc), types, np.full((2, 2), cutoff))
    i, j, d = primitive_neighbor_list("ijD", pbc, cell, positions, cutoff)
    assert len(pairs) == len(i)
    assert as_set(pairs.center, pairs.neighbor, pairs.vectors) == as_set(i, j, d)
    assert np.all(np.diff(pairs.center) >= 0), "pairs must come sorted by center"
    assert np.allclose(pairs.distances, np.linalg.norm(pairs.vectors, axis=1), rtol=0, atol=1e-14)


def brute_force(positions, cell, pbc, types, cutoffs):
    reach = [6 if p else 0 for p in pbc]   # far more shifts than any cutoff here needs
    found = []
    for shift in product(*(range(-n, n + 1) for n in reach)):
        offset = np.array(shift, dtype=float) @ cell
        for i in range(len(positions)):
            for j in range(len(positions)):
                if i == j and not any(shift):
                    continue
                v = positions[j] + offset - positions[i]
                if np.linalg.norm(v) < cutoffs[types[i], types[j]]:
                    found.append((i, j, v))
    return as_set(*zip(*found)) if found else set()


@pytest.mark.parametrize("pbc", PBCS[:3], ids=["TTT", "TFT", "FFT"])
@pytest.mark.parametrize("name", ["tiny_cubic", "skewed"])
def test_typewise_cutoffs_against_brute_force(name, pbc):
    cell = CELLS[name]
    positions, types = structure(cell, 4, seed=3)
    cutoffs = np.array([[3.0, 2.2], [2.2, 1.4]])  # mean of per-type 3.0 and 1.4
    pairs = find_pairs(positions, cell, np.array(pbc), types, cutoffs)
    assert as_set(pairs.center, pairs.neighbor, pairs.vectors) == brute_force(
        positions, cell, pbc, types, cutoffs)


def test_self_images_in_a_tiny_cell():
    # one atom in a 1 Å cube with a 2.5 Å cutoff: its own images are its only neighbors
    pairs = find_pairs(np.zeros((1, 3)), np.eye(3), np.array([True] * 3), np.zeros(1, np.int32),
                       np.full((1, 1), 2.5))
    shells = [6, 12, 8, 6, 24, 24]   # |n|^2 = 1, 2, 3, 4, 5, 6 are all below 2.5^2
    assert len(pairs) == sum(shells)
    assert np.all(pairs.neighbor == 0) and np.all(pairs.distances > 0)


def test_cutoff_is_strict():
    positions = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    pairs = find_pairs(positions, np.zeros((3, 3)), np.zeros(3, bool), np.zeros(2, np.int32),
                       np.full((1, 1), 2.0))
    assert len(pairs) == 0


def test_coincident_atoms_raise():
    positions = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="same position"):
        find_pairs(positions, np.eye(3), np.array([True] * 3), np.zeros(2, np.int32),
                   np.full((1, 1), 2.0))
