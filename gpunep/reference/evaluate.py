"""The reference evaluation: neighbors -> descriptors -> networks -> forces, virials.

Plain float64 numpy, written from the formulas of docs/ for clarity; the
cross-check every other backend is measured against. One structure at a
time: potentials (docs/descriptors.md, docs/network.md, docs/forces.md),
charge models (docs/charges.md, :mod:`gpunep.reference.charges`) and
dipole / polarizability models (docs/tensors.md, :mod:`gpunep.reference.tnep`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gpunep.errors import UnsupportedModelError
from gpunep.reference import ann, charges, tnep
from gpunep.reference.environment import Tables, describe, pair_forces, zbl_terms
from gpunep.reference.ewald import KSPACE
from gpunep.reference.forces import scatter
from gpunep.structures import Batch, BatchResult

if TYPE_CHECKING:
    from gpunep.model import Model

_TENSOR_MODELS = ("dipole", "polarizability")


def evaluate(model: "Model", batch: Batch, descriptors: bool = False, *,
             kspace: str = "truncated", mean_d_correction: bool = True) -> BatchResult:
    """Everything the model predicts for every structure of ``batch`` (float64).

    Parameters
    ----------
    model : a potential (NEP3/4/5, with or without ZBL), charge, dipole or
        polarizability model
    batch : structures packed by :func:`gpunep.structures.pack`
    descriptors : also return the scaled descriptors ``q_scaler * q`` per atom
    kspace : charge models: 'truncated' (``|k| < 2 pi alpha``, as GPUMD's
        trainer and ``kspace ewald``; default) or 'converged' (the full
        Ewald sum that GPUMD's default PPPM approximates)
    mean_d_correction : charge models: the exact chain rule through the
        charge neutralisation (GPUMD since 2026-04); False reproduces older
        GPUMD outputs and NEP_CPU
        (docs/charges.md#chain-rule-through-the-charges)

    Returns
    -------
    BatchResult with backend ``'reference'`` and precision ``'float64'``.
    Potentials fill energies, forces and virials; charge models also
    ``charges`` (neutralised), ``raw_charges`` and ``bec``, their energies including the
    electrostatics; dipole and polarizability models only ``dipole`` or
    ``polarizability`` (their energy fields are None).

    Raises
    ------
    UnsupportedModelError
        For temperature models.
    ValueError
        A charge model on a structure that is not periodic in all three
        directions; an unknown ``kspace``.
    """
    if model.model_type == "temperature":
        raise UnsupportedModelError(
            "the reference backend does not evaluate 'temperature' models yet "
            "(their descriptor ends with a temperature, which structures do not carry)"
        )
    if kspace not in KSPACE:
        raise ValueError(f"kspace must be one of {', '.join(KSPACE)}, not {kspace!r}")
    if model.model_type in _TENSOR_MODELS:
        return _evaluate_tensor(model, batch, descriptors)
    with_charges = model.model_type == "potential_with_charges"
    n, dim = batch.n_atoms, model.n_descriptor
    energies = np.zeros(n)
    forces = np.zeros((n, 3))
    virials = np.zeros((n, 3, 3))
    scaled = np.zeros((n, dim)) if descriptors else None
    atom_charges = np.zeros(n) if with_charges else None
    raw = np.zeros(n) if with_charges else None
    bec = np.zeros((n, 3, 3)) if with_charges else None
    tables = Tables.of(model)
    for s in range(batch.n_structures):
        part = slice(int(batch.offsets[s]), int(batch.offsets[s + 1]))
        if with_charges:
            r = charges.evaluate_structure(model, tables, batch.structure(s), _where(batch, s),
                                           kspace=kspace, mean_d_correction=mean_d_correction)
            e, f, w, q = r.energies, r.forces, r.virials, r.descriptors.q
            atom_charges[part], raw[part], bec[part] = r.charges, r.raw_charges, r.bec
        else:
            e, f, w, q = _evaluate_structure(model, tables, batch.structure(s))
        energies[part], forces[part], virials[part] = e, f, w
        if scaled is not None:
            scaled[part] = q * model.q_scaler
    energy = np.zeros(batch.n_structures)
    virial = np.zeros((batch.n_structures, 3, 3))
    np.add.at(energy, batch.system_index, energies)
    np.add.at(virial, batch.system_index, virials)
    return BatchResult(energy=energy, virial=virial, energies=energies, forces=forces,
                       virials=virials, descriptors=scaled, backend="reference",
                       precision="float64", charges=atom_charges, raw_charges=raw, bec=bec)


def compute_descriptors(model: "Model", batch: Batch) -> np.ndarray:
    """The scaled descriptors ``q_scaler * q`` of every atom, (N, dim).

    The descriptor does not depend on what the network predicts, so this
    works for potential, charge, dipole and polarizability models alike.
    Temperature models append the temperature, which a structure does not
    carry, and are refused.
    """
    if model.model_type == "temperature":
        raise UnsupportedModelError(
            "the descriptor of a 'temperature' model ends with the temperature; "
            "the reference backend does not take one yet"
        )
    out = np.zeros((batch.n_atoms, model.n_descriptor))
    tables = Tables.of(model)
    for s in range(batch.n_structures):
        part = slice(int(batch.offsets[s]), int(batch.offsets[s + 1]))
        out[part] = describe(model, tables, batch.structure(s)).q * model.q_scaler
    return out


def _where(batch: Batch, s: int) -> str:
    return f"structure {s}" if batch.n_structures > 1 else "structure"


def _evaluate_tensor(model: "Model", batch: Batch, descriptors: bool) -> BatchResult:
    """Dipoles or polarizabilities per structure (docs/tensors.md)."""
    is_dipole = model.model_type == "dipole"
    values = np.zeros((batch.n_structures, 3) if is_dipole else (batch.n_structures, 3, 3))
    scaled = np.zeros((batch.n_atoms, model.n_descriptor)) if descriptors else None
    tables = Tables.of(model)
    for s in range(batch.n_structures):
        structure = batch.structure(s)
        d = describe(model, tables, structure)
        values[s] = (tnep.dipole if is_dipole else tnep.polarizability)(model, tables, d,
                                                                        structure.types)
        if scaled is not None:
            scaled[int(batch.offsets[s]):int(batch.offsets[s + 1])] = d.q * model.q_scaler
    return BatchResult(energy=None, virial=None, energies=None, forces=None, virials=None,
                       descriptors=scaled, backend="reference", precision="float64",
                       dipole=values if is_dipole else None,
                       polarizability=None if is_dipole else values)


def _evaluate_structure(model: "Model", tables: Tables, structure: Batch):
    """Per-atom energies, forces, virials and the unscaled descriptor of one structure.

    docs/network.md, docs/forces.md
    """
    n_atoms = structure.n_atoms
    d = describe(model, tables, structure)
    energies, fp = ann.energy_and_gradient(model, d.q, structure.types)
    forces, virials = np.zeros((n_atoms, 3)), np.zeros((n_atoms, 3, 3))
    for pairs, f in pair_forces(model, tables, d, fp):
        f_atoms, w_atoms = scatter(pairs, f, n_atoms)
        forces += f_atoms
        virials += w_atoms
    if tables.zbl is not None:
        e_zbl, f_zbl, w_zbl = zbl_terms(model, tables, d, structure.types)
        energies, forces, virials = energies + e_zbl, forces + f_zbl, virials + w_zbl
    return energies, forces, virials, d.q
