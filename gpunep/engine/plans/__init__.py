"""What the evaluator launches for each model type.

:func:`model_plan` gives the plan of a model's type:

* :class:`~gpunep.engine.plans.potential.PotentialPlan`: potentials (docs/forces.md);
* :class:`~gpunep.engine.plans.charge.ChargePlan`: qNEP charge models (docs/charges.md);
* :class:`~gpunep.engine.plans.tensor.DipolePlan`,
  :class:`~gpunep.engine.plans.tensor.PolarizabilityPlan`: TNEP (docs/tensors.md).

A plan implements :class:`ModelPlan`: the kernel files its model module is
compiled from (``files``), per-batch host setup (``upload``), the named
outputs of the evaluation's one download (``outputs``), every launch of one
evaluation in order (``launch``) and the
:class:`~gpunep.structures.BatchResult` fields (``result``). The evaluator
owns the neighbor lists, the buffers and the download.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gpunep.engine.download import Download
    from gpunep.engine.evaluator import DeviceBatch, Evaluator
    from gpunep.engine.neighbors import NeighborLists
    from gpunep.model import Model
    from gpunep.structures import Batch


class ModelPlan:
    """The launches and outputs of one model type (see the module docstring)."""

    files: tuple[str, ...] = ()

    def upload(self, ev: "Evaluator", batch: "Batch", types: np.ndarray) -> dict[str, Any]:
        """Per-batch device arrays the plan needs (checked and built on the host)."""
        return {}

    def outputs(self, ev: "Evaluator", dev: "DeviceBatch", descriptors: bool,
                per_atom: bool) -> dict[str, int]:
        """``{name: float64 values}`` of the plan's parts of the download."""
        raise NotImplementedError

    def launch(self, ev: "Evaluator", dev: "DeviceBatch", lists: "NeighborLists",
               out: "Download", descriptors: bool, per_atom: bool) -> None:
        """Every kernel of one evaluation, in order, writing into the views of ``out``."""
        raise NotImplementedError

    def result(self, ev: "Evaluator", host: dict[str, np.ndarray], dev: "DeviceBatch",
               descriptors: bool, per_atom: bool) -> dict[str, Any]:
        """BatchResult fields from the downloaded ``host`` arrays (by output name)."""
        raise NotImplementedError

    def empty_result(self, n_structures: int, ev: "Evaluator", descriptors: bool) -> dict[str, Any]:
        """BatchResult fields of a batch without atoms."""
        raise NotImplementedError


def descriptor_output(ev: "Evaluator", host: dict[str, np.ndarray], n: int) -> np.ndarray:
    """The (N, dim) scaled descriptors of the ``descriptors`` output."""
    return np.ascontiguousarray(host["descriptors"].reshape(ev.architecture.dim, n).T)


def model_plan(model: "Model", kspace: str = "truncated",
               mean_d_correction: bool = True) -> ModelPlan:
    """The plan of ``model``'s type.

    ``kspace`` and ``mean_d_correction`` are the charge models' options (see
    :class:`~gpunep.engine.plans.charge.ChargePlan`); other model types ignore them.
    """
    if model.model_type == "potential_with_charges":
        from gpunep.engine.plans.charge import ChargePlan

        return ChargePlan(model, kspace=kspace, mean_d_correction=mean_d_correction)
    if model.model_type == "dipole":
        from gpunep.engine.plans.tensor import DipolePlan

        return DipolePlan()
    if model.model_type == "polarizability":
        from gpunep.engine.plans.tensor import PolarizabilityPlan

        return PolarizabilityPlan()
    from gpunep.engine.plans.potential import PotentialPlan

    return PotentialPlan()
