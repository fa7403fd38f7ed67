"""The cuda executor's Python side, run in CI on the strict CuPy stand-in (gpunep.testing).

Under :func:`gpunep.testing.cuda_standin`, ``backend='cuda'`` runs the real
executor, evaluator, plans and neighbor lists; its kernels are the host
builds of the same source with the cuda executor's compile-time constants.
So the numbers must be BITWISE equal to the host executor's: no tolerance.

Which agreement cases: every generated case of tests/backends/test_agreement.py
(they run on a user's clone) and the real C_2024, UNEP (ZBL, 16 species) and
NEP89 models in float64; four of them in float32. Each case compiles one
more host build (the cuda build's ``NEP_SUM_CHUNK`` differs from the host's),
~3-5 s each; 14 builds keep this file near a minute on CI's two cores.

The transfer and synchronisation counts are asserted for every model type,
each justified where it is asserted; the stand-in counts them independently
of the engine's own bookkeeping (``backend.transfers``), and both must agree.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpunep.backends.kernel import KernelBackend
from gpunep.engine.builds import model_build
from gpunep.executors.executor import Executor
from gpunep.model import Model, random_model
from gpunep.structures import pack
from gpunep.testing import cuda_standin

from .test_agreement import CASES, QUANTITIES, Case, structure_zoo

FLOAT64_CASES = [c for c in CASES if c.id.startswith("random_") or c.id in ("C_2024", "UNEP_zbl", "NEP89")]
FLOAT32_CASES = [c for c in CASES if c.id in ("C_2024", "NEP89", "random_zbl_flexible",
                                              "random_all_invariants_l8")]
OUTPUTS = QUANTITIES + ("charges", "raw_charges", "bec", "dipole", "polarizability")


def assert_matches_host(model: Model, structures, precision: str) -> None:
    """cuda (on the stand-in) against host, both evaluating ``structures`` as one batch."""
    batch = pack(structures, model)
    expected = KernelBackend(model, "host", precision).evaluate(batch, descriptors=True)
    with cuda_standin():
        backend = KernelBackend(model, "cuda", precision)
        result = backend.evaluate(batch, descriptors=True)
    assert result.backend == "cuda" and result.precision == precision
    # Bitwise: the kernels are the host builds of the same source. The cuda build's
    # NEP_SUM_CHUNK (angular sums in passes of a few radial orders, registers on a GPU)
    # differs from the host's (all orders in one pass), but every sum still adds its
    # neighbors in list order, so not one bit changes (seen on every case here).
    assert model_build(model, Executor("cuda", precision)).define_map["NEP_SUM_CHUNK"] >= 1
    for name in OUTPUTS:
        value, reference = getattr(result, name), getattr(expected, name)
        assert (value is None and reference is None) or np.array_equal(value, reference), name


@pytest.mark.parametrize("case", FLOAT64_CASES)
def test_cuda_float64_on_the_standin_matches_host(case: Case):
    model = case.make()
    assert_matches_host(model, structure_zoo(case.symbols or model.types), "float64")


@pytest.mark.parametrize("case", FLOAT32_CASES)
def test_cuda_float32_on_the_standin_matches_host(case: Case):
    model = case.make()
    assert_matches_host(model, structure_zoo(case.symbols or model.types), "float32")


@pytest.mark.parametrize("model_type", ["charge mode 1", "charge mode 2", "dipole", "polarizability"])
def test_other_model_types_on_the_standin_match_host(model_type: str):
    model = _model(model_type)
    structures = [s for s in structure_zoo(model.types) if s.pbc.all()] if "charge" in model_type \
        else structure_zoo(model.types)  # charge models need 3D-periodic cells
    assert_matches_host(model, structures, "float64")


def _model(kind: str) -> Model:
    if kind.startswith("charge"):
        return random_model(("Te", "Pb"), model_type="potential_with_charges",
                            charge_mode=int(kind[-1]), zbl=(1.0, 2.0), seed=11)
    return random_model(("H", "O"), model_type=kind, seed=12)


# ------------------------------------------------------------------ transfers and waits
def _evaluate_logged(gpu, backend: KernelBackend, batch, **options) -> list[str]:
    gpu.log.reset()
    backend.evaluate(batch, **options)
    # the engine's bookkeeping and the stand-in's count agree
    assert backend.transfers == gpu.transfers
    assert backend.synchronizations == gpu.synchronizations
    return gpu.log.kinds()


def _launches_then_one_transfer(kinds: list[str]) -> bool:
    """Uploads and launches, then the one transfer at the very end (nothing waits before it)."""
    return kinds.count("transfer") == 1 and kinds[-1] == "transfer" and "synchronize" not in kinds


@pytest.mark.parametrize("kind", ["potential", "charge mode 1", "charge mode 2", "dipole", "polarizability"])
def test_an_evaluation_is_one_transfer_and_no_wait(kind: str):
    model = random_model(("Te", "Pb"), zbl=(1.0, 2.0), seed=5) if kind == "potential" else _model(kind)
    structures = [s for s in structure_zoo(model.types) if s.pbc.all()]
    batch = pack(structures, model)
    with cuda_standin() as gpu:
        backend = KernelBackend(model, "cuda", "float64")
        first = _evaluate_logged(gpu, backend, batch)
        # the first evaluation sizes the lists: the neighbor counts (3 numbers) come back
        # first, then the results; nothing else waits for the device
        assert gpu.transfers == 2 and gpu.synchronizations == 0
        assert first[-1] == "transfer" and "synchronize" not in first
        # every later evaluation: all launches queued, one download of every output at the
        # end (charge models too: their per-structure means and shifts stay on the device)
        assert _launches_then_one_transfer(_evaluate_logged(gpu, backend, batch))
        assert _launches_then_one_transfer(_evaluate_logged(gpu, backend, batch, descriptors=True))
        if kind == "potential" or kind.startswith("charge"):
            assert _launches_then_one_transfer(_evaluate_logged(gpu, backend, batch, per_atom=False))


def test_an_overflow_rerun_is_one_more_transfer():
    model = random_model(("Si",), seed=3)
    bulk = structure_zoo(("Si",))[2]
    sparse = pack(bulk, model)
    compressed = bulk.copy()
    compressed.set_cell(bulk.cell * 0.8, scale_atoms=True)
    dense = pack(compressed, model)
    with cuda_standin() as gpu:
        backend = KernelBackend(model, "cuda", "float64")
        backend.evaluate(sparse)
        kinds = _evaluate_logged(gpu, backend, dense)
        # the dense cell overflows the capacities the sparse one set: its results come back
        # with the true counts (transfer 1), the lists grow, and the rerun's results (transfer 2)
        assert gpu.transfers == 2 and gpu.synchronizations == 0 and kinds[-1] == "transfer"
        assert backend.neighbor_maxima.radial <= backend.neighbor_maxima.capacity_radial


def test_profiling_waits_are_counted_alike(monkeypatch):
    monkeypatch.setenv("GPUNEP_PROFILE", "1")
    model = random_model(("Te", "Pb"), seed=4)
    batch = pack(structure_zoo(model.types), model)
    with cuda_standin() as gpu:
        backend = KernelBackend(model, "cuda", "float64")
        backend.evaluate(batch)
        kinds = _evaluate_logged(gpu, backend, batch)
        # GPUNEP_PROFILE=1 waits before and after every launch to time it (and after each
        # timed phase): the engine's count of those waits is the stand-in's
        assert gpu.synchronizations >= 2 * kinds.count("launch") > 0
