"""Dask front end: predictions and committees spread over the workers of a ``distributed.Client``.

How the work moves
------------------
* The data set is cut into chunks of whole structures. An extxyz file is
  never parsed by the client: it scans the file once for frame boundaries
  (:mod:`gpunep.io.extxyz_index`; its memory does not grow with the file)
  and sends each worker a frame range to read, so the workers must see the
  file under the same path (a shared file system). Lists and iterables of
  ``Atoms``, and files of other formats, go through the client, chunk by chunk.
* Chunks are submitted a few per worker thread ahead of the results the
  client has taken in, so a stream larger than memory flows through; the
  results come back in input order whatever order the workers finish in.
* Each worker keeps one backend per model (keyed by the model's content,
  the backend's options and the worker thread) for its lifetime, so kernels
  are built and buffers allocated once per worker, not once per chunk.
  Under dask-cuda's ``LocalCUDACluster`` every worker sees one GPU; on CPU
  workers the host backend uses ``OMP_NUM_THREADS`` threads (Dask's nanny
  sets 1 unless the worker's environment says otherwise). Give workers one
  Dask thread each: every thread builds its own backends (they are not
  thread-safe), and more threads than GPUs or cores only compete. A worker
  keeps at most :data:`MAX_CACHED_BACKENDS`; a larger committee rebuilds
  backends for every chunk.
* A worker that dies takes its chunks with it; the scheduler runs them
  again elsewhere, and as each chunk's result is taken exactly once, by its
  index, nothing is returned twice or lost (a chunk that kills workers again
  and again ends the run with Dask's ``KilledWorker``). An error in a chunk
  (a structure a model cannot evaluate) is raised in the client with the
  structure's name, and the chunks still in flight are cancelled.

``dask[distributed]`` is an optional dependency (``pip install gpunep[dask]``),
imported only when a client is used.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, TypeVar

from gpunep.batching import BatchPlanner, assemble, labelled_source, make_backend, predict_batch, progress_bar
from gpunep.committee_spread import CommitteeResult, evaluate_committee
from gpunep.io.extxyz_index import FrameRange, frame_starts, is_extxyz
from gpunep.model import Model
from gpunep.prediction_result import PredictionResult

if TYPE_CHECKING:
    from ase import Atoms
    from distributed import Client, Future

    from gpunep.backends.base import Backend
    from gpunep.batching import Chunk

    #: what one chunk task receives: labelled structures, or a frame range of an extxyz file
    Payload = list[tuple[str, Atoms]] | FrameRange

#: atoms per chunk with chunk_size='auto': about a second of one CPU core for a small model,
#: milliseconds of a GPU (which is better fed larger chunks)
CHUNK_ATOMS = 50_000
#: with chunk_size='auto' and a data set of known size: at least this many chunks per worker thread
CHUNKS_PER_THREAD = 4
#: chunks submitted ahead of the results taken in, per worker thread (and at least MIN_AHEAD)
AHEAD_PER_THREAD = 3
MIN_AHEAD = 4
#: backends a worker keeps (least recently used dropped first)
MAX_CACHED_BACKENDS = 16

T = TypeVar("T")


@dataclass(frozen=True)
class BackendSpec:
    """What makes a backend: the model's content token and the backend's options."""

    model_token: str
    name: str
    precision: str | None
    kspace: str
    mean_d_correction: bool


_BACKENDS: "OrderedDict[tuple[BackendSpec, int], Backend]" = OrderedDict()
_BACKENDS_LOCK = threading.Lock()


def worker_backend(model: Model, spec: BackendSpec) -> "Backend":
    """This worker thread's backend for ``model`` with ``spec``'s options, built on first use.

    Backends are not shared between threads (they reuse buffers between calls).
    """
    key = (spec, threading.get_ident())
    with _BACKENDS_LOCK:
        if key in _BACKENDS:
            _BACKENDS.move_to_end(key)
            return _BACKENDS[key]
    backend = make_backend(model, spec.name, spec.precision, spec.kspace, spec.mean_d_correction)
    with _BACKENDS_LOCK:
        _BACKENDS[key] = backend
        while len(_BACKENDS) > MAX_CACHED_BACKENDS:
            _BACKENDS.popitem(last=False)
    return backend


@dataclass
class _PredictedChunk:
    chunks: "list[Chunk]"
    backend: str
    precision: str

    @property
    def n_structures(self) -> int:
        return sum(c.batch.n_structures for c in self.chunks)


def _predict_task(model: Model, spec: BackendSpec, payload: Payload, descriptors: bool,
                  batch_size: int | str) -> _PredictedChunk:
    engine = worker_backend(model, spec)
    planner = BatchPlanner(model, engine, batch_size)
    chunks = [predict_batch(engine, model, labels, atoms, descriptors, planner)
              for labels, atoms in planner.batches(_structures_of(payload))]
    for chunk in chunks:
        chunk.result.virials = None  # a PredictionResult keeps no per-atom virials: do not ship them
    return _PredictedChunk(chunks, engine.name, engine.precision)


def _committee_task(members: list[Model], specs: list[BackendSpec], payload: Payload, variance: str,
                    batch_size: int | str) -> CommitteeResult:
    engines = [worker_backend(m, s) for m, s in zip(members, specs)]
    labels, atoms_list = [], []
    for label, atoms in _structures_of(payload):
        labels.append(label)
        atoms_list.append(atoms)
    return evaluate_committee(engines, members, labels, atoms_list, variance, batch_size)


def _structures_of(payload: Payload) -> Iterator[tuple[str, "Atoms"]]:
    return payload.read() if isinstance(payload, FrameRange) else iter(payload)


def predict_on_cluster(client: "Client", model: Model, structures, *, backend: str = "auto",
                       precision: str | None = None, batch_size: int | str = "auto",
                       chunk_size: int | str = "auto", descriptors: bool = False,
                       progress: bool | None = None, kspace: str = "truncated",
                       mean_d_correction: bool = True) -> PredictionResult:
    """:func:`gpunep.predict` on the workers of ``client``; the same result, in input order.

    Parameters
    ----------
    client : a ``distributed.Client``
    chunk_size : structures per chunk (the unit a worker takes and, if it
        dies, the scheduler runs again), or ``'auto'``: chunks of up to
        :data:`CHUNK_ATOMS` atoms, and for a list of known size at least
        :data:`CHUNKS_PER_THREAD` chunks per worker thread so that all work.
        A GPU worker is best fed chunks of 10^5 to 10^6 atoms.
    others : as for :func:`gpunep.predict` (``batch_size`` applies within a chunk)
    """
    spec = BackendSpec(_token(model), backend, precision, kspace, mean_d_correction)
    parts: list[_PredictedChunk] = []
    with _held(client, model, spec.model_token) as model_future:
        for part in _in_order(client, _predict_task, (model_future, spec),
                              (descriptors, batch_size), structures, chunk_size, progress):
            parts.append(part)
    if not parts:
        raise ValueError("no structures to predict")
    return assemble(model, [c for p in parts for c in p.chunks], descriptors, parts[0].backend, parts[0].precision)


def write_on_cluster(client: "Client", model: Model, structures, directory: str | os.PathLike, *,
                     descriptors: str | None = None, backend: str = "auto", precision: str | None = None,
                     batch_size: int | str = "auto", chunk_size: int | str = "auto",
                     progress: bool | None = None, kspace: str = "truncated",
                     mean_d_correction: bool = True) -> tuple[list[Path], int, int]:
    """Predict on the workers of ``client`` and write GPUMD's ``*_train.out`` files as chunks finish.

    Nothing but the chunks in flight is held in memory; the files are
    the same as :func:`gpunep.io.gpumd_files.write_prediction` writes for the
    whole result. They grow in a hidden folder inside ``directory`` and move
    into place together once complete (:func:`gpunep.io.file_set.staged_directory`):
    an error or a full disk leaves ``directory`` as it was.

    Returns
    -------
    The paths written, and the numbers of structures and atoms.
    """
    from gpunep.io.file_set import naming, staged_directory
    from gpunep.io.gpumd_files import write_prediction

    directory = Path(directory)
    spec = BackendSpec(_token(model), backend, precision, kspace, mean_d_correction)
    names: list[str] = []  # in the order write_prediction writes them
    n_structures = n_atoms = 0
    with staged_directory(directory) as staging, _held(client, model, spec.model_token) as model_future:
        for part in _in_order(client, _predict_task, (model_future, spec), (descriptors is not None, batch_size),
                              structures, chunk_size, progress):
            result = assemble(model, part.chunks, descriptors is not None, part.backend, part.precision)
            n_structures, n_atoms = n_structures + result.n_structures, n_atoms + result.n_atoms
            with tempfile.TemporaryDirectory(dir=directory, prefix=".gpunep-piece-") as piece:
                for path in write_prediction(result, piece, descriptors):
                    target = staging / path.name
                    with open(path, "rb") as source, naming(target), open(target, "ab") as out:
                        shutil.copyfileobj(source, out)
                    if path.name not in names:
                        names.append(path.name)
        if not names:
            raise ValueError("no structures to predict")
    return [directory / name for name in names], n_structures, n_atoms


def committee_on_cluster(client: "Client", members: list[Model], structures, *, variance: str,
                         backend: str = "auto", precision: str | None = None, batch_size: int | str = "auto",
                         chunk_size: int | str = "auto", progress: bool | None = None,
                         kspace: str = "truncated", mean_d_correction: bool = True) -> CommitteeResult:
    """:func:`gpunep.predict_committee` on the workers of ``client`` (each worker keeps one
    backend per member); chunks as for :func:`predict_on_cluster`."""
    tokens = [_token(m) for m in members]
    specs = [BackendSpec(t, backend, precision, kspace, mean_d_correction) for t in tokens]
    parts: list[CommitteeResult] = []
    with _held_all(client, members, tokens) as futures:
        for part in _in_order(client, _committee_task, (futures, specs), (variance, batch_size),
                              structures, chunk_size, progress):
            parts.append(part)
    if not parts:
        raise ValueError("no structures to predict")
    return CommitteeResult.concatenate(parts)


def _token(model: Model) -> str:
    """A digest of the model's content: equal models share a key and a worker's backend."""
    from dask.base import tokenize

    return tokenize(model)


def _return(value: T) -> T:
    return value


@contextmanager
def _held(client: "Client", model: Model, token: str) -> Iterator["Future"]:
    with _held_all(client, [model], [token]) as futures:
        yield futures[0]


@contextmanager
def _held_all(client: "Client", models: Sequence[Model], tokens: Sequence[str]) -> Iterator[list["Future"]]:
    """Each model as a task result the chunks depend on: sent to the cluster once, copied
    to a worker when it first needs it, and (unlike scattered data) computed again if lost."""
    futures = [client.submit(_return, m, key=f"gpunep-model-{t}", pure=False) for m, t in zip(models, tokens)]
    try:
        yield futures
    finally:
        for future in futures:
            future.release()


def _in_order(client: "Client", task: Callable[..., T], leading: tuple, trailing: tuple, structures,
              chunk_size: int | str, progress: bool | None) -> Iterator[T]:
    """``task(*leading, payload, *trailing)`` for every chunk of ``structures``, run on the
    cluster a few chunks ahead of the consumer; results yielded in input order."""
    from distributed import as_completed

    payloads, total = _payloads(structures, chunk_size, _threads(client))
    run = uuid.uuid4().hex[:12]
    futures: dict[int, "Future"] = {}
    index_of: dict[str, int] = {}
    ready: dict[int, Any] = {}
    finished = as_completed()
    submitted = delivered = 0
    exhausted = False
    with progress_bar(progress, total) as bar:
        try:
            while True:
                ahead = max(MIN_AHEAD, AHEAD_PER_THREAD * _threads(client))
                while not exhausted and submitted - delivered < ahead:
                    payload = next(payloads, None)
                    if payload is None:
                        exhausted = True
                        break
                    key = f"gpunep-{task.__name__.strip('_')}-{run}-{submitted}"
                    futures[submitted] = client.submit(task, *leading, payload, *trailing, key=key)
                    index_of[key] = submitted
                    finished.add(futures[submitted])
                    submitted += 1
                if delivered == submitted:
                    return
                future = next(finished)
                index = index_of.pop(future.key)
                ready[index] = future.result()
                del futures[index]
                future.release()
                bar.update(ready[index].n_structures)
                while delivered in ready:
                    yield ready.pop(delivered)
                    delivered += 1
        finally:
            client.cancel(list(futures.values()))


def _threads(client: "Client") -> int:
    return sum(client.nthreads().values())


def _payloads(structures, chunk_size: int | str, n_threads: int) -> tuple[Iterator[Payload], int | None]:
    """The chunks of ``structures``, and how many structures there are where known."""
    from ase import Atoms

    max_count, max_atoms = _chunk_limits(chunk_size)
    if isinstance(structures, (str, os.PathLike)) and is_extxyz(structures):
        groups = _grouped(frame_starts(structures), lambda s: s.n_atoms or 0, max_count, max_atoms)
        path = str(structures)
        return (FrameRange(path, g[0], None if g[-1].n_atoms is None else len(g)) for g in groups), None
    if chunk_size == "auto" and isinstance(structures, Sequence) and not isinstance(structures, str):
        atoms_total = sum(len(a) for a in structures if isinstance(a, Atoms))
        max_atoms = max(1, min(max_atoms, math.ceil(atoms_total / (CHUNKS_PER_THREAD * max(1, n_threads)))))
    source, total = labelled_source(structures)
    return _grouped(source, lambda item: len(item[1]), max_count, max_atoms), total


def _chunk_limits(chunk_size: int | str) -> tuple[int | None, int]:
    """(most structures, most atoms) per chunk."""
    if chunk_size == "auto":
        return None, CHUNK_ATOMS
    if isinstance(chunk_size, int) and not isinstance(chunk_size, bool) and chunk_size > 0:
        return chunk_size, math.inf  # type: ignore[return-value]
    raise ValueError(f"chunk_size must be 'auto' or a positive integer, not {chunk_size!r}")


def _grouped(items: Iterable[T], size: Callable[[T], int], max_count: int | None,
             max_size: float) -> Iterator[list[T]]:
    """Consecutive items in groups of at most ``max_count`` items and ``max_size`` total size
    (a single item larger than ``max_size`` makes a group of its own)."""
    group: list[T] = []
    group_size = 0
    for item in items:
        if group and (group_size + size(item) > max_size or (max_count is not None and len(group) >= max_count)):
            yield group
            group, group_size = [], 0
        group.append(item)
        group_size += size(item)
    if group:
        yield group


@contextmanager
def cluster_client(scheduler: str | None = None, local_workers: int | None = None,
                   backend: str = "auto") -> Iterator["Client | None"]:
    """A Dask client for the command line: to a running scheduler, or on a cluster of this machine.

    Parameters
    ----------
    scheduler : a scheduler address (``tcp://host:8786``) or the path of a
        scheduler file ending in ``.json`` (``dask scheduler --scheduler-file FILE``)
    local_workers : start that many workers here: with ``backend='cuda'``
        (or ``'auto'`` with a GPU) dask-cuda's ``LocalCUDACluster``, one GPU
        per worker; otherwise ``LocalCluster`` processes of one Dask thread
        and ``cores / local_workers`` OpenMP threads each
    backend : the backend the workers will run

    Yields
    ------
    The client, or None when neither is given (run in this process).
    """
    if scheduler is None and local_workers is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("running on a Dask cluster needs dask.distributed: pip install 'gpunep[dask]'") from None
    if scheduler is not None:
        with _connect(Client, scheduler) as client:
            yield client
        return
    if local_workers is None or local_workers < 1:
        raise ValueError(f"--local-cluster needs a positive number of workers, not {local_workers}")
    if _wants_gpu(backend):
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError:
            raise ImportError("one worker per GPU needs dask-cuda: pip install dask-cuda") from None
        cluster = LocalCUDACluster(n_workers=local_workers, threads_per_worker=1)
    else:
        threads = max(1, (os.cpu_count() or 1) // local_workers)
        cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True,
                               env={"OMP_NUM_THREADS": str(threads)})
    with cluster, Client(cluster) as client:
        yield client


def _connect(client_class, scheduler: str):
    # a scheduler file may not exist yet (a batch job starts the scheduler and the client
    # together): the client waits for it
    if scheduler.endswith(".json"):
        return client_class(scheduler_file=scheduler)
    return client_class(scheduler)


def _wants_gpu(backend: str) -> bool:
    if backend == "cuda":
        return True
    if backend != "auto":
        return False
    from gpunep.executors import cuda

    return cuda.is_available()
