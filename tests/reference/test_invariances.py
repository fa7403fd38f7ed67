"""Symmetries the reference must respect exactly (to round-off).

Translation, rotation, atom permutation, wrapping by lattice vectors, and
supercells: a 3x3x3 supercell of a cell smaller than the cutoff has the same
energy per atom, because every atom sees the same periodic images. All are
float64 identities, so tolerances sit a few orders above round-off
(1e-10 relative where sums run over thousands of terms).
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from conftest import shared_models
from gpunep.model import random_model, read_model
from reference_cases import random_rotation, run

MODEL = random_model(("Si", "C"), seed=11, n_neuron=8, l_max=(8, 2, 1, 1, 1, 1, 1),
                     zbl=(1.0, 2.0))
ENERGY_TOL = 1e-10   # relative to the total energy: float64 sums over ~1e3 terms
FORCE_TOL = 1e-10    # relative to the largest force component


def structure(seed: int = 0) -> Atoms:
    rng = np.random.default_rng(seed)
    cell = np.array([[4.1, 0.0, 0.0], [1.3, 3.9, 0.0], [0.7, -1.1, 4.4]])
    symbols = ["Si", "C", "C", "Si", "C", "Si"]
    return Atoms(symbols, scaled_positions=rng.uniform(0, 1, (6, 3)), cell=cell, pbc=True)


def assert_same(a, b, permutation=None, rotation=None):
    permutation = np.arange(len(a.energies)) if permutation is None else permutation
    rotation = np.eye(3) if rotation is None else rotation
    scale = np.abs(a.forces).max()
    assert abs(b.energy[0] - a.energy[0]) <= ENERGY_TOL * abs(a.energy[0])
    assert np.abs(b.energies - a.energies[permutation]).max() <= ENERGY_TOL * np.abs(a.energies).max()
    assert np.abs(b.forces - a.forces[permutation] @ rotation.T).max() <= FORCE_TOL * scale
    virial = rotation @ a.virial[0] @ rotation.T
    assert np.abs(b.virial[0] - virial).max() <= FORCE_TOL * np.abs(a.virial[0]).max()


def test_translation():
    atoms = structure()
    moved = atoms.copy()
    moved.translate([0.37, -1.21, 2.9])
    assert_same(run(MODEL, atoms), run(MODEL, moved))


def test_wrapping_by_lattice_vectors():
    atoms = structure()
    moved = atoms.copy()
    moved.positions += np.array([[2, -1, 0], [0, 0, 3], [-1, -1, -1], [0, 5, 0], [1, 0, 0],
                                 [0, 0, 0]]) @ atoms.cell[:]
    assert_same(run(MODEL, atoms), run(MODEL, moved))


@pytest.mark.parametrize("seed", [1, 2])
def test_rotation(seed):
    atoms = structure()
    rotation = random_rotation(seed)
    turned = atoms.copy()
    turned.positions = atoms.positions @ rotation.T
    turned.cell = atoms.cell[:] @ rotation.T
    assert_same(run(MODEL, atoms), run(MODEL, turned), rotation=rotation)


def test_inversion():
    atoms = structure()
    inverted = atoms.copy()
    inverted.positions = -atoms.positions
    inverted.cell = -atoms.cell[:]
    assert_same(run(MODEL, atoms), run(MODEL, inverted), rotation=-np.eye(3))


def test_permutation():
    atoms = structure()
    order = np.random.default_rng(3).permutation(len(atoms))
    assert_same(run(MODEL, atoms), run(MODEL, atoms[order]), permutation=order)


def test_supercell_of_a_cell_smaller_than_the_cutoff():
    # Si primitive cell (thickness 3.1 Å) with the 5-body Si model (cutoff 5 Å)
    model = read_model(shared_models() / "gpumd" / "potentials" / "Si_2022_NEP4_5body.txt")
    primitive = bulk("Si", "diamond", 5.43)
    primitive.positions[1] += [0.07, -0.03, 0.05]
    small, big = run(model, primitive), run(model, primitive * (3, 3, 3))
    assert abs(big.energy[0] / 54 - small.energy[0] / 2) <= ENERGY_TOL * abs(small.energy[0] / 2)
    assert np.abs(big.forces - np.tile(small.forces, (27, 1))).max() <= FORCE_TOL * np.abs(small.forces).max()
    assert np.abs(big.virial[0] / 27 - small.virial[0]).max() <= FORCE_TOL * np.abs(small.virial[0]).max()


def test_supercell_with_zbl_and_every_invariant():
    atoms = structure()
    small, big = run(MODEL, atoms), run(MODEL, atoms * (3, 3, 3))
    assert abs(big.energy[0] / 27 - small.energy[0]) <= ENERGY_TOL * abs(small.energy[0])
    assert np.abs(big.energies - np.tile(small.energies, 27)).max() <= ENERGY_TOL * np.abs(small.energies).max()
