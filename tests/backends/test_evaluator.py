"""The launch plan around the kernels: list capacities, periodic images, backends.

Independent sources: the numpy reference (float64, tolerance 1e-10 relative
as in test_agreement.py: both sides are float64 and differ by summation
order only), ASE's neighbor_list for neighbor counts, and translation
symmetry (a supercell's per-atom energies repeat the primitive cell's).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list

from gpunep import reference
from gpunep.backends import get_backend
from gpunep.executors import cuda
from gpunep.backends.kernel import KernelBackend
from gpunep.engine.neighbors import GUESS_MARGIN
from gpunep.executors.executor import Executor
from gpunep.errors import BackendUnavailableError, UnsupportedModelError
from gpunep.engine.evaluator import Evaluator
from gpunep.model import random_model, read_model
from gpunep.structures import Batch, pack

RTOL_FLOAT64 = 1e-10  # float64 on both sides, different summation order only
SHARED_MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"


def rel(value: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(value - expected).max() / np.abs(expected).max())


def rattled_bulk(symbols: tuple[str, ...], a: float, repeat: int, seed: int) -> Atoms:
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(repeat)
    rng = np.random.default_rng(seed)
    atoms.set_chemical_symbols([symbols[k % len(symbols)] for k in rng.permutation(len(atoms))])
    atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
    return atoms


def density_guess(structures: list[Atoms], rc: float) -> int:
    """The first capacity gpunep guesses for periodic structures (GUESS_MARGIN over the
    densest structure's mean count, plus 8), computed here from ASE's volumes."""
    density = max(len(atoms) / atoms.get_volume() for atoms in structures)
    return math.ceil(GUESS_MARGIN * density * 4.0 / 3.0 * math.pi * rc ** 3) + 8


def true_counts(structures: list[Atoms], cutoffs: tuple[float, float]) -> tuple[int, int]:
    """The largest radial and angular neighbor counts (ASE counts the same images)."""
    return tuple(max(np.bincount(neighbor_list("i", atoms, rc)).max() for atoms in structures)
                 for rc in cutoffs)


def neighbor_searches(backend: KernelBackend) -> int:
    """Neighbor searches run so far (GPUNEP_PROFILE counts every launch by name)."""
    return sum(calls for name, (calls, _) in backend.evaluator.profile.items()
               if name in ("nep_neighbor_small", "nep_neighbor_cell"))


def test_capacities_come_from_the_density_and_overflowing_lists_grow(monkeypatch):
    monkeypatch.setenv("GPUNEP_PROFILE", "1")
    # max-neighbor numbers far too small: the header's numbers are not what the lists get
    model = random_model(("Te", "Pb"), cutoff=(6.0, 4.5), max_neighbors=(1, 1), seed=11)
    structures = [rattled_bulk(model.types, 5.0, 2, seed=1), rattled_bulk(model.types, 4.6, 1, seed=2)]
    batch = pack(structures, model)
    backend = KernelBackend(model, "host", "float64")
    # no capacity before the first evaluation: it guesses them from the density and
    # checks the lists against the true counts before anything else runs
    assert (backend.evaluator.capacity_radial, backend.evaluator.capacity_angular) == (None, None)
    counts = true_counts(structures, (6.0, 4.5))
    guesses = (density_guess(structures, 6.0), density_guess(structures, 4.5))
    assert counts[0] <= guesses[0] and counts[1] <= guesses[1]
    result = backend.evaluate(batch)
    expected = reference.evaluate(model, batch)
    for name in ("energy", "energies", "forces", "virial", "virials"):
        assert rel(getattr(result, name), getattr(expected, name)) <= RTOL_FLOAT64, name
    assert backend.evaluator.transfers == 2  # the counts, then the results
    assert neighbor_searches(backend) == 1   # the guessed lists held: no second search

    maxima = backend.neighbor_maxima
    assert (maxima.radial, maxima.angular) == counts
    # then GPUMD's headroom over the counts, kept for the next call
    assert maxima.capacity_radial == math.ceil(1.25 * counts[0])
    assert maxima.capacity_angular == math.ceil(1.25 * counts[1])
    again = backend.evaluate(batch)
    assert np.array_equal(again.forces, result.forces)
    assert backend.evaluator.transfers == 1
    assert backend.neighbor_maxima.capacity_radial == maxima.capacity_radial

    # lists too small for a batch (as after a smaller batch): one overflowing pass,
    # then lists grown to the counts, and the exact result
    backend.evaluator.capacity_radial, backend.evaluator.capacity_angular = 2, 2
    grown = backend.evaluate(batch)
    assert backend.evaluator.transfers == 2
    assert np.array_equal(grown.forces, result.forces)
    assert backend.neighbor_maxima.capacity_radial == math.ceil(1.25 * counts[0])
    assert backend.neighbor_maxima.capacity_angular == math.ceil(1.25 * counts[1])


def test_a_guess_too_small_is_replaced_by_the_counts_before_anything_runs(monkeypatch):
    monkeypatch.setenv("GPUNEP_PROFILE", "1")
    # a dense cluster in a large periodic box: the mean density says few neighbors
    model = random_model(("Te", "Pb"), cutoff=(6.0, 4.5), seed=11)
    cluster = rattled_bulk(model.types, 4.6, 2, seed=4)
    cluster.set_cell([40.0, 40.0, 40.0])
    counts = true_counts([cluster], (6.0, 4.5))
    assert density_guess([cluster], 6.0) < counts[0]
    backend = KernelBackend(model, "host", "float64")
    result = backend.evaluate(pack(cluster, model))
    assert backend.evaluator.transfers == 2  # the counts, then the results
    assert neighbor_searches(backend) == 2   # the search again with room, nothing else twice
    maxima = backend.neighbor_maxima
    assert (maxima.radial, maxima.angular) == counts
    assert maxima.capacity_radial == math.ceil(1.25 * counts[0])
    assert maxima.capacity_angular == math.ceil(1.25 * counts[1])
    expected = reference.evaluate(model, pack(cluster, model))
    assert rel(result.forces, expected.forces) <= RTOL_FLOAT64


def test_structures_without_a_volume_are_counted_first():
    model = random_model(("Te", "Pb"), cutoff=(6.0, 4.5), seed=11)
    slab = rattled_bulk(model.types, 4.6, 2, seed=5)
    slab.pbc = (True, True, False)
    backend = KernelBackend(model, "host", "float64")
    backend.evaluate(pack(slab, model))
    counts = true_counts([slab], (6.0, 4.5))
    assert backend.evaluator.transfers == 2
    assert backend.neighbor_maxima.capacity_radial == math.ceil(1.25 * counts[0])


@pytest.mark.parametrize("precision, rtol", [
    ("float64", RTOL_FLOAT64),
    # float32: the supercell lists neighbors in another order, so the float32
    # sums round differently; 1e-5 relative is ~100 float32 ulps
    ("float32", 1e-5),
])
def test_supercell_per_atom_energies_repeat_the_primitive_cell(precision, rtol):
    model = random_model(("Si",), cutoff=(5.0, 4.0), l_max=(4, 2, 1), seed=12)
    # a one-atom skewed primitive cell: every neighbor is a periodic image of the atom itself
    primitive = bulk("Si", "fcc", a=4.2)
    primitive.positions += [0.1, -0.05, 0.2]
    supercell = primitive.repeat((9, 10, 12))
    backend = KernelBackend(model, "host", precision)
    one = backend.evaluate(pack(primitive, model))
    assert backend.neighbor_maxima.strategy == "small"
    many = backend.evaluate(pack(supercell, model))
    assert backend.neighbor_maxima.strategy == "cell"  # 1080 atoms: the cell list
    assert rel(many.energies, np.full(len(supercell), one.energies[0])) <= rtol
    assert np.abs(many.forces).max() <= rtol * np.abs(one.energies).max()
    assert rel(many.virials, np.broadcast_to(one.virials, many.virials.shape)) <= rtol


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_cell_list_and_small_structure_paths_agree(precision):
    """Both neighbor strategies on structures both can take: skewed, slab, molecule, bulk."""
    model = random_model(("Te", "Pb", "O"), cutoff=([6.0, 5.5, 4.0], [4.5, 4.0, 3.5]), seed=17)
    slab = rattled_bulk(model.types, 4.4, 3, seed=3)
    slab.pbc = (True, True, False)
    molecule = rattled_bulk(model.types, 4.4, 1, seed=4)
    molecule.pbc = False
    skewed = rattled_bulk(model.types, 4.4, 2, seed=5)
    skewed.set_cell(skewed.cell[:] + [[0, 0, 0], [3.0, 0, 0], [1.0, -2.0, 0]], scale_atoms=False)
    batch = pack([rattled_bulk(model.types, 4.4, 3, seed=6), slab, molecule, skewed], model)
    results = []
    for strategy in ("small", "cell"):
        evaluator = Evaluator(model, Executor("host", precision), neighbor_strategy=strategy)
        results.append(evaluator.evaluate(batch, descriptors=True))
        assert evaluator.neighbor_maxima.strategy == strategy
    small, cell = results
    # both strategies store the same entries in the same order (gpunep.engine.neighbors), and
    # every NEP kernel sums in a fixed order, so the results are bit-identical
    for name in ("energy", "energies", "forces", "virial", "virials", "descriptors"):
        assert np.array_equal(getattr(cell, name), getattr(small, name)), name


@pytest.mark.slow
def test_20000_atoms_match_reference():
    """A large supercell (cell-list path) in float64 against the reference."""
    path = SHARED_MODELS / "gpumd" / "nep_prediction"
    if not path.is_dir():
        pytest.skip("../shared/models not present (a user's clone): 20,000-atom PbTe skipped")
    from ase.io import read

    model = read_model(path / "nep.txt")
    atoms = read(path / "train.xyz", index="3").repeat((4, 4, 5))
    assert len(atoms) == 20000
    batch = pack(atoms, model)
    result = KernelBackend(model, "host", "float64").evaluate(batch)
    expected = reference.evaluate(model, batch)
    for name in ("energy", "energies", "forces", "virial", "virials"):
        assert rel(getattr(result, name), getattr(expected, name)) <= RTOL_FLOAT64, name


def test_batch_equals_separate_evaluations():
    model = random_model(("Te", "Pb"), seed=13)
    structures = [rattled_bulk(model.types, 5.0, 1, seed=s) for s in range(3)]
    backend = KernelBackend(model, "host", "float64")
    together = backend.evaluate(pack(structures, model))
    for s, atoms in enumerate(structures):
        alone = backend.evaluate(pack(atoms, model))
        part = slice(4 * s, 4 * s + 4)
        assert np.array_equal(alone.energies, together.energies[part])
        assert np.array_equal(alone.forces, together.forces[part])
        assert alone.energy[0] == pytest.approx(together.energy[s], rel=1e-14)


def test_unsupported_model_types_are_named():
    # charge, dipole and polarizability models run on the kernels (test_charge_agreement.py,
    # test_tnep_agreement.py); temperature models need a temperature structures do not carry
    model = random_model(("Te", "Pb"), model_type="temperature", seed=14)
    with pytest.raises(UnsupportedModelError, match="temperature"):
        KernelBackend(model, "host")


def test_charge_models_need_one_radial_cutoff():
    # GPUMD refuses typewise cutoffs with charge models: alpha = pi / rc_R
    # (docs/charges.md#charge-model-restrictions)
    model = random_model(("Te", "Pb"), model_type="potential_with_charges", charge_mode=2,
                         cutoff=([5.0, 6.0], [4.0, 4.0]), seed=14)
    with pytest.raises(UnsupportedModelError, match="single radial cutoff"):
        KernelBackend(model, "host")


def test_registry_defaults():
    model = random_model(("Te", "Pb"), seed=15)
    host = get_backend(model, "host")
    assert (host.name, host.precision) == ("host", "float32")  # GPUMD's precision by default
    expected_auto = "cuda" if cuda.is_available() else "host"
    assert get_backend(model, "auto", "float64").name == expected_auto
    if not cuda.is_available():
        with pytest.raises(BackendUnavailableError, match="CuPy|GPU|device"):
            get_backend(model, "cuda")
    with pytest.raises(ValueError, match="float16"):
        get_backend(model, "host", "float16")


def test_empty_batch():
    model = random_model(("Te", "Pb"), seed=16)
    result = KernelBackend(model, "host", "float64").evaluate(pack([], model), descriptors=True)
    assert result.energies.shape == (0,) and result.descriptors.shape == (0, model.n_descriptor)


def test_bad_batches_are_refused_before_any_launch():
    model = random_model(("Te", "Pb"), seed=18)
    good = pack(rattled_bulk(model.types, 5.0, 1, seed=7), model)
    backend = KernelBackend(model, "host", "float64")
    wrong_type = Batch(good.positions, np.where(np.arange(4) == 2, 5, good.types).astype(np.int32),
                       good.cells, good.pbc, good.offsets)
    with pytest.raises(ValueError, match="atom 2 has type index 5"):
        backend.evaluate(wrong_type)
    positions = good.positions.copy()
    positions[3, 1] = np.nan
    with pytest.raises(ValueError, match="atom 3 has a non-finite position"):
        backend.evaluate(Batch(positions, good.types, good.cells, good.pbc, good.offsets))


@pytest.mark.parametrize("model_type", ["potential", "potential_with_charges"])
def test_per_atom_outputs_only_when_asked(model_type):
    """Per-atom energies and virials stay on the device unless asked for; what is
    returned does not depend on what else was asked (bitwise)."""
    model = random_model(("Te", "Pb"), model_type=model_type,
                         charge_mode=2 if model_type != "potential" else None, seed=19)
    batch = pack([rattled_bulk(model.types, 4.6, 2, seed=8), rattled_bulk(model.types, 4.8, 2, seed=9)],
                 model)
    backend = KernelBackend(model, "host", "float64")
    full = backend.evaluate(batch)
    for per_atom, names in ((False, ()), (("energies",), ("energies",)), (("virials",), ("virials",)),
                            (True, ("energies", "virials"))):
        result = backend.evaluate(batch, per_atom=per_atom)
        for name in ("energies", "virials"):
            if name in names:
                assert np.array_equal(getattr(result, name), getattr(full, name)), (per_atom, name)
            else:
                assert getattr(result, name) is None, (per_atom, name)
        for name in ("energy", "virial", "forces"):
            assert np.array_equal(getattr(result, name), getattr(full, name)), (per_atom, name)
    with pytest.raises(ValueError, match="energies, virials"):
        backend.evaluate(batch, per_atom=("stresses",))


def test_reported_memory_per_atom_is_what_numpy_allocates():
    """KernelBackend.bytes_per_atom (what batch_size='auto' sizes batches by) against the
    memory numpy itself reports allocating during an evaluation (tracemalloc traces numpy's
    buffers): within 2x, the bar predict's sizing needs (observed: within 3 %)."""
    import tracemalloc

    model = random_model(("Cu", "Ni"), cutoff=(6.0, 5.0), n_max=(8, 6), basis_size=(12, 8), seed=1)
    atoms = rattled_bulk(model.types, 3.6, 5, seed=3)
    backend = KernelBackend(model, "host", "float32")
    estimate = backend.bytes_per_atom  # before any evaluation: from the model file's numbers
    batch = pack(atoms, model)
    tracemalloc.start()
    try:
        backend.evaluate(batch, per_atom=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    traced = peak / len(atoms)
    assert 0.5 <= traced / backend.bytes_per_atom <= 2.0, (traced, backend.bytes_per_atom)
    assert estimate > 0


def test_batches_are_sized_by_the_measured_memory(monkeypatch):
    from gpunep import batching

    model = random_model(("Te", "Pb"), seed=21)
    backend = KernelBackend(model, "host", "float32")
    monkeypatch.setattr(batching, "_memory_budget", lambda name: 10_000_000)
    planner = batching.BatchPlanner(model, backend, "auto")
    first = planner.max_atoms
    assert first == int(10_000_000 // (batching.MEASURED_HEADROOM * backend.bytes_per_atom))
    backend.evaluate(pack(rattled_bulk(model.types, 5.0, 2, seed=4), model), per_atom=False)
    planner.observe(backend)
    assert planner.max_atoms == int(10_000_000 // (batching.MEASURED_HEADROOM * backend.bytes_per_atom))
    assert planner.max_atoms != first  # measured, not estimated


def test_absurd_max_neighbor_numbers_allocate_nothing():
    """A header asking for 10^9 neighbors: the lists are sized by counting, so the
    evaluation is exact and the memory is what the structure needs."""
    model = random_model(("Te", "Pb"), max_neighbors=(10**9, 10**9), seed=23)
    batch = pack(rattled_bulk(model.types, 5.0, 2, seed=10), model)
    backend = KernelBackend(model, "host", "float64")
    # the estimate for batch sizing is capped too (at MAX_LIKELY_NEIGHBORS: ~164 kB here, not ~36 GB)
    assert backend.bytes_per_atom < 1e6
    result = backend.evaluate(batch)
    expected = reference.evaluate(model, batch)
    assert rel(result.forces, expected.forces) <= RTOL_FLOAT64
    assert backend.neighbor_maxima.capacity_radial < 200
    assert backend.bytes_per_atom < 5_000
