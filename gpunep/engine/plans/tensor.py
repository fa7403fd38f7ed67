"""Dipole and polarizability models (TNEP) on the kernels (NEP_SPEC §5).

With ``F_i`` the (first) network's output and ``f_ij = dF_i/dr_ij``:

* dipole: ``mu = -sum_{i->j} |r_ij|^2 f_ij`` over the radial and the angular
  pairs (kernels/nep_tnep.cu), summed per structure;
* polarizability: ``alpha = I sum_i F^s_i - sum_{i->j} r_ij (x) f_ij``: the
  second (scalar) network's outputs plus the "virial" of the first, which
  the potential's force kernels compute as they are.

These models have no energy: their BatchResult carries ``dipole`` (S, 3) or
``polarizability`` (S, 3, 3) and None for the energy fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gpunep.engine.plans import ModelPlan, per_structure_sum

if TYPE_CHECKING:
    from gpunep.engine.evaluator import Evaluator

_NO_ENERGY = {"energy": None, "virial": None, "energies": None, "forces": None, "virials": None}


class DipolePlan(ModelPlan):
    """Launches and outputs of a dipole model."""

    def workspace(self, ev: "Evaluator", n: int) -> dict[str, Any]:
        return {"dipole": ev.xp.zeros(3 * n, dtype=np.float64)}

    def launch(self, ev: "Evaluator", dev: dict[str, Any], nl: Any, b: dict[str, Any]) -> None:
        types = dev["types"]
        n, dim = int(types.shape[0]), ev.model.n_descriptor
        b["dipole"].fill(0.0)
        ev.launch_descriptor(types, nl, b["q"], b["dU_ds"])
        ev.launch_ann(types, ev.params["ann"], b["q"], b["energies"], b["fp"])
        ev.launch_angular_gradient(b["fp"], b["dU_ds"])
        radial, radial_sizes = ev.radial_pair_arguments(types, nl)
        ev.launch_threads("nep_dipole_radial", n, (*radial, b["fp"], b["dipole"]), {
            **radial_sizes, "fp": dim * n, "dipole": 3 * n})
        angular, angular_sizes = ev.angular_pair_arguments(types, nl)
        ev.launch_threads("nep_dipole_angular", n, (*angular, b["dU_ds"], b["dipole"]), {
            **angular_sizes, "dF_ds": ev.n_angular_sums * n, "dipole": 3 * n})

    def parts(self, ev: "Evaluator", dev: dict[str, Any], n_structures: int,
              b: dict[str, Any]) -> list[tuple[str, Any, tuple[int, ...]]]:
        total = per_structure_sum(ev.xp, dev["system_index"], b["dipole"], n_structures, 3)
        return [("dipole", total, (n_structures, 3))]

    def result(self, host: dict[str, Any]) -> dict[str, Any]:
        return {**_NO_ENERGY, "dipole": host["dipole"].copy()}

    def empty_result(self, n_structures: int) -> dict[str, Any]:
        return {**_NO_ENERGY, "dipole": np.zeros((n_structures, 3))}


class PolarizabilityPlan(ModelPlan):
    """Launches and outputs of a polarizability model."""

    def workspace(self, ev: "Evaluator", n: int) -> dict[str, Any]:
        return {"scalar": ev.xp.zeros(n, dtype=np.float64)}

    def launch(self, ev: "Evaluator", dev: dict[str, Any], nl: Any, b: dict[str, Any]) -> None:
        types = dev["types"]
        b["force"].fill(0.0)
        b["virial"].fill(0.0)
        ev.launch_descriptor(types, nl, b["q"], b["dU_ds"])
        # the scalar network first: its gradient is not needed, and the tensor
        # network's then overwrites it in fp
        ev.launch_ann(types, ev.params["ann_polar"], b["q"], b["scalar"], b["fp"])
        ev.launch_ann(types, ev.params["ann"], b["q"], b["energies"], b["fp"])
        ev.launch_angular_gradient(b["fp"], b["dU_ds"])
        ev.launch_forces(types, nl, b["fp"], b["dU_ds"], b["force"], b["virial"])

    def parts(self, ev: "Evaluator", dev: dict[str, Any], n_structures: int,
              b: dict[str, Any]) -> list[tuple[str, Any, tuple[int, ...]]]:
        total = ev.xp.bincount(dev["system_index"], weights=b["scalar"], minlength=n_structures)
        return [("scalar", total, (n_structures,))]

    def result(self, host: dict[str, Any]) -> dict[str, Any]:
        # the per-structure virial of the tensor network is -sum r (x) f (NEP_SPEC §3.10)
        tensor = host["virial"] + host["scalar"][:, None, None] * np.eye(3)
        return {**_NO_ENERGY, "polarizability": tensor}

    def empty_result(self, n_structures: int) -> dict[str, Any]:
        return {**_NO_ENERGY, "polarizability": np.zeros((n_structures, 3, 3))}
