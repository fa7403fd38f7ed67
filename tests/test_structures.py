"""Packing structures: validation errors and image counts (checked by brute force)."""

import itertools

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from gpunep.geometry import image_counts
from gpunep.model import random_model
from gpunep.structures import pack

MODEL = random_model(("H", "C", "O"), cutoff=(5.0, 4.0), n_neuron=4)


def test_pack_concatenates_structures_in_order():
    a = molecule("H2O")
    b = bulk("C", "diamond", a=3.57)
    batch = pack([a, b], MODEL)
    assert batch.n_structures == 2 and batch.n_atoms == 5
    assert batch.offsets.tolist() == [0, 3, 5]
    assert batch.types.tolist() == [2, 0, 0, 1, 1]
    assert batch.system_index.tolist() == [0, 0, 0, 1, 1]
    np.testing.assert_array_equal(batch.positions[3:], b.positions)
    assert batch.pbc.tolist() == [[False] * 3, [True] * 3]
    single = batch.structure(1)
    np.testing.assert_array_equal(single.positions, b.positions)
    assert single.offsets.tolist() == [0, 2]


def test_unknown_species_names_species_atom_and_structure():
    atoms = molecule("CH3CH2OH")
    atoms[4].symbol = "N"
    with pytest.raises(ValueError, match=r"structure 1: atom 4 is N.*H, C, O"):
        pack([molecule("H2O"), atoms], MODEL)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_positions_raise(bad):
    atoms = molecule("H2O")
    positions = atoms.get_positions()
    positions[1, 2] = bad
    atoms.set_positions(positions)
    with pytest.raises(ValueError, match="atom 1 has a non-finite position"):
        pack(atoms, MODEL)


def test_non_finite_cell_raises():
    atoms = bulk("C", "diamond", a=3.57)
    cell = atoms.get_cell()[:]
    cell[0, 0] = np.nan
    atoms.cell[:] = cell
    with pytest.raises(ValueError, match="non-finite"):
        pack(atoms, MODEL)


def test_degenerate_periodic_cell_raises():
    atoms = Atoms("C2", positions=[[0, 0, 0], [1, 0, 0]],
                  cell=[[2, 0, 0], [4, 0, 0], [0, 0, 3]], pbc=True)
    with pytest.raises(ValueError, match="degenerate"):
        pack(atoms, MODEL)
    slab = Atoms("C", cell=[[2, 0, 0], [0, 0, 0], [0, 0, 0]], pbc=[True, True, False])
    with pytest.raises(ValueError, match="cell vector 1"):
        pack(slab, MODEL)


def _brute_force_max_shift(cell, pbc, cutoff, n_search=60):
    """Largest |shift| along each direction among images closer than cutoff (wrapped atoms)."""
    rng = np.random.default_rng(1)
    frac = rng.random((40, 3))
    frac[:, ~pbc] = 0.0
    frac[:4] = [[0, 0, 0], [1 - 1e-12, 0, 0], [0, 1 - 1e-12, 0], [0, 0, 1 - 1e-12]]
    frac[:, ~pbc] = 0.0
    delta = frac[:, None, :] - frac[None, :, :]
    best = np.zeros(3, dtype=int)
    ranges = [range(-n_search, n_search + 1) if p else [0] for p in pbc]
    for shift in itertools.product(*ranges):
        d = (delta + np.array(shift)) @ cell
        if np.any(np.linalg.norm(d, axis=-1) < cutoff):
            best = np.maximum(best, np.abs(shift))
    return best


@pytest.mark.parametrize(
    "cell, pbc",
    [
        (np.diag([3.0, 4.0, 5.0]), [True, True, True]),
        (np.array([[3.0, 0, 0], [2.9, 0.4, 0], [0.3, 0.2, 2.0]]), [True, True, True]),
        (np.array([[1.1, 0, 0], [0.5, 1.0, 0], [0.0, 0.0, 0.0]]), [True, True, False]),
        (np.array([[2.0, 0, 0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), [True, False, False]),
    ],
)
def test_image_counts_cover_every_image_within_the_cutoff(cell, pbc):
    pbc = np.array(pbc)
    counts = image_counts(cell, pbc, 3.0)
    needed = _brute_force_max_shift(cell, pbc, 3.0, n_search=12)
    assert np.all(counts >= needed), (counts, needed)
    assert np.all(counts[~pbc] == 0)
    # no needless over-enumeration: at most one extra image per direction
    assert np.all(counts <= needed + 1)
