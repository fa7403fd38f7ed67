"""Neighbor lists on the device, for both executors (kernels/nep_neighbor.cu).

For every atom ``i``: every atom ``j`` of the same structure and every
periodic image of it with ``|r_j + k.cell - r_i| < rc(t_i, t_j)`` (strict),
images of ``i`` itself included, the zero-shift self pair excluded
(NEP_SPEC §3.1). Cells, pbc (per direction) and sizes may differ between the
structures of a batch; positions need not be wrapped.

Two strategies give identical lists (same entries, same order, bit-identical
vectors):

``small``  each atom scans the atoms of its own structure over exactly the
           images its cutoff reaches (from the cell's face distances, so tiny
           and skewed triclinic cells are exact). Cost ~ sum over structures
           of atoms² x images: the right choice for batches of small structures.
``cell``   a cell list: bin the atoms, count, prefix-sum (``xp.cumsum`` on the
           device), fill, then search each atom's stencil of bins. O(N): the
           choice for large structures.

Layout: lists are slot-major within tiles of :data:`TILE` atoms (GPUMD's
slot-major ``slot * N + i``, tiled so that one atom's slots are consecutive
cache lines on a CPU while a GPU warp's reads stay whole sectors; see
``kernels/nep_layout.cuh``): entry ``slot`` of atom ``i`` is at
:func:`entry_index` ``(slot, i, capacity, N)``, and ``dx[e] = x_j(image) - x_i``
(double). Every list array holds ``capacity * N`` values;
:meth:`NeighborLists.slot_major` gives plain ``[slot, i]`` host copies. Entries of each list are
sorted by ``(j, k)``, ``k`` the integer lattice shift of the image
(``r_ij = r_j - r_i + k . cell`` with the positions as given), which makes
results deterministic and the same on every executor. ``nn[i]``
holds the number of STORED entries, ``min(true count, capacity)``; a kernel
that meets more neighbors than the capacity keeps the ``capacity`` smallest
keys and records the true count in ``max_counts`` (``[radial, angular]``,
largest over all atoms). The caller compares ``max_counts`` with the
capacities when it downloads its results, grows the capacities
(:func:`grown_capacity`) and runs again: nothing is silently truncated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpunep.executors.module import KernelModule

BLOCK_SIZE = 64
"""Threads per block of every neighbor kernel (GPUMD's NEP block size)."""

CELL_LIST_MIN_ATOMS = 1000
"""``strategy='auto'`` uses the cell list when a batch averages at least this
many atoms per structure (below it the brute-force scan of a structure is
cheaper than binning)."""

TILE = 8
"""Atoms per tile of the list layout (``NEP_TILE`` of kernels/nep_layout.cuh)."""

_GEOMETRY_STRIDE = 16  # doubles per structure, see kernels/nep_neighbor.cu
_BINS_STRIDE = 8       # ints per structure
_ATOM_CELL_STRIDE = 8  # ints per atom (bin coordinates, wraps, bin)
_BINS_PER_ATOM = 27    # the kernels keep every structure's bins <= 27 (atoms + 1)
STRATEGIES = ("auto", "small", "cell")


@dataclass
class NeighborLists:
    """Radial and angular neighbor lists of a batch, as device arrays of ``module.xp``.

    Attributes
    ----------
    nn_radial, nn_angular : (N,) int32 stored counts, ``min(true count, capacity)``
    nl_radial, nl_angular : (capacity * N,) int32 neighbor index at
        ``entry_index(slot, i, capacity, N)``
    dx_radial, dy_radial, dz_radial, dx_angular, ... : float64 components of
        ``r_j(image) - r_i``, same layout
    max_counts : (2,) int32 largest TRUE radial and angular count of any atom
        (what GPUMD reports in neighbor.out); above a capacity means overflow
    capacity_radial, capacity_angular : the slots per atom
    strategy : 'small' or 'cell', whichever built them
    """

    nn_radial: Any
    nl_radial: Any
    dx_radial: Any
    dy_radial: Any
    dz_radial: Any
    nn_angular: Any
    nl_angular: Any
    dx_angular: Any
    dy_angular: Any
    dz_angular: Any
    max_counts: Any
    capacity_radial: int
    capacity_angular: int
    strategy: str = ""
    _scratch: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_atoms(self) -> int:
        return int(self.nn_radial.shape[0])

    def slot_major(self, kind: str) -> dict[str, np.ndarray]:
        """Host copies of the ``kind`` ('radial' or 'angular') lists as (capacity, N) arrays.

        ``[slot, i]`` is entry ``slot`` of atom ``i`` (meaningful for ``slot < nn[i]``);
        keys 'nl', 'dx', 'dy', 'dz'.
        """
        capacity = getattr(self, f"capacity_{kind}")
        n = self.n_atoms
        slot, atom = np.meshgrid(np.arange(capacity), np.arange(n), indexing="ij")
        index = entry_index(slot, atom, capacity, n)
        out = {}
        for name in ("nl", "dx", "dy", "dz"):
            values = getattr(self, f"{name}_{kind}")
            values = values if isinstance(values, np.ndarray) else values.get()
            out[name] = values[index]
        return out


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
    """Build the radial and angular lists of a batch on ``module``'s device.

    Parameters
    ----------
    module : host or cuda kernel module (must contain kernels/nep_neighbor.cu)
    positions : (N, 3) float64, C-contiguous, Å
    types : (N,) int32 type indices
    cells : (S, 3, 3) float64, rows are the cell vectors
    pbc : (S, 3) int32, non-zero where periodic
    offsets : (S + 1,) int32, atoms of structure s are ``offsets[s]:offsets[s+1]``
    rc_radial_pairs, rc_angular_pairs : (T*T,) float64 pair cutoffs ``[t_i * T + t_j]``
    capacity_radial, capacity_angular : slots per atom (>= 1)
    out : lists of an earlier call; their buffers are reused when the sizes match
    strategy : 'auto', 'small' or 'cell' (see the module docstring)

    Returns
    -------
    NeighborLists (launched asynchronously on the GPU; nothing is downloaded).

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
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if strategy == "auto":
        strategy = "cell" if n >= CELL_LIST_MIN_ATOMS * n_structures else "small"
    cap_r, cap_a = int(capacity_radial), int(capacity_angular)
    lists = _allocate(xp, n, n_structures, cap_r, cap_a, out)
    lists.strategy = strategy
    lists.max_counts.fill(0)
    if n == 0:
        return lists

    i32 = np.int32
    scratch = lists._scratch
    pairs = n_types * n_types
    geometry, bins = scratch["geometry"], scratch["bins"]
    launch = _Launcher(module)
    launch("nep_neighbor_prepare", n_structures, (
        i32(n_structures), i32(n_types), cells, pbc, offsets, rc_radial_pairs, rc_angular_pairs,
        geometry, bins,
    ), {"cells": 9 * n_structures, "pbc": 3 * n_structures, "offsets": n_structures + 1,
        "rc_radial": pairs, "rc_angular": pairs, "geometry": _GEOMETRY_STRIDE * n_structures,
        "bins": _BINS_STRIDE * n_structures})

    rlist, alist = cap_r * n, cap_a * n
    outputs = (lists.nn_radial, lists.nl_radial, lists.dx_radial, lists.dy_radial, lists.dz_radial,
               lists.nn_angular, lists.nl_angular, lists.dx_angular, lists.dy_angular,
               lists.dz_angular, lists.max_counts)
    output_sizes = {"nn_radial": n, "nl_radial": rlist, "dx_radial": rlist, "dy_radial": rlist,
                    "dz_radial": rlist, "nn_angular": n, "nl_angular": alist, "dx_angular": alist,
                    "dy_angular": alist, "dz_angular": alist, "max_counts": 2}
    common_sizes = {"positions": 3 * n, "types": n, "cells": 9 * n_structures,
                    "pbc": 3 * n_structures, "offsets": n_structures + 1,
                    "rc_radial": pairs, "rc_angular": pairs}
    if strategy == "small":
        launch("nep_neighbor_small", n, (
            i32(n), i32(n_structures), i32(n_types), i32(cap_r), i32(cap_a), positions, types,
            cells, pbc, offsets, geometry, rc_radial_pairs, rc_angular_pairs, *outputs,
        ), {**common_sizes, "geometry": _GEOMETRY_STRIDE * n_structures, **output_sizes})
        return lists

    # cell list: bin and count, prefix sums, fill, search
    n_bins = scratch["bin_counts"].shape[0]
    structure_bin_ends = xp.cumsum(bins.reshape(n_structures, _BINS_STRIDE)[:, 6], dtype=np.int32)
    bin_counts = scratch["bin_counts"]
    bin_counts.fill(0)
    launch("nep_neighbor_bin_atoms", n, (
        i32(n), i32(n_structures), positions, pbc, offsets, geometry, bins, structure_bin_ends,
        scratch["atom_cells"], bin_counts,
    ), {"positions": 3 * n, "pbc": 3 * n_structures, "offsets": n_structures + 1,
        "geometry": _GEOMETRY_STRIDE * n_structures, "bins": _BINS_STRIDE * n_structures,
        "structure_bin_ends": n_structures, "atom_cells": _ATOM_CELL_STRIDE * n,
        "bin_counts": n_bins})
    bin_ends = xp.cumsum(bin_counts, dtype=np.int32)
    bin_fill = scratch["bin_fill"]
    bin_fill.fill(0)
    launch("nep_neighbor_fill_bins", n, (
        i32(n), positions, types, scratch["atom_cells"], bin_counts, bin_ends, bin_fill,
        scratch["bin_atoms"], scratch["bin_positions"], scratch["bin_codes"],
    ), {"positions": 3 * n, "types": n, "atom_cells": _ATOM_CELL_STRIDE * n,
        "bin_counts": n_bins, "bin_ends": n_bins, "bin_fill": n_bins, "bin_atoms": n,
        "bin_positions": 3 * n, "bin_codes": 4 * n})
    launch("nep_neighbor_cell", n, (
        i32(n), i32(n_structures), i32(n_types), i32(cap_r), i32(cap_a), positions, types, cells,
        pbc, offsets, geometry, bins, structure_bin_ends, scratch["atom_cells"], bin_counts, bin_ends,
        scratch["bin_atoms"], scratch["bin_positions"], scratch["bin_codes"], rc_radial_pairs,
        rc_angular_pairs, *outputs,
    ), {**common_sizes, "geometry": _GEOMETRY_STRIDE * n_structures,
        "bins": _BINS_STRIDE * n_structures, "structure_bin_ends": n_structures,
        "atom_cells": _ATOM_CELL_STRIDE * n, "bin_counts": n_bins, "bin_ends": n_bins,
        "bin_atoms": n, "bin_positions": 3 * n, "bin_codes": 4 * n, **output_sizes})
    return lists


class _Launcher:
    """One thread per item, BLOCK_SIZE threads per block, for every neighbor kernel."""

    def __init__(self, module: KernelModule):
        self.module = module

    def __call__(self, name: str, threads: int, args: tuple, sizes: dict[str, int]) -> None:
        grid = ((threads + BLOCK_SIZE - 1) // BLOCK_SIZE,)
        self.module.get_function(name)(grid, (BLOCK_SIZE,), args, sizes=sizes)


def _allocate(xp: Any, n: int, n_structures: int, cap_r: int, cap_a: int,
              out: NeighborLists | None) -> NeighborLists:
    if (out is not None and out.n_atoms == n and out.capacity_radial == cap_r
            and out.capacity_angular == cap_a and isinstance(out.nn_radial, xp.ndarray)
            and out._scratch.get("n_structures") == n_structures):
        return out

    def lists(capacity: int) -> tuple:
        size = capacity * n
        return (xp.zeros(n, dtype=np.int32), xp.zeros(size, dtype=np.int32),
                xp.zeros(size), xp.zeros(size), xp.zeros(size))

    n_bins = _BINS_PER_ATOM * (n + n_structures)
    scratch = {
        "n_structures": n_structures,
        "geometry": xp.zeros(_GEOMETRY_STRIDE * n_structures),
        "bins": xp.zeros(_BINS_STRIDE * n_structures, dtype=np.int32),
        "atom_cells": xp.zeros(_ATOM_CELL_STRIDE * n, dtype=np.int32),
        "bin_counts": xp.zeros(n_bins, dtype=np.int32),
        "bin_fill": xp.zeros(n_bins, dtype=np.int32),
        "bin_atoms": xp.zeros(n, dtype=np.int32),
        "bin_positions": xp.zeros(3 * n),
        "bin_codes": xp.zeros(4 * n, dtype=np.int32),
    }
    return NeighborLists(*lists(cap_r), *lists(cap_a), max_counts=xp.zeros(2, dtype=np.int32),
                         capacity_radial=cap_r, capacity_angular=cap_a, _scratch=scratch)


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
