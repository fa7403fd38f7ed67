"""The ``host`` and ``cuda`` backends: the CUDA kernels through :class:`~gpunep.engine.evaluator.Evaluator`.

Both run the same kernels and the same launch plan; only the executor
differs (the host C++ compiler with OpenMP, or CuPy on an NVIDIA GPU).
The default precision is float32, GPUMD's arithmetic; float64 matches the
numpy reference to round-off.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from gpunep.backends.base import Backend
from gpunep.engine.model_arrays import check_supported
from gpunep.engine.device_batch import ResidentBatch
from gpunep.engine.evaluator import Evaluator, NeighborMaxima
from gpunep.engine.kspace import KSPACE
from gpunep.executors.executor import Executor
from gpunep.structures import Batch, BatchResult

if TYPE_CHECKING:
    from gpunep.model import Model

DEFAULT_PRECISION = "float32"
PRECISIONS = ("float32", "float64")
MAX_MEMBERS_KEPT = 64
"""Committee members whose parameters a backend keeps on its device between calls."""


class KernelBackend(Backend):
    """One model evaluated by the NEP kernels on one executor.

    Parameters
    ----------
    model : a potential (NEP3, NEP4 or NEP5, with or without ZBL), charge,
        dipole or polarizability model
    executor : 'host' (CPU, OpenMP) or 'cuda' (CuPy, NVIDIA GPU)
    precision : 'float32' (default, like GPUMD) or 'float64'
    device : cuda: the GPU ordinal (default: CuPy's current device, fixed when the
        backend is made); every array of this backend lives there and every
        launch runs there. host: must be None
    kspace, mean_d_correction : charge models' Ewald sum ('truncated' or
        'converged') and chain rule, as in :func:`gpunep.reference.evaluate`;
        other models ignore them

    Raises
    ------
    UnsupportedModelError
        Temperature models (before anything compiles).
    BackendUnavailableError
        No C++ compiler (host); for cuda, what keeps the GPU from building and
        running kernels (no CuPy, a driver too old, no such device, no NVRTC),
        and how to install it.
    ValueError
        An unknown precision or kspace, or a device for the host executor.

    Notes
    -----
    Thread safety: one backend may be shared by threads. Its evaluator keeps
    device buffers and neighbor-list capacities between calls (reused while
    the batch size stays the same), so :meth:`evaluate` holds a lock and
    evaluations of one backend run one at a time; each gets exactly the
    numbers a serial call gives. For parallel evaluations give each thread
    its own backend (buffers are per backend), or pack the structures into
    one batch, which the kernels spread over all cores or the whole GPU.
    """

    def __init__(self, model: "Model", executor: str, precision: str | None = None, *,
                 device: int | None = None, kspace: str = "truncated",
                 mean_d_correction: bool = True):
        precision = DEFAULT_PRECISION if precision is None else precision
        if precision not in PRECISIONS:
            raise ValueError(
                f"the {executor} backend computes in {' or '.join(PRECISIONS)}, "
                f"not precision={precision!r}"
            )
        if kspace not in KSPACE:
            raise ValueError(f"kspace must be one of {', '.join(KSPACE)}, not {kspace!r}")
        check_supported(model)
        if executor == "cuda":
            from gpunep.executors import cuda

            _, device = cuda.require(device)
        self.executor = Executor(executor, precision, device)
        self.name = executor
        self.precision = precision
        self.model = model
        self.kspace = kspace
        self.mean_d_correction = bool(mean_d_correction)
        with self.executor.on_device():
            self.evaluator = Evaluator(model, self.executor, kspace=kspace,
                                       mean_d_correction=mean_d_correction)
        self._lock = threading.Lock()
        self._last_atoms = 0
        self._members: dict[int, tuple["Model", Any]] = {}

    @property
    def device(self) -> int | None:
        """The GPU ordinal the cuda backend runs on (None for host)."""
        return self.executor.device

    @property
    def transfers(self) -> int:
        """Device-to-host copies of the last evaluation: 1 (its results), plus 1 for the
        neighbor counts of a backend's first evaluation, plus 1 per overflow rerun.
        :func:`gpunep.evaluate` on GPU arrays that stay on the device makes one more
        before the evaluation, of the per-system data (:mod:`gpunep.device_resident`)."""
        return self.evaluator.transfers

    @property
    def synchronizations(self) -> int:
        """Other waits for the device during the last evaluation: 0 unless
        ``GPUNEP_PROFILE=1`` times each launch."""
        return self.evaluator.synchronizations

    @property
    def neighbor_maxima(self) -> NeighborMaxima | None:
        """Largest radial/angular neighbor counts of the last evaluation and the list capacities.

        GPUMD users read the same numbers from neighbor.out. Capacities grow
        automatically when a structure needs more (the evaluation is then
        repeated, never truncated).
        """
        return self.evaluator.neighbor_maxima

    @property
    def bytes_per_atom(self) -> float:
        """Device memory per atom, for sizing batches: what the last evaluation held
        (lists, work buffers and outputs as allocated), or before the first an
        estimate from the model file's max-neighbor numbers."""
        atoms = self._last_atoms
        if not atoms:
            return float(self.evaluator.estimated_bytes_per_atom())
        return self.evaluator.batch_bytes() / atoms

    def evaluate(self, batch: Batch, descriptors: bool = False,
                 per_atom: bool | Iterable[str] = True) -> BatchResult:
        # One evaluation at a time: the evaluator's buffers are shared between calls.
        with self._lock, self.executor.on_device():
            result = self.evaluator.evaluate(batch, descriptors=descriptors, per_atom=per_atom)
            self._last_atoms = batch.n_atoms
            return result

    def evaluate_resident(self, batch: ResidentBatch,
                          per_atom: bool | Iterable[str] = False) -> dict[str, Any] | None:
        """A potential on atoms already on this backend's device, results kept there
        (:meth:`gpunep.engine.evaluator.Evaluator.evaluate_resident`)."""
        with self._lock, self.executor.on_device():
            fields = self.evaluator.evaluate_resident(batch, per_atom=per_atom)
            self._last_atoms = batch.n_atoms
            return fields

    def cannot_share(self, model: "Model") -> str | None:
        """Why :meth:`evaluate_members` cannot evaluate ``model`` with this backend's kernels
        and neighbor lists, or None: it needs a potential with this model's species,
        architecture and cutoffs (members of a committee trained alike)."""
        return self.evaluator.cannot_share(model)

    def evaluate_members(self, batch: Batch, members: Sequence["Model"],
                         per_atom: bool | Iterable[str] = False) -> list[BatchResult]:
        """Evaluate ``batch`` with each of ``members`` in one pass: one upload, one set of
        neighbor lists, then each member's potential (its parameters stay on the device
        between calls). Each result is bitwise what a backend of that member gives.

        Raises
        ------
        ValueError
            A member :meth:`cannot_share` this backend's kernels, named by its index.
        """
        with self._lock, self.executor.on_device():
            params = [self._member_params(index, model) for index, model in enumerate(members)]
            results = self.evaluator.evaluate_members(batch, params, per_atom=per_atom)
            self._last_atoms = batch.n_atoms
            return results

    def _member_params(self, index: int, model: "Model") -> Any:
        # keyed by identity, holding the model so that its id cannot be reused
        cached = self._members.get(id(model))
        if cached is None:
            try:
                params = self.evaluator.member_params(model)
            except ValueError as exc:
                raise ValueError(f"committee member {index} cannot share this backend's kernels "
                                 f"and neighbor lists: {exc}") from None
            if len(self._members) >= MAX_MEMBERS_KEPT:
                self._members.clear()
            cached = self._members[id(model)] = (model, params)
        return cached[1]

