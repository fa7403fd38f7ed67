"""One structure's local environments: neighbor sets, descriptor, pair forces.

What every model type shares (docs/descriptors.md, docs/forces.md#pair-forces):
the neighbor sets, the descriptor of every atom and, for any per-atom scalar ``F_i`` of the
descriptor with gradient ``dF_i/dq``, the pair partial forces
``f_ij = dF_i/dr_ij`` over the radial and the angular set. Potentials,
charge models (``F`` = energy or raw charge) and tensor models (``F`` = the
dipole or polarizability network) differ only in how they use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

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
from gpunep.reference.neighbors import Pairs, find_pairs
from gpunep.reference.zbl import zbl_pair_parameters, zbl_pair_terms
from gpunep.structures import Batch

if TYPE_CHECKING:
    from gpunep.model import Model


@dataclass
class Tables:
    """What the evaluation of every structure reads from the model, laid out once."""

    rc_radial: np.ndarray         # (T, T) pair cutoffs
    rc_angular: np.ndarray
    c_radial: np.ndarray          # (T*T, n+1, k+1) coefficients, center type first
    c_angular: np.ndarray
    blocks: list[AngularBlock]
    zbl: np.ndarray | None        # (T, T, 10) switch and screening per type pair

    @classmethod
    def of(cls, model: "Model") -> "Tables":
        rc_radial, rc_angular = model.type_pair_cutoffs()
        return cls(rc_radial, rc_angular,
                   coefficient_table(model.radial_descriptor_weights, model.types),
                   coefficient_table(model.angular_descriptor_weights, model.types),
                   angular_blocks(model),
                   zbl_pair_parameters(model) if model.zbl is not None else None)


@dataclass
class Descriptors:
    """One structure's descriptor and what the forces reuse."""

    q: np.ndarray                 # (N, dim) unscaled
    radial: RadialFunctions
    angular: RadialFunctions
    s: np.ndarray                 # (N, n_max_angular + 1, n_alpha)


def describe(model: "Model", tables: Tables, structure: Batch) -> Descriptors:
    """Neighbors, radial functions, angular sums and the unscaled descriptor.

    docs/descriptors.md
    """
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
    return Descriptors(q, radial, angular, s)


def pair_forces(model: "Model", tables: Tables, d: Descriptors,
                gradient: np.ndarray) -> list[tuple[Pairs, np.ndarray]]:
    """``f_ij = dF_i/dr_ij`` of a per-atom scalar ``F`` of the descriptor
    (docs/forces.md#pair-forces).

    Parameters
    ----------
    gradient : (N, dim) ``dF_i/dq`` with respect to the unscaled descriptor

    Returns
    -------
    ``[(radial pairs, (P_R, 3)), (angular pairs, (P_A, 3))]``: the two sets'
    pair partial forces, which every consumer sums over both sets.
    """
    n_radial = model.n_max_radial + 1
    grad_s = angular_sum_gradient(d.s, gradient[:, n_radial:], tables.blocks)
    return [(d.radial.pairs, radial_pair_forces(d.radial, gradient[:, :n_radial])),
            (d.angular.pairs, angular_pair_forces(d.angular, grad_s, model.l_max_3b))]


def zbl_terms(model: "Model", tables: Tables, d: Descriptors,
              types: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ZBL per-atom energies, forces and virials over the angular pairs.

    docs/forces.md#zbl-repulsion
    """
    n_atoms = d.q.shape[0]
    pairs = d.angular.pairs
    pair_energy, pair_force = zbl_pair_terms(pairs, types, np.array(model.atomic_numbers),
                                             tables.zbl)
    forces, virials = scatter(pairs, pair_force, n_atoms)
    return np.bincount(pairs.center, pair_energy, minlength=n_atoms), forces, virials
