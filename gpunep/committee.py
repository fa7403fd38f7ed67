"""Committees of NEP models on a whole data set, for active learning: :func:`predict_committee`.

Members of one architecture share each batch's packing and neighbor lists
(:func:`gpunep.committee_spread.member_predictions`); others are evaluated
each by its own backend; in one process or on a Dask cluster
(:mod:`gpunep.distributed`); the spread and the definitions it follows are
:mod:`gpunep.committee_spread` (docs/committee.md#gpumds-two-definitions).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable, Sequence

from gpunep.batching import BatchPlanner, labelled_source, make_backend, progress_bar
from gpunep.committee_spread import CommitteeResult, committee_members, evaluate_committee, variance_ddof
from gpunep.model import Model

if TYPE_CHECKING:
    from ase import Atoms
    from distributed import Client


def predict_committee(
    models: Sequence[Model | str | os.PathLike],
    structures: "Atoms | Sequence[Atoms] | Iterable[Atoms] | str | os.PathLike",
    backend: str = "auto",
    precision: str | None = None,
    variance: str = "population",
    batch_size: int | str = "auto",
    progress: bool | None = None,
    kspace: str = "truncated",
    mean_d_correction: bool = True,
    client: "Client | None" = None,
    chunk_size: int | str = "auto",
) -> CommitteeResult:
    """Evaluate a committee of models on every structure of a data set; their spread per structure.

    Parameters
    ----------
    models : two or more models (:class:`~gpunep.model.Model` or nep.txt
        paths) that give energies and forces, e.g. trained with different seeds
    structures : as for :func:`gpunep.predict` (Atoms, a list or iterable, or a file)
    backend, precision, batch_size, progress, kspace, mean_d_correction : as
        for :func:`gpunep.predict`
    variance : ``'population'`` (divide by M: GPUMD's ``active`` code; default)
        or ``'sample'`` (divide by M - 1: GPUMD's documentation); see
        :mod:`gpunep.committee_spread` for the formulas
    client, chunk_size : a Dask ``distributed.Client`` to spread the work
        over its workers, as for :func:`gpunep.predict`

    Returns
    -------
    CommitteeResult
        ``energy_std``, ``force_std``, ``max_force_std`` and each member's
        energy; ``result.select(0.05).write_extxyz("to_label.xyz")`` writes the
        structures whose largest per-atom force spread exceeds 0.05 eV/Å.

    Raises
    ------
    ValueError
        Fewer than 2 models, a member without energies and forces (dipole or
        polarizability models), an unknown ``variance``, or a structure a
        member cannot evaluate (named as :func:`gpunep.predict` names it).
    """
    members = committee_members(models)
    variance_ddof(variance, len(members))
    options = {"backend": backend, "precision": precision, "batch_size": batch_size,
               "kspace": kspace, "mean_d_correction": mean_d_correction}
    if client is not None:
        from gpunep.distributed import committee_on_cluster

        return committee_on_cluster(client, members, structures, variance=variance, chunk_size=chunk_size,
                                    progress=progress, **options)
    engines = [make_backend(m, backend, precision, kspace, mean_d_correction) for m in members]
    source, total = labelled_source(structures)
    planner = BatchPlanner(members[0], engines[0], batch_size)
    parts = []
    with progress_bar(progress, total) as bar:
        for labels, atoms_list in planner.batches(source):
            parts.append(evaluate_committee(engines, members, labels, atoms_list, variance, batch_size))
            bar.update(len(atoms_list))
    if not parts:
        raise ValueError("no structures to predict")
    return CommitteeResult.concatenate(parts)
