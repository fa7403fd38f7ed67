"""Dipole and polarizability models (TNEP, docs/tensors.md) in the reference.

No stored GPUMD dipoles or polarizabilities are shared, so the checks are
physics and finite differences:

* covariance: rotating a structure (and its cell) rotates the dipole as a
  vector and the polarizability as a tensor; inversion flips the dipole and
  keeps the polarizability. The network outputs are invariants, so this
  holds to float64 round-off; the issue's bar is 1e-10.
* the polarizability's tensor part is the "virial" of the first network,
  ``-sum r (x) dF/dr = -d(sum_i F_i)/d eps``: checked against central
  differences of ``sum_i F_i`` under strain (1e-6 relative, as every
  finite-difference test here); its isotropic part is the second network's
  ``sum_i F^s_i``.
* the dipole of a dimer, ``-r^2 (F_A'(r) - F_B'(r)) u``, from central
  differences of the two atoms' network outputs along the bond.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

from conftest import shared_models
from gpunep.model import read_model
from gpunep.reference import evaluate
from gpunep.structures import pack
from reference_cases import STENCIL, numerical_virial, random_rotation, run

COVARIANCE_TOL = 1e-10  # the bar for float64
FD_REL_TOL = 1e-6

CASES = {
    # (model, structure) under ../shared/models
    "tnep-dipole": ("tnep/dipole/nep.txt", "tnep/dipole/structure.xyz"),
    "tnep-polarizability": ("tnep/polarizability/nep.txt", "tnep/polarizability/structure.xyz"),
    "water-dipole": ("gpumd/tests_pytest/models/tnep-water-polarization.txt",
                     "gpumd/tests_pytest/structures/water-nat63-from-md.xyz"),
    "BaZrO3-polarizability": ("gpumd/tests_pytest/models/tnep-BaZrO3-susceptibility.txt",
                              "gpumd/tests_pytest/structures/BaZrO3-nat40-rattled.xyz"),
}


def load(case: str):
    model_path, structure_path = CASES[case]
    root = shared_models()
    return read_model(root / model_path), read(root / structure_path)


def tensor(model, atoms) -> np.ndarray:
    result = evaluate(model, pack(atoms, model))
    return result.dipole[0] if model.model_type == "dipole" else result.polarizability[0]


def transformed(atoms: Atoms, matrix: np.ndarray) -> Atoms:
    moved = atoms.copy()
    moved.positions = atoms.positions @ matrix.T
    moved.cell = atoms.cell[:] @ matrix.T
    return moved


def as_potential(model, scalar_network: bool = False):
    """The same network read as a potential: its per-atom 'energies' are the network outputs
    ``F_i`` (the second, scalar network of a polarizability model if ``scalar_network``)."""
    potential = copy.deepcopy(model)
    potential.model_type = "potential"
    if scalar_network:
        for symbol in model.types:
            net = potential.ann_parameters[symbol]
            net["w0"], net["b0"], net["w1"] = net["w0_polar"], net["b0_polar"], net["w1_polar"]
        potential.ann_parameters["b1"] = model.ann_parameters["b1_polar"]
    return potential


@pytest.mark.parametrize("case", list(CASES))
def test_model_types(case):
    model, _ = load(case)
    assert model.model_type == case.split("-")[-1]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("seed", [1, 2])
def test_rotation_covariance(case, seed):
    model, atoms = load(case)
    rotation = random_rotation(seed)
    before, after = tensor(model, atoms), tensor(model, transformed(atoms, rotation))
    expected = rotation @ before if model.model_type == "dipole" else rotation @ before @ rotation.T
    assert np.abs(after - expected).max() <= COVARIANCE_TOL
    assert np.abs(before).max() > 1e-2   # a non-trivial tensor, so the check means something


@pytest.mark.parametrize("case", list(CASES))
def test_inversion(case):
    model, atoms = load(case)
    before, after = tensor(model, atoms), tensor(model, transformed(atoms, -np.eye(3)))
    expected = -before if model.model_type == "dipole" else before
    assert np.abs(after - expected).max() <= COVARIANCE_TOL


@pytest.mark.parametrize("case", list(CASES))
def test_translation_and_permutation_invariance(case):
    model, atoms = load(case)
    before = tensor(model, atoms)
    moved = atoms.copy()
    moved.positions += [0.37, -1.21, 2.05]
    order = np.random.default_rng(3).permutation(len(atoms))
    assert np.abs(tensor(model, moved[order]) - before).max() <= COVARIANCE_TOL


@pytest.mark.parametrize("case", ["tnep-polarizability", "BaZrO3-polarizability"])
def test_polarizability_is_scalar_part_plus_strain_derivative(case):
    model, atoms = load(case)
    if len(atoms) > 20:
        atoms = atoms[:20]   # strain derivatives are 36 evaluations: keep them cheap
    polarizability = tensor(model, atoms)
    scalar = run(as_potential(model, scalar_network=True), atoms).energy[0]
    virial = numerical_virial(as_potential(model), atoms)   # -d(sum F^t)/d eps
    expected = scalar * np.eye(3) + virial
    assert np.abs(polarizability - expected).max() <= FD_REL_TOL * np.abs(polarizability).max()
    assert abs(scalar) > 1e-2 and np.abs(virial).max() > 1e-2   # both parts present


@pytest.mark.parametrize("case", ["tnep-dipole", "water-dipole"])
def test_dimer_dipole_from_network_derivatives(case):
    model, atoms = load(case)
    a, b = model.types[0], model.types[-1]
    u = np.array([0.48, -0.6, 0.64])             # unit bond direction
    distance, step = 1.3, 1e-4

    def dimer(r: float) -> Atoms:
        return Atoms([a, b], positions=[[0.0, 0.0, 0.0], r * u], cell=np.eye(3) * 40.0, pbc=True)

    potential = as_potential(model)
    slope = sum(w * run(potential, dimer(distance + k * step)).energies for k, w in STENCIL) / step
    expected = -distance**2 * (slope[0] - slope[1]) * u
    dipole = tensor(model, dimer(distance))
    assert np.abs(dipole - expected).max() <= FD_REL_TOL * np.abs(dipole).max()
    assert np.abs(dipole).max() > 1e-3
