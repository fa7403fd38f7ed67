"""Charge models (qNEP) in the reference: GPUMD's and NEP_CPU's outputs, finite differences,
sum rules, the Ewald machinery on its own (docs/charges.md).

Ground truth:

* ``gpumd/qnep_train``: GPUMD's ``nep`` prediction outputs for a
  ``nep4_charge2`` Te/Pb model on 25 cells of 250 atoms (float32, printed
  with ``%g``), made before GPUMD added the mean-D term to the chain rule
  (docs/charges.md#chain-rule-through-the-charges, docs/validation.md#charge-model-outputs),
  so forces and virials are compared with
  ``mean_d_correction=False``. Tolerances are the issue's, above what an
  independent float64 implementation observed (4.7e-6 eV/atom, charges 2e-6,
  forces 1.5e-5, virial 1e-6 eV/atom; docs/validation.md#charge-model-outputs).
* ``nep_cpu_reference/qnep``: NEP_CPU (float64) for a ``nep4_charge1``
  model. Settled by evaluating the alternatives (test below): the version
  of NEP_CPU that wrote these files applies the mean-D correction and the
  truncated Ewald sum (``|k| < 2 pi alpha``), and splits the reciprocal
  energy/virial per atom as ``K_C q_i sum_k G Re(S e^{ik.r_i})``. What
  remains, ~2e-9, is NEP_CPU's 2 pi rounded to 6.2831853 in its k-vectors
  (a 5e-9 relative change of every k) and its printed digits; the
  tolerance 1e-8 is the issue's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

from conftest import shared_models
from gpunep.model import random_model, read_model
from gpunep.reference import compute_descriptors, evaluate
from gpunep.constants import K_C
from gpunep.reference.ewald import k_cutoff, kvectors, real_space, reciprocal
from gpunep.reference.neighbors import find_pairs
from gpunep.structures import pack
from reference_cases import (POSITION_STEP, STRAIN_STEP, numerical_forces, numerical_virial,
                             random_rotation, run)
from test_nep_cpu import read_xyz_in

FD_REL_TOL = 1e-6   # the bar; the stencil's own error is ~1e-8 (reference_cases.py)
# Sum rules (sum_i q_i = Q, sum_i Z_i = sqrt_eps Q I) hold exactly in exact arithmetic:
# the neutralisation shift is exact and every pair term of Z enters once with + (center) and
# once with - (neighbor). What is left is float64 round-off of summing ~10^4 pair terms of
# size up to |Z|max in different orders: observed <= 1e-13 |Z|max on qnep_train, 3e-14 for q.
SUM_RULE_TOL = 1e-12


# --------------------------------------------------------------------- GPUMD qnep_train


@pytest.fixture(scope="module")
def qnep_train():
    folder = shared_models() / "gpumd" / "qnep_train"
    model = read_model(folder / "nep.txt")
    frames = read(folder / "train.xyz", ":")
    batch = pack(frames, model)
    result = evaluate(model, batch, mean_d_correction=False)
    return folder, model, frames, batch, result


def test_qnep_train_model(qnep_train):
    _, model, _, _, _ = qnep_train
    # docs/validation.md#charge-model-outputs: charge_mode 2, alpha = pi / 8
    assert model.charge_mode == 2 and model.radial_cutoff == 8.0


def test_qnep_train_energies(qnep_train):
    folder, _, _, batch, result = qnep_train
    reference = np.loadtxt(folder / "energy_train.out")[:, 0]
    assert np.abs(result.energy / np.diff(batch.offsets) - reference).max() <= 1e-5


def test_qnep_train_raw_charges(qnep_train):
    # charge_train.out holds the network's charges before neutralisation
    # (docs/charges.md#neutralisation)
    folder, _, _, _, result = qnep_train
    reference = np.loadtxt(folder / "charge_train.out")
    assert np.abs(result.raw_charges - reference).max() <= 1e-5
    # and they are not neutral: the shift is far above the tolerance
    assert np.abs(result.charges - reference).max() > 1e-4


def test_qnep_train_forces_without_mean_d(qnep_train):
    folder, _, _, _, result = qnep_train
    reference = np.loadtxt(folder / "force_train.out")[:, :3]
    assert np.abs(result.forces - reference).max() <= 5e-5


def test_qnep_train_virials_without_mean_d(qnep_train):
    # virial_train.out: per atom (eV/atom), xx yy zz xy yz zx
    # (docs/file-formats.md#gpumd-output-files)
    folder, _, _, batch, result = qnep_train
    reference = np.loadtxt(folder / "virial_train.out")[:, :6]
    w = result.virial / np.diff(batch.offsets)[:, None, None]
    ours = np.stack([w[:, 0, 0], w[:, 1, 1], w[:, 2, 2], w[:, 0, 1], w[:, 1, 2], w[:, 2, 0]], axis=1)
    assert np.abs(ours - reference).max() <= 5e-5


def test_qnep_train_files_predate_the_mean_d_correction(qnep_train):
    # With the correction the first structure's forces move by ~1e-3
    # (docs/validation.md#charge-model-outputs): the switch matters, and these files were made
    # without it. Energies and charges do not move.
    folder, model, frames, _, result = qnep_train
    corrected = evaluate(model, pack(frames[0], model))
    n = len(frames[0])
    assert np.abs(corrected.forces - result.forces[:n]).max() > 1e-4
    assert abs(corrected.energy[0] - result.energy[0]) <= 1e-12 * abs(result.energy[0])
    assert np.array_equal(corrected.raw_charges, result.raw_charges[:n])


def test_qnep_train_sum_rules(qnep_train):
    _, model, _, batch, result = qnep_train
    for s in range(batch.n_structures):
        part = slice(int(batch.offsets[s]), int(batch.offsets[s + 1]))
        bec = result.bec[part]
        assert abs(result.charges[part].sum()) <= SUM_RULE_TOL * np.abs(result.charges[part]).max()
        assert np.abs(bec.sum(axis=0)).max() <= SUM_RULE_TOL * np.abs(bec).max()


def test_converged_ewald_differs_by_the_truncation(qnep_train):
    # kspace='converged' is the full Ewald sum GPUMD's MD default (PPPM) approximates; on a 250-atom
    # cell it differs from the trainer's truncated sum by a few 1e-4 eV
    # (docs/validation.md#charge-model-outputs; the gpumd_static_qnep PPPM run differed by 3e-4 eV;
    # measured here 1.6e-4 to 2.5e-4 eV on the first five cells, as gpunep.reference.ewald
    # documents). The bounds bracket that order of magnitude.
    _, model, frames, _, result = qnep_train
    converged = evaluate(model, pack(frames[0], model), kspace="converged", mean_d_correction=False)
    difference = abs(converged.energy[0] - result.energy[0])
    assert 1e-5 <= difference <= 1e-3


# ---------------------------------------------------------------------- NEP_CPU qnep


@pytest.fixture(scope="module")
def nep_cpu_qnep():
    folder = shared_models() / "nep_cpu_reference" / "qnep"
    model = read_model(folder / "nep.txt")
    atoms = read_xyz_in(folder / "xyz.in")
    return folder, model, atoms, evaluate(model, pack(atoms, model), descriptors=True)


def test_nep_cpu_qnep_is_charge_mode_1(nep_cpu_qnep):
    _, model, _, _ = nep_cpu_qnep
    assert model.model_type == "potential_with_charges" and model.charge_mode == 1


def test_nep_cpu_qnep_descriptors(nep_cpu_qnep):
    folder, _, _, result = nep_cpu_qnep
    assert np.abs(result.descriptors - np.loadtxt(folder / "descriptor_ref.out")).max() <= 1e-10


def test_nep_cpu_qnep_forces(nep_cpu_qnep):
    folder, _, _, result = nep_cpu_qnep
    assert np.abs(result.forces - np.loadtxt(folder / "force_analytical_ref.out")).max() <= 1e-8


def test_nep_cpu_qnep_per_atom_virials(nep_cpu_qnep):
    # virial_ref.out: 9 per atom, row-major [a, b] = r_a f_b (neighbor-side,
    # docs/forces.md#per-atom-virial)
    folder, _, _, result = nep_cpu_qnep
    reference = np.loadtxt(folder / "virial_ref.out").reshape(-1, 3, 3)
    assert np.abs(result.virials - reference).max() <= 1e-8


def test_nep_cpu_qnep_settles_mean_d_and_truncation(nep_cpu_qnep):
    # Either alternative is off by far more than the 1e-8 agreement above.
    folder, model, atoms, _ = nep_cpu_qnep
    reference = np.loadtxt(folder / "force_analytical_ref.out")
    batch = pack(atoms, model)
    without_mean_d = evaluate(model, batch, mean_d_correction=False)
    converged = evaluate(model, batch, kspace="converged")
    assert np.abs(without_mean_d.forces - reference).max() > 1e-6
    assert np.abs(converged.forces - reference).max() > 1e-7


def test_nep_cpu_qnep_sum_rules(nep_cpu_qnep):
    _, _, _, result = nep_cpu_qnep
    assert abs(result.charges.sum()) <= SUM_RULE_TOL * np.abs(result.charges).max()
    assert np.abs(result.bec.sum(axis=0)).max() <= SUM_RULE_TOL * np.abs(result.bec).max()


# -------------------------------------------------------------- finite differences


def charge_model(mode: int, seed: int, zbl=None, charge_scale: float = 4.0):
    """A small random charge model; the charge head scaled up so that the charges (~1 e)
    make the electrostatic forces a sizeable part of the total."""
    model = random_model(("Na", "Cl"), model_type="potential_with_charges", charge_mode=mode,
                         cutoff=(4.5, 3.5), n_max=(3, 3), basis_size=(5, 5), l_max=(4, 2, 1),
                         n_neuron=6, zbl=zbl, seed=seed)
    for symbol in model.types:
        model.ann_parameters[symbol]["w1_charge"] = charge_scale * model.ann_parameters[symbol]["w1_charge"]
    return model


def rock_salt(seed: int, total_charge: float | None = None) -> Atoms:
    """A rattled, sheared 8-atom rock-salt cell (thinner than the cutoff: self-images count)."""
    a = 5.0
    cell = np.array([[a, 0.0, 0.0], [0.4, a, 0.0], [-0.3, 0.5, a]])
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    scaled = np.vstack([base, base + 0.5]) % 1.0
    atoms = Atoms(["Na"] * 4 + ["Cl"] * 4, scaled_positions=scaled, cell=cell, pbc=True)
    atoms.rattle(0.15, seed=seed)
    if total_charge is not None:
        atoms.info["charge"] = total_charge
    return atoms


def assert_sums_are_smooth(model, atoms) -> None:
    """No k-vector near |k| = k_c and no pair near rc: the truncated sums then do not jump
    within the finite-difference stencil (strains up to 2 STRAIN_STEP change every |k| by at
    most that fraction; displacements up to 2 POSITION_STEP move a pair distance by twice that)."""
    alpha = math.pi / model.radial_cutoff
    k = kvectors(atoms.cell[:], alpha, "converged")
    kc = k_cutoff(alpha)
    assert np.abs(np.linalg.norm(k, axis=1) / kc - 1.0).min() > 2.5 * 2 * STRAIN_STEP
    rc = model.radial_cutoff
    pairs = find_pairs(atoms.positions, atoms.cell[:], atoms.pbc, np.zeros(len(atoms), np.int32),
                       np.full((1, 1), rc + 0.5))
    largest_move = max(4 * POSITION_STEP, 2 * STRAIN_STEP * (rc + 0.5))
    assert np.abs(pairs.distances - rc).min() > 2.5 * largest_move


def electrostatic_forces(model, atoms, charges) -> np.ndarray:
    """The forces of the Ewald terms alone at the given charges."""
    alpha = math.pi / model.radial_cutoff
    es = reciprocal(atoms.positions, charges, kvectors(atoms.cell[:], alpha), alpha,
                    atoms.get_volume())
    if model.charge_mode == 1:
        pairs = find_pairs(atoms.positions, atoms.cell[:], atoms.pbc,
                           np.zeros(len(atoms), np.int32), np.full((1, 1), model.radial_cutoff))
        es = es + real_space(pairs, charges, alpha)
    return es.forces


@pytest.mark.parametrize("mode, zbl, total_charge", [(1, None, None), (2, None, None),
                                                     (1, (0.8, 1.6), 1.0), (2, None, -0.5)])
def test_finite_differences(mode, zbl, total_charge):
    model = charge_model(mode, seed=40 + mode, zbl=zbl)
    atoms = rock_salt(seed=mode, total_charge=total_charge)
    assert_sums_are_smooth(model, atoms)
    result = run(model, atoms)
    expected_total = 0.0 if total_charge is None else total_charge
    assert abs(result.charges.sum() - expected_total) <= 1e-12 * np.abs(result.charges).max()
    # the electrostatics must matter here, else this test would not check them
    coulomb = electrostatic_forces(model, atoms, result.charges)
    assert np.abs(coulomb).max() > 0.05 * np.abs(result.forces).max()
    numeric = numerical_forces(model, atoms)
    assert np.abs(numeric - result.forces).max() <= FD_REL_TOL * np.abs(result.forces).max()
    virial = result.virial[0]
    assert np.abs(numerical_virial(model, atoms) - virial).max() <= FD_REL_TOL * np.abs(virial).max()


def test_without_mean_d_the_forces_are_not_the_gradient():
    # The D - mean(D) term is the derivative through the neutralisation
    # (docs/charges.md#chain-rule-through-the-charges).
    model = charge_model(2, seed=42)
    atoms = rock_salt(seed=2)
    exact = run(model, atoms).forces
    uncorrected = evaluate(model, pack(atoms, model), mean_d_correction=False).forces
    numeric = numerical_forces(model, atoms, indices=[0, 5])
    assert np.abs(numeric - exact[[0, 5]]).max() <= FD_REL_TOL * np.abs(exact).max()
    assert np.abs(numeric - uncorrected[[0, 5]]).max() > 1e3 * FD_REL_TOL * np.abs(exact).max()


# ---------------------------------------------------------------------- symmetries


def test_rotation_rotates_forces_virial_and_bec():
    model = charge_model(1, seed=7)
    atoms = rock_salt(seed=3)
    rotation = random_rotation(11)
    turned = atoms.copy()
    turned.positions = atoms.positions @ rotation.T
    turned.cell = atoms.cell[:] @ rotation.T
    a, b = run(model, atoms), run(model, turned)
    # float64 round-off over ~100 k-vectors and pairs of O(1) terms
    assert abs(a.energy[0] - b.energy[0]) <= 1e-12 * abs(a.energy[0])
    assert np.abs(a.charges - b.charges).max() <= 1e-12
    assert np.abs(a.forces @ rotation.T - b.forces).max() <= 1e-11
    assert np.abs(rotation @ a.virial[0] @ rotation.T - b.virial[0]).max() <= 1e-11
    assert np.abs(rotation @ a.bec @ rotation.T - b.bec).max() <= 1e-11


def test_batched_structures_get_their_own_k_vectors():
    model = charge_model(2, seed=8)
    first, second = rock_salt(seed=4), rock_salt(seed=5, total_charge=2.0)
    second.set_cell(second.cell[:] * 1.1, scale_atoms=True)
    together = evaluate(model, pack([first, second], model))
    for s, atoms in enumerate((first, second)):
        alone = run(model, atoms)
        part = slice(8 * s, 8 * (s + 1))
        assert together.energy[s] == alone.energy[0]
        assert np.array_equal(together.forces[part], alone.forces)
        assert np.array_equal(together.charges[part], alone.charges)
        assert np.array_equal(together.bec[part], alone.bec)


# ----------------------------------------------------------------------- input checks


def test_charge_models_need_full_periodicity():
    model = random_model(("Na", "Cl"), model_type="potential_with_charges", charge_mode=2, seed=9)
    slab = rock_salt(seed=6)
    slab.pbc = [True, True, False]
    with pytest.raises(ValueError, match="periodic in all three directions"):
        evaluate(model, pack(slab, model))
    molecule = Atoms(["Na", "Cl"], positions=[[0, 0, 0], [2.4, 0, 0]])
    with pytest.raises(ValueError, match=r"pbc=\[False, False, False\]"):
        evaluate(model, pack(molecule, model))


def test_bad_total_charge_is_refused():
    model = random_model(("Na", "Cl"), model_type="potential_with_charges", charge_mode=2, seed=9)
    atoms = rock_salt(seed=6, total_charge="plenty")
    with pytest.raises(ValueError, match="info\\['charge'\\]"):
        pack(atoms, model)
    atoms.info["charge"] = float("nan")
    with pytest.raises(ValueError, match="not finite"):
        pack(atoms, model)


def test_descriptor_of_a_charge_model_is_the_potentials():
    model = random_model(("Na", "Cl"), model_type="potential_with_charges", charge_mode=1, seed=9)
    atoms = rock_salt(seed=6)
    batch = pack(atoms, model)
    assert np.array_equal(evaluate(model, batch, descriptors=True).descriptors,
                          compute_descriptors(model, batch))


# ------------------------------------------------------------- the Ewald machinery


def test_k_vectors_are_one_of_each_pair_inside_the_sphere():
    # Brute force over a generous index range: every k with |k| < k_c appears exactly
    # once as +k or -k, nothing else appears (a triclinic cell tests the n_max bounds).
    cell = np.array([[6.0, 0.0, 0.0], [2.5, 5.0, 0.0], [-1.5, 2.0, 7.0]])
    alpha = math.pi / 5.0
    k = kvectors(cell, alpha)
    kc = k_cutoff(alpha)
    b = 2.0 * math.pi * np.linalg.inv(cell).T
    n = np.stack(np.meshgrid(*[np.arange(-15, 16)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    everything = n @ b
    inside = everything[(np.linalg.norm(everything, axis=1) < kc) & np.any(n != 0, axis=1)]
    assert len(k) * 2 == len(inside)
    ours = {tuple(np.round(v, 9)) for v in k}
    assert len(ours) == len(k)
    for v in inside:
        assert (tuple(np.round(v, 9)) in ours) != (tuple(np.round(-v, 9)) in ours)


@pytest.mark.parametrize("alpha", [1.4, 2.0])
def test_madelung_constant_of_rock_salt(alpha):
    # Converged reciprocal sum + real space + self term of +-1 charges on rock salt give
    # E = -M K_C N_pairs / r0 with M = 1.747564594633 (Madelung constant), independent of
    # alpha. Real space to 5.0 Å with alpha >= 1.4: erfc(7) ~ 4e-23; relative error ~1e-12.
    a = 2.0
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    positions = np.vstack([base, base + [0.5, 0, 0]]) * a
    charges = np.array([1.0] * 4 + [-1.0] * 4)
    cell = np.eye(3) * a
    pairs = find_pairs(positions, cell, np.ones(3, bool), np.zeros(8, np.int32), np.full((1, 1), 5.0))
    k = kvectors(cell, alpha, "converged")
    total = (reciprocal(positions, charges, k, alpha, a**3)
             + real_space(pairs, charges, alpha)).energies.sum()
    expected = -1.747564594633 * K_C * 4 / (a / 2)
    assert abs(total - expected) <= 1e-10 * abs(expected)


def test_charge_model_with_per_type_cutoffs_is_refused_clearly():
    # GPUMD's qNEP takes one radial cutoff (alpha = pi / rc_R,
    # docs/charges.md#charge-model-restrictions)
    from ase.build import bulk

    from gpunep.errors import UnsupportedModelError
    from gpunep.model import random_model
    from gpunep.reference import evaluate
    from gpunep.structures import pack

    model = random_model(("Te", "Pb"), model_type="potential_with_charges", charge_mode=2,
                         cutoff=([6.0, 5.0], [4.0, 3.5]), n_neuron=4)
    with pytest.raises(UnsupportedModelError, match="single radial cutoff"):
        evaluate(model, pack(bulk("PbTe", "rocksalt", a=6.5), model))
