"""Ewald electrostatics of point charges in a periodic cell, at fixed charges.

docs/charges.md#ewald-summation (Ewald 1921, Ann. Phys. 369 253).

Charge models split ``1/r`` with ``alpha = pi / rc_R``:

* reciprocal part (``charge_mode`` 1 and 2), a sum over an explicit list of
  k-vectors per structure: :func:`kvectors` then :func:`reciprocal`;
* real-space part (``charge_mode`` 1 only): ``erfc(alpha r)/r`` over the
  radial neighbor set plus the self term: :func:`real_space`.

Each part returns the per-atom energies, forces, per-atom virials and the
electrostatic potential ``D_i = dE/dq_i`` that the chain rule through the
charges needs. Per-atom splits: the reciprocal energy and virial are
assigned as GPUMD's ``kspace ewald`` and NEP_CPU do,
``E_i = K_C q_i sum_k G(k) Re(S(k) e^{i k.r_i})``; the real-space pair terms
half to each atom (center- and neighbor-side splits coincide for a
symmetric pair term).

Truncation. GPUMD's trainer and ``kspace ewald`` keep ``|k| < 2 pi alpha``
(``kspace='truncated'``, the default, what models were trained with).
``kspace='converged'`` keeps ``|k| < 4 pi alpha``, where the Gaussian
factor ``exp(-k^2 / 4 alpha^2)`` has fallen to ``exp(-4 pi^2) ~ 7e-18``:
the sum GPUMD's default ``kspace pppm`` approximates in MD. The two differ
by 1.6e-4 to 2.5e-4 eV in the energy of a 250-atom PbTe cell
(tests/reference/test_charges.py; docs/validation.md#charge-model-outputs).
A model trained on the truncated sum is best evaluated with it;
``converged`` is for comparing with GPUMD MD runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gpunep.constants import K_C
from gpunep.reference.forces import scatter
from gpunep.reference.neighbors import Pairs

KSPACE = ("truncated", "converged")
# |k| cutoff in units of 2 pi alpha per kspace mode (see the module docstring).
_K_CUTOFF_FACTOR = {"truncated": 1.0, "converged": 2.0}
# Atoms x k-vectors per block of the reciprocal sum (memory bound).
_BLOCK = 1 << 20

_erfc = np.vectorize(math.erfc, otypes=[np.float64])


@dataclass
class Electrostatics:
    """Electrostatic energy and its derivatives at fixed charges.

    Attributes
    ----------
    energies : (N,) eV
    forces : (N, 3) eV/Å, at fixed charges
    virials : (N, 3, 3) eV; they sum to ``W = -dE/d eps``
    potential : (N,) ``D_i = dE/dq_i`` (eV/e)
    """

    energies: np.ndarray
    forces: np.ndarray
    virials: np.ndarray
    potential: np.ndarray

    def __add__(self, other: "Electrostatics") -> "Electrostatics":
        return Electrostatics(self.energies + other.energies, self.forces + other.forces,
                              self.virials + other.virials, self.potential + other.potential)


def k_cutoff(alpha: float, kspace: str = "truncated") -> float:
    """The ``|k|`` cutoff of ``kspace`` mode: ``2 pi alpha`` (truncated) or ``4 pi alpha`` (converged)."""
    if kspace not in _K_CUTOFF_FACTOR:
        raise ValueError(f"kspace must be one of {', '.join(KSPACE)}, not {kspace!r}")
    return _K_CUTOFF_FACTOR[kspace] * 2.0 * math.pi * alpha


def kvectors(cell: np.ndarray, alpha: float, kspace: str = "truncated") -> np.ndarray:
    """The reciprocal vectors of one structure's Ewald sum, half space, shape (K, 3).

    ``k = n1 b1 + n2 b2 + n3 b3`` with ``a_i . b_j = 2 pi delta_ij`` (cell
    rows ``a_i``), ``0 <= n1 <= n1_max``, ``|n2| <= n2_max``, ``|n3| <= n3_max``
    where ``n_d_max = floor(k_c |a_d| / 2 pi)`` (``= floor(alpha |a_d|)`` for
    the truncated sum); ``(0, 0, 0)`` and the mirror half (``n1 = 0, n2 < 0``
    and ``n1 = n2 = 0, n3 < 0``) are left out; kept are ``|k|^2 < k_c^2``.
    Order: ``n1``, then ``n2``, then ``n3`` ascending (GPUMD's loop order).

    Parameters
    ----------
    cell : (3, 3) cell vectors as rows (Å), periodic in all three directions
    alpha : the Ewald splitting parameter (Å^-1)
    kspace : 'truncated' or 'converged' (see :func:`k_cutoff`)
    """
    cell = np.asarray(cell, dtype=np.float64)
    kc = k_cutoff(alpha, kspace)
    reciprocal_cell = 2.0 * math.pi * np.linalg.inv(cell).T        # rows b_d
    n_max = np.floor(kc * np.linalg.norm(cell, axis=1) / (2.0 * math.pi)).astype(np.int64)
    n1, n2, n3 = np.meshgrid(np.arange(0, n_max[0] + 1), np.arange(-n_max[1], n_max[1] + 1),
                             np.arange(-n_max[2], n_max[2] + 1), indexing="ij")
    n = np.stack([n1.ravel(), n2.ravel(), n3.ravel()], axis=1)
    mirror = (n[:, 0] == 0) & ((n[:, 1] < 0) | ((n[:, 1] == 0) & (n[:, 2] <= 0)))
    k = n[~mirror] @ reciprocal_cell
    return k[np.einsum("ka,ka->k", k, k) < kc * kc]


def reciprocal(positions: np.ndarray, charges: np.ndarray, k: np.ndarray, alpha: float,
               volume: float) -> Electrostatics:
    """The reciprocal-space sum of one structure over the k-vectors ``k``
    (docs/charges.md#reciprocal-space).

    With ``S(k) = sum_j q_j e^{-i k.r_j}`` and
    ``G(k) = (4 pi / V) exp(-k^2 / 4 alpha^2) / k^2`` (half space):
    ``E = K_C sum_k G |S|^2``, ``D_i = 2 K_C sum_k G Re(S e^{i k.r_i})``,
    ``F_i = 2 K_C q_i sum_k G k Im(S e^{i k.r_i})`` and
    ``W_ab = K_C sum_k G |S|^2 [delta_ab - 2 (1/(4 alpha^2) + 1/k^2) k_a k_b]``.
    """
    n_atoms = positions.shape[0]
    energies, potential = np.zeros(n_atoms), np.zeros(n_atoms)
    forces, virials = np.zeros((n_atoms, 3)), np.zeros((n_atoms, 3, 3))
    step = max(1, _BLOCK // max(n_atoms, 1))
    for start in range(0, k.shape[0], step):
        kb = k[start:start + step]
        ksq = np.einsum("ka,ka->k", kb, kb)
        g = (4.0 * math.pi / volume) * np.exp(-ksq / (4.0 * alpha * alpha)) / ksq
        phase = positions @ kb.T                                      # (N, K)
        cos, sin = np.cos(phase), np.sin(phase)
        s_real, s_imag = charges @ cos, -(charges @ sin)
        real = cos * s_real - sin * s_imag                            # Re(S e^{ik.r_i})
        imag = sin * s_real + cos * s_imag                            # Im(S e^{ik.r_i})
        real_g = real * g
        energies += K_C * charges * real_g.sum(axis=1)
        potential += 2.0 * K_C * real_g.sum(axis=1)
        forces += 2.0 * K_C * charges[:, None] * ((imag * g) @ kb)
        strain = 2.0 * (1.0 / (4.0 * alpha * alpha) + 1.0 / ksq)
        weighted = K_C * charges[:, None] * real_g                    # (N, K)
        virials += (weighted.sum(axis=1)[:, None, None] * np.eye(3)
                    - np.einsum("nk,ka,kb->nab", weighted * strain, kb, kb))
    return Electrostatics(energies, forces, virials, potential)


def real_space(pairs: Pairs, charges: np.ndarray, alpha: float) -> Electrostatics:
    """The real-space and self terms of ``charge_mode`` 1 over directed ``pairs``
    (docs/charges.md#real-space-and-self-term).

    ``E = K_C [ -alpha/sqrt(pi) sum_i q_i^2 + 1/2 sum_{i->j} q_i q_j erfc(alpha r)/r ]``,
    no shift at the cutoff (as in GPUMD).
    """
    n_atoms = charges.shape[0]
    r = pairs.distances
    qi, qj = charges[pairs.center], charges[pairs.neighbor]
    screened = _erfc(alpha * r) / r
    two_alpha_over_sqrt_pi = 2.0 * alpha / math.sqrt(math.pi)
    energies = (np.bincount(pairs.center, 0.5 * K_C * qi * qj * screened, minlength=n_atoms)
                - K_C * 0.5 * two_alpha_over_sqrt_pi * charges**2)
    potential = (np.bincount(pairs.center, K_C * qj * screened, minlength=n_atoms)
                 - K_C * two_alpha_over_sqrt_pi * charges)
    # f_ij = d(1/2 K_C q_i q_j erfc(alpha r)/r) / dr_ij, the center's half of the pair energy
    radial = screened + two_alpha_over_sqrt_pi * np.exp(-(alpha * r) ** 2)
    pair_forces = (-0.5 * K_C * qi * qj * radial / (r * r))[:, None] * pairs.vectors
    forces, virials = scatter(pairs, pair_forces, n_atoms)
    return Electrostatics(energies, forces, virials, potential)
