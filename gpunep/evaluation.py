""":func:`evaluate`: a model on arrays of one system or many (numpy, torch, CuPy), results in kind.

The door for Python MD drivers that hold their systems as arrays (TorchSim,
custom loops): flat atoms plus a per-atom ``system_index``, one cell per
system. The arrays are checked and packed into a
:class:`~gpunep.structures.Batch` with the same checks as
:func:`~gpunep.structures.pack` (:func:`~gpunep.structures.batch_from_arrays`),
evaluated by a :class:`~gpunep.backends.base.Backend`, and the results come
back as arrays of the positions' library on their device
(:mod:`gpunep.arrays`), in ASE's units and signs: eV, eV/Å, and the stress
``-W / V`` (eV/Å³) as full 3x3 matrices.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from gpunep.array_checks import check_dtype, check_pbc_dtype, check_shape, checked_atoms
from gpunep.arrays import Placement, common_placement, like_input, to_host
from gpunep.backends import get_backend
from gpunep.backends.base import Backend
from gpunep.device_resident import evaluate_resident, stays_on_device
from gpunep.geometry import stress_volumes
from gpunep.properties import EVALUATE_PER_ATOM
from gpunep.model import Model, read_model
from gpunep.structures import Batch, BatchResult, batch_from_arrays

_ENERGY = ("energy", "forces", "stress", "energies", "stresses", "descriptors")
#: what :func:`evaluate` returns, by model type
OFFERED = {
    "potential": _ENERGY,
    "temperature": _ENERGY,
    "potential_with_charges": _ENERGY + ("charges", "bec"),
    "dipole": ("dipole", "descriptors"),
    "polarizability": ("polarizability", "descriptors"),
}


def evaluate(model_or_backend: "Backend | Model | str | os.PathLike | Any", positions: Any, numbers: Any,
             cell: Any, pbc: Any, system_index: Any = None, *, total_charge: Any = None,
             properties: Sequence[str] = ("energy", "forces", "stress")) -> dict[str, Any]:
    """Energies, forces and stresses (or what else is asked) of one system or many, from arrays.

    Parameters
    ----------
    model_or_backend : a :class:`~gpunep.backends.base.Backend`
        (:func:`gpunep.backends.get_backend`: choose backend and precision, and
        keep it for repeated calls), or a model (a :class:`~gpunep.model.Model`,
        a nep.txt path, a calorine ``Model``), evaluated by a new ``'auto'``
        backend on every call
    positions : (N, 3) float32 or float64, Å. Its library (numpy, torch,
        CuPy, ... anything with ``__dlpack__``) and device decide those of the results
    numbers : (N,) integer atomic numbers
    cell : (3, 3) for one system or (S, 3, 3), cell vectors as rows (ASE's
        convention; TorchSim's ``state.cell`` holds columns: pass
        ``state.row_vector_cell``), Å
    pbc : a bool, (3,) for every system, or (S, 3)
    system_index : (N,) integer system of each atom, non-decreasing (the
        atoms of a system are contiguous) and below S; None for one system
    total_charge : charge models: the net charge of each system (e), a number
        or (S,); default neutral. Other models accept only None or zeros
    properties : any of ``'energy'`` (S,), ``'forces'`` (N, 3), ``'stress'``
        (S, 3, 3) ``-W / V`` (eV/Å³), ``'energies'`` (N,), ``'stresses'``
        (N, 3, 3) per-atom ``-W_i / V`` summing to the stress,
        ``'descriptors'`` (N, dim); charge models add ``'charges'`` (N,) and
        ``'bec'`` (N, 3, 3); dipole models give ``'dipole'`` (S, 3) and
        polarizability models ``'polarizability'`` (S, 3, 3) instead of energies
        (:data:`OFFERED`)

    Returns
    -------
    dict
        ``{property: array}``: arrays of the positions' library on their
        device, in the positions' float dtype. Numpy inputs give numpy
        arrays; torch tensors on the CPU share the memory of the host results
        (DLPack, no copy). GPU inputs on the device of a ``cuda`` backend of
        a potential stay there: read in place, results made there and shared
        (:mod:`gpunep.device_resident`; descriptors and charge, dipole and
        polarizability models excepted). Other GPU inputs are copied to the
        host and their results copied back.

    Raises
    ------
    ValueError
        Arrays on different devices (named), a wrong shape, a property the
        model does not give, a ``system_index`` that decreases or reaches past
        the cells, a stress asked of a system without a three-dimensional
        cell, and every check of :func:`~gpunep.structures.pack` (species the
        model lacks, non-finite values, cells too thin for the cutoff), naming
        the system and the atom within it.
    TypeError
        A wrong dtype (float positions and cells, integer numbers and
        system_index, bool pbc), or an object that is not an array.
    """
    backend = backend_of(model_or_backend)
    wanted = wanted_properties(properties, backend.model.model_type)
    arrays = dict(positions=positions, numbers=numbers, cell=cell, pbc=pbc,
                  system_index=system_index, total_charge=total_charge)
    where = common_placement(arrays, "positions")
    if stays_on_device(backend, arrays, where, wanted, total_charge):
        results = evaluate_resident(backend, arrays, wanted, where)
        if results is not None:
            return results
    return evaluate_through_host(backend, arrays, wanted, where)


def evaluate_through_host(backend: Backend, arrays: dict[str, Any], wanted: tuple[str, ...],
                          where: Placement) -> dict[str, Any]:
    """The device boundary of :func:`evaluate`: inputs to the host, evaluation, results back to ``where``.

    Every call :func:`~gpunep.device_resident.evaluate_resident` does not
    serve comes here: host arrays, GPU arrays on another device than the
    backend's or for another backend, properties or models that path does
    not take, and inputs it hands over to be named in an error.
    """
    host = {name: None if value is None else to_host(value, name) for name, value in arrays.items()}
    batch, dtype = batch_of(backend.model, **host)
    results = ase_results(backend, batch, wanted)
    return {name: like_input(np.ascontiguousarray(value, dtype=dtype), where)
            for name, value in results.items()}


def backend_of(model_or_backend: Any) -> Backend:
    """A backend as given, or a new ``'auto'`` backend of a model (Model, nep.txt path, calorine Model)."""
    if isinstance(model_or_backend, Backend):
        return model_or_backend
    model = model_or_backend if isinstance(model_or_backend, Model) else read_model(model_or_backend)
    return get_backend(model, "auto")


def wanted_properties(properties: Sequence[str] | str, model_type: str) -> tuple[str, ...]:
    """``properties`` as a tuple, each checked against what a ``model_type`` model gives."""
    wanted = (properties,) if isinstance(properties, str) else tuple(properties)
    offered = OFFERED[model_type]
    for name in wanted:
        if name not in offered:
            raise ValueError(f"a {model_type!r} model gives no {name!r}; it gives {', '.join(offered)}")
    return wanted


def batch_of(model: Model, positions: np.ndarray, numbers: np.ndarray, cell: np.ndarray,
             pbc: np.ndarray, system_index: np.ndarray | None,
             total_charge: np.ndarray | None) -> tuple[Batch, np.dtype]:
    """The checked :class:`Batch` of host arrays, and the float dtype results come back in."""
    n_atoms, cells = checked_atoms(positions, numbers, cell)
    n_systems = cells.shape[0]
    counts = _system_counts(system_index, n_atoms, n_systems)
    return batch_from_arrays(
        model, positions=positions.astype(np.float64, copy=False), numbers=numbers,
        cells=cells.astype(np.float64, copy=False), pbc=_pbc(pbc, n_systems), counts=counts,
        charges_total=_total_charges(total_charge, n_systems, model.model_type), noun="system",
    ), positions.dtype


def ase_results(backend: Backend, batch: Batch, wanted: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The ``wanted`` results of ``batch`` as host float64 arrays, in ASE's units and signs."""
    per_atom = [EVALUATE_PER_ATOM[name] for name in wanted if name in EVALUATE_PER_ATOM]
    result = backend.evaluate(batch, descriptors="descriptors" in wanted, per_atom=per_atom)
    result.check_finite()
    volumes = stress_volumes(batch.cells, wanted)
    return {name: _result(name, result, batch, volumes) for name in wanted}


def _result(name: str, result: BatchResult, batch: Batch, volumes: np.ndarray | None) -> np.ndarray:
    if name == "stress":
        return -result.virial / volumes[:, None, None]
    if name == "stresses":
        return -result.virials / volumes[batch.system_index][:, None, None]
    return getattr(result, name)


def _system_counts(system_index: np.ndarray | None, n_atoms: int, n_systems: int) -> np.ndarray:
    """Atoms per system from ``system_index`` (checked: integer, non-decreasing, below S)."""
    if system_index is None:
        if n_systems != 1:
            raise ValueError(f"{n_systems} cells but no system_index: give each atom's system")
        return np.array([n_atoms], dtype=np.int64)
    check_dtype(system_index, "system_index", "an integer type", integer=True)
    check_shape(system_index, "system_index", (n_atoms,), f"(n_atoms,) = ({n_atoms},), as positions")
    if n_atoms == 0:
        return np.zeros(n_systems, dtype=np.int64)
    steps = np.diff(system_index)
    if np.any(steps < 0):
        i = int(np.flatnonzero(steps < 0)[0]) + 1
        raise ValueError(f"system_index decreases at atom {i} ({system_index[i - 1]} then "
                         f"{system_index[i]}): the atoms of each system must be contiguous, in order")
    if system_index[0] < 0 or system_index[-1] >= n_systems:
        bad = int(system_index[0] if system_index[0] < 0 else system_index[-1])
        raise ValueError(f"system_index holds {bad}, but there are {n_systems} cells (systems 0 .. "
                         f"{n_systems - 1})")
    return np.bincount(system_index, minlength=n_systems).astype(np.int64)


def _pbc(pbc: np.ndarray, n_systems: int) -> np.ndarray:
    check_pbc_dtype(pbc)
    if pbc.shape not in ((), (3,), (n_systems, 3)):
        raise ValueError(f"pbc must be a bool, (3,) or (n_systems, 3) = ({n_systems}, 3), "
                         f"not {pbc.shape}")
    return np.ascontiguousarray(np.broadcast_to(pbc, (n_systems, 3)))


def _total_charges(total_charge: np.ndarray | None, n_systems: int,
                   model_type: str) -> np.ndarray | None:
    if total_charge is None:
        return None
    if not (np.issubdtype(total_charge.dtype, np.floating)
            or np.issubdtype(total_charge.dtype, np.integer)):
        raise TypeError(f"total_charge must be numbers, not {total_charge.dtype}")
    if total_charge.shape not in ((), (n_systems,)):
        raise ValueError(f"total_charge must be a number or (n_systems,) = ({n_systems},), "
                         f"not {total_charge.shape}")
    charges = np.broadcast_to(total_charge.astype(np.float64), (n_systems,)).copy()
    if model_type != "potential_with_charges":
        if np.any(charges != 0.0):
            raise ValueError(f"total_charge applies to charge models; this is a {model_type!r} "
                             "model, which has no charges")
        return None
    return charges
