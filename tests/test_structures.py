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


def zoo() -> list[Atoms]:
    """Structures at and near every decision of the batched checks: atoms well inside,
    on faces (fractional 0), just outside and far outside periodic cells; a slab, a
    molecule, an empty structure; skewed and thin cells near the image limit."""
    rng = np.random.default_rng(5)
    diamond = bulk("C", "diamond", a=3.57, cubic=True) * (2, 2, 2)   # atoms at fractional 0
    rattled = diamond.copy()
    rattled.positions += rng.normal(0, 0.3, rattled.positions.shape)  # some just outside
    far = diamond.copy()
    far.positions[3] += 1e6 * far.cell[1]                              # far outside
    skewed = bulk("C", "diamond", a=3.57)                              # primitive, 60 degrees
    skewed.positions += 0.01
    thin = Atoms("CH", positions=[[0.1, 0.1, 0.1], [0.1, 0.1, 0.9]],
                 cell=[[10, 0, 0], [0, 10, 0], [0, 0, 5.0 / 32 * 1.0005]], pbc=True)  # 31.98 images
    slab = diamond.copy()
    slab.pbc = (True, True, False)
    slab.positions[0, 2] -= 2.0
    water = molecule("H2O")
    boxed = molecule("CO2")
    boxed.set_cell([8.0, 8.0, 8.0])
    boxed.pbc = True                                                   # centred at the origin: outside
    return [diamond, rattled, far, skewed, thin, slab, water, Atoms(cell=np.eye(3), pbc=True), boxed]


def test_batched_checks_equal_the_per_structure_checks_bit_for_bit():
    from gpunep.structures import _checked_at_once, _checked_one_by_one, type_table

    structures = zoo()
    batch = pack(structures, MODEL)   # packed at once
    offsets, type_of = batch.offsets, type_table(MODEL)
    positions = np.concatenate([a.positions for a in structures])
    numbers = np.concatenate([a.numbers for a in structures])
    args = (MODEL, type_of, positions, numbers, batch.cells, batch.pbc, offsets, None, "structure")
    at_once = _checked_at_once(*args)
    one_by_one = _checked_one_by_one(*args)
    assert at_once is not None
    for mine, theirs in zip(at_once, one_by_one):
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)
    assert np.array_equal(batch.positions, one_by_one[1])
    assert not np.array_equal(one_by_one[1], positions)   # the zoo does need wrapping
    # both kinds of decision were taken: at once (diamond's cell, the shifted primitive
    # cell's atoms, the molecule) and left to the exact functions (the thin cell, atoms
    # on faces or outside)
    from gpunep.geometry import atoms_surely_inside, cells_surely_valid

    assert cells_surely_valid(batch.cells, batch.pbc, MODEL.max_cutoff).tolist() == [
        True, True, True, True, False, False, True, True, True]
    assert atoms_surely_inside(positions, batch.cells, batch.pbc, offsets).tolist() == [
        False, False, False, True, False, False, True, True, False]


def test_the_first_failing_structure_is_named_as_one_by_one():
    structures = zoo()
    structures[2].cell[2] = [0.0, 0.0, 1e-3]     # too thin, structure 2
    structures[5][1].symbol = "N"                # an unknown species, structure 5
    with pytest.raises(ValueError, match=r"^structure 2: periodic cell vector 2"):
        pack(structures, MODEL)


def test_huge_cells_are_judged_as_one_by_one():
    # found by a random search: in a 1e7 Å cell the batched fractional coordinates round
    # differently from wrap_positions' by far more than a fixed margin; a face area of
    # exactly zero with a volume that rounds to non-zero is a zero thickness to check_cell
    from gpunep.structures import _checked_at_once, _checked_one_by_one, type_table

    wrapped_cell = np.array([[-2.7399574214262399e+06, -6.5437539144335836e+06, 7.0478307326514674e+06],
                             [7.0478818664167093e+00, 3.6199971086892950e+00, 6.1010640162282890e+00],
                             [-1.3087397682626717e-01, 1.3277786809617986e-01, 7.2401933216670031e-02]])
    position = np.array([[-2706125.99245158, -6462967.755963107, 6960830.842428776]])
    args = (MODEL, type_table(MODEL), position, np.array([6]), wrapped_cell[None], np.ones((1, 3), bool),
            np.array([0, 1]), None, "structure")
    expected = _checked_one_by_one(*args)
    assert not np.array_equal(expected[1], position)   # wrap_positions moves it
    assert np.array_equal(_checked_at_once(*args)[1], expected[1])

    flat = np.array([[9.2918918035850906e+17, 6.2433342294814554e+17, 0.0],
                     [3.1322536245968058e+17, 1.2949529233925021e+17, 1.4699948848458424e+18],
                     [5.5751350821510543e+18, 3.7460005376888730e+18, 0.0]])
    args = (MODEL, type_table(MODEL), np.zeros((1, 3)), np.array([6]), flat[None], np.ones((1, 3), bool),
            np.array([0, 1]), None, "structure")
    with pytest.raises(ValueError, match="thick"):
        _checked_one_by_one(*args)
    assert _checked_at_once(*args) is None
