"""Forces and virials by the chain rule (docs/forces.md; Fan et al. 2021 PRB 104 104309).

Everything goes through the pair partial force ``f_ij = dU_i / dr_ij`` (the
derivative of the center's energy with respect to ``r_ij = r_j - r_i``) and
one scatter: ``F_i += f_ij``, ``F_j -= f_ij``, per-atom virial (GPUMD's
neighbor-side split) ``W_j += -r_ij (x) f_ij``, total ``W = -sum r_ij (x) f_ij``.
"""

from __future__ import annotations

import numpy as np

from gpunep.reference.angular import harmonics
from gpunep.reference.descriptors import RadialFunctions, center_chunks
from gpunep.reference.neighbors import Pairs


def radial_pair_forces(radial: RadialFunctions, fp_radial: np.ndarray) -> np.ndarray:
    """``f^R_ij = sum_n dU_i/dq_n g_n'(r) u``, shape (P, 3).

    docs/forces.md#radial-pair-forces
    """
    pairs = radial.pairs
    u = pairs.vectors / pairs.distances[:, None]
    scale = np.einsum("pn,pn->p", fp_radial[pairs.center], radial.dg)
    return scale[:, None] * u


def angular_pair_forces(angular: RadialFunctions, grad_s: np.ndarray, l_max: int) -> np.ndarray:
    """``f^A_ij = sum_{n,alpha} G_{n,alpha}(i) d[g_n(r) Y_alpha(u)] / dr_ij``, shape (P, 3).

    docs/forces.md#angular-pair-forces, with

    ``d[g Y(u)]/dr = g'(r) Y(u) u + g(r)/r [grad Y - (u . grad Y) u]``.
    """
    pairs = angular.pairs
    forces = np.empty((len(pairs), 3))
    for part in center_chunks(pairs.center):
        r = pairs.distances[part]
        u = pairs.vectors[part] / r[:, None]
        y, dy = harmonics(u, l_max)
        g_i = grad_s[pairs.center[part]]                              # (p, n, alpha)
        along = np.einsum("pn,pna->pa", angular.dg[part], g_i)         # sum_n G g_n'
        across = np.einsum("pn,pna->pa", angular.g[part], g_i)         # sum_n G g_n
        v = np.einsum("pa,pak->pk", across, dy)
        tangential = v - np.einsum("pk,pk->p", v, u)[:, None] * u
        forces[part] = np.einsum("pa,pa->p", along, y)[:, None] * u + tangential / r[:, None]
    return forces


def scatter(pairs: Pairs, pair_forces: np.ndarray, n_atoms: int) -> tuple[np.ndarray, np.ndarray]:
    """Forces and neighbor-side per-atom virials from pair partial forces.

    Returns
    -------
    forces : (N, 3) ``F_i = sum_j f_ij - sum_j f_ji``
    virials : (N, 3, 3) ``W_j[a, b] += -r_ij,a f_ij,b``; they sum to the total virial
    """
    forces = np.empty((n_atoms, 3))
    for k in range(3):
        forces[:, k] = (np.bincount(pairs.center, pair_forces[:, k], minlength=n_atoms)
                        - np.bincount(pairs.neighbor, pair_forces[:, k], minlength=n_atoms))
    outer = -pairs.vectors[:, :, None] * pair_forces[:, None, :]
    virials = np.empty((n_atoms, 3, 3))
    for a in range(3):
        for b in range(3):
            virials[:, a, b] = np.bincount(pairs.neighbor, outer[:, a, b], minlength=n_atoms)
    return forces, virials
