"""Cell checks and exact wrapping (gpunep.geometry), as pack applies them to every structure.

Wrapping is checked against exact rational arithmetic (fractions.Fraction):
the wrapped position must be the exact ``r - sum_d n_d a_d`` to one unit in
the last place.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from gpunep.geometry import MAX_IMAGES_PER_DIRECTION, cell_volume, check_cell, wrap_positions
from gpunep.model import random_model
from gpunep.structures import pack

MODEL = random_model(("Si", "C"), cutoff=(5.0, 4.0), n_neuron=4, seed=3)
CUTOFF = MODEL.max_cutoff  # 5 Å
TRICLINIC = np.array([[4.37, 0.0, 0.0], [0.61, 4.13, 0.0], [0.27, 0.93, 3.91]])


def crystal(cell=TRICLINIC, pbc=True, seed=0) -> Atoms:
    rng = np.random.default_rng(seed)
    return Atoms("Si2C2", scaled_positions=0.1 + 0.8 * rng.random((4, 3)), cell=cell, pbc=pbc)


@pytest.mark.parametrize("length", [3e-10, 1e-9, 1e-7, 1e-5, 1e-2])
def test_a_tiny_periodic_vector_names_the_structure_and_the_vector(length):
    tiny = crystal()
    tiny.cell[2] = [0.0, 0.0, length]
    with pytest.raises(ValueError, match=r"^structure 1: periodic cell vector 2 = \[0\.0, 0\.0, "
                                         + f"{length!r}".replace(".", r"\.").replace("+", r"\+")):
        pack([crystal(), tiny], MODEL)


@pytest.mark.parametrize("pbc", [(True, True, False), (False, False, True)])
def test_a_tiny_vector_of_a_slab_or_wire_is_refused_only_when_periodic(pbc):
    atoms = crystal(pbc=pbc)
    atoms.cell[2] = [0.0, 0.0, 1e-9]
    if pbc[2]:
        with pytest.raises(ValueError, match="periodic cell vector 2"):
            pack(atoms, MODEL)
    else:
        assert pack(atoms, MODEL).n_atoms == 4   # a non-periodic vector may be anything


@pytest.mark.parametrize("factor, refused", [(1.01, False), (0.99, True)])
def test_the_image_limit_is_cutoff_over_thickness(factor, refused):
    # An orthorhombic cell: the thickness along z is the length of the third vector.
    thickness = CUTOFF / MAX_IMAGES_PER_DIRECTION * factor
    cell = np.diag([4.0, 4.0, thickness])
    if refused:
        with pytest.raises(ValueError, match=r"would reach 32\.\d* periodic images"):
            check_cell(cell, np.array([True] * 3), CUTOFF, "structure")
    else:
        check_cell(cell, np.array([True] * 3), CUTOFF, "structure")


def test_the_shape_test_does_not_depend_on_the_vector_lengths():
    # Vectors of very different lengths at right angles are a fine cell ...
    check_cell(np.diag([4000.0, 4.0, 0.5]), np.array([True] * 3), CUTOFF, "structure")
    # ... and two nearly parallel ones are degenerate at any length.
    for scale in (1e-3, 1.0, 1e3):
        cell = scale * np.array([[4.0, 0, 0], [4.0, 1e-11, 0], [0, 0, 4.0]])
        with pytest.raises(ValueError, match="degenerate"):
            check_cell(cell, np.array([True] * 3), CUTOFF * scale, "structure")


def _exact_difference(position, shift, cell) -> np.ndarray:
    """``position - shift @ cell`` in exact rational arithmetic, rounded once to float64."""
    return np.array([float(Fraction(position[k]) - sum(Fraction(shift[d]) * Fraction(cell[d, k])
                                                        for d in range(3)))
                     for k in range(3)])


@pytest.mark.parametrize("distance", [1e3, 1e8, 1e12])
def test_far_atoms_are_wrapped_exactly(distance):
    atoms = crystal()
    rng = np.random.default_rng(7)
    far = atoms.positions + np.round(distance / 4.0 * rng.uniform(-1, 1, (4, 3))) @ TRICLINIC
    atoms.positions = far
    wrapped = pack(atoms, MODEL).positions
    shift = np.round((far - wrapped) @ np.linalg.inv(TRICLINIC))
    fractional = wrapped @ np.linalg.inv(TRICLINIC)
    assert np.all((fractional > -1e-12) & (fractional < 1 + 1e-12))
    for i in range(4):
        exact = _exact_difference(far[i], shift[i], TRICLINIC)
        assert np.all(np.abs(wrapped[i] - exact) <= np.spacing(np.abs(exact))), (i, wrapped[i], exact)
    if distance >= 1e8:
        # what exactness buys: the plain difference is off by far more than an ulp
        naive = far - shift @ TRICLINIC
        assert np.abs(naive - wrapped).max() > 1e3 * np.spacing(10.0)


def test_atoms_inside_the_cell_and_non_periodic_coordinates_are_kept_bit_for_bit():
    atoms = crystal(pbc=(True, True, False))
    atoms.positions[0, 2] += 1e12   # far along the non-periodic direction: stays
    atoms.positions[1] += TRICLINIC[0] * 3e10
    packed = pack(atoms, MODEL).positions
    np.testing.assert_array_equal(packed[[0, 2, 3]], atoms.positions[[0, 2, 3]])
    assert abs(packed[1, 0] - (atoms.positions[1, 0] - 3e10 * TRICLINIC[0, 0])) < 1e-3
    inside = crystal()
    np.testing.assert_array_equal(pack(inside, MODEL).positions, inside.positions)


def test_an_atom_beyond_two_to_the_52_cells_is_refused_by_name():
    atoms = crystal()
    atoms.positions[2] = [3e300, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"structure: atom 2 at .* more than 2\*\*52 cells"):
        pack(atoms, MODEL)
    with pytest.raises(ValueError, match="atom 2"):
        wrap_positions(atoms.positions, TRICLINIC, np.array([True] * 3), "structure")


def test_cell_volume_is_zero_unless_the_cell_is_three_dimensional():
    assert cell_volume(TRICLINIC) == pytest.approx(abs(np.linalg.det(TRICLINIC)), rel=1e-15)
    assert cell_volume(bulk("Si").cell[:]) > 0
    assert cell_volume(np.zeros((3, 3))) == 0.0
    assert cell_volume(np.diag([3.0, 4.0, 0.0])) == 0.0
    coplanar = TRICLINIC.copy()
    coplanar[2] = coplanar[0] + coplanar[1]
    assert cell_volume(coplanar) == 0.0
