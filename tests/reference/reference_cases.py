"""Helpers for the reference-evaluator tests: evaluation shortcuts and finite differences.

Imported by the test modules beside it (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from gpunep.model import Model
from gpunep.reference import evaluate
from gpunep.structures import BatchResult, pack

# Fourth-order central difference: f'(0) ~ sum_k c_k f(k h) / h, error O(h^4).
STENCIL = ((-2, 1.0 / 12.0), (-1, -8.0 / 12.0), (1, 8.0 / 12.0), (2, -1.0 / 12.0))
# Steps: position steps of 2.5e-4 Å and strain steps of 1e-4 keep both the O(h^4)
# truncation (measured: ~3e-9 relative on a compressed l_max = 8 cell, shrinking
# 16x per halving of the step) and the round-off (~1e-16 |E| / h) far below 1e-6.
POSITION_STEP = 2.5e-4
STRAIN_STEP = 1e-4


def run(model: Model, atoms: Atoms, descriptors: bool = False) -> BatchResult:
    """The reference evaluation of one structure."""
    return evaluate(model, pack(atoms, model), descriptors=descriptors)


def energy(model: Model, atoms: Atoms) -> float:
    return float(run(model, atoms).energy[0])


def numerical_forces(model: Model, atoms: Atoms, indices=None) -> np.ndarray:
    """``-dE/dr`` by central differences for the atoms in ``indices`` (default: all)."""
    indices = range(len(atoms)) if indices is None else indices
    forces = []
    for i in indices:
        row = []
        for k in range(3):
            derivative = 0.0
            for step, weight in STENCIL:
                moved = atoms.copy()
                moved.positions[i, k] += step * POSITION_STEP
                derivative += weight * energy(model, moved)
            row.append(-derivative / POSITION_STEP)
        forces.append(row)
    return np.array(forces)


def numerical_virial(model: Model, atoms: Atoms) -> np.ndarray:
    """``W[a, b] = -dE/d eps[b, a]`` under the homogeneous strain ``r -> (1 + eps) r``
    (docs/forces.md#virial).

    With ``r_a -> r_a + eps_ab r_b``, ``dE/d eps_ab = sum_pairs f_a r_b``, so the
    virial ``W_ab = -sum r_a f_b`` is ``-dE/d eps_ba``.
    """
    virial = np.empty((3, 3))
    for a in range(3):
        for b in range(3):
            derivative = 0.0
            for step, weight in STENCIL:
                strain = np.eye(3)
                strain[b, a] += step * STRAIN_STEP
                moved = atoms.copy()
                moved.positions = atoms.positions @ strain.T
                moved.cell = atoms.cell[:] @ strain.T
                derivative += weight * energy(model, moved)
            virial[a, b] = -derivative / STRAIN_STEP
    return virial


def random_rotation(seed: int) -> np.ndarray:
    """A proper rotation matrix drawn from a seeded generator."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q
