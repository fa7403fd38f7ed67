"""Dipole and polarizability models (TNEP, ``nep*_dipole``, ``nep*_polarizability``).

docs/tensors.md; Xu et al. 2024, J. Chem. Theory Comput. 20 3273.

Both read the potential machinery differently. With ``F_i`` the (first)
network's output and ``f_ij = dF_i/dr_ij`` its pair partial forces over the
radial and the angular set (as GPUMD's trainer):

* dipole: ``mu_a = -sum_{i->j} |r_ij|^2 f_ij,a``;
* polarizability: ``alpha_ab = delta_ab sum_i F^s_i - sum_{i->j} r_ij,a f_ij,b``
  with ``F^s`` the second (scalar) network, its bias subtracted.

Units are those of the training data. Rotating a structure rotates ``mu``
as a vector and ``alpha`` as a tensor (the network outputs are invariants).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gpunep.reference import ann
from gpunep.reference.environment import Descriptors, Tables, pair_forces

if TYPE_CHECKING:
    from gpunep.model import Model


def dipole(model: "Model", tables: Tables, d: Descriptors, types: np.ndarray) -> np.ndarray:
    """The dipole of one structure from a dipole model, shape (3,)."""
    _, gradient = ann.energy_and_gradient(model, d.q, types)
    total = np.zeros(3)
    for pairs, f in pair_forces(model, tables, d, gradient):
        total -= np.einsum("p,pa->a", pairs.distances**2, f)
    return total


def polarizability(model: "Model", tables: Tables, d: Descriptors, types: np.ndarray) -> np.ndarray:
    """The polarizability of one structure from a polarizability model, shape (3, 3)."""
    _, gradient = ann.energy_and_gradient(model, d.q, types)      # the tensor network
    total = ann.scalar_polarizability(model, d.q, types).sum() * np.eye(3)
    for pairs, f in pair_forces(model, tables, d, gradient):
        total -= np.einsum("pa,pb->ab", pairs.vectors, f)
    return total
