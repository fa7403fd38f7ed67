"""The reference against NEP_CPU's double-precision outputs.

``../shared/models/nep_cpu_reference/{nep,qnep}``: a NEP3 Te/Pb model (and a
charge model, whose descriptor is the same), a 250-atom structure in
GPUMD's old ``xyz.in`` layout, and NEP_CPU's per-atom outputs. Layouts,
settled by reading the files: ``descriptor_ref.out`` holds the scaled
descriptor ``q_scaler * q`` (N x dim, docs/descriptors.md#descriptor-vector);
``force_analytical_ref.out`` N x 3 forces; ``virial_ref.out`` N x 9 per-atom
virials, row-major ``[a, b] = r_a f_b`` with GPUMD's neighbor-side split
(docs/forces.md#per-atom-virial). Both codes are float64, so agreement is to round-off:
1e-9 leaves room for summation order over ~100 neighbors and 9 digits of
printed values (they carry 15).
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from conftest import shared_models
from gpunep.model import read_model
from gpunep.reference import compute_descriptors, evaluate
from gpunep.structures import pack

TOL = 1e-9


def read_xyz_in(path) -> Atoms:
    """GPUMD's old xyz.in: atom count, a line with the 9 cell numbers, then ``symbol x y z``."""
    lines = path.read_text().splitlines()
    n = int(lines[0].split()[0])
    cell = np.array(lines[1].split()[:9], dtype=float).reshape(3, 3)
    rows = [line.split() for line in lines[2:2 + n]]
    return Atoms([r[0] for r in rows], positions=np.array([r[1:4] for r in rows], dtype=float),
                 cell=cell, pbc=True)


@pytest.fixture(scope="module")
def nep3():
    folder = shared_models() / "nep_cpu_reference" / "nep"
    model = read_model(folder / "nep.txt")
    atoms = read_xyz_in(folder / "xyz.in")
    return folder, model, evaluate(model, pack(atoms, model), descriptors=True)


def test_model_is_nep3(nep3):
    _, model, _ = nep3
    assert model.version == 3 and "all_species" in model.ann_parameters


def test_descriptors(nep3):
    folder, _, result = nep3
    reference = np.loadtxt(folder / "descriptor_ref.out")
    assert np.abs(result.descriptors - reference).max() <= TOL


def test_forces(nep3):
    folder, _, result = nep3
    reference = np.loadtxt(folder / "force_analytical_ref.out")
    assert np.abs(result.forces - reference).max() <= TOL


def test_per_atom_virials(nep3):
    folder, _, result = nep3
    reference = np.loadtxt(folder / "virial_ref.out").reshape(-1, 3, 3)
    assert np.abs(result.virials - reference).max() <= TOL


def test_charge_model_descriptors():
    # qnep: a nep4_charge1 model; its descriptor is the potential's
    # (docs/charges.md#charges-from-the-network)
    folder = shared_models() / "nep_cpu_reference" / "qnep"
    model = read_model(folder / "nep.txt")
    atoms = read_xyz_in(folder / "xyz.in")
    reference = np.loadtxt(folder / "descriptor_ref.out")
    assert np.abs(compute_descriptors(model, pack(atoms, model)) - reference).max() <= TOL
