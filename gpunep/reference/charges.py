"""Charge models (qNEP, ``nep4[_zbl]_charge1|2``): charges, electrostatics, chain rule, BEC.

docs/charges.md (qNEP: Fan et al. 2026, JCTC, doi:10.1021/acs.jctc.6c00146).

Per structure:

1. the network's second head gives raw charges ``q_i^raw``
   (docs/charges.md#charges-from-the-network);
2. they are shifted to the structure's net charge ``Q`` (0 unless the
   structure says otherwise): ``q_i = q_i^raw + (Q - sum_j q_j^raw) / N``;
3. Ewald electrostatics at fixed charges (:mod:`gpunep.reference.ewald`):
   reciprocal space always, real space for ``charge_mode`` 1;
4. the chain rule through the charges
   (docs/charges.md#chain-rule-through-the-charges): with ``D_i = dE_es/dq_i``,
   ``Fp_eff = Fp + (D_i - mean_j D_j) Fp^Q`` enters every descriptor force.
   Subtracting the mean is the derivative through step 2; GPUMD added it in
   2026-04. ``mean_d_correction=False`` leaves it out, as older GPUMD
   outputs and NEP_CPU do;
5. Born effective charges (docs/charges.md#born-effective-charges), scaled
   by ``sqrt_epsilon_infinity``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gpunep.errors import UnsupportedModelError
from gpunep.reference import ann
from gpunep.reference.environment import Descriptors, Tables, describe, pair_forces, zbl_terms
from gpunep.reference.ewald import kvectors, real_space, reciprocal
from gpunep.reference.forces import scatter
from gpunep.reference.neighbors import Pairs
from gpunep.structures import Batch

if TYPE_CHECKING:
    from gpunep.model import Model


@dataclass
class ChargeResult:
    """One structure's outputs from a charge model."""

    energies: np.ndarray          # (N,) network + electrostatics (+ ZBL)
    forces: np.ndarray            # (N, 3)
    virials: np.ndarray           # (N, 3, 3)
    charges: np.ndarray           # (N,) neutralised
    raw_charges: np.ndarray       # (N,) the network's, as GPUMD's charge_train.out
    bec: np.ndarray               # (N, 3, 3)
    descriptors: Descriptors


def ewald_alpha(model: "Model") -> float:
    """GPUMD's Ewald splitting parameter ``alpha = pi / rc_R`` (Å^-1;
    docs/charges.md#ewald-summation).

    qNEP has a single radial cutoff (GPUMD refuses per-type cutoffs,
    docs/charges.md#charge-model-restrictions).
    """
    if not np.isscalar(model.radial_cutoff):
        raise UnsupportedModelError(
            "charge models need a single radial cutoff (Ewald alpha = pi / rc_R, "
            "docs/charges.md#charge-model-restrictions); "
            f"this one has per-type cutoffs {list(model.radial_cutoff)}"
        )
    return math.pi / float(model.radial_cutoff)


def neutralise(raw: np.ndarray, total: float) -> np.ndarray:
    """Shift the charges of one structure equally so that they sum to ``total``
    (docs/charges.md#neutralisation)."""
    return raw + (total - raw.sum()) / raw.shape[0]


def check_periodic(structure: Batch, where: str) -> None:
    """Charge models need a cell periodic in all three directions, as in GPUMD
    (docs/charges.md#charge-model-restrictions)."""
    pbc = structure.pbc[0]
    if not pbc.all():
        raise ValueError(
            f"{where}: charge models need a cell periodic in all three directions "
            f"(Ewald sum, as in GPUMD), this one has pbc={pbc.tolist()}"
        )


def evaluate_structure(model: "Model", tables: Tables, structure: Batch, where: str = "structure",
                       kspace: str = "truncated", mean_d_correction: bool = True) -> ChargeResult:
    """Energies, forces, virials, charges and BEC of one structure (float64).

    Parameters
    ----------
    model : a charge model (``model_type == 'potential_with_charges'``)
    structure : a single-structure batch; ``charges_total[0]`` is its net charge
    where : how error messages name the structure
    kspace : 'truncated' (GPUMD's trainer, default) or 'converged' (see :mod:`ewald`)
    mean_d_correction : subtract ``mean(D)`` in the chain rule (exact gradient;
        docs/charges.md#chain-rule-through-the-charges)
    """
    check_periodic(structure, where)
    n_atoms = structure.n_atoms
    types = structure.types
    d = describe(model, tables, structure)
    energies, fp = ann.energy_and_gradient(model, d.q, types)
    raw, fp_charge = ann.charge_and_gradient(model, d.q, types)
    charges = neutralise(raw, float(structure.charges_total[0]))

    cell = structure.cells[0]
    alpha = ewald_alpha(model)
    es = reciprocal(structure.positions, charges, kvectors(cell, alpha, kspace), alpha,
                    abs(float(np.linalg.det(cell))))
    if model.charge_mode == 1:
        es = es + real_space(d.radial.pairs, charges, alpha)
    potential = es.potential - es.potential.mean() if mean_d_correction else es.potential

    forces, virials = es.forces.copy(), es.virials.copy()
    for pairs, f in pair_forces(model, tables, d, fp + potential[:, None] * fp_charge):
        f_atoms, w_atoms = scatter(pairs, f, n_atoms)
        forces += f_atoms
        virials += w_atoms
    energies = energies + es.energies
    if tables.zbl is not None:
        e_zbl, f_zbl, w_zbl = zbl_terms(model, tables, d, types)
        energies, forces, virials = energies + e_zbl, forces + f_zbl, virials + w_zbl
    bec = born_effective_charges(charges, pair_forces(model, tables, d, fp_charge),
                                 float(model.sqrt_epsilon_infinity))
    return ChargeResult(energies, forces, virials, charges, raw, bec, d)


def born_effective_charges(charges: np.ndarray, charge_pair_forces: list[tuple[Pairs, np.ndarray]],
                           sqrt_epsilon_infinity: float) -> np.ndarray:
    """GPUMD's Born effective charges, shape (N, 3, 3), ``[i, a, b]``
    (docs/charges.md#born-effective-charges).

    ``Z_i = sqrt_eps [ q_i I + 1/2 sum_{i->j} r_ij (x) fq_ij - 1/2 sum_{k->i} r_ki (x) fq_ki ]``
    with ``fq_ij = dq_i^raw/dr_ij``. The pair terms cancel in the sum over
    atoms, so ``sum_i Z_i = sqrt_eps Q I``.
    """
    n_atoms = charges.shape[0]
    bec = charges[:, None, None] * np.eye(3)
    for pairs, f in charge_pair_forces:
        half = 0.5 * pairs.vectors[:, :, None] * f[:, None, :]
        for a in range(3):
            for b in range(3):
                bec[:, a, b] += (np.bincount(pairs.center, half[:, a, b], minlength=n_atoms)
                                 - np.bincount(pairs.neighbor, half[:, a, b], minlength=n_atoms))
    return sqrt_epsilon_infinity * bec
