"""A batch on the device: its atoms with their structures' frames, and the parts
of each structure that the deterministic per-structure sums add up.

Built on the host once per evaluation (positions, types, per-structure
frames from :mod:`gpunep.engine.geometry`, the sum parts) and uploaded; the
neighbor search, the plans and the sums read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gpunep.engine.geometry import Frames, batch_frames, frame_offsets
from gpunep.engine.launch import Group

ATOMS_PER_PART = 256
"""Atoms one thread sums in the first stage of the per-structure sums."""


@dataclass
class DeviceAtoms:
    """The atoms of a batch on the device, with their structures' frames.

    Attributes
    ----------
    positions : (N, 3) float64;  types, system_index : (N,) int32
    offsets : (S + 1,) int32;  frames : (S, NEP_FRAME_DOUBLES) float64
    frame_ints : (S, NEP_FRAME_INTS) int32;  host_frames : the host :class:`Frames`
    """

    positions: Any
    types: Any
    system_index: Any
    offsets: Any
    frames: Any
    frame_ints: Any
    host_frames: Frames

    @property
    def n_atoms(self) -> int:
        return int(self.types.shape[0])

    @property
    def n_structures(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def group(self) -> Group:
        """The ``positions, types, system_index, frames, frame_ints`` kernel arguments."""
        n, s = self.n_atoms, self.n_structures
        names = frame_offsets()
        return Group(
            dict(positions=self.positions, types=self.types, system_index=self.system_index,
                 frames=self.frames, frame_ints=self.frame_ints),
            dict(positions=3 * n, types=n, system_index=n, frames=names["NEP_FRAME_DOUBLES"] * s,
                 frame_ints=names["NEP_FRAME_INTS"] * s))


@dataclass(frozen=True)
class ResidentBatch:
    """Structures whose atoms are already on the evaluator's device (GPU arrays given to
    :func:`gpunep.evaluate`), with the per-structure data the launches are planned from.

    Attributes
    ----------
    positions : (N, 3) float64 device array, C order, finite, Å
    types, system_index : (N,) int32 device arrays, every entry a type of the
        model; each atom's structure, non-decreasing
    cells : (S, 3, 3) float64 host, each accepted by :func:`gpunep.geometry.check_cell`
    pbc : (S, 3) bool host
    offsets : (S + 1,) int64 host, the first atom of each structure
    types_present : (T,) bool host, whether each type occurs
    """

    positions: Any
    types: Any
    system_index: Any
    cells: np.ndarray
    pbc: np.ndarray
    offsets: np.ndarray
    types_present: np.ndarray

    @property
    def n_atoms(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_structures(self) -> int:
        return int(self.cells.shape[0])


@dataclass
class DeviceBatch:
    """A batch on the device: its atoms (with frames), the per-structure sum parts,
    and what the plan uploaded for it."""

    atoms: DeviceAtoms
    parts: Group
    n_parts: int
    extra: dict[str, Any]



def device_atoms(xp: Any, positions: Any, types: Any, cells: np.ndarray, pbc: np.ndarray,
                 offsets: np.ndarray, rc_search: float, strategy: str,
                 system_index: Any = None) -> DeviceAtoms:
    """Upload a batch's frames beside its atoms (cells, pbc and offsets are host arrays;
    ``system_index``, int32 on the device, is made from the offsets when not given)."""
    offsets = np.asarray(offsets, dtype=np.int32)
    counts = np.diff(offsets)
    frames = batch_frames(cells, pbc, offsets, rc_search, binned=strategy == "cell")
    if system_index is None:
        system_index = xp.asarray(np.repeat(np.arange(len(counts), dtype=np.int32), counts))
    return DeviceAtoms(positions, types, system_index, xp.asarray(offsets),
                       xp.asarray(frames.doubles), xp.asarray(frames.ints), frames)


def sum_parts(xp: Any, offsets: np.ndarray) -> tuple[Group, int]:
    """The parts of every structure for :meth:`gpunep.engine.evaluator.Evaluator.reduce` (at least one each)."""
    counts = np.diff(offsets)
    per_structure = np.maximum(1, -(-counts // ATOMS_PER_PART))
    part_offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(per_structure, out=part_offsets[1:])
    n_parts = int(part_offsets[-1])
    part_system = np.repeat(np.arange(len(counts), dtype=np.int32), per_structure)
    group = Group(dict(part_system=xp.asarray(part_system), part_offsets=xp.asarray(part_offsets)),
                  dict(part_system=n_parts, part_offsets=len(counts) + 1))
    return group, n_parts
