"""Cell geometry of a structure: checking its cell, periodic thicknesses and images, wrapping.

Cell vectors are rows (ASE's convention), lengths in Å; ``pbc[d]`` says
whether the structure repeats along cell vector ``d``. Vectors along
non-periodic directions may be zero or anything: they only matter for the
volume (stress). :func:`check_cell` and :func:`wrap_positions` run on the
host while structures are packed (:func:`gpunep.structures.pack`), so every
backend sees only cells it can handle and positions inside their cell.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: Largest number of periodic images a pair cutoff may need along one cell
#: vector (cutoff / thickness). Beyond it a structure costs (2 n + 1) images per
#: direction in every neighbor search, and is either unphysical (a thickness of
#: cutoff / 32, 0.25 Å for 8 Å, is far below any interatomic distance in a cell
#: that is not skewed) or a needlessly skewed description of a lattice that a
#: reduced cell describes with a few images.
MAX_IMAGES_PER_DIRECTION = 32

#: Periodic cell vectors count as linearly dependent when the volume (area) they
#: span divided by the product of their lengths, the product of the sines of
#: the angles between them, falls below this: a test of the cell's shape that
#: is the same whatever the length of each vector (lengths have their own test).
DEGENERATE_SINE = 1e-10

# Veltkamp's splitter for float64: 2**27 + 1 cuts a double into two halves whose
# products are exact (Dekker 1971, Numer. Math. 18, 224).
_SPLITTER = 134217729.0
# Above 2**52 a double has no fraction bits: the atom's place within the cell is lost.
_MAX_EXACT_SHIFT = 2.0**52


def completed_cell(cell: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """The cell with each non-periodic vector replaced by a unit vector orthogonal to the others.

    Periodic thicknesses and fractional coordinates along periodic directions
    are measured in this basis, so non-periodic vectors (zero, or anything)
    neither shrink nor stretch them.
    """
    full = np.array(cell, dtype=np.float64)
    chosen = [full[d] for d in range(3) if pbc[d]]
    for d in range(3):
        if not pbc[d]:
            basis = np.vstack([np.array(chosen).reshape(-1, 3), np.zeros((3 - len(chosen), 3))])
            full[d] = np.linalg.svd(basis)[2][-1]
            chosen.append(full[d])
    return full


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a x b`` of 3-vectors (the last axis): the products and differences of ``np.cross``
    (so the same bits), without its general-shape overhead (~45 us a call)."""
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
                     a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def face_distances(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell (its thicknesses), shape (3,).

    ``thickness_d = V / |a_e x a_f|``; the number of periodic images that a
    cutoff ``rc`` reaches along ``d`` is ``ceil(rc / thickness_d)``.
    """
    volume = abs(np.linalg.det(cell))
    areas = np.array(
        [np.linalg.norm(cross(cell[1], cell[2])),
         np.linalg.norm(cross(cell[2], cell[0])),
         np.linalg.norm(cross(cell[0], cell[1]))]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(areas > 0, volume / areas, 0.0)


def image_counts(cell: np.ndarray, pbc: np.ndarray, cutoff: float) -> np.ndarray:
    """How many periodic images along each cell vector a sphere of ``cutoff`` reaches.

    Shifts ``-n_d .. n_d`` along each periodic direction ``d`` cover every
    image within ``cutoff`` of any atom of the cell, for any cell shape
    (triclinic, tiny, skewed). Non-periodic directions get 0. Non-periodic
    cell vectors are ignored: the thickness of a periodic direction is
    measured within the lattice of the periodic vectors only. Atoms are
    assumed to lie within the cell along periodic directions only up to a
    whole number of cell vectors; callers wrap positions first or add one.
    """
    thickness = face_distances(completed_cell(cell, pbc))
    return np.where(pbc, np.ceil(cutoff / thickness), 0).astype(np.int64)


def check_cell(cell: np.ndarray, pbc: np.ndarray, cutoff: float, where: str) -> None:
    """Refuse a periodic cell that no neighbor search can handle, before anything is allocated.

    Parameters
    ----------
    cell : (3, 3) finite cell vectors as rows (Å)
    pbc : (3,) periodicity per cell vector
    cutoff : the largest pair cutoff of the model (Å)
    where : how messages name the structure, e.g. ``"structure 3"``

    Raises
    ------
    ValueError
        A zero periodic vector; periodic vectors that are linearly dependent
        (:data:`DEGENERATE_SINE`); or a periodic direction so thin that the
        cutoff would need more than :data:`MAX_IMAGES_PER_DIRECTION` images
        along it. The message names the structure and the cell vector.
    """
    pbc = np.asarray(pbc, dtype=bool)
    if not pbc.any():
        return
    lengths = np.linalg.norm(cell, axis=1)
    for d in np.flatnonzero(pbc):
        if lengths[d] == 0.0:
            raise ValueError(f"{where}: periodic along cell vector {d}, but that vector is zero")
    unit = cell[pbc] / lengths[pbc, None]
    sines = np.sqrt(max(float(np.linalg.det(unit @ unit.T)), 0.0))
    if sines <= DEGENERATE_SINE:
        if pbc.all():
            raise ValueError(f"{where}: the cell is degenerate (zero volume) but periodic")
        raise ValueError(f"{where}: the periodic cell vectors are linearly dependent")
    thickness = face_distances(completed_cell(cell, pbc))
    with np.errstate(divide="ignore"):  # a zero thickness: infinitely many images, refused below
        images = np.where(pbc, cutoff / thickness, 0.0)
    d = int(np.argmax(images))
    if images[d] > MAX_IMAGES_PER_DIRECTION:
        raise ValueError(
            f"{where}: periodic cell vector {d} = {cell[d].tolist()} Å makes the cell only "
            f"{thickness[d]:.3g} Å thick along it, so the cutoff of {cutoff:g} Å would reach "
            f"{images[d]:.3g} periodic images that way (at most {MAX_IMAGES_PER_DIRECTION}). "
            "A real crystal has no periodic direction that thin: check the cell, or reduce "
            "a very skewed cell first (ase.geometry.minkowski_reduce)")


def cell_volume(cell: np.ndarray) -> float:
    """The cell's volume (Å³) if it is three-dimensional, else 0.

    Three-dimensional: three non-zero vectors that are not linearly
    dependent by the test of :func:`check_cell`, whatever ``pbc`` says (a
    slab or a molecule in a box has a volume, and so a stress).
    """
    cell = np.asarray(cell, dtype=np.float64)
    lengths = np.linalg.norm(cell, axis=1)
    volume = abs(float(np.linalg.det(cell)))
    if np.any(lengths == 0.0) or volume <= DEGENERATE_SINE * float(np.prod(lengths)):
        return 0.0
    return volume


def wrap_positions(positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray,
                   where: str) -> np.ndarray:
    """``positions`` moved by whole periodic cell vectors into the cell, without rounding error.

    Along each periodic direction an atom moves by ``-floor(s_d)`` cell
    vectors (``s`` its fractional coordinates); non-periodic coordinates
    stay. The difference ``r - sum_d n_d a_d`` is formed with error-free
    products and sums (Dekker 1971; Ogita, Rump and Oishi 2005, SIAM J. Sci.
    Comput. 26, 1955), so the result is the exact difference to about one
    unit in the last place: an atom 1e12 Å away gives the numbers of the
    wrapped structure, where a plain ``r - n @ cell`` would be off by ~1e-4 Å. Atoms already in the
    cell are returned bit for bit.

    Raises
    ------
    ValueError
        An atom so far outside the cell (beyond 2**52 cells) that a double
        no longer locates it within the cell; names the atom.
    """
    pbc = np.asarray(pbc, dtype=bool)
    if not pbc.any() or positions.shape[0] == 0:
        return positions
    fractional = positions @ np.linalg.inv(completed_cell(cell, pbc))
    shifts = np.where(pbc, np.floor(fractional), 0.0)
    if not shifts.any():
        return positions
    too_far = np.abs(shifts) > _MAX_EXACT_SHIFT
    if too_far.any():
        i = int(np.argwhere(too_far)[0, 0])
        raise ValueError(f"{where}: atom {i} at {positions[i].tolist()} Å is more than 2**52 "
                         "cells outside the periodic cell: a double cannot place it within the cell")
    total, error = positions.copy(), np.zeros_like(positions)
    for d in np.flatnonzero(pbc):
        product, product_error = _two_product(shifts[:, d:d + 1], cell[d][None, :])
        for term in (product, product_error):
            total, rounding = _two_sum(total, -term)
            error += rounding
    return total + error


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scaled = _SPLITTER * a
    high = scaled - (scaled - a)
    return high, a - high


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a * b`` and its rounding error: ``a * b == p + e`` exactly."""
    p = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(b)
    e = ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low
    return p, e


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a + b`` and its rounding error: ``a + b == s + e`` exactly (Knuth)."""
    s = a + b
    b_virtual = s - a
    e = (a - (s - b_virtual)) + (b - b_virtual)
    return s, e


def stress_volumes(cells: np.ndarray, wanted: Sequence[str]) -> np.ndarray | None:
    """Each system's volume (Å³) when a stress is ``wanted``, else None.

    Raises
    ------
    ValueError
        A stress wanted of a system without a three-dimensional cell (named).
    """
    stresses = [name for name in wanted if name in ("stress", "stresses")]
    if not stresses:
        return None
    volumes = np.array([cell_volume(cell) for cell in cells])
    flat = np.flatnonzero(volumes == 0.0)
    if flat.size:
        s = int(flat[0])
        verb = "needs" if len(stresses) == 1 else "need"
        where = f"system {s}" if len(volumes) > 1 else "system"
        raise ValueError(f"{where}: {' and '.join(stresses)} {verb} a three-dimensional cell (three "
                         f"non-zero, independent vectors); its cell is {cells[s].tolist()}")
    return volumes


# Margins of the batched pre-checks below: a cell or atom this close to a limit
# is decided by the exact per-structure function instead, whatever the rounding
# of the batched arithmetic.
_SURE_SINE = 2.0 * DEGENERATE_SINE
_SURE_IMAGES = 0.999 * MAX_IMAGES_PER_DIRECTION
_SURE_INSIDE = 1e-9


def cells_surely_valid(cells: np.ndarray, pbc: np.ndarray, cutoff: float) -> np.ndarray:
    """(S,) which cells :func:`check_cell` certainly accepts, decided for all at once.

    Cells without periodicity, and periodic-in-3D cells with non-zero vectors
    far from both limits (shape and images); every other cell is for
    :func:`check_cell` to judge (False here says nothing against it).
    """
    sure = ~pbc.any(axis=1)
    full = np.flatnonzero(pbc.all(axis=1))
    if full.size:
        cell = cells[full]
        lengths = np.linalg.norm(cell, axis=2)
        unit = cell / np.where(lengths > 0.0, lengths, 1.0)[:, :, None]
        gram = unit @ np.swapaxes(unit, 1, 2)
        sines = np.sqrt(np.maximum(np.linalg.det(gram), 0.0))
        volume = np.abs(np.linalg.det(cell))
        areas = np.stack([np.linalg.norm(cross(cell[:, e], cell[:, f]), axis=1)
                          for e, f in ((1, 2), (2, 0), (0, 1))], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            images = cutoff * areas / volume[:, None]
        # a zero face area is a zero thickness to check_cell, whatever the volume rounds to
        sure[full] = ((lengths > 0.0).all(axis=1) & (sines > _SURE_SINE) & (areas > 0.0).all(axis=1)
                      & (images < _SURE_IMAGES).all(axis=1))
    return sure


def atoms_surely_inside(positions: np.ndarray, cells: np.ndarray, pbc: np.ndarray,
                        offsets: np.ndarray) -> np.ndarray:
    """(S,) which structures :func:`wrap_positions` certainly returns unchanged, decided
    for all at once: those without periodicity, and periodic-in-3D ones (with cells
    :func:`check_cell` accepts) whose atoms all lie well inside the cell. Atoms near a
    face, or outside, leave their structure to :func:`wrap_positions`."""
    counts = np.diff(offsets)
    sure = ~pbc.any(axis=1) | (counts == 0)
    full = pbc.all(axis=1) & (counts > 0)
    if full.any():
        structure = np.repeat(np.arange(len(counts)), counts)
        mine = full[structure]
        inverse = np.linalg.inv(cells[full])
        slot = np.cumsum(full) - 1  # each full structure's row of `inverse`
        rows, inverses = positions[mine], inverse[slot[structure[mine]]]
        fractional = np.einsum("nc,ncd->nd", rows, inverses)
        # the products' sum rounds differently from wrap_positions' matrix product: by
        # up to a few ulps of the sum of the terms' magnitudes, which huge cells make large
        margin = _SURE_INSIDE + 8.0 * np.finfo(np.float64).eps * np.einsum(
            "nc,ncd->nd", np.abs(rows), np.abs(inverses))
        outside = ~((fractional >= margin) & (fractional < 1.0 - margin)).all(axis=1)
        near = np.bincount(structure[mine][outside], minlength=len(counts))
        sure[full] = near[full] == 0
    return sure
