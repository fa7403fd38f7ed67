"""Per-structure geometry of a batch for the neighbor and model kernels ("frames").

Computed on the host from the batch's cells once per evaluation (a few
numbers per structure), uploaded with the atoms. The layout is that of
``kernels/nep_frame.cuh``, whose ``NEP_FRAME_*`` offsets are read from the
header itself. Per structure:

* the cell, and the inverse of the *completed* cell (non-periodic vectors
  replaced by unit vectors orthogonal to the periodic ones), so that
  fractional coordinates along periodic directions and plain lengths along
  the others come from one product;
* the reach of the search radius in units of each periodic thickness;
* ``mic``: every reach below 1/2, so the nearest image of an atom is the only
  one within any cutoff and the lists need not store lattice shifts;
* for the cell-list strategy, the bin grid and stencil.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gpunep.executors.kernel_source import header_constants

MAX_SHIFT = 511
"""Largest lattice shift a list entry can store (10 bits, kernels/nep_frame.cuh)."""

_MAX_BINS_PER_DIRECTION = 1 << 20


@lru_cache(maxsize=1)
def frame_offsets() -> dict[str, int]:
    """``NEP_FRAME_*`` constants of kernels/nep_frame.cuh."""
    return header_constants("nep_frame.cuh", "NEP_FRAME_")


@dataclass(frozen=True)
class Frames:
    """Host arrays of a batch's per-structure geometry.

    Attributes
    ----------
    doubles : (S, NEP_FRAME_DOUBLES) float64
    ints : (S, NEP_FRAME_INTS) int32
    needs_shifts : whether any structure's lists must store lattice shifts
    n_bins : bins of all structures together (0 unless binned)
    """

    doubles: np.ndarray
    ints: np.ndarray
    needs_shifts: bool
    n_bins: int


def search_radius(rc_radial_pairs: np.ndarray, rc_angular_pairs: np.ndarray) -> float:
    """A hair above the largest pair cutoff, so that rounding in fractional coordinates
    can never put a pair within its cutoff outside the searched region."""
    rc = max(float(np.max(rc_radial_pairs)), float(np.max(rc_angular_pairs)))
    return rc * (1.0 + 1e-12) + 1e-9


def completed_cells(cells: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """(S, 3, 3) cells with every non-periodic vector replaced by a unit vector
    orthogonal to the periodic ones (the identity's rows without periodicity)."""
    completed = np.array(cells, dtype=np.float64, copy=True).reshape(-1, 3, 3)
    pbc = np.asarray(pbc, dtype=bool).reshape(-1, 3)
    for pattern in {tuple(row) for row in pbc.tolist()}:
        rows = np.flatnonzero(np.all(pbc == pattern, axis=1))
        periodic = [d for d in range(3) if pattern[d]]
        free = [d for d in range(3) if not pattern[d]]
        if not free:
            continue
        a = completed[rows]
        if len(periodic) == 2:
            normals = [np.cross(a[:, periodic[0]], a[:, periodic[1]])]
        elif len(periodic) == 1:
            p = a[:, periodic[0]]
            axis = np.argmin(np.abs(p), axis=1)  # the axis p is least aligned with
            u0 = np.cross(p, np.eye(3)[axis])
            u0 /= np.linalg.norm(u0, axis=1, keepdims=True)
            normals = [u0, np.cross(p, u0)]
        else:
            normals = [np.broadcast_to(np.eye(3)[d], (len(rows), 3)) for d in free]
        for d, u in zip(free, normals):
            completed[rows, d] = u / np.linalg.norm(u, axis=1, keepdims=True)
    return completed


def _inverse_and_thickness(completed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse (f = r . inv) and face distances of cells whose rows are the vectors."""
    c0 = np.cross(completed[:, 1], completed[:, 2])
    c1 = np.cross(completed[:, 2], completed[:, 0])
    c2 = np.cross(completed[:, 0], completed[:, 1])
    det = np.einsum("sc,sc->s", completed[:, 0], c0)
    inverse = np.stack([c0, c1, c2], axis=2) / det[:, None, None]  # [s, c, e]
    norms = np.stack([np.linalg.norm(c, axis=1) for c in (c0, c1, c2)], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        thickness = np.abs(det)[:, None] / norms
    return inverse, thickness


def batch_frames(cells: np.ndarray, pbc: np.ndarray, offsets: np.ndarray, rc_search: float,
                 binned: bool) -> Frames:
    """The frames of a batch (see the module docstring).

    Parameters
    ----------
    cells : (S, 3, 3) float64, rows are the cell vectors
    pbc : (S, 3) periodicity per direction
    offsets : (S + 1,) atoms of structure s are ``offsets[s]:offsets[s + 1]``
    rc_search : :func:`search_radius`
    binned : fill the cell-list grid (only the cell-list strategy reads it)

    Raises
    ------
    ValueError
        A periodic cell so thin along some direction that a cutoff sphere
        needs more than :data:`MAX_SHIFT` images of it (the structure and the
        direction named).
    """
    names = frame_offsets()
    cells = np.asarray(cells, dtype=np.float64).reshape(-1, 3, 3)
    pbc = np.asarray(pbc, dtype=bool).reshape(-1, 3)
    n_structures = cells.shape[0]
    completed = completed_cells(cells, pbc)
    inverse, thickness = _inverse_and_thickness(completed)
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(pbc, rc_search / thickness, 0.0)
    bad = np.argwhere(~np.isfinite(reach) | (reach > MAX_SHIFT))
    if bad.size:
        s, d = (int(v) for v in bad[0])
        raise ValueError(
            f"structure {s}: the periodic cell is {thickness[s, d]:.3g} Å thick across cell "
            f"vector {d} {cells[s, d].tolist()}, so a {rc_search:.3g} Å cutoff reaches "
            f"{reach[s, d]:.3g} images of it (at most {MAX_SHIFT} are supported)")
    doubles = np.zeros((n_structures, names["NEP_FRAME_DOUBLES"]))
    doubles[:, names["NEP_FRAME_CELL"]:names["NEP_FRAME_CELL"] + 9] = cells.reshape(-1, 9)
    doubles[:, names["NEP_FRAME_INVERSE"]:names["NEP_FRAME_INVERSE"] + 9] = inverse.reshape(-1, 9)
    doubles[:, names["NEP_FRAME_REACH"]:names["NEP_FRAME_REACH"] + 3] = reach
    doubles[:, names["NEP_FRAME_RADIUS"]] = rc_search
    ints = np.zeros((n_structures, names["NEP_FRAME_INTS"]), dtype=np.int32)
    ints[:, names["NEP_FRAME_PERIODIC"]:names["NEP_FRAME_PERIODIC"] + 3] = pbc
    mic = np.all(reach < 0.5, axis=1)
    ints[:, names["NEP_FRAME_MIC"]] = mic
    n_bins = 0
    if binned:
        n_bins = _bin_grids(ints, names, pbc, thickness, np.diff(offsets), rc_search)
    return Frames(doubles, ints, bool(not np.all(mic)), n_bins)


def _bin_grids(ints: np.ndarray, names: dict[str, int], pbc: np.ndarray, thickness: np.ndarray,
               counts: np.ndarray, rc_search: float) -> int:
    """Fill the cell-list grid of every structure into ``ints``; returns the total bins.

    Periodic directions get floor(thickness / rc) bins (at least 1; a thinner
    cell is searched through several images), halved along the finest
    direction while the structure has more bins than atoms + 1; non-periodic
    directions are hashed modulo at least 3 bins (so their 3 stencil bins are
    distinct) from what is left of that budget. The stencil half-width is 1
    where a bin is at least rc wide.
    """
    first = 0
    for s in range(len(counts)):
        budget = int(counts[s]) + 1
        nb = [min(max(math.floor(thickness[s, d] / rc_search), 1), _MAX_BINS_PER_DIRECTION)
              if pbc[s, d] else 1 for d in range(3)]
        while math.prod(nb) > budget:
            d = int(np.argmax(nb))
            nb[d] = (nb[d] + 1) // 2
        free = [d for d in range(3) if not pbc[s, d]]
        if free:
            room = budget / math.prod(nb)
            each = int(math.floor(room ** (1.0 / len(free))))
            while each > 1 and each ** len(free) * math.prod(nb) > budget:
                each -= 1
            for d in free:
                nb[d] = max(each, 3)
        # the factor only absorbs the last-bit rounding of a ratio that is 1 in exact arithmetic
        stencil = [max(1, math.ceil(rc_search * nb[d] / thickness[s, d] * (1.0 - 1e-13)))
                   if pbc[s, d] else 1 for d in range(3)]
        row = ints[s]
        row[names["NEP_FRAME_BINS"]:names["NEP_FRAME_BINS"] + 3] = nb
        row[names["NEP_FRAME_STENCIL"]:names["NEP_FRAME_STENCIL"] + 3] = stencil
        row[names["NEP_FRAME_FIRST_BIN"]] = first
        row[names["NEP_FRAME_N_BINS"]] = math.prod(nb)
        first += math.prod(nb)
    return first
