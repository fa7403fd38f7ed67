"""What every model type's plan provides, and what it may use of the evaluator.

A plan (:class:`ModelPlan`) sees the evaluator only through
:class:`PlanContext`: launches by name, work buffers, the per-structure
sums, the descriptor kernel and the model's arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from gpunep.engine.device_batch import DeviceBatch
    from gpunep.engine.download import Download
    from gpunep.engine.launch import Group, Launcher
    from gpunep.engine.model_arrays import Architecture
    from gpunep.engine.neighbors import NeighborLists
    from gpunep.executors.module import KernelModule
    from gpunep.model import Model
    from gpunep.structures import Batch


class PlanContext(Protocol):
    """The evaluator as a plan uses it (:class:`gpunep.engine.evaluator.Evaluator`)."""

    model: "Model"
    architecture: "Architecture"
    module: "KernelModule"
    xp: Any
    launch: "Launcher"

    def buffer(self, name: str, size: int, dtype: Any) -> Any: ...

    def reduce(self, batch: "DeviceBatch", values: Any, components: int, sums: Any) -> None: ...

    def descriptors(self, batch: "DeviceBatch", lists: "NeighborLists", q: Any, sums: Any) -> None: ...

    def pair_group(self, batch: "DeviceBatch", lists: "NeighborLists") -> "Group": ...

    def model_group(self) -> "Group": ...

    def scaled_descriptors(self, q: Any, out: Any) -> None: ...


class ModelPlan:
    """The launches and outputs of one model type (see the module docstring)."""

    files: tuple[str, ...] = ()

    def upload(self, ev: "PlanContext", batch: "Batch", types: np.ndarray) -> dict[str, Any]:
        """Per-batch device arrays the plan needs (checked and built on the host)."""
        return {}

    def outputs(self, ev: "PlanContext", dev: "DeviceBatch", descriptors: bool,
                per_atom: frozenset[str]) -> dict[str, int]:
        """``{name: float64 values}`` of the plan's parts of the download."""
        raise NotImplementedError

    def launch(self, ev: "PlanContext", dev: "DeviceBatch", lists: "NeighborLists",
               out: "Download", descriptors: bool, per_atom: frozenset[str]) -> None:
        """Every kernel of one evaluation, in order, writing into the views of ``out``."""
        raise NotImplementedError

    def result(self, ev: "PlanContext", host: dict[str, np.ndarray], dev: "DeviceBatch",
               descriptors: bool, per_atom: frozenset[str]) -> dict[str, Any]:
        """BatchResult fields from the downloaded ``host`` arrays (by output name)."""
        raise NotImplementedError

    def empty_result(self, n_structures: int, ev: "PlanContext", descriptors: bool) -> dict[str, Any]:
        """BatchResult fields of a batch without atoms."""
        raise NotImplementedError




def descriptor_output(ev: PlanContext, host: dict[str, np.ndarray], n: int) -> np.ndarray:
    """The (N, dim) scaled descriptors of the ``descriptors`` output."""
    return np.ascontiguousarray(host["descriptors"].reshape(ev.architecture.dim, n).T)
