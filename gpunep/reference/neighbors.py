"""Neighbor pairs: every periodic image within the pair cutoff (NEP_SPEC §3.1).

For atom ``i`` the neighbors are all atoms ``j`` and all their periodic
images with ``|r_j + shift - r_i| < rc(t_i, t_j)`` (strict), including
images of ``i`` itself but not the zero-shift self pair. No minimum-image
assumption: the shifts that can reach the cutoff follow from the cell's face
distances (:func:`gpunep.structures.image_counts`), so tiny, skewed and
partially periodic cells are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from gpunep.structures import image_counts

# Bound on the (centers x shifts x atoms) distance block searched at once.
_SEARCH_BLOCK = 1 << 21


@dataclass(frozen=True)
class Pairs:
    """Directed pairs ``i -> j``, sorted by center.

    Attributes
    ----------
    center, neighbor : (P,) atom indices ``i`` and ``j`` (within the structure)
    vectors : (P, 3) ``r_ij = r_j + shift - r_i``
    distances : (P,) ``|r_ij|``
    """

    center: np.ndarray
    neighbor: np.ndarray
    vectors: np.ndarray
    distances: np.ndarray

    def __len__(self) -> int:
        return int(self.center.shape[0])

    def select(self, mask: np.ndarray) -> "Pairs":
        """The pairs where ``mask`` is true (order kept)."""
        return Pairs(self.center[mask], self.neighbor[mask], self.vectors[mask],
                     self.distances[mask])

    def pair_types(self, types: np.ndarray, n_types: int) -> np.ndarray:
        """``t_i * T + t_j`` per pair (center type first)."""
        return types[self.center].astype(np.int64) * n_types + types[self.neighbor]


def find_pairs(
    positions: np.ndarray,
    cell: np.ndarray,
    pbc: np.ndarray,
    types: np.ndarray,
    cutoffs: np.ndarray,
) -> Pairs:
    """All directed pairs with ``r < cutoffs[t_i, t_j]`` over every periodic image.

    Parameters
    ----------
    positions : (N, 3) Cartesian positions (Å), anywhere in space
    cell : (3, 3) cell vectors as rows; rows along non-periodic directions may be anything
    pbc : (3,) periodicity per cell vector
    types : (N,) type index per atom
    cutoffs : (T, T) pair cutoffs

    Returns
    -------
    Pairs sorted by center (then by shift, then by neighbor index).
    """
    positions = np.asarray(positions, dtype=np.float64)
    pbc = np.asarray(pbc, dtype=bool)
    n_atoms = positions.shape[0]
    rc_max = float(np.max(cutoffs)) if n_atoms else 0.0
    wrapped = _wrap(positions, cell, pbc)
    counts = image_counts(cell, pbc, rc_max) if pbc.any() else np.zeros(3, dtype=np.int64)
    shifts = np.array(list(product(*(range(-n, n + 1) for n in counts))), dtype=np.float64)
    shift_vectors = shifts @ np.asarray(cell, dtype=np.float64)
    zero_shift = int(np.flatnonzero(~shifts.any(axis=1))[0])
    rc_sq = np.asarray(cutoffs, dtype=np.float64) ** 2

    n_shifts = shifts.shape[0]
    chunk = max(1, _SEARCH_BLOCK // max(1, n_shifts * n_atoms))
    parts = []
    for start in range(0, n_atoms, chunk):
        centers = np.arange(start, min(start + chunk, n_atoms))
        # (C, S, N, 3): r_j + shift - r_i
        d = (wrapped[None, None, :, :] + shift_vectors[None, :, None, :]
             - wrapped[centers, None, None, :])
        dist_sq = np.einsum("csnk,csnk->csn", d, d)
        # a hair wide here; the strict r < rc test on the final distances follows
        inside = dist_sq < (1.0 + 1e-12) * rc_sq[types[centers][:, None], types[None, :]][:, None, :]
        inside[np.arange(len(centers)), zero_shift, centers] = False  # the atom itself
        c, s, j = np.nonzero(inside)
        vec = d[c, s, j]
        parts.append((centers[c], j, vec))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty, np.zeros((0, 3)), np.zeros(0))
    center = np.concatenate([p[0] for p in parts]).astype(np.int64)
    neighbor = np.concatenate([p[1] for p in parts]).astype(np.int64)
    vectors = np.concatenate([p[2] for p in parts])
    # Cutoffs compare squared distances; r itself is the norm of the stored vector.
    distances = np.sqrt(np.einsum("pk,pk->p", vectors, vectors))
    keep = distances < np.asarray(cutoffs)[types[center], types[neighbor]]
    return Pairs(center[keep], neighbor[keep], vectors[keep], distances[keep])


def _wrap(positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """Shift every atom by whole periodic cell vectors into the cell (periodic directions only)."""
    if not pbc.any():
        return positions.copy()
    cell = np.asarray(cell, dtype=np.float64)
    full = cell.copy()
    periodic = [cell[d] for d in range(3) if pbc[d]]
    # Non-periodic vectors may be zero: complete the basis with unit vectors
    # orthogonal to the periodic ones (as image_counts does for the thicknesses).
    for d in range(3):
        if not pbc[d]:
            basis = np.vstack([np.array(periodic).reshape(-1, 3), np.zeros((3 - len(periodic), 3))])
            full[d] = np.linalg.svd(basis)[2][-1]
            periodic.append(full[d])
    fractional = positions @ np.linalg.inv(full)
    whole = np.where(pbc, np.floor(fractional), 0.0)
    return positions - whole @ cell
