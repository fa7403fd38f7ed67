"""The reference against GPUMD's own predictions (docs/validation.md#reference-outputs).

``../shared/models/gpumd/nep_prediction``: a Te/Pb NEP4 model, 25 structures
x 250 atoms, and the `nep` executable's outputs in prediction mode (float32
on a GPU, printed with ``%g``). Tolerances are that resolution: an exact
float64 implementation reaches 6.4e-6 eV/atom, 2.0e-5 eV/Å and 4.9e-6 eV/atom
(docs/validation.md#expected-agreement).
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.io import read

from conftest import shared_models
from gpunep.model import read_model
from gpunep.reference import evaluate
from gpunep.structures import pack

ENERGY_TOL = 1e-5   # eV/atom: %g on ~ -3.7 eV/atom plus float32
FORCE_TOL = 5e-5    # eV/Å: float32 force sums, %g
VIRIAL_TOL = 1e-5   # eV/atom: %g on ~ 1 eV/atom plus float32


@pytest.fixture(scope="module")
def prediction():
    folder = shared_models() / "gpumd" / "nep_prediction"
    model = read_model(folder / "nep.txt")
    frames = read(folder / "train.xyz", ":")
    result = evaluate(model, pack(frames, model))
    return folder, frames, result


def test_energy_per_atom(prediction):
    folder, frames, result = prediction
    reference = np.loadtxt(folder / "energy_train.out")[:, 0]
    n_atoms = np.array([len(a) for a in frames])
    error = np.abs(result.energy / n_atoms - reference).max()
    assert error <= ENERGY_TOL, error


def test_forces(prediction):
    folder, _, result = prediction
    reference = np.loadtxt(folder / "force_train.out")[:, :3]
    error = np.abs(result.forces - reference).max()
    assert error <= FORCE_TOL, error


def test_virial_per_atom(prediction):
    folder, frames, result = prediction
    reference = np.loadtxt(folder / "virial_train.out")[:, :6]   # xx yy zz xy yz zx
    w = result.virial / np.array([len(a) for a in frames])[:, None, None]
    ours = np.stack([w[:, 0, 0], w[:, 1, 1], w[:, 2, 2], w[:, 0, 1], w[:, 1, 2], w[:, 2, 0]], axis=1)
    error = np.abs(ours - reference).max()
    assert error <= VIRIAL_TOL, error


def test_per_atom_values_add_up(prediction):
    _, frames, result = prediction
    system = np.repeat(np.arange(len(frames)), [len(a) for a in frames])
    # sums of the same float64 numbers in another order: round-off only
    assert np.allclose(np.bincount(system, result.energies), result.energy, rtol=0, atol=1e-9)
    summed = np.zeros_like(result.virial)
    np.add.at(summed, system, result.virials)
    assert np.allclose(summed, result.virial, rtol=0, atol=1e-9)
    # Newton's third law: the descriptor forces of a periodic cell sum to zero
    for s in range(len(frames)):
        assert np.abs(result.forces[system == s].sum(axis=0)).max() < 1e-10
