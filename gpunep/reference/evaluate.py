"""The reference evaluation: neighbors -> descriptors -> ANN -> forces, virials.

Plain float64 numpy, written from NEP_SPEC §3 for clarity; the cross-check
every other backend is measured against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gpunep.errors import UnsupportedModelError
from gpunep.reference import ann
from gpunep.reference.descriptors import (
    AngularBlock,
    RadialFunctions,
    angular_blocks,
    angular_descriptor,
    angular_sum_gradient,
    angular_sums,
    coefficient_table,
    pair_functions,
    radial_descriptor,
)
from gpunep.reference.forces import angular_pair_forces, radial_pair_forces, scatter
from gpunep.reference.neighbors import find_pairs
from gpunep.reference.zbl import zbl_pair_parameters, zbl_pair_terms
from gpunep.structures import Batch, BatchResult

if TYPE_CHECKING:
    from gpunep.model import Model


@dataclass
class _Tables:
    """What the evaluation of every structure reads from the model, laid out once."""

    rc_radial: np.ndarray         # (T, T) pair cutoffs
    rc_angular: np.ndarray
    c_radial: np.ndarray          # (T*T, n+1, k+1) coefficients, center type first
    c_angular: np.ndarray
    blocks: list[AngularBlock]
    zbl: np.ndarray | None        # (T, T, 10) switch and screening per type pair

    @classmethod
    def of(cls, model: "Model") -> "_Tables":
        rc_radial, rc_angular = model.type_pair_cutoffs()
        return cls(rc_radial, rc_angular,
                   coefficient_table(model.radial_descriptor_weights, model.types),
                   coefficient_table(model.angular_descriptor_weights, model.types),
                   angular_blocks(model),
                   zbl_pair_parameters(model) if model.zbl is not None else None)


@dataclass
class _Descriptors:
    """One structure's descriptor and what the forces reuse."""

    q: np.ndarray                 # (N, dim) unscaled
    radial: RadialFunctions
    angular: RadialFunctions
    s: np.ndarray                 # (N, n_max_angular + 1, n_alpha)


def evaluate(model: "Model", batch: Batch, descriptors: bool = False) -> BatchResult:
    """Energies, forces and virials of every structure of ``batch`` (float64).

    Parameters
    ----------
    model : a potential model (NEP3, NEP4 or NEP5, with or without ZBL)
    batch : structures packed by :func:`gpunep.structures.pack`
    descriptors : also return the scaled descriptors ``q_scaler * q`` per atom

    Returns
    -------
    BatchResult with backend ``'reference'`` and precision ``'float64'``.

    Raises
    ------
    UnsupportedModelError
        For charge, dipole, polarizability and temperature models (the
        descriptors of dipole and polarizability models are available from
        :func:`compute_descriptors`).
    """
    if model.model_type != "potential":
        raise UnsupportedModelError(
            f"the reference backend does not evaluate {model.model_type!r} models yet "
            "(only 'potential'); compute_descriptors() works for dipole and polarizability models"
        )
    n, dim = batch.n_atoms, model.n_descriptor
    energies = np.zeros(n)
    forces = np.zeros((n, 3))
    virials = np.zeros((n, 3, 3))
    scaled = np.zeros((n, dim)) if descriptors else None
    tables = _Tables.of(model)
    for s in range(batch.n_structures):
        part = slice(int(batch.offsets[s]), int(batch.offsets[s + 1]))
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
                       precision="float64")


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
    tables = _Tables.of(model)
    for s in range(batch.n_structures):
        part = slice(int(batch.offsets[s]), int(batch.offsets[s + 1]))
        out[part] = _descriptors(model, tables, batch.structure(s)).q * model.q_scaler
    return out


def _descriptors(model: "Model", tables: _Tables, structure: Batch) -> _Descriptors:
    """Neighbors, radial functions, angular sums and the unscaled descriptor (§3.1-3.7)."""
    n_atoms = structure.n_atoms
    types = structure.types
    rc_radial, rc_angular = tables.rc_radial, tables.rc_angular
    pairs = find_pairs(structure.positions, structure.cells[0], structure.pbc[0], types,
                       np.maximum(rc_radial, rc_angular))
    ti, tj = types[pairs.center], types[pairs.neighbor]
    radial = pair_functions(pairs.select(pairs.distances < rc_radial[ti, tj]), types, rc_radial,
                            tables.c_radial)
    angular = pair_functions(pairs.select(pairs.distances < rc_angular[ti, tj]), types,
                             rc_angular, tables.c_angular)
    s = angular_sums(angular, model.l_max_3b, n_atoms)
    q = np.concatenate([radial_descriptor(radial, n_atoms), angular_descriptor(s, tables.blocks)],
                       axis=1)
    return _Descriptors(q, radial, angular, s)


def _evaluate_structure(model: "Model", tables: _Tables, structure: Batch):
    """Per-atom energies, forces, virials (§3.8-3.11) and the unscaled descriptor of one structure."""
    n_atoms = structure.n_atoms
    d = _descriptors(model, tables, structure)
    energies, fp = ann.energy_and_gradient(model, d.q, structure.types)
    n_radial = model.n_max_radial + 1
    grad_s = angular_sum_gradient(d.s, fp[:, n_radial:], tables.blocks)
    f_radial, w_radial = scatter(d.radial.pairs, radial_pair_forces(d.radial, fp[:, :n_radial]),
                                 n_atoms)
    f_angular, w_angular = scatter(d.angular.pairs,
                                   angular_pair_forces(d.angular, grad_s, model.l_max_3b), n_atoms)
    forces, virials = f_radial + f_angular, w_radial + w_angular
    if tables.zbl is not None:
        # ZBL pairs are the angular neighbors (§3.11)
        pair_energy, pair_forces = zbl_pair_terms(d.angular.pairs, structure.types,
                                                  np.array(model.atomic_numbers), tables.zbl)
        energies = energies + np.bincount(d.angular.pairs.center, pair_energy, minlength=n_atoms)
        f_zbl, w_zbl = scatter(d.angular.pairs, pair_forces, n_atoms)
        forces, virials = forces + f_zbl, virials + w_zbl
    return energies, forces, virials, d.q
