"""Neighbor pairs: every periodic image within the pair cutoff (docs/descriptors.md#neighbor-sets).

For atom ``i`` the neighbors are all atoms ``j`` and all their periodic
images with ``|r_j + shift - r_i| < rc(t_i, t_j)`` (strict), including
images of ``i`` itself but not the zero-shift self pair. No minimum-image
assumption: the shifts that can reach the cutoff follow from the cell's face
distances (:func:`gpunep.geometry.image_counts`), so tiny, skewed and
partially periodic cells are exact.

The search: wrap the atoms into the cell, lay out every periodic image that
lies within ``rc_max`` of the cell (the "ghosts"), bin the ghosts on a
Cartesian grid of spacing ``rc_max`` and test each atom against the ghosts
of its own and the 26 surrounding bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from gpunep.geometry import completed_cell, image_counts

# Bound on the number of candidate pairs tested at once (memory).
_CANDIDATE_BLOCK = 1 << 21


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
    Pairs sorted by center, then neighbor, then image.
    """
    positions = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    pbc = np.asarray(pbc, dtype=bool)
    cutoffs = np.asarray(cutoffs, dtype=np.float64)
    n_atoms = positions.shape[0]
    if n_atoms == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty, np.zeros((0, 3)), np.zeros(0))
    rc_max = float(cutoffs.max())
    full = completed_cell(cell, pbc)
    wrapped, ghost_atom, ghost_pos, ghost_unshifted = _ghosts(positions, cell, full, pbc, rc_max)

    # Cartesian bins of side rc_max: a neighbor is in the center's bin or one of the 26 around it.
    origin = ghost_pos.min(axis=0)
    ghost_bin = np.floor((ghost_pos - origin) / rc_max).astype(np.int64)
    n_bins = ghost_bin.max(axis=0) + 3   # room for the -1 / +1 neighbors of any center bin
    ghost_key = _bin_key(ghost_bin + 1, n_bins)
    order = np.argsort(ghost_key, kind="stable")
    ghost_key, ghost_atom, ghost_pos = ghost_key[order], ghost_atom[order], ghost_pos[order]
    ghost_unshifted = ghost_unshifted[order]
    center_bin = np.floor((wrapped - origin) / rc_max).astype(np.int64) + 1

    rc_sq = cutoffs**2
    parts = []
    for offset in product((-1, 0, 1), repeat=3):
        keys = _bin_key(center_bin + np.array(offset), n_bins)
        first = np.searchsorted(ghost_key, keys, side="left")
        count = np.searchsorted(ghost_key, keys, side="right") - first
        for centers in _blocks(count):
            c = np.repeat(centers, count[centers])
            within = np.arange(c.shape[0]) - np.repeat(np.cumsum(count[centers]) - count[centers],
                                                       count[centers])
            g = first[c] + within
            vec = ghost_pos[g] - wrapped[c]
            j = ghost_atom[g]
            dist_sq = np.einsum("pk,pk->p", vec, vec)
            # a hair wide here; the strict r < rc test on the final distances follows
            keep = dist_sq < (1.0 + 1e-12) * rc_sq[types[c], types[j]]
            keep &= ~((j == c) & ghost_unshifted[g])   # the atom itself
            parts.append((c[keep], j[keep], vec[keep], g[keep]))
    center = np.concatenate([p[0] for p in parts])
    neighbor = np.concatenate([p[1] for p in parts])
    vectors = np.concatenate([p[2] for p in parts])
    ghost = np.concatenate([p[3] for p in parts])
    distances = np.sqrt(np.einsum("pk,pk->p", vectors, vectors))
    if np.any(distances == 0.0):
        p = int(np.argmax(distances == 0.0))
        raise ValueError(f"atoms {center[p]} and {neighbor[p]} (or a periodic image of it) "
                         f"are at the same position {positions[center[p]]}")
    keep = distances < cutoffs[types[center], types[neighbor]]
    order = np.lexsort((ghost[keep], neighbor[keep], center[keep]))
    return Pairs(center[keep][order], neighbor[keep][order], vectors[keep][order],
                 distances[keep][order])


def _ghosts(positions, cell, full, pbc, rc_max):
    """Wrapped positions, and every periodic image within ``rc_max`` of the cell.

    Returns
    -------
    wrapped : (N, 3) positions shifted by whole periodic cell vectors into the cell
    ghost_atom : (G,) which atom each image is
    ghost_pos : (G, 3) image positions ``wrapped[j] + shift``
    ghost_unshifted : (G,) true for the zero shift (the atoms themselves)
    """
    inverse = np.linalg.inv(full)
    fractional = positions @ inverse
    whole = np.where(pbc, np.floor(fractional), 0.0)
    wrapped = positions - whole @ cell
    fractional = fractional - whole
    counts = image_counts(cell, pbc, rc_max)
    shifts = np.array(list(product(*(range(-n, n + 1) for n in counts))), dtype=np.float64)
    # An image further than rc_max (in fractional units rc_max / thickness) outside the
    # cell along a periodic direction cannot be a neighbor of an atom inside it.
    reach = rc_max * np.linalg.norm(inverse, axis=0)   # rc / thickness per direction
    image_frac = fractional[None, :, :] + shifts[:, None, :]
    inside = np.all(~pbc | ((image_frac > -reach - 1e-9) & (image_frac < 1.0 + reach + 1e-9)),
                    axis=2)
    s, j = np.nonzero(inside)
    ghost_pos = wrapped[j] + shifts[s] @ cell
    return wrapped, j.astype(np.int64), ghost_pos, ~shifts[s].any(axis=1)


def _bin_key(bins: np.ndarray, n_bins: np.ndarray) -> np.ndarray:
    return (bins[:, 0] * n_bins[1] + bins[:, 1]) * n_bins[2] + bins[:, 2]


def _blocks(count: np.ndarray):
    """Groups of consecutive centers whose candidate counts add up to about _CANDIDATE_BLOCK."""
    total = np.cumsum(count)
    start = 0
    while start < count.shape[0]:
        base = total[start - 1] if start else 0
        end = int(np.searchsorted(total, base + _CANDIDATE_BLOCK, side="right"))
        end = max(end, start + 1)
        yield np.arange(start, min(end, count.shape[0]))
        start = end
