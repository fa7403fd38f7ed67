"""Neighbor lists on the device, for both executors (kernels/nep_neighbor.cu).

For every atom ``i``: every atom ``j`` of the same structure and every
periodic image of it with ``|r_j + k.cell - r_i| < rc(t_i, t_j)`` (strict),
images of ``i`` itself included, the zero-shift self pair excluded
(docs/descriptors.md#neighbor-sets). Cells, periodicity (per direction) and
sizes may differ between the structures of a batch; positions need not be
wrapped.

Two strategies give identical lists (same entries, same order):

``small``  each atom scans the atoms of its own structure over exactly the
           images its cutoff reaches: the right choice for batches of small
           structures (cost ~ sum over structures of atoms^2 x images).
``cell``   a cell list: bin the atoms, order them by (bin, index) on the
           device, then merge each atom's 27 stencil bins. O(N): the choice
           for large structures.

Entries are ``int32`` neighbor indices, plus a packed lattice shift per entry
only for structures whose cells are too thin for the nearest image to be the
only one (:mod:`gpunep.engine.geometry`); the kernels recompute every pair
vector from the positions. Each list is in key order ``(j, k)`` by
construction (no sort). Layout: slot-major within tiles of :data:`TILE` atoms
(``kernels/nep_layout.cuh``): entry ``slot`` of atom ``i`` is at
:func:`entry_index` ``(slot, i, capacity, N)``. ``nn[i]`` holds the number of
STORED entries, ``min(true count, capacity)``; the true largest counts are in
``diagnostics``, so the caller sees an overflow when it downloads its results,
grows the capacities (:func:`grown_capacity`) and runs again: nothing is
silently truncated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gpunep.engine.device_batch import DeviceAtoms, device_atoms
from gpunep.engine.geometry import frame_offsets, search_radius
from gpunep.engine.launch import Group, Launcher, scalars
from gpunep.executors.kernel_source import header_constants
from gpunep.executors.module import KernelModule

CELL_LIST_MIN_ATOMS = 1000
"""``strategy='auto'`` uses the cell list when a batch averages at least this
many atoms per structure (below it the scan of a structure is cheaper than binning)."""

TILE = 8
"""Atoms per tile of the list layout (``NEP_TILE`` of kernels/nep_layout.cuh)."""

STRATEGIES = ("auto", "small", "cell")
_KERNEL_CONSTANTS = header_constants("nep_neighbor.cu")
NBR_BITS = header_constants("nep_frame.cuh", "NEP_NBR_")["NEP_NBR_BITS"]
NBR_MASK = (1 << NBR_BITS) - 1
MAX_ATOMS = 1 << NBR_BITS
"""Most atoms a batch may hold: a list entry packs the neighbor index into NBR_BITS bits."""
ATOM_CELL = _KERNEL_CONSTANTS["NEP_ATOM_CELL"]
DIAGNOSTICS = _KERNEL_CONSTANTS["NEP_DIAGNOSTICS"]
DIAG_COINCIDENT = _KERNEL_CONSTANTS["NEP_DIAG_COINCIDENT"]


@dataclass
class NeighborLists:
    """Radial and angular neighbor lists of a batch, as device arrays of ``module.xp``.

    Attributes
    ----------
    nn_radial, nn_angular : (N,) int32 stored counts, ``min(true count, capacity)``
    nbr_radial, nbr_angular : (capacity * N,) int32 neighbor index at
        ``entry_index(slot, i, capacity, N)``
    shift_radial, shift_angular : the same layout, packed lattice shifts, for
        structures that need them; empty when no structure does
    diagnostics : (3,) int32 largest TRUE radial and angular count of any atom
        (what GPUMD reports in neighbor.out; above a capacity means overflow),
        and 1 + the largest atom index with a neighbor at distance zero
    capacity_radial, capacity_angular : the slots per atom
    strategy : 'small' or 'cell', whichever built them
    atoms : the atoms they were built for
    """

    nn_radial: Any
    nbr_radial: Any
    shift_radial: Any
    nn_angular: Any
    nbr_angular: Any
    shift_angular: Any
    diagnostics: Any
    capacity_radial: int
    capacity_angular: int
    strategy: str = ""
    atoms: DeviceAtoms | None = field(default=None, repr=False)
    _scratch: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_atoms(self) -> int:
        return int(self.nn_radial.shape[0])

    @property
    def max_counts(self) -> Any:
        """(2,) largest true radial and angular count (a view of ``diagnostics``)."""
        return self.diagnostics[:2]

    def group(self, kind: str) -> Group:
        """The ``capacity_<kind>, nn_<kind>, nbr_<kind>, shift_<kind>`` kernel arguments."""
        capacity = getattr(self, f"capacity_{kind}")
        n = self.n_atoms
        shift = getattr(self, f"shift_{kind}")
        return Group(
            {f"capacity_{kind}": np.int32(capacity), f"nn_{kind}": getattr(self, f"nn_{kind}"),
             f"nbr_{kind}": getattr(self, f"nbr_{kind}"), f"shift_{kind}": shift},
            {f"nn_{kind}": n, f"nbr_{kind}": capacity * n, f"shift_{kind}": int(shift.size)})

    def slot_major(self, kind: str) -> dict[str, np.ndarray]:
        """Host copies of the ``kind`` ('radial' or 'angular') lists as (capacity, N) arrays.

        ``[slot, i]`` is entry ``slot`` of atom ``i`` (meaningful for ``slot < nn[i]``);
        keys 'nl' (neighbor index) and 'dx', 'dy', 'dz' (the pair vector, computed
        from the positions as the kernels do).
        """
        capacity = getattr(self, f"capacity_{kind}")
        n = self.n_atoms
        slot, atom = np.meshgrid(np.arange(capacity), np.arange(n), indexing="ij")
        index = entry_index(slot, atom, capacity, n)
        entries = _host(getattr(self, f"nbr_{kind}"))[index]
        shift = _host(getattr(self, f"shift_{kind}"))
        nbr = entries & NBR_MASK
        vectors = pair_vectors(self.atoms, atom, np.clip(nbr, 0, max(n - 1, 0)), entries,
                               shift[index] if shift.size else None)
        return {"nl": nbr, "dx": vectors[..., 0], "dy": vectors[..., 1], "dz": vectors[..., 2]}


def _host(array: Any) -> np.ndarray:
    return array if isinstance(array, np.ndarray) else array.get()


def unpack_shifts(codes: np.ndarray) -> np.ndarray:
    """(..., 3) lattice shifts of packed codes (``nep_unpack_shift``)."""
    constants = header_constants("nep_frame.cuh", "NEP_SHIFT_")
    bits, bias = constants["NEP_SHIFT_BITS"], constants["NEP_SHIFT_BIAS"]
    mask = (1 << bits) - 1
    codes = np.asarray(codes, dtype=np.int64)
    return np.stack([((codes >> (2 * bits)) & mask) - bias, ((codes >> bits) & mask) - bias,
                     (codes & mask) - bias], axis=-1)


def pair_vectors(atoms: DeviceAtoms, i: np.ndarray, j: np.ndarray, entries: np.ndarray,
                 codes: np.ndarray | None) -> np.ndarray:
    """r_j - r_i + k . cell on the host for index arrays ``i``, ``j`` (k packed in the
    list ``entries`` of mic structures, else in the shift ``codes``): nep_image_vector."""
    names = frame_offsets()
    positions = _host(atoms.positions)
    system = _host(atoms.system_index)[i]
    frames, ints = atoms.host_frames.doubles[system], atoms.host_frames.ints[system]
    cell = frames[..., names["NEP_FRAME_CELL"]:names["NEP_FRAME_CELL"] + 9].reshape(*i.shape, 3, 3)
    image = np.asarray(entries, dtype=np.int64) >> NBR_BITS
    packed = np.stack([image // 9 - 1, (image // 3) % 3 - 1, image % 3 - 1], axis=-1)
    mic = ints[..., names["NEP_FRAME_MIC"]] != 0
    k = packed if codes is None else np.where(mic[..., None], packed, unpack_shifts(codes))
    return (positions[j] - positions[i]) + np.einsum("...e,...ec->...c", k, cell)


def entry_index(component: Any, atom: Any, components: int, n: int) -> Any:
    """Index of ``component`` (a list slot) of ``atom`` in an array of ``components``
    values per atom over ``n`` atoms (``nep_tiled`` of kernels/nep_layout.cuh)."""
    full = n - n % TILE
    tiled = ((atom // TILE) * components + component) * TILE + atom % TILE
    tail = full * components + component * (n - full) + (atom - full)
    return np.where(atom < full, tiled, tail)


def grown_capacity(observed: int, capacity: int) -> int:
    """A capacity that holds ``observed`` neighbors with GPUMD's 25 % headroom, never smaller."""
    return max(int(capacity), math.ceil(1.25 * int(observed)), 1)


GUESS_MARGIN = 1.35
"""Over the mean neighbor count of the densest structure: a first list capacity that
holds the densest atom's neighbors in crystals and liquids (about 1.1-1.2x the mean)."""


GUESS_LIMIT = 1024
"""Largest guessed capacity: a denser structure (a bad cell, atoms on top of each
other) is counted first rather than trusted with lists of that size for every atom."""


def guessed_capacities(cells: np.ndarray, pbc: np.ndarray, offsets: np.ndarray,
                       rc_radial: float, rc_angular: float) -> tuple[int, int] | None:
    """First list capacities from the densest structure's number density, or None
    when a structure with atoms is not periodic in three dimensions (no density) or
    the guess passes :data:`GUESS_LIMIT`.

    The first evaluation checks its lists against these before anything else runs
    and, when an atom has more neighbors, grows them (:func:`grown_capacity`) and
    builds them again: a guess that is too small costs one more search, the cost of
    counting first.
    """
    counts = np.diff(np.asarray(offsets))
    occupied = counts > 0
    if not occupied.any() or not np.asarray(pbc, dtype=bool)[occupied].all():
        return None
    volumes = np.abs(np.linalg.det(np.asarray(cells, dtype=np.float64)[occupied]))
    if not np.all(volumes > 0.0):
        return None
    density = float(np.max(counts[occupied] / volumes))
    sphere = 4.0 / 3.0 * math.pi

    radial, angular = (math.ceil(GUESS_MARGIN * density * sphere * rc ** 3) + 8
                       for rc in (rc_radial, rc_angular))
    return (radial, angular) if max(radial, angular) <= GUESS_LIMIT else None


def choose_strategy(strategy: str, n_atoms: int, n_structures: int) -> str:
    """'small' or 'cell' for ``strategy`` ('auto' by the average structure size)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if strategy == "auto":
        return "cell" if n_atoms >= CELL_LIST_MIN_ATOMS * n_structures else "small"
    return strategy


class NeighborSearch:
    """Builds the lists of batches on one module, reusing its buffers between calls.

    Parameters
    ----------
    module : a host or cuda kernel module holding kernels/nep_neighbor.cu
    rc_radial_pairs, rc_angular_pairs : (T*T,) float64 device arrays of pair cutoffs
    """

    def __init__(self, module: KernelModule, rc_radial_pairs: Any, rc_angular_pairs: Any,
                 launcher: Launcher | None = None):
        self.module = module
        self.xp = module.xp
        self.launch = launcher or Launcher(module)
        self.rc = Group(dict(rc_radial=rc_radial_pairs, rc_angular=rc_angular_pairs),
                        dict(rc_radial=int(rc_radial_pairs.size), rc_angular=int(rc_angular_pairs.size)))
        self.n_types = math.isqrt(int(rc_radial_pairs.size))
        self._lists: NeighborLists | None = None
        self._wrapped: Any = None

    def device_bytes(self) -> int:
        """Bytes of the device arrays the search holds (lists, scratch, wrapped positions)."""
        arrays = [self._wrapped]
        if self._lists is not None:
            lists = self._lists
            arrays += [lists.nn_radial, lists.nbr_radial, lists.shift_radial, lists.nn_angular,
                       lists.nbr_angular, lists.shift_angular, lists.diagnostics]
            arrays += [v for v in lists._scratch.values() if hasattr(v, "nbytes")]
        return sum(int(a.nbytes) for a in arrays if a is not None)

    def wrap(self, atoms: DeviceAtoms) -> DeviceAtoms:
        """``atoms`` with positions moved into the cell along periodic directions
        (nep_wrap_positions): what the lists and every later kernel work on."""
        n = atoms.n_atoms
        if n > MAX_ATOMS:
            raise ValueError(f"a batch holds {n} atoms; the neighbor lists take at most {MAX_ATOMS} "
                             "(split the structures into several batches)")
        if self._wrapped is None or self._wrapped.shape[0] != n:
            self._wrapped = self.xp.zeros((n, 3))
        if n:
            self.launch("nep_wrap_positions", n, atoms.group().only(
                "positions", "system_index", "frames", "frame_ints") | scalars(N=n) | Group(
                dict(wrapped=self._wrapped), dict(wrapped=3 * n)))
        return replace(atoms, positions=self._wrapped)

    def build(self, atoms: DeviceAtoms, capacity_radial: int, capacity_angular: int,
              strategy: str) -> NeighborLists:
        """Lists of ``atoms`` with the given capacities (0 counts only); launched
        asynchronously on a GPU, nothing is downloaded."""
        lists = self._allocate(atoms, capacity_radial, capacity_angular)
        lists.strategy = strategy
        lists.atoms = atoms
        lists.diagnostics.fill(0)
        n = atoms.n_atoms
        if n == 0:
            return lists
        common = (atoms.group() | self.rc | lists.group("radial") | lists.group("angular")
                  | scalars(N=n, n_types=self.n_types)
                  | Group(dict(offsets=atoms.offsets, diagnostics=lists.diagnostics),
                          dict(offsets=atoms.n_structures + 1, diagnostics=DIAGNOSTICS)))
        if strategy == "small":
            self.launch("nep_neighbor_small", n, common)
        else:
            self.launch("nep_neighbor_cell", n, common | self._bins(atoms, lists))
        return lists

    def _bins(self, atoms: DeviceAtoms, lists: NeighborLists) -> Group:
        """Bin the atoms and order them by (bin, index): the cell search's arguments."""
        xp, n = self.xp, atoms.n_atoms
        scratch = lists._scratch
        atom_cells = scratch["atom_cells"]
        self.launch("nep_neighbor_bin", n, atoms.group().only(
            "positions", "system_index", "frames", "frame_ints") | scalars(N=n) | Group(
            dict(atom_cells=atom_cells), dict(atom_cells=ATOM_CELL * n)))
        bins = atom_cells.reshape(n, ATOM_CELL)[:, 6]
        # unique keys: any sort gives the same order, so the bins hold ascending indices
        order = xp.argsort(bins.astype(np.int64) * n + xp.arange(n, dtype=np.int64))
        bin_atoms = order.astype(np.int32)
        n_bins = atoms.host_frames.n_bins
        bin_starts = xp.searchsorted(bins[bin_atoms], xp.arange(n_bins + 1, dtype=np.int32)
                                     ).astype(np.int32)
        self.launch("nep_neighbor_fill_bins", n, atoms.group().only(
            "positions", "types", "system_index", "frames") | scalars(N=n) | Group(
            dict(bin_atoms=bin_atoms, atom_cells=atom_cells, bin_positions=scratch["bin_positions"],
                 bin_codes=scratch["bin_codes"]),
            dict(bin_atoms=n, atom_cells=ATOM_CELL * n, bin_positions=3 * n, bin_codes=4 * n)))
        return Group(
            dict(atom_cells=atom_cells, bin_starts=bin_starts, bin_atoms=bin_atoms,
                 bin_positions=scratch["bin_positions"], bin_codes=scratch["bin_codes"]),
            dict(atom_cells=ATOM_CELL * n, bin_starts=n_bins + 1, bin_atoms=n, bin_positions=3 * n,
                 bin_codes=4 * n))

    def _allocate(self, atoms: DeviceAtoms, cap_r: int, cap_a: int) -> NeighborLists:
        xp, n = self.xp, atoms.n_atoms
        shifts = atoms.host_frames.needs_shifts
        old = self._lists
        if (old is not None and old.n_atoms == n and old.capacity_radial == cap_r
                and old.capacity_angular == cap_a and old._scratch["shifts"] == shifts
                and isinstance(old.nn_radial, xp.ndarray)):
            return old

        def entries(capacity: int) -> tuple:
            size = capacity * n
            return (xp.zeros(n, dtype=np.int32), xp.zeros(size, dtype=np.int32),
                    xp.zeros(size if shifts else 0, dtype=np.int32))

        scratch = {"shifts": shifts, "atom_cells": xp.zeros(ATOM_CELL * n, dtype=np.int32),
                   "bin_positions": xp.zeros(3 * n), "bin_codes": xp.zeros(4 * n, dtype=np.int32)}
        self._lists = NeighborLists(*entries(cap_r), *entries(cap_a),
                                    diagnostics=xp.zeros(DIAGNOSTICS, dtype=np.int32),
                                    capacity_radial=cap_r, capacity_angular=cap_a, _scratch=scratch)
        return self._lists


def build_neighbor_lists(
    module: KernelModule,
    positions: Any,
    types: Any,
    cells: Any,
    pbc: Any,
    offsets: Any,
    rc_radial_pairs: Any,
    rc_angular_pairs: Any,
    capacity_radial: int,
    capacity_angular: int,
    out: NeighborLists | None = None,
    strategy: str = "auto",
) -> NeighborLists:
    """Build the radial and angular lists of a batch on ``module``'s device (a
    convenience for tests and tools; the evaluator keeps a :class:`NeighborSearch`).

    Parameters
    ----------
    module : host or cuda kernel module (must contain kernels/nep_neighbor.cu)
    positions : (N, 3) float64 device array, Å
    types : (N,) int32 device array of type indices
    cells : (S, 3, 3) float64, rows are the cell vectors
    pbc : (S, 3) int32, non-zero where periodic
    offsets : (S + 1,) int32, atoms of structure s are ``offsets[s]:offsets[s+1]``
    rc_radial_pairs, rc_angular_pairs : (T*T,) float64 pair cutoffs ``[t_i * T + t_j]``
    capacity_radial, capacity_angular : slots per atom (>= 1)
    out : lists of an earlier call; their buffers are reused when the sizes match
    strategy : 'auto', 'small' or 'cell' (see the module docstring)

    Raises
    ------
    ValueError
        Arrays of the wrong shape or dtype, a capacity below 1, an unknown strategy.
    """
    xp = module.xp
    n, n_structures, n_types = _check_inputs(
        xp, positions, types, cells, pbc, offsets, rc_radial_pairs, rc_angular_pairs)
    for name, cap in (("capacity_radial", capacity_radial), ("capacity_angular", capacity_angular)):
        if int(cap) < 1:
            raise ValueError(f"{name} must be at least 1, got {cap}")
    strategy = choose_strategy(strategy, n, n_structures)
    rc_r, rc_a = _host(rc_radial_pairs), _host(rc_angular_pairs)
    atoms = device_atoms(xp, positions, types, _host(cells), _host(pbc).astype(bool),
                         _host(offsets), search_radius(rc_r, rc_a), strategy)
    search = NeighborSearch(module, rc_radial_pairs, rc_angular_pairs)
    search._lists = out
    return search.build(search.wrap(atoms), int(capacity_radial), int(capacity_angular), strategy)


def _check_inputs(xp: Any, positions: Any, types: Any, cells: Any, pbc: Any, offsets: Any,
                  rc_radial: Any, rc_angular: Any) -> tuple[int, int, int]:
    """Shapes and dtypes of the inputs; returns (N, S, T). Values are left to the kernels."""
    def expect(name: str, array: Any, dtype: type, shape: tuple) -> None:
        if not isinstance(array, xp.ndarray):
            raise ValueError(f"{name} must be a {xp.__name__} array, got {type(array).__name__}")
        if array.dtype != np.dtype(dtype) or array.shape != shape or not array.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous {np.dtype(dtype)} array of shape "
                             f"{shape}, got {array.dtype} {array.shape}")

    n = int(getattr(positions, "shape", (0,))[0])
    s = int(getattr(cells, "shape", (0,))[0])
    t2 = int(getattr(rc_radial, "shape", (0,))[0])
    t = math.isqrt(t2)
    if t * t != t2 or t == 0:
        raise ValueError(f"rc_radial_pairs must hold T*T pair cutoffs, got {t2} values")
    expect("positions", positions, np.float64, (n, 3))
    expect("types", types, np.int32, (n,))
    expect("cells", cells, np.float64, (s, 3, 3))
    expect("pbc", pbc, np.int32, (s, 3))
    expect("offsets", offsets, np.int32, (s + 1,))
    expect("rc_radial_pairs", rc_radial, np.float64, (t2,))
    expect("rc_angular_pairs", rc_angular, np.float64, (t2,))
    if s == 0:
        raise ValueError("a batch needs at least one structure (cells has shape (0, 3, 3))")
    return n, s, t
