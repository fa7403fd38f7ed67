"""ZBL (docs/forces.md#zbl-repulsion) against the universal ZBL formula written out for a dimer.

For an isolated pair the ZBL part of the energy, ``E(model) - E(model
without ZBL)``, must be ``phi(r) S(r)`` once per pair:
``phi = K_C Z_i Z_j / r sum_k A_k exp(-B_k r / a)``,
``1/a = 2.134563 (Z_i^0.23 + Z_j^0.23)`` /Å (GPUMD's screening length, the
rounded 1/0.46848; the textbook 0.8854 a_0 differs by 1e-4),
``K_C = 14.399645`` eV Å, and the
cosine switch ``S`` from ``r_in`` to ``r_out``. Float64 on both sides: 1e-12
relative.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

from conftest import shared_models
from gpunep.model import covalent_radius, random_model, read_model
from reference_cases import numerical_forces, numerical_virial, run

TOL = 1e-12
UNIVERSAL = [(0.18175, 3.1998), (0.50986, 0.94229), (0.28022, 0.4029), (0.02817, 0.20162)]


def textbook_zbl(z1, z2, r, a_k_b_k=UNIVERSAL):
    a_inv = 2.134563 * (z1**0.23 + z2**0.23)
    return 14.399645 * z1 * z2 / r * sum(A * np.exp(-B * r * a_inv) for A, B in a_k_b_k)


def switch(r, r_in, r_out):
    if r < r_in:
        return 1.0
    if r >= r_out:
        return 0.0
    return 0.5 * (1 + np.cos(np.pi * (r - r_in) / (r_out - r_in)))


def zbl_part(model, r, symbols=("Si", "C")):
    dimer = Atoms(list(symbols), positions=[[0, 0, 0], [r * 0.6, r * 0.8, 0]])
    bare = copy.deepcopy(model)
    bare.zbl = None
    with_zbl, without = run(model, dimer), run(bare, dimer)
    return with_zbl.energy[0] - without.energy[0], with_zbl.energies - without.energies


@pytest.mark.parametrize("r", [0.6, 0.95, 1.3, 1.7, 2.1])
def test_universal_dimer(r):
    model = random_model(("Si", "C"), seed=1, zbl=(1.0, 2.0))
    total, per_atom = zbl_part(model, r)
    expected = textbook_zbl(14, 6, r) * switch(r, 1.0, 2.0)
    assert abs(total - expected) <= TOL * max(1.0, abs(expected))
    assert np.allclose(per_atom, expected / 2, rtol=TOL, atol=TOL)   # half on each atom


@pytest.mark.parametrize("r", [0.5, 0.9, 1.2])
def test_typewise_dimer(r):
    model = random_model(("Si", "C"), seed=2, zbl=(1.0, 2.0), zbl_typewise_cutoff_factor=0.6)
    r_out = min(0.6 * (covalent_radius(14) + covalent_radius(6)), 2.0)
    total, _ = zbl_part(model, r)
    expected = textbook_zbl(14, 6, r) * switch(r, 0.0, r_out)
    assert abs(total - expected) <= TOL * max(1.0, abs(expected))


@pytest.mark.parametrize("r", [0.7, 1.25, 1.9])
def test_flexible_dimer(r):
    model = random_model(("Si", "C"), seed=3, zbl=(0.0, 0.0))
    p = model.zbl_parameters[("Si", "C")]
    total, _ = zbl_part(model, r)
    expected = textbook_zbl(14, 6, r, list(zip(p[2::2], p[3::2]))) * switch(r, p[0], p[1])
    assert abs(total - expected) <= TOL * max(1.0, abs(expected))


def test_zbl_runs_over_the_angular_neighbors_only():
    # r_out = 2.5 beyond the angular cutoff 2.0: GPUMD cuts ZBL at the angular cutoff
    model = random_model(("Si", "C"), seed=4, cutoff=(5.0, 2.0), zbl=(1.0, 2.5))
    assert zbl_part(model, 2.2)[0] == 0.0
    inside, _ = zbl_part(model, 1.9)
    assert abs(inside - textbook_zbl(14, 6, 1.9) * switch(1.9, 1.0, 2.5)) <= TOL * abs(inside)


def test_batio3_zbl_model_forces_and_virial_by_finite_differences():
    # GPUMD's tests_pytest BaTiO3 model (zbl 0.75 1.5) on its rattled structure, compressed
    # so Ti-O pairs enter the ZBL switch; the files carry no GPUMD outputs to compare with.
    root = shared_models() / "gpumd" / "tests_pytest"
    model = read_model(root / "models" / "nep_BaTiO3.txt")
    atoms = read(root / "structures" / "BaTiO3-nat40-rattled.xyz")
    atoms.set_cell(atoms.cell[:] * 0.73, scale_atoms=True)
    assert atoms.get_all_distances(mic=True)[np.triu_indices(40, 1)].min() < 1.5
    result = run(model, atoms)
    indices = [0, 1, 2]   # one Ba, one Ti, one O; three atoms keep the test fast
    forces = result.forces[indices]
    # 1e-6 relative: the finite-difference bar of test_finite_differences.py
    assert np.abs(numerical_forces(model, atoms, indices) - forces).max() <= 1e-6 * np.abs(forces).max()
    virial = result.virial[0]
    assert np.abs(numerical_virial(model, atoms) - virial).max() <= 1e-6 * np.abs(virial).max()
