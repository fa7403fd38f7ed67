"""Dipole and polarizability models (TNEP) on the kernels (docs/tensors.md).

With ``F_i`` the (first) network's output and ``f_ij = dF_i/dr_ij``:

* dipole: ``mu = -sum_{i->j} |r_ij|^2 f_ij`` over the radial and the angular
  pairs (kernels/nep_tnep.cu), summed per structure;
* polarizability: ``alpha = I sum_i F^s_i - sum_{i->j} r_ij (x) f_ij``: the
  second (scalar) network's outputs plus the "virial" of the first, which
  the force kernels compute as they are.

These models have no energy: their BatchResult carries ``dipole`` (S, 3) or
``polarizability`` (S, 3, 3) and None for the energy fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gpunep.engine.launch import Group, scalars
from gpunep.engine.plans.base import ModelPlan, PlanContext, descriptor_output

if TYPE_CHECKING:
    from gpunep.engine.download import Download
    from gpunep.engine.device_batch import DeviceBatch
    from gpunep.engine.neighbors import NeighborLists

_NO_ENERGY = {"energy": None, "virial": None, "energies": None, "forces": None, "virials": None}
_FILES = ("nep_descriptor.cu", "nep_ann.cu")


class _TensorPlan(ModelPlan):
    """What dipole and polarizability models share: descriptors, the network(s),
    the gradient back to the angular sums."""

    def outputs(self, ev: PlanContext, dev: "DeviceBatch", descriptors: bool,
                per_atom: frozenset[str]) -> dict[str, int]:
        sizes = {"tensor": self.components * dev.atoms.n_structures}
        if descriptors:
            sizes["descriptors"] = ev.architecture.dim * dev.atoms.n_atoms
        return sizes

    components = 0

    def _network_gradients(self, ev: PlanContext, dev: "DeviceBatch", lists: "NeighborLists",
                           networks: tuple[tuple[int, Any], ...]) -> tuple[Any, Any, Any]:
        """Descriptors, then each network (index, output array) in order; returns q, fp
        (of the last network) and its dF/ds."""
        arch, real = ev.architecture, ev.module.real_dtype
        n = dev.atoms.n_atoms
        q = ev.buffer("q", arch.dim * n, real)
        fp = ev.buffer("fp", arch.dim * n, real)
        sums = ev.buffer("dF_ds", arch.n_sums * n, real)
        ev.descriptors(dev, lists, q, sums)
        for network, output in networks:
            ev.launch("nep_ann", n, scalars(N=n, network=network) | ev.model_group() | Group(
                dict(types=dev.atoms.types, q=q, energy=output, fp=fp),
                dict(types=n, q=arch.dim * n, energy=n, fp=arch.dim * n)))
        ev.launch("nep_angular_gradient", n, scalars(N=n) | Group(
            dict(fp=fp, sums=sums), dict(fp=arch.dim * n, sums=arch.n_sums * n)))
        return q, fp, sums

    def _descriptors(self, ev: PlanContext, q: Any, out: "Download", descriptors: bool) -> None:
        if descriptors:
            ev.scaled_descriptors(q, out["descriptors"])

    def _fields(self, ev: PlanContext, host: dict[str, np.ndarray], dev: "DeviceBatch",
                descriptors: bool) -> dict[str, Any]:
        fields = dict(_NO_ENERGY)
        if descriptors:
            fields["descriptors"] = descriptor_output(ev, host, dev.atoms.n_atoms)
        return fields


class DipolePlan(_TensorPlan):
    """Launches and outputs of a dipole model."""

    files = (*_FILES, "nep_tnep.cu")
    components = 3

    def launch(self, ev: PlanContext, dev: "DeviceBatch", lists: "NeighborLists",
               out: "Download", descriptors: bool, per_atom: frozenset[str]) -> None:
        arch, n = ev.architecture, dev.atoms.n_atoms
        output = ev.buffer("network_output", n, np.float64)
        q, fp, sums = self._network_gradients(ev, dev, lists, ((0, output),))
        dipole = ev.buffer("dipole", 3 * n, np.float64)
        dipole.fill(0.0)
        pairs = ev.pair_group(dev, lists)
        ev.launch("nep_dipole_radial", n, pairs | Group(
            dict(fp=fp, dipole=dipole), dict(fp=arch.dim * n, dipole=3 * n)))
        ev.launch("nep_dipole_angular", n, pairs | Group(
            dict(dF_ds=sums, dipole=dipole), dict(dF_ds=arch.n_sums * n, dipole=3 * n)))
        ev.reduce(dev, dipole, 3, out["tensor"])
        self._descriptors(ev, q, out, descriptors)

    def result(self, ev: PlanContext, host: dict[str, np.ndarray], dev: "DeviceBatch",
               descriptors: bool, per_atom: frozenset[str]) -> dict[str, Any]:
        fields = self._fields(ev, host, dev, descriptors)
        fields["dipole"] = host["tensor"].reshape(-1, 3).copy()
        return fields

    def empty_result(self, n_structures: int, ev: PlanContext, descriptors: bool) -> dict[str, Any]:
        return {**_NO_ENERGY, "dipole": np.zeros((n_structures, 3)),
                "descriptors": np.zeros((0, ev.architecture.dim)) if descriptors else None}


class PolarizabilityPlan(_TensorPlan):
    """Launches and outputs of a polarizability model."""

    files = (*_FILES, "nep_force.cu")
    components = 10  # the scalar network's sum, then the tensor network's virial

    def launch(self, ev: PlanContext, dev: "DeviceBatch", lists: "NeighborLists",
               out: "Download", descriptors: bool, per_atom: frozenset[str]) -> None:
        arch, n = ev.architecture, dev.atoms.n_atoms
        per_atom_sums = ev.buffer("tensor_atoms", self.components * n, np.float64)
        scalar, virial = per_atom_sums[:n], per_atom_sums[n:]
        # the scalar network first: its gradient is not needed, and the tensor
        # network's then overwrites it in fp
        q, fp, sums = self._network_gradients(
            ev, dev, lists, ((1, scalar), (0, ev.buffer("network_output", n, np.float64))))
        force = ev.buffer("force", 3 * n, np.float64)
        force.fill(0.0)
        virial.fill(0.0)
        pairs = ev.pair_group(dev, lists)
        ev.launch("nep_force_radial", n, pairs | Group(
            dict(fp=fp, force=force, virial=virial),
            dict(fp=arch.dim * n, force=3 * n, virial=9 * n)))
        ev.launch("nep_force_angular", n, pairs | Group(
            dict(dF_ds=sums, force=force, virial=virial),
            dict(dF_ds=arch.n_sums * n, force=3 * n, virial=9 * n)))
        ev.reduce(dev, per_atom_sums, self.components, out["tensor"])
        self._descriptors(ev, q, out, descriptors)

    def result(self, ev: PlanContext, host: dict[str, np.ndarray], dev: "DeviceBatch",
               descriptors: bool, per_atom: frozenset[str]) -> dict[str, Any]:
        fields = self._fields(ev, host, dev, descriptors)
        sums = host["tensor"].reshape(-1, self.components)
        # the per-structure virial of the tensor network is -sum r (x) f (docs/tensors.md)
        fields["polarizability"] = (sums[:, 1:].reshape(-1, 3, 3)
                                    + sums[:, 0][:, None, None] * np.eye(3))
        return fields

    def empty_result(self, n_structures: int, ev: PlanContext, descriptors: bool) -> dict[str, Any]:
        return {**_NO_ENERGY, "polarizability": np.zeros((n_structures, 3, 3)),
                "descriptors": np.zeros((0, ev.architecture.dim)) if descriptors else None}
