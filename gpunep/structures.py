"""Packing ASE structures into flat batches and back.

A batch concatenates the atoms of many structures. Per atom: ``positions``
(N, 3), ``types`` (N,) model type index, ``system_index`` (N,). Per
structure: ``cells`` (S, 3, 3) with the cell vectors as rows (ASE's
convention), ``pbc`` (S, 3) and ``offsets`` (S + 1,) so that the atoms of
structure ``s`` are ``offsets[s]:offsets[s + 1]``. Charge models also read
``charges_total`` (S,), each structure's net charge (e), zero unless given.

Units and signs used everywhere in gpunep: Å, eV, eV/Å. The virial is
``W = -sum_ij r_ij (x) f_ij`` (eV, positive under compression, GPUMD's sign);
ASE's stress is ``-W / V``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from gpunep.geometry import atoms_surely_inside, cells_surely_valid, check_cell, wrap_positions

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
    charges_total: np.ndarray | None = None

    def __post_init__(self) -> None:
        # None means neutral structures; stored as zeros so consumers need no branch.
        if self.charges_total is None:
            object.__setattr__(self, "charges_total", np.zeros(self.cells.shape[0]))

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
        return self.subset(s, s + 1)

    def subset(self, first: int, last: int) -> "Batch":
        """The batch of structures ``first .. last - 1`` (every per-structure field kept)."""
        a, b = int(self.offsets[first]), int(self.offsets[last])
        return Batch(
            positions=self.positions[a:b],
            types=self.types[a:b],
            cells=self.cells[first:last],
            pbc=self.pbc[first:last],
            offsets=self.offsets[first:last + 1] - self.offsets[first],
            charges_total=self.charges_total[first:last],
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
    charges : (N,) charge models: the neutralised charges (e), else None
    raw_charges : (N,) charge models: the network's charges before neutralisation
        (GPUMD's charge_train.out), else None
    bec : (N, 3, 3) charge models: Born effective charges ``[i, a, b]`` (e), else None
    dipole : (S, 3) dipole models: the dipole of each structure, else None
    polarizability : (S, 3, 3) polarizability models: the polarizability, else None
    backend, precision : what computed it

    Dipole and polarizability models have no energy: their ``energy``,
    ``virial``, ``energies``, ``forces`` and ``virials`` are None.
    """

    energy: np.ndarray | None
    virial: np.ndarray | None
    energies: np.ndarray | None
    forces: np.ndarray | None
    virials: np.ndarray | None
    descriptors: np.ndarray | None = None
    backend: str = ""
    precision: str = ""
    charges: np.ndarray | None = None
    raw_charges: np.ndarray | None = None
    bec: np.ndarray | None = None
    dipole: np.ndarray | None = None
    polarizability: np.ndarray | None = None

    def check_finite(self) -> None:
        """Raise if any output is NaN or infinite (never return silently wrong numbers)."""
        for name in ("energy", "virial", "energies", "forces", "virials", "descriptors",
                     "charges", "raw_charges", "bec", "dipole", "polarizability"):
            value = getattr(self, name)
            if value is not None and not np.all(np.isfinite(value)):
                bad = np.argwhere(~np.isfinite(np.asarray(value)))[0]
                raise FloatingPointError(
                    f"{self.backend} backend produced a non-finite {name} at index {tuple(bad)}"
                )


PER_ATOM = ("energies", "virials")
"""The per-atom outputs an evaluation may return besides forces (:func:`per_atom_outputs`)."""


def per_atom_outputs(per_atom: bool | Iterable[str]) -> frozenset[str]:
    """The per-atom outputs asked for: True for all of :data:`PER_ATOM`, False for none,
    or the names given.

    Raises
    ------
    ValueError
        A name not in :data:`PER_ATOM`.
    """
    if per_atom is True:
        return frozenset(PER_ATOM)
    if per_atom is False:
        return frozenset()
    names = frozenset(per_atom)
    unknown = sorted(names - set(PER_ATOM))
    if unknown:
        raise ValueError(f"per-atom outputs are {', '.join(PER_ATOM)}, not {', '.join(unknown)}")
    return names


def pack(structures: "Atoms | Sequence[Atoms]", model: "Model") -> Batch:
    """Pack one or many ASE ``Atoms`` into a :class:`Batch` for ``model``.

    Positions are wrapped into the cell along periodic directions, exactly
    (:func:`gpunep.geometry.wrap_positions`), so an atom far outside its cell
    gives the numbers of the wrapped structure on every backend. For charge
    models the net charge of a structure is ``atoms.info['charge']``
    (extxyz ``charge=``) where given, else 0. The checks are those of
    :func:`batch_from_arrays`.

    Raises
    ------
    ValueError
        An atom whose species the model lacks (names the species, the atom
        and the structure), NaN/inf positions or cell, a degenerate cell
        along a periodic direction, or (charge models) a ``charge`` that is
        not a finite number. Periodic cells are checked by
        :func:`gpunep.geometry.check_cell`: a zero or dependent periodic
        vector, or a direction so thin that the model's cutoff would need
        more than :data:`~gpunep.geometry.MAX_IMAGES_PER_DIRECTION` images.
        Every message names the structure.
    """
    from ase import Atoms

    if isinstance(structures, Atoms):
        structures = [structures]
    with_charges = model.model_type == "potential_with_charges"
    many = len(structures) > 1
    totals = [_total_charge(atoms, f"structure {s}" if many else "structure")
              for s, atoms in enumerate(structures)] if with_charges else None
    return batch_from_arrays(
        model,
        positions=_joined([a.get_positions() for a in structures], (0, 3), np.float64),
        numbers=_joined([a.numbers for a in structures], (0,), np.int64),
        cells=np.array([a.get_cell()[:] for a in structures], dtype=np.float64).reshape(-1, 3, 3),
        pbc=np.array([a.get_pbc() for a in structures], dtype=bool).reshape(-1, 3),
        counts=np.array([len(a) for a in structures], dtype=np.int64),
        charges_total=None if totals is None else np.array(totals, dtype=np.float64),
    )


def batch_from_arrays(model: "Model", positions: np.ndarray, numbers: np.ndarray, cells: np.ndarray,
                      pbc: np.ndarray, counts: np.ndarray, charges_total: np.ndarray | None = None,
                      *, noun: str = "structure") -> Batch:
    """A :class:`Batch` for ``model`` from host arrays, every structure checked and wrapped.

    Parameters
    ----------
    model : the model whose species the atomic numbers map to
    positions : (N, 3) float64, Å; the atoms of structure ``s`` are the
        ``counts[s]`` rows after those of structures ``0 .. s - 1``
    numbers : (N,) atomic numbers
    cells : (S, 3, 3) float64, cell vectors as rows (Å)
    pbc : (S, 3) bool
    counts : (S,) atoms per structure
    charges_total : (S,) net charge per structure (charge models), or None
    noun : how messages name a structure (``'structure'``, ``'system'``)

    Raises
    ------
    ValueError
        As :func:`pack`: a species the model lacks, non-finite positions,
        cells or charges, a periodic cell :func:`~gpunep.geometry.check_cell`
        refuses. The message names the structure (``noun s``) and the atom
        within it.
    """
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    type_of = type_table(model)
    # one structure (an MD step) is checked faster alone than by the batched pre-checks
    checked = None if len(counts) == 1 else _checked_at_once(
        model, type_of, positions, numbers, cells, pbc, offsets, charges_total, noun)
    if checked is None:  # a structure fails a check: the one-by-one pass names the first
        checked = _checked_one_by_one(model, type_of, positions, numbers, cells, pbc, offsets,
                                      charges_total, noun)
    types, wrapped = checked
    return Batch(positions=np.ascontiguousarray(wrapped), types=types,
                 cells=np.ascontiguousarray(cells, dtype=np.float64),
                 pbc=np.ascontiguousarray(pbc, dtype=bool), offsets=offsets,
                 charges_total=charges_total)


def _checked_at_once(model: "Model", type_of: np.ndarray, positions: np.ndarray, numbers: np.ndarray,
                     cells: np.ndarray, pbc: np.ndarray, offsets: np.ndarray,
                     charges_total: np.ndarray | None, noun: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Types and wrapped positions of a batch, its checks made on all structures at once
    where that is certain, one by one where it is not (a cell near a limit, atoms near
    or outside a face); None when any structure fails a check. Equal, bit for bit, to
    :func:`_checked_one_by_one`, which is per structure in Python (~0.2 ms each)."""
    inside = (numbers >= 0) & (numbers < len(type_of))
    types = np.where(inside, type_of[np.where(inside, numbers, 0)], -1).astype(np.int32)
    finite = np.isfinite(positions).all() and np.isfinite(cells).all()
    if (types < 0).any() or not finite or (
            charges_total is not None and not np.isfinite(charges_total).all()):
        return None
    cutoff = model.max_cutoff
    unsure_cell = ~cells_surely_valid(cells, pbc, cutoff)
    try:
        for s in np.flatnonzero(unsure_cell):
            check_cell(cells[s], pbc[s], cutoff, _where(noun, s, len(cells)))
        wrapped = positions.copy()
        for s in np.flatnonzero(~atoms_surely_inside(positions, cells, pbc, offsets)):
            atoms = slice(int(offsets[s]), int(offsets[s + 1]))
            wrapped[atoms] = wrap_positions(positions[atoms], cells[s], pbc[s],
                                            _where(noun, s, len(cells)))
    except ValueError:
        return None
    return types, wrapped


def _checked_one_by_one(model: "Model", type_of: np.ndarray, positions: np.ndarray,
                        numbers: np.ndarray, cells: np.ndarray, pbc: np.ndarray, offsets: np.ndarray,
                        charges_total: np.ndarray | None, noun: str) -> tuple[np.ndarray, np.ndarray]:
    """Types and wrapped positions, each structure checked in turn: the first failure
    (in structure order: species, positions, cell, wrapping, charge) is raised."""
    cutoff = model.max_cutoff
    types = np.empty(len(numbers), dtype=np.int32)
    wrapped = np.empty_like(positions)
    for s in range(len(cells)):
        where = _where(noun, s, len(cells))
        atoms = slice(int(offsets[s]), int(offsets[s + 1]))
        types[atoms] = _types_of(numbers[atoms], type_of, model, where)
        wrapped[atoms] = _checked_positions(positions[atoms], cells[s], pbc[s], cutoff, where)
        if charges_total is not None and not np.isfinite(charges_total[s]):
            raise ValueError(f"{where}: the total charge {charges_total[s]} is not finite")
    return types, wrapped


def _where(noun: str, s: int, n_structures: int) -> str:
    return f"{noun} {s}" if n_structures > 1 else noun


def _joined(parts: list[np.ndarray], empty_shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(empty_shape, dtype)


def type_table(model: "Model") -> np.ndarray:
    """Model type index by atomic number, -1 for species the model lacks."""
    type_of = np.full(max(119, max(model.atomic_numbers) + 1), -1, dtype=np.int32)
    type_of[list(model.atomic_numbers)] = np.arange(len(model.types), dtype=np.int32)
    return type_of


def _types_of(numbers: np.ndarray, type_of: np.ndarray, model: "Model", where: str) -> np.ndarray:
    from ase.data import chemical_symbols

    inside = (numbers >= 0) & (numbers < len(type_of))
    t = np.where(inside, type_of[np.where(inside, numbers, 0)], -1)
    if np.any(t < 0):
        i = int(np.flatnonzero(t < 0)[0])
        z = int(numbers[i])
        name = chemical_symbols[z] if 0 < z < len(chemical_symbols) else f"atomic number {z}"
        raise ValueError(f"{where}: atom {i} is {name}, a species the model does not have "
                         f"(model species: {', '.join(model.types)})")
    return t


def _checked_positions(positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray, cutoff: float,
                       where: str) -> np.ndarray:
    """The positions of one structure wrapped into its cell, after the checks of :func:`pack`."""
    if not np.all(np.isfinite(positions)):
        i = int(np.argwhere(~np.isfinite(positions))[0, 0])
        raise ValueError(f"{where}: atom {i} has a non-finite position {positions[i]}")
    if not np.all(np.isfinite(cell)):
        raise ValueError(f"{where}: the cell has non-finite entries")
    check_cell(cell, pbc, cutoff, where)
    return wrap_positions(positions, cell, pbc, where)


def _total_charge(atoms: "Atoms", where: str) -> float:
    value = atoms.info.get("charge", 0.0)
    try:
        total = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: info['charge'] = {value!r} is not a number") from None
    if not np.isfinite(total):
        raise ValueError(f"{where}: info['charge'] = {value!r} is not finite")
    return total
