"""What the evaluator launches for each model type.

:func:`model_plan` gives the plan of a model's type:

* :class:`~gpunep.engine.plans.potential.PotentialPlan`: potentials (docs/forces.md);
* :class:`~gpunep.engine.plans.charge.ChargePlan`: qNEP charge models (docs/charges.md);
* :class:`~gpunep.engine.plans.tensor.DipolePlan`,
  :class:`~gpunep.engine.plans.tensor.PolarizabilityPlan`: TNEP (docs/tensors.md).

A plan implements :class:`~gpunep.engine.plans.base.ModelPlan`: the kernel files its model module is
compiled from (``files``), per-batch host setup (``upload``), the named
outputs of the evaluation's one download (``outputs``), every launch of one
evaluation in order (``launch``) and the
:class:`~gpunep.structures.BatchResult` fields (``result``). The evaluator
owns the neighbor lists, the buffers and the download.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpunep.engine.plans.base import ModelPlan
from gpunep.engine.plans.charge import ChargePlan
from gpunep.engine.plans.potential import PotentialPlan
from gpunep.engine.plans.tensor import DipolePlan, PolarizabilityPlan

if TYPE_CHECKING:
    from gpunep.model import Model

__all__ = ["ChargePlan", "DipolePlan", "ModelPlan", "PolarizabilityPlan", "PotentialPlan", "model_plan"]


def model_plan(model: "Model", kspace: str = "truncated",
               mean_d_correction: bool = True) -> ModelPlan:
    """The plan of ``model``'s type.

    ``kspace`` and ``mean_d_correction`` are the charge models' options (see
    :class:`~gpunep.engine.plans.charge.ChargePlan`); other model types ignore them.
    """
    if model.model_type == "potential_with_charges":
        return ChargePlan(model, kspace=kspace, mean_d_correction=mean_d_correction)
    if model.model_type == "dipole":
        return DipolePlan()
    if model.model_type == "polarizability":
        return PolarizabilityPlan()
    return PotentialPlan()
