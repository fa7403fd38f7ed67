"""Packing ASE structures into flat batches and back.

A batch concatenates the atoms of many structures. Per atom: ``positions``
(N, 3), ``types`` (N,) model type index, ``system_index`` (N,). Per
structure: ``cells`` (S, 3, 3) with the cell vectors as rows (ASE's
convention), ``pbc`` (S, 3) and ``offsets`` (S + 1,) so that the atoms of
structure ``s`` are ``offsets[s]:offsets[s + 1]``.

Units and signs used everywhere in gpunep: Å, eV, eV/Å. The virial is
``W = -sum_ij r_ij (x) f_ij`` (eV, positive under compression, GPUMD's sign);
ASE's stress is ``-W / V``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from ase import Atoms

    from gpunep.model import Model


@dataclass(frozen=True)
class Batch:
    """Structures packed for evaluation (see the module docstring)."""

    positions: np.ndarray
    types: np.ndarray
    cells: np.ndarray
    pbc: np.ndarray
    offsets: np.ndarray

    @property
    def n_atoms(self) -> int:
        return int(self.positions.shape[0])

    @property
    def n_structures(self) -> int:
        return int(self.cells.shape[0])

    @property
    def system_index(self) -> np.ndarray:
        counts = np.diff(self.offsets)
        return np.repeat(np.arange(self.n_structures, dtype=np.int32), counts)

    def structure(self, s: int) -> "Batch":
        """The single-structure batch holding structure ``s``."""
        a, b = int(self.offsets[s]), int(self.offsets[s + 1])
        return Batch(
            positions=self.positions[a:b],
            types=self.types[a:b],
            cells=self.cells[s : s + 1],
            pbc=self.pbc[s : s + 1],
            offsets=np.array([0, b - a], dtype=np.int64),
        )


@dataclass
class BatchResult:
    """What an evaluation returns, for every structure of a batch.

    Attributes
    ----------
    energy : (S,) total potential energy per structure (eV)
    virial : (S, 3, 3) total virial per structure, ``W[a, b] = -sum r_a f_b`` (eV)
    energies : (N,) per-atom potential energies (eV)
    forces : (N, 3) forces (eV/Å)
    virials : (N, 3, 3) per-atom virials, GPUMD's neighbor-side split; they sum
        to ``virial`` over the atoms of each structure (eV)
    descriptors : (N, dim) scaled descriptors ``x = q_scaler * q``, or None
    backend, precision : what computed it
    """

    energy: np.ndarray
    virial: np.ndarray
    energies: np.ndarray
    forces: np.ndarray
    virials: np.ndarray
    descriptors: np.ndarray | None = None
    backend: str = ""
    precision: str = ""

    def check_finite(self) -> None:
        """Raise if any output is NaN or infinite (never return silently wrong numbers)."""
        for name in ("energy", "virial", "energies", "forces", "virials", "descriptors"):
            value = getattr(self, name)
            if value is not None and not np.all(np.isfinite(value)):
                bad = np.argwhere(~np.isfinite(np.asarray(value)))[0]
                raise FloatingPointError(
                    f"{self.backend} backend produced a non-finite {name} at index {tuple(bad)}"
                )


def pack(structures: "Atoms | Sequence[Atoms]", model: "Model") -> Batch:
    """Pack one or many ASE ``Atoms`` into a :class:`Batch` for ``model``.

    Raises
    ------
    ValueError
        An atom whose species the model lacks (names the species, the atom
        and the structure), NaN/inf positions or cell, or a degenerate cell
        along a periodic direction.
    """
    from ase import Atoms

    if isinstance(structures, Atoms):
        structures = [structures]
    type_of = {symbol: t for t, symbol in enumerate(model.types)}
    positions, types, cells, pbcs, counts = [], [], [], [], []
    for s, atoms in enumerate(structures):
        where = f"structure {s}" if len(structures) > 1 else "structure"
        symbols = atoms.get_chemical_symbols()
        try:
            t = np.fromiter((type_of[x] for x in symbols), dtype=np.int32, count=len(symbols))
        except KeyError:
            i = next(i for i, x in enumerate(symbols) if x not in type_of)
            raise ValueError(
                f"{where}: atom {i} is {symbols[i]}, a species the model does not have "
                f"(model species: {', '.join(model.types)})"
            ) from None
        pos = np.asarray(atoms.get_positions(), dtype=np.float64)
        cell = np.asarray(atoms.get_cell()[:], dtype=np.float64)
        pbc = np.asarray(atoms.get_pbc(), dtype=bool)
        if not np.all(np.isfinite(pos)):
            i = int(np.argwhere(~np.isfinite(pos))[0, 0])
            raise ValueError(f"{where}: atom {i} has a non-finite position {pos[i]}")
        if not np.all(np.isfinite(cell)):
            raise ValueError(f"{where}: the cell has non-finite entries")
        if pbc.any():
            _check_cell(cell, pbc, where)
        positions.append(pos)
        types.append(t)
        cells.append(cell)
        pbcs.append(pbc)
        counts.append(len(atoms))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Batch(
        positions=np.ascontiguousarray(np.concatenate(positions) if positions else np.zeros((0, 3))),
        types=np.ascontiguousarray(np.concatenate(types) if types else np.zeros(0, np.int32)),
        cells=np.ascontiguousarray(np.array(cells).reshape(-1, 3, 3)),
        pbc=np.ascontiguousarray(np.array(pbcs, dtype=bool).reshape(-1, 3)),
        offsets=offsets,
    )


def face_distances(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell (its thicknesses), shape (3,).

    ``thickness_d = V / |a_e x a_f|``; the number of periodic images that a
    cutoff ``rc`` reaches along ``d`` is ``ceil(rc / thickness_d)``.
    """
    volume = abs(np.linalg.det(cell))
    areas = np.array(
        [np.linalg.norm(np.cross(cell[1], cell[2])),
         np.linalg.norm(np.cross(cell[2], cell[0])),
         np.linalg.norm(np.cross(cell[0], cell[1]))]
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
    return np.where(pbc, np.ceil(cutoff / _periodic_thickness(cell, pbc)), 0).astype(np.int64)


def _periodic_thickness(cell: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    # Replace non-periodic vectors by unit vectors orthogonal to the periodic
    # ones, so that they neither shrink nor stretch the periodic thicknesses.
    full = np.array(cell, dtype=np.float64)
    periodic = [full[d] for d in range(3) if pbc[d]]
    for d in range(3):
        if not pbc[d]:
            basis = np.array(periodic).reshape(-1, 3)
            # the first unit vector orthogonal to everything chosen so far
            _, _, vt = np.linalg.svd(np.vstack([basis, np.zeros((3 - len(basis), 3))]))
            full[d] = vt[-1] if len(basis) else np.eye(3)[d]
            periodic.append(full[d])
    return face_distances(full)


def _check_cell(cell: np.ndarray, pbc: np.ndarray, where: str) -> None:
    lengths = np.linalg.norm(cell, axis=1)
    for d in np.flatnonzero(pbc):
        if lengths[d] == 0.0:
            raise ValueError(f"{where}: periodic along cell vector {d}, but that vector is zero")
    if pbc.all():
        scale = float(np.prod(lengths))
        if abs(np.linalg.det(cell)) <= 1e-10 * scale:
            raise ValueError(f"{where}: the cell is degenerate (zero volume) but periodic")
    else:
        # A partially periodic cell: the periodic vectors must be independent.
        periodic = cell[pbc]
        if np.linalg.matrix_rank(periodic, tol=1e-10 * float(lengths.max())) < len(periodic):
            raise ValueError(f"{where}: the periodic cell vectors are linearly dependent")
