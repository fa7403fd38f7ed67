""":func:`gpunep.evaluate` on the GPU the arrays live on: read in place, results made there.

When the positions are on the device a ``cuda`` backend runs on (CuPy arrays,
torch CUDA tensors; numbers, cells and system_index there too) and the model
is a potential, the evaluation copies nothing of size N to the host: the arrays are
read through DLPack, species are mapped to types and checked on the device,
and the results are device arrays shared with the caller's library. Two
small downloads remain, both needed to plan and to trust the launches: the
per-system data (cells, pbc, where each system starts, which species are
present, whether every input passed its checks; O(S + T) numbers) and the
evaluation's diagnostics (:meth:`gpunep.engine.evaluator.Evaluator.evaluate_resident`).

Inputs the device checks do not pass (a species the model lacks, a
non-finite value, ``system_index`` out of order or range, a cell that
:func:`~gpunep.geometry.check_cell` refuses, atoms far outside their cell)
go to the host path instead, which raises the error naming the system and
atom, or wraps far atoms exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpunep.array_checks import check_pbc_dtype, checked_atoms
from gpunep.arrays import Placement, like_device_input, on_device, placement_of
from gpunep.backends.base import Backend
from gpunep.engine.device_batch import ResidentBatch
from gpunep.geometry import check_cell, stress_volumes
from gpunep.properties import EVALUATE_PER_ATOM
from gpunep.structures import type_table

#: what the device path returns (descriptors and charge-model outputs take the host path)
RESIDENT_PROPERTIES = frozenset(("energy", "forces", "stress", "energies", "stresses"))
#: the libraries whose GPU arrays it reads and makes (others go through the host)
RESIDENT_LIBRARIES = ("cupy", "torch")
_DLPACK_CUDA = 2


def stays_on_device(backend: Backend, arrays: dict[str, Any], where: Placement,
                    wanted: tuple[str, ...], total_charge: Any) -> bool:
    """Whether :func:`evaluate_resident` serves this call: a potential on a cuda backend,
    CuPy arrays or torch tensors on its device (pbc may be host values), properties it
    returns, no net charges."""
    from gpunep.backends.kernel import KernelBackend

    return (isinstance(backend, KernelBackend) and backend.name == "cuda"
            and backend.model.model_type == "potential" and total_charge is None
            and where.library in RESIDENT_LIBRARIES
            and where.device == (_DLPACK_CUDA, backend.device)
            and all(placement_of(arrays[name]) is not None for name in ("numbers", "cell"))
            and (arrays["system_index"] is None or placement_of(arrays["system_index"]) is not None)
            and RESIDENT_PROPERTIES.issuperset(wanted))


def evaluate_resident(backend: Any, arrays: dict[str, Any], wanted: tuple[str, ...],
                      where: Placement) -> dict[str, Any] | None:
    """The ``wanted`` results as arrays of ``where``'s library on its device, or None when
    the inputs need the host path (see the module docstring).

    Parameters
    ----------
    backend : a cuda :class:`~gpunep.backends.kernel.KernelBackend` of a potential
    arrays : :func:`gpunep.evaluate`'s ``positions, numbers, cell, pbc, system_index``
        (``total_charge`` None), on ``backend``'s device or host numbers for ``pbc``
    wanted : properties among :data:`RESIDENT_PROPERTIES`
    where : the positions' placement

    Raises
    ------
    TypeError, ValueError
        Wrong dtypes or shapes (:func:`gpunep.array_checks.checked_atoms`), a
        stress of a system without a three-dimensional cell, coincident atoms.
    """
    xp = backend.evaluator.xp
    with backend.executor.on_device():
        try:
            dtype = on_device(arrays["positions"], xp).dtype   # torch's dtype is not numpy's
            batch = _resident_batch(backend.model, xp, arrays)
        except BufferError:  # a stream the producer cannot hand over (torch under CuPy's per-thread default stream)
            return None
        if batch is None:
            return None
        volumes = stress_volumes(batch.cells, wanted)
        per_atom = [EVALUATE_PER_ATOM[name] for name in wanted if name in EVALUATE_PER_ATOM]
        fields = backend.evaluate_resident(batch, per_atom=per_atom)
        if fields is None:
            return None
        results = {name: _ase_result(xp, name, fields, volumes, arrays["system_index"])
                   for name in wanted}
        return {name: like_device_input(value.astype(dtype, copy=False), where)
                for name, value in results.items()}


def _resident_batch(model: Any, xp: Any, arrays: dict[str, Any]) -> ResidentBatch | None:
    """The checked :class:`ResidentBatch` of the device arrays, after one small download;
    None when a check fails (the host path then names the failure)."""
    positions, numbers, cell = (on_device(arrays[name], xp) for name in ("positions", "numbers", "cell"))
    n_atoms, cells = checked_atoms(positions, numbers, cell)
    system_index, pbc = arrays["system_index"], arrays["pbc"]
    n_systems = cells.shape[0]
    if n_atoms == 0 or (system_index is None and n_systems != 1):
        return None
    positions = xp.ascontiguousarray(positions, dtype=np.float64)
    types, bad_atoms = _types(model, xp, numbers, positions)
    n_types = len(model.types)
    parts = {
        "atom_checks": (~bad_atoms).all().reshape(1),
        "types_present": _present(xp, types, n_types),
        "cells": cells.reshape(-1),
    }
    if system_index is not None:
        parts.update(_system_parts(xp, on_device(system_index, xp), n_atoms, n_systems))
    host_pbc = placement_of(pbc) is None  # a Python bool or sequence
    if not host_pbc:
        pbc = on_device(pbc, xp)
        check_pbc_dtype(pbc)
        parts["pbc"] = pbc.reshape(-1)
    meta = _download(xp, parts)
    checks = [meta[name].all() for name in ("atom_checks", "system_checks") if name in meta]
    if not (all(checks) and np.isfinite(meta["cells"]).all()):
        return None
    pbc = np.asarray(pbc) if host_pbc else meta["pbc"].astype(bool).reshape(pbc.shape)
    check_pbc_dtype(pbc)
    if pbc.shape not in ((), (3,), (n_systems, 3)):
        return None
    offsets = (np.array([0, n_atoms]) if system_index is None
               else meta["offsets"].astype(np.int64))
    index = (xp.zeros(n_atoms, dtype=np.int32) if system_index is None
             else on_device(system_index, xp).astype(np.int32))
    batch = ResidentBatch(positions, types, index, meta["cells"].reshape(n_systems, 3, 3),
                          np.ascontiguousarray(np.broadcast_to(pbc, (n_systems, 3))), offsets,
                          meta["types_present"] > 0)
    return batch if _cells_pass(batch, model.max_cutoff) else None


def _types(model: Any, xp: Any, numbers: Any, positions: Any) -> tuple[Any, Any]:
    """Each atom's type (0 where it has none) and whether the atom fails a check
    (a species the model lacks, a non-finite position), on the device."""
    table = xp.asarray(type_table(model))
    inside = (numbers >= 0) & (numbers < table.shape[0])
    types = xp.where(inside, table[xp.where(inside, numbers, 0)], -1)
    bad = (types < 0) | ~xp.isfinite(positions).all(axis=1)
    return xp.where(bad, 0, types).astype(np.int32), bad


def _present(xp: Any, types: Any, n_types: int) -> Any:
    """Whether each type occurs (a scatter: no sort, which CuPy 13 waits on)."""
    present = xp.zeros(n_types, dtype=bool)
    present[types] = True
    return present


def _system_parts(xp: Any, system_index: Any, n_atoms: int, n_systems: int) -> dict[str, Any]:
    """Whether ``system_index`` is integer, non-decreasing and within the systems, and the
    first atom of each system (searchsorted: right only when ordered, which is checked)."""
    if not np.issubdtype(system_index.dtype, np.integer) or system_index.shape != (n_atoms,):
        return {"system_checks": xp.zeros(1, dtype=bool)}
    ordered = (system_index[1:] >= system_index[:-1]).all()
    inside = (system_index[0] >= 0) & (system_index[-1] < n_systems)
    return {"system_checks": (ordered & inside).reshape(1),
            "offsets": xp.searchsorted(system_index, xp.arange(n_systems + 1))}


def _download(xp: Any, parts: dict[str, Any]) -> dict[str, np.ndarray]:
    """``parts`` (device arrays) on the host, by name, in one transfer (as float64)."""
    flat = xp.concatenate([part.astype(np.float64).reshape(-1) for part in parts.values()])
    host = xp.asnumpy(flat)
    out, start = {}, 0
    for name, part in parts.items():
        out[name] = host[start:start + part.size]
        start += part.size
    return out


def _cells_pass(batch: ResidentBatch, cutoff: float) -> bool:
    """Whether every periodic cell passes :func:`~gpunep.geometry.check_cell`."""
    try:
        for s in range(batch.n_structures):
            check_cell(batch.cells[s], batch.pbc[s], cutoff, f"system {s}")
    except ValueError:
        return False
    return True


def _ase_result(xp: Any, name: str, fields: dict[str, Any], volumes: np.ndarray | None,
                system_index: Any) -> Any:
    """One result in ASE's signs and units, on the device (as the host path's ``_result``)."""
    if name == "stress":
        return -fields["virial"] / xp.asarray(volumes)[:, None, None]
    if name == "stresses":
        per_atom = (xp.asarray(volumes)[on_device(system_index, xp)] if system_index is not None
                    else xp.asarray(volumes))
        return -fields["virials"] / per_atom.reshape(-1, 1, 1)
    return fields[{"energy": "energy", "forces": "forces", "energies": "energies"}[name]]
