"""High-throughput prediction: a whole data set through one backend, in batches.

Structures stream from a file, so a file larger than memory works; the
batching itself is :mod:`gpunep.batching`. With a Dask client the same work
is spread over a cluster (:mod:`gpunep.distributed`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable, Sequence

from gpunep.batching import (
    BatchPlanner, Chunk, assemble, labelled_source, make_backend, predict_batch, progress_bar,
)
from gpunep.model import Model, read_model
from gpunep.prediction_result import PredictionResult

if TYPE_CHECKING:
    from ase import Atoms
    from distributed import Client


# long: the docstring documents every parameter and error; the body is 20 lines
def predict(
    model: Model | str | os.PathLike,
    structures: "Atoms | Sequence[Atoms] | Iterable[Atoms] | str | os.PathLike",
    backend: str = "auto",
    precision: str | None = None,
    batch_size: int | str = "auto",
    descriptors: bool = False,
    progress: bool | None = None,
    kspace: str = "truncated",
    mean_d_correction: bool = True,
    client: "Client | None" = None,
    chunk_size: int | str = "auto",
    device: int | None = None,
) -> PredictionResult:
    """Evaluate ``model`` on every structure of a data set, in batches.

    Works for every model type: potentials, charge models (qNEP: charges and
    Born effective charges too), dipole and polarizability models (their
    dipole or polarizability instead of energies and forces).

    Parameters
    ----------
    model : a :class:`~gpunep.model.Model` or the path of a nep.txt
    structures : ASE ``Atoms``, a list (or any iterable) of them, or the path
        of a file ASE reads (extxyz with GPUMD's ``force``/``virial``/``stress``
        conventions understood, see :mod:`gpunep.io.extxyz`); files stream
    backend : ``'auto'``, ``'cuda'``, ``'host'`` or ``'reference'``
        (see :func:`gpunep.backends.get_backend`)
    precision : None (the backend's default), ``'float32'`` or ``'float64'``
    batch_size : ``'auto'`` (as many atoms as fit a memory budget: half the
        free GPU memory, or a quarter of the available RAM on the host) or
        the largest number of structures per batch. Either way a batch that
        runs out of memory is split and retried.
    descriptors : also return the scaled per-atom descriptors
    progress : show a tqdm progress bar; None = only when stderr is a terminal
    kspace : charge models: ``'truncated'`` (``|k| < 2 pi alpha``, GPUMD's
        trainer) or ``'converged'`` (the full Ewald sum); see
        :func:`gpunep.reference.evaluate`
    mean_d_correction : charge models: the exact chain rule through the
        charge neutralisation (default, GPUMD since 2026-04); False
        reproduces older GPUMD outputs (docs/charges.md#chain-rule-through-the-charges)
    client : a Dask ``distributed.Client`` to spread the work over (:mod:`gpunep.distributed`)
    chunk_size : with ``client``: structures per chunk a worker takes, or ``'auto'``
    device : the GPU ordinal for the cuda backend (default: CuPy's current
        device); with ``client`` each worker uses its own GPU and device must be None

    Returns
    -------
    PredictionResult

    Raises
    ------
    StructureError
        (a ``ValueError``) A structure the model cannot evaluate: unknown
        species, NaN positions, a degenerate or too thin periodic cell, two
        atoms at the same position, a non-finite result, ... The message names
        the structure (file, frame and line for extxyz files) and the cause;
        the original error is its ``__cause__``.
    ValueError
        A bad reference value, naming the structure.
    MemoryError
        A single structure does not fit in memory.
    UnsupportedModelError
        A model the chosen kernel backend cannot evaluate (e.g. sizes beyond
        the kernels' limits); the message points to ``backend='reference'``.
    """
    if not isinstance(model, Model):
        model = read_model(model)
    if client is not None:
        from gpunep.distributed import predict_on_cluster

        if device is not None:
            raise ValueError("device= chooses this process's GPU; with client= every worker uses "
                             "its own (dask-cuda gives each worker one GPU)")
        return predict_on_cluster(client, model, structures, backend=backend, precision=precision,
                                  batch_size=batch_size, chunk_size=chunk_size, descriptors=descriptors,
                                  progress=progress, kspace=kspace, mean_d_correction=mean_d_correction)
    engine = make_backend(model, backend, precision, kspace, mean_d_correction, device)
    source, total = labelled_source(structures)
    planner = BatchPlanner(model, engine, batch_size)
    chunks: list[Chunk] = []
    with progress_bar(progress, total) as bar:
        for labels, atoms_list in planner.batches(source):
            chunks.append(predict_batch(engine, model, labels, atoms_list, descriptors, planner))
            bar.update(len(atoms_list))
    if not chunks:
        raise ValueError("no structures to predict")
    return assemble(model, chunks, descriptors, engine.name, engine.precision)
