"""Non-periodic directions: no images along them.

A molecule with ``pbc=False`` must give what the same molecule gives centred
in a periodic box whose vacuum exceeds the cutoff (no image then reaches).
Same for a slab periodic in two directions. The two evaluations sum the
same terms, so they agree to round-off.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import molecule

from gpunep.model import random_model
from reference_cases import run

MODEL = random_model(("H", "C", "O"), seed=21, n_neuron=8, cutoff=(6.0, 4.0),
                     l_max=(6, 2, 1, 1, 1, 1, 1), zbl=(0.5, 1.2))
TOL = 1e-10  # relative; float64 round-off in sums over a few hundred terms


def compare(a, b):
    assert abs(a.energy[0] - b.energy[0]) <= TOL * abs(a.energy[0])
    assert np.abs(a.energies - b.energies).max() <= TOL * np.abs(a.energies).max()
    assert np.abs(a.forces - b.forces).max() <= TOL * np.abs(a.forces).max()
    assert np.abs(a.virials - b.virials).max() <= TOL * np.abs(a.virials).max()


def test_molecule_without_cell_equals_molecule_in_vacuum():
    free = molecule("CH3CH2OH")
    assert not free.pbc.any() and free.cell.rank == 0
    boxed = free.copy()
    boxed.center(vacuum=6.5)   # > the 6 Å cutoff
    boxed.pbc = True
    compare(run(MODEL, free), run(MODEL, boxed))


def test_non_periodic_with_a_small_cell_ignores_the_cell():
    free = molecule("CH3CH2OH")
    tight = free.copy()
    tight.cell = [[2.0, 0.0, 0.0], [0.5, 2.0, 0.0], [0.0, 0.3, 2.0]]   # far smaller than the molecule
    tight.pbc = False
    compare(run(MODEL, free), run(MODEL, tight))


def test_slab_equals_slab_in_vacuum():
    rng = np.random.default_rng(5)
    cell = np.array([[3.0, 0.0, 0.0], [1.1, 2.7, 0.0], [0.0, 0.0, 5.0]])
    slab = Atoms(["C", "O", "H", "C"], scaled_positions=rng.uniform(0, 1, (4, 3)), cell=cell,
                 pbc=(True, True, False))
    thick = slab.copy()
    thick.cell[2] = [0.0, 0.0, 5.0 + 2 * 6.5]   # vacuum > cutoff above and below
    thick.positions += [0.0, 0.0, 6.5]
    thick.pbc = True
    compare(run(MODEL, slab), run(MODEL, thick))


def test_slab_periodic_along_a_skewed_pair_of_vectors():
    # periodic along a and c, not b; b is tilted out of the a-c plane
    rng = np.random.default_rng(6)
    cell = np.array([[3.2, 0.0, 0.0], [0.8, 4.0, 0.6], [1.0, 0.0, 2.9]])
    slab = Atoms(["C", "O", "H", "C", "H"], scaled_positions=rng.uniform(0, 1, (5, 3)), cell=cell,
                 pbc=(True, False, True))
    thick = slab.copy()
    normal = np.cross(cell[2], cell[0])
    normal /= np.linalg.norm(normal)
    thick.cell[1] = cell[1] + 20.0 * normal   # stretch b: far more than a cutoff of vacuum
    thick.positions += 6.5 * normal
    thick.pbc = True
    compare(run(MODEL, slab), run(MODEL, thick))
