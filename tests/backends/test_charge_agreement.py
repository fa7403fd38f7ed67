"""Charge models (qNEP, docs/charges.md) on the kernels (host executor, both builds).

Independent sources:

* the numpy reference (gpunep.reference, itself checked against GPUMD,
  NEP_CPU and finite differences in tests/reference/test_charges.py):
  the float64 build must equal it to 1e-10 relative (both float64, the
  same formulas in different summation orders; observed <= 5.3e-14) for every
  output (energies, forces, virials, descriptors, charges, BEC), both charge
  modes, truncated and converged k-space, mean-D on and off;
* GPUMD's own float32 predictions (gpumd/qnep_train, printed with %g, made
  before the mean-D correction, docs/validation.md#charge-model-outputs) for the float32 build;
* NEP_CPU's float64 values (nep_cpu_reference/qnep, charge_mode 1, with the
  mean-D correction and the truncated sum) for the float64 build;
* finite differences of the kernels' own energy, the sum rules of charges
  and BEC, one-structure-at-a-time evaluations of a batch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

from backends.test_agreement import relative_error
from conftest import shared_models
from gpunep import reference
from gpunep.backends import get_backend
from gpunep.backends.kernel import KernelBackend
from gpunep.model import random_model, read_model
from gpunep.reference.ewald import kvectors
from gpunep.reference.neighbors import find_pairs
from gpunep.structures import pack

RTOL_FLOAT64 = 1e-10  # see the module docstring
# float32 build vs the float64 reference: GPUMD's float32 arithmetic resolves ~1e-5 relative
# (test_agreement.py's RTOL_FLOAT32 and its reasons). Observed here: <= 1.6e-5 (forces of
# BaTiO3 mode 2, where Coulomb and network forces partly cancel), BEC <= 1.3e-5, the rest
# <= 1.2e-5; float64 <= 5.3e-14.
RTOL_FLOAT32 = 5e-5
QUANTITIES = ("energy", "energies", "forces", "virial", "virials", "descriptors", "charges",
              "raw_charges", "bec")
# Sum rules: sum_i q_i = Q and sum_i Z_i = sqrt_eps Q I hold exactly in exact arithmetic (the
# shift is exact; every BEC pair term enters atom i and atom j with opposite signs). The
# kernels compute a pair's term bit-identically, sign-flipped, on both sides (the pair vectors
# are exact negatives), so what is left is float64 round-off of the per-atom double sums, in
# both builds: observed <= 1.1e-13 relative to |Z|max on qnep_train, float32 and float64.
SUM_RULE_TOL = 1e-12
# GPUMD's qnep_train files (float32, %g): the bounds, above what an independent float64
# implementation observed (docs/validation.md#charge-model-outputs: 4.7e-6 eV/atom, charges 2e-6,
# forces 1.5e-5, virial 1e-6 eV/atom). Observed here: 4.7e-6, 1.8e-6, 1.8e-5, 1.5e-6.
ENERGY_TOL = 1e-5    # eV/atom
CHARGE_TOL = 1e-5    # e
FORCE_TOL = 5e-5     # eV/Å
VIRIAL_TOL = 5e-5    # eV/atom
NEP_CPU_TOL = 1e-8   # the bar; NEP_CPU rounds 2 pi to 6.2831853 (~2e-9 here)
DESCRIPTOR_TOL = 1e-10
FD_REL_TOL = 1e-6    # the bar for finite differences
OPTIONS = [("truncated", True), ("truncated", False), ("converged", True), ("converged", False)]


# ------------------------------------------------------------------------- helpers


def compare(model, structures, precision: str = "float64", kspace: str = "truncated",
            mean_d_correction: bool = True) -> dict[str, float]:
    """Relative errors of the host kernels against the reference for one batch."""
    batch = pack(structures, model)
    expected = reference.evaluate(model, batch, descriptors=True, kspace=kspace,
                                  mean_d_correction=mean_d_correction)
    backend = KernelBackend(model, "host", precision, kspace=kspace,
                            mean_d_correction=mean_d_correction)
    result = backend.evaluate(batch, descriptors=True)
    errors = {name: relative_error(getattr(result, name), getattr(expected, name))
              for name in QUANTITIES}
    if precision == "float32":
        # A structure's energy and virial are sums of per-atom terms that largely cancel
        # (BaTiO3: total virial 0.5 eV from per-atom terms summing to 64 eV in magnitude);
        # float32 resolves the terms, not the cancelled sum, so measure against sum_i |term_i|.
        for name, parts in (("energy", "energies"), ("virial", "virials")):
            scale = np.zeros_like(getattr(expected, name))
            np.add.at(scale, batch.system_index, np.abs(getattr(expected, parts)))
            errors[name] = float(np.abs(getattr(result, name) - getattr(expected, name)).max()
                                 / scale.max())
    return errors


def assert_below(errors: dict[str, float], rtol: float) -> None:
    bad = {name: err for name, err in errors.items() if not err <= rtol}
    assert not bad, f"relative errors above {rtol}: {bad} (all: {errors})"


def charge_model(mode: int, seed: int, **kwargs):
    """A small random Na/Cl charge model whose charges (~1 e) make the electrostatics a
    sizeable part of the forces (the charge head scaled up)."""
    kwargs = {"cutoff": (4.5, 3.5), "n_max": (3, 3), "basis_size": (5, 5), "l_max": (4, 2, 1),
              "n_neuron": 6, **kwargs}
    model = random_model(kwargs.pop("types", ("Na", "Cl")), model_type="potential_with_charges",
                         charge_mode=mode, seed=seed, **kwargs)
    key = ["all_species"] if model.version == 3 else model.types
    for k in key:
        model.ann_parameters[k]["w1_charge"] = 4.0 * model.ann_parameters[k]["w1_charge"]
    return model


def rock_salt(seed: int, total_charge: float | None = None, shear: float = 1.0,
              repeat: int = 1) -> Atoms:
    """A rattled, sheared rock-salt cell (8 atoms; thinner than the cutoff: self-images count)."""
    a = 5.0
    cell = np.array([[a, 0.0, 0.0], [0.4 * shear, a, 0.0], [-0.3 * shear, 0.5 * shear, a]])
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    scaled = np.vstack([base, base + 0.5]) % 1.0
    atoms = Atoms(["Na"] * 4 + ["Cl"] * 4, scaled_positions=scaled, cell=cell, pbc=True)
    atoms = atoms.repeat(repeat)
    atoms.rattle(0.15, seed=seed)
    if total_charge is not None:
        atoms.info["charge"] = total_charge
    return atoms


def tiny_cell() -> Atoms:
    """Two atoms in a cell so small that no k-vector is below the cutoff (2 pi alpha, rc 4.5)."""
    return Atoms(["Na", "Cl"], positions=[[0.1, 0.1, 0.1], [0.7, 0.6, 0.8]], pbc=True,
                 cell=[[1.35, 0.0, 0.0], [0.2, 1.3, 0.0], [0.1, -0.2, 1.3]])


def generated_structures() -> list[Atoms]:
    """Cells of several shapes and sizes and net charges, in one batch."""
    frames = [rock_salt(1), rock_salt(2, total_charge=1.0, shear=-1.5),
              rock_salt(3, total_charge=-0.5, repeat=(2, 1, 1)), tiny_cell()]
    # an unwrapped atom: the phases k.r are evaluated for raw positions
    frames[0].positions[3] += frames[0].cell[1] * 2.0 - frames[0].cell[2]
    return frames


GENERATED = {
    "mode1": lambda: charge_model(1, seed=41),
    "mode2": lambda: charge_model(2, seed=42),
    "mode1_zbl_universal": lambda: charge_model(1, seed=43, zbl=(0.8, 1.6)),
    "mode2_zbl_typewise": lambda: charge_model(2, seed=44, zbl=(1.0, 2.0),
                                               zbl_typewise_cutoff_factor=0.7),
    "mode1_zbl_flexible": lambda: charge_model(1, seed=45, zbl=(0.0, 0.0)),
    "nep3_mode1": lambda: charge_model(1, seed=46, version=3),
    "mode2_l_max_8": lambda: charge_model(2, seed=47, l_max=(8, 2, 1, 1, 1, 1, 1)),
}


# ---------------------------------------------------- generated models vs reference


def test_tiny_cell_has_no_k_vectors():
    # so the generated batch exercises a structure with an empty reciprocal sum
    model = charge_model(1, seed=41)
    assert kvectors(tiny_cell().cell[:], math.pi / model.radial_cutoff).shape[0] == 0


@pytest.mark.parametrize("kspace, mean_d_correction", OPTIONS)
@pytest.mark.parametrize("name", list(GENERATED))
def test_generated_float64_matches_reference(name, kspace, mean_d_correction):
    errors = compare(GENERATED[name](), generated_structures(), kspace=kspace,
                     mean_d_correction=mean_d_correction)
    assert_below(errors, RTOL_FLOAT64)


@pytest.mark.parametrize("name", list(GENERATED))
def test_generated_float32_matches_reference(name):
    assert_below(compare(GENERATED[name](), generated_structures(), "float32"), RTOL_FLOAT32)


def test_only_tiny_cells():
    # every structure without k-vectors: the reciprocal launches are skipped altogether
    model = charge_model(1, seed=41)
    assert_below(compare(model, [tiny_cell(), tiny_cell()]), RTOL_FLOAT64)


# -------------------------------------------------------- shared models vs reference

SHARED = {
    # model, structure(s) under ../shared/models, structures used
    "qnep_train": ("gpumd/qnep_train/nep.txt", "gpumd/qnep_train/train.xyz", slice(0, 3)),
    "nep_cpu_qnep": ("nep_cpu_reference/qnep/nep.txt", "nep_cpu_reference/qnep/xyz.in", None),
    "BaTiO3_mode1": ("gpumd/tests_pytest/models/qnep_mode1_BaTiO3.txt",
                     "gpumd/tests_pytest/structures/BaTiO3-nat40-rattled.xyz", None),
    "BaTiO3_mode2": ("gpumd/tests_pytest/models/qnep_mode2_BaTiO3.txt",
                     "gpumd/tests_pytest/structures/BaTiO3-nat40-rattled.xyz", None),
    "water_mode1": ("gpumd/tests_pytest/models/qnep_mode1_water.txt",
                    "gpumd/tests_pytest/structures/water-nat63-from-md.xyz", None),
    "water_mode2": ("gpumd/tests_pytest/models/qnep_mode2_water.txt",
                    "gpumd/tests_pytest/structures/water-nat63-from-md.xyz", None),
}


def read_xyz_in(path) -> Atoms:
    """GPUMD's old xyz.in: atom count, a line with the 9 cell numbers, then ``symbol x y z``."""
    lines = path.read_text().splitlines()
    n = int(lines[0].split()[0])
    cell = np.array(lines[1].split()[:9], dtype=float).reshape(3, 3)
    rows = [line.split() for line in lines[2:2 + n]]
    return Atoms([r[0] for r in rows], positions=np.array([r[1:4] for r in rows], dtype=float),
                 cell=cell, pbc=True)


def load_shared(name: str):
    model_path, structure_path, part = SHARED[name]
    root = shared_models()
    model = read_model(root / model_path)
    path = root / structure_path
    frames = [read_xyz_in(path)] if path.suffix == ".in" else read(path, ":")
    return model, frames if part is None else frames[part]


@pytest.mark.parametrize("name", list(SHARED))
def test_shared_float64_matches_reference(name):
    model, frames = load_shared(name)
    assert_below(compare(model, frames), RTOL_FLOAT64)


@pytest.mark.parametrize("kspace, mean_d_correction", OPTIONS[1:])
@pytest.mark.parametrize("name", ["qnep_train", "BaTiO3_mode1"])
def test_shared_options_float64_match_reference(name, kspace, mean_d_correction):
    model, frames = load_shared(name)
    assert_below(compare(model, frames[:1], kspace=kspace, mean_d_correction=mean_d_correction),
                 RTOL_FLOAT64)


@pytest.mark.parametrize("name", list(SHARED))
def test_shared_float32_matches_reference(name):
    model, frames = load_shared(name)
    assert_below(compare(model, frames, "float32"), RTOL_FLOAT32)


def test_options_reach_the_kernels_through_get_backend():
    # converged vs truncated and mean-D on vs off change the results (by more than the
    # tolerance), and get_backend passes both options on
    model, frames = load_shared("qnep_train")
    batch = pack(frames[:1], model)
    results = {}
    for kspace, mean_d in OPTIONS:
        backend = get_backend(model, "host", "float64", kspace=kspace, mean_d_correction=mean_d)
        results[kspace, mean_d] = result = backend.evaluate(batch)
        expected = reference.evaluate(model, batch, kspace=kspace, mean_d_correction=mean_d)
        assert relative_error(result.forces, expected.forces) <= RTOL_FLOAT64
    assert abs(results["converged", True].energy[0] - results["truncated", True].energy[0]) > 1e-5
    assert np.abs(results["truncated", False].forces - results["truncated", True].forces).max() > 1e-4


# ------------------------------------------------------------ GPUMD and NEP_CPU files


@pytest.fixture(scope="module")
def qnep_train_float32():
    """All 25 cells of qnep_train with the float32 kernels, mean-D off (the files predate it)."""
    folder = shared_models() / "gpumd" / "qnep_train"
    model = read_model(folder / "nep.txt")
    batch = pack(read(folder / "train.xyz", ":"), model)
    result = KernelBackend(model, "host", "float32", mean_d_correction=False).evaluate(batch)
    return folder, batch, result


def test_qnep_train_energies(qnep_train_float32):
    folder, batch, result = qnep_train_float32
    expected = np.loadtxt(folder / "energy_train.out")[:, 0]
    assert np.abs(result.energy / np.diff(batch.offsets) - expected).max() <= ENERGY_TOL


def test_qnep_train_raw_charges(qnep_train_float32):
    # charge_train.out holds the raw network charges (docs/charges.md#neutralisation)
    folder, _, result = qnep_train_float32
    assert np.abs(result.raw_charges - np.loadtxt(folder / "charge_train.out")).max() <= CHARGE_TOL


def test_qnep_train_forces_without_mean_d(qnep_train_float32):
    folder, _, result = qnep_train_float32
    expected = np.loadtxt(folder / "force_train.out")[:, :3]
    assert np.abs(result.forces - expected).max() <= FORCE_TOL


def test_qnep_train_virials_without_mean_d(qnep_train_float32):
    # virial_train.out: per atom (eV/atom), xx yy zz xy yz zx
    # (docs/file-formats.md#gpumd-output-files)
    folder, batch, result = qnep_train_float32
    w = result.virial / np.diff(batch.offsets)[:, None, None]
    ours = np.stack([w[:, 0, 0], w[:, 1, 1], w[:, 2, 2], w[:, 0, 1], w[:, 1, 2], w[:, 2, 0]], axis=1)
    assert np.abs(ours - np.loadtxt(folder / "virial_train.out")[:, :6]).max() <= VIRIAL_TOL


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_sum_rules(qnep_train_float32, precision):
    folder, batch, result = qnep_train_float32
    if precision == "float64":
        model = read_model(folder / "nep.txt")
        result = KernelBackend(model, "host", "float64").evaluate(batch)
    for s in range(batch.n_structures):
        part = slice(int(batch.offsets[s]), int(batch.offsets[s + 1]))
        q, bec = result.charges[part], result.bec[part]
        assert abs(q.sum()) <= SUM_RULE_TOL * np.abs(q).max()
        assert np.abs(bec.sum(axis=0)).max() <= SUM_RULE_TOL * np.abs(bec).max()


def test_sum_rules_with_net_charge():
    # sum_i q_i = Q and sum_i Z_i = sqrt_eps Q I (docs/charges.md#born-effective-charges)
    model = charge_model(2, seed=42)
    frames = generated_structures()
    result = KernelBackend(model, "host", "float64").evaluate(pack(frames, model))
    batch = pack(frames, model)
    for s in range(batch.n_structures):
        part = slice(int(batch.offsets[s]), int(batch.offsets[s + 1]))
        total = float(batch.charges_total[s])
        q, bec = result.charges[part], result.bec[part]
        assert abs(q.sum() - total) <= SUM_RULE_TOL * np.abs(q).max()
        expected = model.sqrt_epsilon_infinity * total * np.eye(3)
        assert np.abs(bec.sum(axis=0) - expected).max() <= SUM_RULE_TOL * np.abs(bec).max()


@pytest.fixture(scope="module")
def nep_cpu_qnep():
    model, frames = load_shared("nep_cpu_qnep")
    folder = shared_models() / "nep_cpu_reference" / "qnep"
    result = KernelBackend(model, "host", "float64").evaluate(pack(frames, model), descriptors=True)
    return folder, result


def test_nep_cpu_qnep_forces(nep_cpu_qnep):
    folder, result = nep_cpu_qnep
    expected = np.loadtxt(folder / "force_analytical_ref.out")
    assert np.abs(result.forces - expected).max() <= NEP_CPU_TOL


def test_nep_cpu_qnep_per_atom_virials(nep_cpu_qnep):
    # virial_ref.out: 9 per atom, row-major [a, b] = r_a f_b, neighbor side
    # (docs/forces.md#per-atom-virial)
    folder, result = nep_cpu_qnep
    expected = np.loadtxt(folder / "virial_ref.out").reshape(-1, 3, 3)
    assert np.abs(result.virials - expected).max() <= NEP_CPU_TOL


def test_nep_cpu_qnep_descriptors(nep_cpu_qnep):
    folder, result = nep_cpu_qnep
    expected = np.loadtxt(folder / "descriptor_ref.out")
    assert np.abs(result.descriptors - expected).max() <= DESCRIPTOR_TOL


# ------------------------------------------------------------- finite differences

# Fourth-order central differences (error O(h^4)); with these steps the truncation error
# is ~1e-8 relative and the round-off ~1e-16 |E| / h, both far below 1e-6
# (tests/reference/reference_cases.py measures the same stencil).
STENCIL = ((-2, 1.0 / 12.0), (-1, -8.0 / 12.0), (1, 8.0 / 12.0), (2, -1.0 / 12.0))
POSITION_STEP = 2.5e-4
STRAIN_STEP = 1e-4


@pytest.mark.parametrize("mode, zbl, total_charge", [(1, None, None), (2, None, None),
                                                     (1, (0.8, 1.6), 1.0), (2, None, -0.5)])
def test_finite_differences(mode, zbl, total_charge):
    """Forces and virial of the float64 kernels = -dE/dr and -dE/d eps of their own energy.

    Every displaced and strained copy goes into one batch, so this also runs many cells,
    each with its own k-vectors, at once. No k-vector lies within the strain stencil of
    the cutoff and no pair within the displacement stencil of rc (checked), so the
    truncated sums do not jump.
    """
    model = charge_model(mode, seed=40 + mode, zbl=zbl)
    atoms = rock_salt(seed=mode, total_charge=total_charge)
    alpha = math.pi / model.radial_cutoff
    k = np.linalg.norm(kvectors(atoms.cell[:], alpha, "converged"), axis=1)
    assert np.abs(k / (2 * math.pi * alpha) - 1.0).min() > 5 * STRAIN_STEP
    rc = model.radial_cutoff
    pairs = find_pairs(atoms.positions, atoms.cell[:], atoms.pbc, np.zeros(len(atoms), np.int32),
                       np.full((1, 1), rc + 0.5))
    largest_move = max(4 * POSITION_STEP, 2 * STRAIN_STEP * (rc + 0.5))
    assert np.abs(pairs.distances - rc).min() > 2.5 * largest_move

    copies, weights = [], []
    for i in range(len(atoms)):
        for a in range(3):
            for step, weight in STENCIL:
                moved = atoms.copy()
                moved.positions[i, a] += step * POSITION_STEP
                copies.append(moved)
                weights.append((("force", i, a), weight / POSITION_STEP))
    for a in range(3):
        for b in range(3):
            for step, weight in STENCIL:
                strain = np.eye(3)
                strain[b, a] += step * STRAIN_STEP
                moved = atoms.copy()
                moved.positions = atoms.positions @ strain.T
                moved.cell = atoms.cell[:] @ strain.T
                copies.append(moved)
                weights.append((("virial", a, b), weight / STRAIN_STEP))
    backend = KernelBackend(model, "host", "float64")
    energies = backend.evaluate(pack(copies, model)).energy
    numeric = {"force": np.zeros((len(atoms), 3)), "virial": np.zeros((3, 3))}
    for ((kind, x, y), w), e in zip(weights, energies):
        numeric[kind][x, y] -= w * e    # F = -dE/dr, W_ab = -dE/d eps_ba
    result = backend.evaluate(pack(atoms, model))
    assert np.abs(numeric["force"] - result.forces).max() <= FD_REL_TOL * np.abs(result.forces).max()
    virial = result.virial[0]
    assert np.abs(numeric["virial"] - virial).max() <= FD_REL_TOL * np.abs(virial).max()


# ----------------------------------------------------------------- batching, errors


def test_batch_equals_one_at_a_time():
    model = charge_model(1, seed=43, zbl=(0.8, 1.6))
    frames = generated_structures()
    backend = KernelBackend(model, "host", "float64")
    together = backend.evaluate(pack(frames, model))
    offsets = np.cumsum([0] + [len(a) for a in frames])
    for s, atoms in enumerate(frames):
        alone = backend.evaluate(pack(atoms, model))
        part = slice(offsets[s], offsets[s + 1])
        for name in ("energies", "forces", "virials", "charges", "raw_charges", "bec"):
            assert np.array_equal(getattr(alone, name), getattr(together, name)[part]), name
        assert alone.energy[0] == pytest.approx(together.energy[s], rel=1e-14)


def test_list_overflow_rerun_keeps_charge_results():
    # a too-small neighbor capacity is grown and the whole evaluation (Ewald included) rerun
    model = charge_model(1, seed=41)
    frames = generated_structures()
    batch = pack(frames, model)
    expected = KernelBackend(model, "host", "float64").evaluate(batch)
    backend = KernelBackend(model, "host", "float64")
    backend.evaluator.capacity_radial = backend.evaluator.capacity_angular = 2
    result = backend.evaluate(batch)
    assert backend.neighbor_maxima.capacity_radial > 2
    for name in ("energy", "forces", "virials", "charges", "bec"):
        assert np.array_equal(getattr(result, name), getattr(expected, name)), name


def test_non_periodic_structure_is_refused():
    model = charge_model(2, seed=42)
    slab = rock_salt(4)
    slab.pbc = (True, True, False)
    with pytest.raises(ValueError, match=r"structure 1: charge models need a cell periodic"):
        KernelBackend(model, "host", "float64").evaluate(pack([rock_salt(5), slab], model))


def test_empty_batch():
    model = charge_model(2, seed=42)
    result = KernelBackend(model, "host", "float64").evaluate(pack([], model))
    assert result.charges.shape == (0,) and result.bec.shape == (0, 3, 3)


def test_unknown_kspace_is_refused():
    with pytest.raises(ValueError, match="kspace"):
        KernelBackend(charge_model(2, seed=42), "host", "float64", kspace="pppm")
