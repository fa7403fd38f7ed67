"""A stream of structures through one backend, in batches: the engine room of :func:`gpunep.predict`.

Many structures are packed into one :class:`~gpunep.structures.Batch` (all
atoms concatenated, per-structure cells and pbc), evaluated in one call and
split back. The batch size follows a memory budget and shrinks on
out-of-memory instead of failing. The single-process loop
(:mod:`gpunep.prediction`), the Dask workers (:mod:`gpunep.distributed`) and
committees (:mod:`gpunep.committee_spread`) all evaluate through these functions,
and :func:`assemble` joins the pieces into one
:class:`~gpunep.prediction_result.PredictionResult`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from gpunep.backends import get_backend
from gpunep.charge_options import charge_options
from gpunep.io.extxyz import iter_labelled, reference_of
from gpunep.errors import StructureError, UnsupportedModelError
from gpunep.geometry import cell_volume
from gpunep.model import Model
from gpunep.prediction_result import PredictionResult, ReferenceArrays
from gpunep.structures import Batch, BatchResult, pack

if TYPE_CHECKING:
    from ase import Atoms

    from gpunep.backends.base import Backend
    from gpunep.backends.kernel import KernelBackend

#: fraction of the free memory a batch may use (GPU: free device memory; host: available RAM)
GPU_MEMORY_FRACTION = 0.5
HOST_MEMORY_FRACTION = 0.25
#: never pack more atoms than this into one batch, whatever the budget says
MAX_ATOMS_PER_BATCH = 1_000_000
#: factor over the measured memory per atom when sizing batches: denser structures
#: need longer neighbor lists than the batch that was measured
MEASURED_HEADROOM = 2.0
#: the per-atom outputs a PredictionResult keeps (per-atom virials stay on the device)
PER_ATOM_KEPT = ("energies",)


def make_backend(model: Model, name: str, precision: str | None, kspace: str,
                 mean_d_correction: bool, device: int | None = None) -> "Backend":
    """The backend ``name`` for ``model`` (on GPU ``device``), with the charge-model options for
    charge models only (as NEPCalculator); a model the kernels cannot evaluate is pointed to the
    reference backend."""
    options = charge_options(model.model_type, kspace, mean_d_correction)
    if device is not None:
        options["device"] = device
    try:
        return get_backend(model, name, precision, **options)
    except UnsupportedModelError as exc:
        if name == "reference":
            raise
        # No silent fallback: the reference backend is float64 numpy, orders of magnitude
        # slower than the kernels, and the user should choose that knowingly.
        raise UnsupportedModelError(
            f"{exc}; the 'reference' backend (numpy, float64) is not bound by the kernels' "
            "limits: pass backend='reference' (gpunep predict/compare: --backend reference)") from exc


@dataclass
class Chunk:
    """One evaluated batch: the packed structures, the backend's result, their reference values."""

    batch: Batch
    result: BatchResult
    references: list


def predict_batch(engine: "Backend", model: Model, labels: list[str], atoms_list: list["Atoms"],
                  descriptors: bool, planner: "BatchPlanner") -> Chunk:
    """Pack, evaluate (split on out-of-memory) and read the reference values of one batch."""
    batch = pack_labelled(atoms_list, labels, model)
    try:
        result = evaluate_batch(engine, batch, descriptors, planner)
    except _STRUCTURE_FAULTS as exc:
        raise _culprit(engine, batch, labels, descriptors, exc)
    planner.observe(engine)
    return Chunk(batch, result, [reference_of(a, w) for w, a in zip(labels, atoms_list)])


class BatchPlanner:
    """Groups a stream of structures into batches under a memory budget.

    With ``batch_size='auto'`` batches are sized by the memory per atom a kernel
    backend reports (:attr:`gpunep.backends.kernel.KernelBackend.bytes_per_atom`):
    its estimate for the first batch, then after each evaluation what it really
    held, with :data:`MEASURED_HEADROOM` for denser structures. Other backends
    get a generous fixed estimate.
    """

    def __init__(self, model: Model, engine: "Backend", batch_size: int | str):
        self.budget: int | None = None
        if batch_size == "auto":
            self.max_structures = None
            self.budget = _memory_budget(engine)
            per_atom = getattr(engine, "bytes_per_atom", None) or _bytes_per_atom(model, engine.name)
            self.max_atoms = int(min(MAX_ATOMS_PER_BATCH,
                                     max(1, self.budget // (MEASURED_HEADROOM * per_atom))))
        elif isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool) and batch_size > 0:
            self.max_structures = int(batch_size)
            self.max_atoms = MAX_ATOMS_PER_BATCH
        else:
            raise ValueError(f"batch_size must be 'auto' or a positive integer, not {batch_size!r}")

    def observe(self, engine: "Backend") -> None:
        """Size later batches by the memory per atom ``engine`` measured (automatic sizes only)."""
        measured = getattr(engine, "bytes_per_atom", None)
        if self.budget is None or not measured:
            return
        fitting = int(self.budget // (MEASURED_HEADROOM * measured))
        self.max_atoms = int(min(MAX_ATOMS_PER_BATCH, max(1, fitting)))

    def shrink(self, n_atoms_failed: int) -> None:
        """Halve the batch after one of ``n_atoms_failed`` atoms ran out of memory."""
        self.max_atoms = max(1, min(self.max_atoms, n_atoms_failed // 2))
        if self.max_structures is not None:
            self.max_structures = max(1, self.max_structures // 2)

    def batches(self, source: Iterator[tuple[str, "Atoms"]]) -> Iterator[tuple[list[str], list["Atoms"]]]:
        """Consecutive (labels, structures) of ``source`` under the current limits."""
        labels: list[str] = []
        atoms_list: list["Atoms"] = []
        n_atoms = 0
        for label, atoms in source:
            full = (n_atoms + len(atoms) > self.max_atoms
                    or (self.max_structures is not None and len(atoms_list) >= self.max_structures))
            if atoms_list and full:
                yield labels, atoms_list
                labels, atoms_list, n_atoms = [], [], 0
            labels.append(label)
            atoms_list.append(atoms)
            n_atoms += len(atoms)
        if atoms_list:
            yield labels, atoms_list


def labelled_source(structures) -> tuple[Iterator[tuple[str, "Atoms"]], int | None]:
    """``(label, Atoms)`` of every structure of a file, an Atoms, a list or an iterable
    (labels name the file, frame and line, or the index), and their number where known."""
    from ase import Atoms

    if isinstance(structures, (str, os.PathLike)):
        return iter_labelled(Path(structures)), None
    if isinstance(structures, Atoms):
        structures = [structures]
    total = len(structures) if hasattr(structures, "__len__") else None

    def labelled() -> Iterator[tuple[str, "Atoms"]]:
        for i, atoms in enumerate(structures):
            if not isinstance(atoms, Atoms):
                raise TypeError(f"structure {i} is a {type(atoms).__name__}, not ase.Atoms")
            yield f"structure {i}", atoms

    return labelled(), total


def pack_labelled(atoms_list: list["Atoms"], labels: list[str], model: Model) -> Batch:
    """:func:`~gpunep.structures.pack`, with errors naming the structure by its label."""
    try:
        return pack(atoms_list, model)
    except ValueError:
        # Name the culprit by the caller's label (file, frame, line) instead of its batch index.
        for label, atoms in zip(labels, atoms_list):
            try:
                pack(atoms, model)
            except ValueError as exc:
                raise StructureError(label, str(exc).removeprefix("structure: ")) from None
        raise


#: what evaluating a structure raises when the structure (not the machine) is at fault
_STRUCTURE_FAULTS = (ValueError, ArithmeticError, NotImplementedError)


def _culprit(engine: "Backend", batch: Batch, labels: list[str], descriptors: bool,
             error: Exception) -> StructureError:
    """The error of the first structure of ``batch`` that fails alone, named by its label.

    Evaluated alone, a structure's error also numbers atoms within the
    structure rather than within the batch.
    """
    for s, label in enumerate(labels):
        try:
            engine.evaluate(batch.structure(s), descriptors=descriptors,
                            per_atom=PER_ATOM_KEPT).check_finite()
        except _STRUCTURE_FAULTS as exc:
            return _named(label, exc)
    return _named(f"{labels[0]} .. {labels[-1]}" if len(labels) > 1 else labels[0], error)


def _named(where: str, exc: Exception) -> StructureError:
    named = StructureError(where, f"{exc}" if isinstance(exc, ValueError) else
                           f"{type(exc).__name__}: {exc}")
    named.__cause__ = exc
    return named


def evaluate_batch(engine: "Backend", batch: Batch, descriptors: bool, planner: BatchPlanner) -> BatchResult:
    """Evaluate ``batch``; on out-of-memory split it in halves and retry each half."""
    def run(part: Batch) -> list[BatchResult]:
        return [engine.evaluate(part, descriptors=descriptors, per_atom=PER_ATOM_KEPT)]

    return _halving_on_memory(run, engine.name, batch, planner)[0]


def evaluate_batch_members(engine: "KernelBackend", batch: Batch, members: Sequence[Model],
                           planner: BatchPlanner) -> list[BatchResult]:
    """Energies and forces of ``batch`` for each committee member in one pass
    (:meth:`~gpunep.backends.kernel.KernelBackend.evaluate_members`); halved on out-of-memory."""
    def run(part: Batch) -> list[BatchResult]:
        return engine.evaluate_members(part, members, per_atom=False)

    return _halving_on_memory(run, engine.name, batch, planner)


def _halving_on_memory(run: Callable[[Batch], list[BatchResult]], backend: str, batch: Batch,
                       planner: BatchPlanner) -> list[BatchResult]:
    try:
        results = run(batch)
    except Exception as exc:
        if not _is_out_of_memory(exc):
            raise
        if batch.n_structures == 1:
            raise MemoryError(
                f"the {backend} backend ran out of memory on a single structure of "
                f"{batch.n_atoms} atoms; try another backend or free memory") from exc
        planner.shrink(batch.n_atoms)
        half = batch.n_structures // 2
        halves = [_halving_on_memory(run, backend, part, planner)
                  for part in (batch.subset(0, half), batch.subset(half, batch.n_structures))]
        return [_concat_results([first, second]) for first, second in zip(*halves)]
    for result in results:
        result.check_finite()
    return results


def _is_out_of_memory(exc: BaseException) -> bool:
    # cupy's OutOfMemoryError derives from MemoryError; a failed cudaMalloc
    # inside a kernel launch surfaces as a CUDA runtime error instead.
    if isinstance(exc, MemoryError):
        return True
    text = f"{type(exc).__name__} {exc}"
    return "OutOfMemory" in text or "out of memory" in text or "cudaErrorMemoryAllocation" in text


#: the BatchResult arrays, all per structure or per atom, joined along their first axis
_RESULT_ARRAYS = ("energy", "virial", "energies", "forces", "virials", "descriptors", "charges",
                  "raw_charges", "bec", "dipole", "polarizability")


def _concat_results(parts: list[BatchResult]) -> BatchResult:
    def cat(name: str):
        values = [getattr(p, name) for p in parts]
        # the same backend and model made every part, so an output is absent from all or none
        return None if values[0] is None else np.concatenate(values)

    return BatchResult(**{name: cat(name) for name in _RESULT_ARRAYS},
                       backend=parts[0].backend, precision=parts[0].precision)


def assemble(model: Model, chunks: list[Chunk], descriptors: bool, backend: str,
             precision: str) -> PredictionResult:
    """The chunks, in order, as one PredictionResult (``backend`` and ``precision`` name what
    ran them where the backend's results do not)."""
    counts = np.concatenate([np.diff(c.batch.offsets) for c in chunks])
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    refs = [r for c in chunks for r in c.references]
    result = _concat_results([c.result for c in chunks])
    return PredictionResult(
        species=tuple(model.types),
        types=np.concatenate([c.batch.types for c in chunks]),
        offsets=offsets,
        volumes=np.array([cell_volume(cell) for c in chunks for cell in c.batch.cells]),
        config_types=[r.config_type for r in refs],
        model_type=model.model_type,
        energy=result.energy, virial=result.virial, energies=result.energies,
        forces=result.forces, descriptors=result.descriptors if descriptors else None,
        reference=ReferenceArrays(
            energy=np.array([r.energy for r in refs]),
            forces=np.concatenate([r.forces for r in refs]),
            virial=np.array([r.virial for r in refs]).reshape(-1, 3, 3),
            charge=np.array([r.charge for r in refs]),
            dipole=np.array([r.dipole for r in refs]).reshape(-1, 3),
            polarizability=np.array([r.polarizability for r in refs]).reshape(-1, 3, 3),
            bec=np.concatenate([r.bec for r in refs]).reshape(-1, 3, 3)),
        backend=result.backend or backend,
        precision=result.precision or precision,
        charges=result.charges, raw_charges=result.raw_charges, bec=result.bec,
        dipole=result.dipole, polarizability=result.polarizability,
        positions=np.concatenate([c.batch.positions for c in chunks]),
        cells=np.concatenate([c.batch.cells for c in chunks]),
        pbc=np.concatenate([c.batch.pbc for c in chunks]),
    )


def _memory_budget(engine: "Backend") -> int:
    """Bytes one batch may use: a fraction of free GPU memory or of available RAM.

    On a GPU, free memory counts the blocks CuPy's pool holds for reuse (the
    buffers of evaluators that are gone): the driver reports them as used.
    """
    if engine.name == "cuda":
        import cupy

        with cupy.cuda.Device(engine.device):
            free, _total = cupy.cuda.Device().mem_info
            free += cupy.get_default_memory_pool().free_bytes()
        return int(GPU_MEMORY_FRACTION * free)
    return int(HOST_MEMORY_FRACTION * _available_ram())


def _available_ram() -> int:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2 * 1024**3  # platforms without either: assume a modest 2 GiB


def _bytes_per_atom(model: Model, backend_name: str) -> int:
    """A generous estimate of the working memory per atom of a batch, for backends
    that do not report theirs (the numpy reference).

    Per neighbor pair: the pair vector and index, the basis values and
    derivatives, the radial functions; per angular pair also the angular
    terms of every ``s`` component. The file's max-neighbor numbers bound
    the pair counts of structures like the training data. The numpy
    reference keeps more temporaries alive than the kernels.
    """
    n_alpha = (model.l_max_3b + 1) ** 2
    radial = 8 * (8 + 4 * (model.n_basis_radial + 1) + 2 * (model.n_max_radial + 1))
    angular = 8 * (8 + 4 * (model.n_basis_angular + 1) + 2 * (model.n_max_angular + 1) * (1 + n_alpha))
    per_atom = 8 * (4 * model.n_descriptor + 2 * n_alpha * (model.n_max_angular + 1) + 64)
    total = (model.max_neighbors_radial * radial + model.max_neighbors_angular * angular + per_atom)
    return int(total * (4 if backend_name == "reference" else 1))


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def __enter__(self) -> "_NoBar":
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress_bar(progress: bool | None, total: int | None):
    """A tqdm bar counting structures (``progress`` True), none (False), or one only when
    stderr is a terminal (None)."""
    wanted = sys.stderr.isatty() if progress is None else progress
    if not wanted:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress is None:
            return _NoBar()  # a bar is a nicety when nobody asked for it
        raise ImportError("progress=True needs tqdm: pip install tqdm") from None
    return tqdm(total=total, unit="structure", desc="predict", file=sys.stderr)
