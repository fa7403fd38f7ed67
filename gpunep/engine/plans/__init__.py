"""What the evaluator launches for model types beyond plain potentials.

:class:`~gpunep.engine.evaluator.Evaluator` runs a potential's kernels itself; a
charge, dipole or polarizability model gets a plan from :func:`model_plan`
that reuses the evaluator's shared launches (descriptor, network, angular
gradient, forces, ZBL) and adds its own kernels, buffers and outputs:

* :class:`~gpunep.engine.plans.charge.ChargePlan`: qNEP (NEP_SPEC §4);
* :class:`~gpunep.engine.plans.tensor.DipolePlan`,
  :class:`~gpunep.engine.plans.tensor.PolarizabilityPlan`: TNEP (NEP_SPEC §5).

A plan implements :class:`ModelPlan`; the evaluator calls ``upload`` (host
setup per batch, before any launch), ``workspace`` (extra per-atom
buffers), ``launch``, ``parts`` (extra arrays for the single download) and
``result`` (the :class:`~gpunep.structures.BatchResult` fields it sets).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gpunep.engine.evaluator import Evaluator
    from gpunep.model import Model
    from gpunep.structures import Batch


class ModelPlan:
    """The launches and outputs of one model type (see the module docstring)."""

    def upload(self, ev: "Evaluator", batch: "Batch") -> dict[str, Any]:
        """Per-batch device arrays the plan needs (checked and built on the host)."""
        return {}

    def workspace(self, ev: "Evaluator", n: int) -> dict[str, Any]:
        """Extra per-atom device buffers for ``n`` atoms."""
        return {}

    def launch(self, ev: "Evaluator", dev: dict[str, Any], nl: Any, b: dict[str, Any]) -> None:
        """Every kernel of one evaluation, in order."""
        raise NotImplementedError

    def parts(self, ev: "Evaluator", dev: dict[str, Any], n_structures: int,
              b: dict[str, Any]) -> list[tuple[str, Any, tuple[int, ...]]]:
        """``(name, float64 device array, host shape)`` to download with the rest."""
        return []

    def result(self, host: dict[str, Any]) -> dict[str, Any]:
        """BatchResult fields from the downloaded ``host`` arrays (by part name)."""
        return {}

    def empty_result(self, n_structures: int) -> dict[str, Any]:
        """BatchResult fields of a batch without atoms."""
        return {}


def model_plan(model: "Model", kspace: str = "truncated",
               mean_d_correction: bool = True) -> ModelPlan | None:
    """The plan of ``model``'s type, or None for a potential (the evaluator's own launches).

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
    return None


def per_structure_sum(xp: Any, system_index: Any, values: Any, n_structures: int,
                      components: int) -> Any:
    """Sums over the atoms of each structure of a (components, N) device array, (S * components,).

    Row ``k * N + i`` goes to bin ``components * s + k`` (one bincount).
    """
    bins = (system_index[None, :] * components
            + xp.arange(components, dtype=np.int32)[:, None]).reshape(-1)
    return xp.bincount(bins, weights=values, minlength=components * n_structures)
