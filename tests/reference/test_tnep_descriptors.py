"""Descriptors of dipole and polarizability models against NEP_CPU's find_descriptor.

``../shared/models/tnep/{dipole,polarizability}``: a 13-atom molecule in a
100 Å box and ``descriptor_golden.txt``, the per-atom descriptors already
multiplied by q_scaler, given to 1e-10 (../shared/models/README.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.io import read

from conftest import shared_models
from gpunep.model import read_model
from gpunep.reference import compute_descriptors, evaluate
from gpunep.structures import pack

TOL = 1e-10  # the golden file's stated accuracy


@pytest.mark.parametrize("kind", ["dipole", "polarizability"])
def test_descriptors_match_nep_cpu(kind):
    folder = shared_models() / "tnep" / kind
    model = read_model(folder / "nep.txt")
    atoms = read(folder / "structure.xyz")
    reference = np.loadtxt(folder / "descriptor_golden.txt")
    ours = compute_descriptors(model, pack(atoms, model))
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() <= TOL


@pytest.mark.parametrize("kind", ["dipole", "polarizability"])
def test_tensor_models_have_no_energy(kind):
    # their network output is not an energy (docs/tensors.md): evaluate leaves the energy fields
    # empty
    folder = shared_models() / "tnep" / kind
    model = read_model(folder / "nep.txt")
    atoms = read(folder / "structure.xyz")
    result = evaluate(model, pack(atoms, model))
    assert result.energy is None and result.forces is None and result.virials is None
    assert getattr(result, kind).shape == ((1, 3) if kind == "dipole" else (1, 3, 3))
