"""A potential's launches (NEP3, NEP4, NEP5, with or without ZBL; docs/forces.md).

Two fused per-atom kernels (kernels/nep_potential.cu): ``nep_potential``
(descriptor, network, energy, radial gradient, angular pair forces) and
``nep_force`` (forces, per-atom virials, ZBL), then the per-structure sums of
energies and virials. Descriptors, when asked for, come from one more launch.
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
    from gpunep.structures import Batch

# Per-atom sums: the energy, then the nine virial components [a * 3 + b].
SUM_COMPONENTS = 10
# Per atom, pre-contracting the radial network derivative costs n_types_present
# (n_max + 1) (n_basis + 1) products and saves 2 n_max (n_basis + 1) per neighbor
# pair; with tens of neighbors it pays while a batch holds up to about this many types.
MAX_PRECONTRACTED_TYPES = 16


def present_types(ev: PlanContext, types_present: np.ndarray) -> tuple[int, np.ndarray]:
    """``(n_pre, type_slot)`` from whether each type occurs: the radial derivatives are
    pre-contracted per present neighbor type (kernels/nep_potential.cu) when few types are present."""
    n_types = len(ev.model.types)
    present = np.flatnonzero(types_present)
    type_slot = np.full(n_types, -1, dtype=np.int32)
    type_slot[present] = np.arange(len(present), dtype=np.int32)
    return (len(present) if len(present) <= MAX_PRECONTRACTED_TYPES else 0), type_slot


class PotentialPlan(ModelPlan):
    """Launches and outputs of a potential."""

    files = ("nep_potential.cu", "nep_descriptor.cu")

    def upload(self, ev: PlanContext, batch: "Batch", types: np.ndarray) -> dict[str, Any]:
        return self.upload_present(ev, np.bincount(types, minlength=len(ev.model.types)) > 0)

    def upload_present(self, ev: PlanContext, types_present: np.ndarray) -> dict[str, Any]:
        """:meth:`upload` from whether each type occurs (all a potential's launches need)."""
        n_pre, type_slot = present_types(ev, types_present)
        return {"n_pre": n_pre, "type_slot": ev.xp.asarray(type_slot)}

    def outputs(self, ev: PlanContext, dev: "DeviceBatch", descriptors: bool,
                per_atom: frozenset[str]) -> dict[str, int]:
        n, s = dev.atoms.n_atoms, dev.atoms.n_structures
        sizes = {"sums": SUM_COMPONENTS * s, "force": 3 * n, **per_atom_sizes(per_atom, n)}
        if descriptors:
            sizes["descriptors"] = ev.architecture.dim * n
        return sizes

    def launch(self, ev: PlanContext, dev: "DeviceBatch", lists: "NeighborLists",
               out: "Download", descriptors: bool, per_atom: frozenset[str]) -> None:
        arch, real = ev.architecture, ev.module.real_dtype
        n, n_pre = dev.atoms.n_atoms, dev.extra["n_pre"]
        atom_sums = per_atom_buffer(ev, out, n)
        energy, virial = atom_sums[:n], atom_sums[n:]
        gradient = Group(
            dict(type_slot=dev.extra["type_slot"],
                 fp_radial=ev.buffer("fp_radial", 0 if n_pre else arch.n_radial * n, real),
                 pre_radial=ev.buffer("pre_radial", n_pre * arch.k_radial * n, real),
                 f_angular=ev.buffer("f_angular", 3 * lists.capacity_angular * n, real)),
            dict(type_slot=arch.n_types, fp_radial=0 if n_pre else arch.n_radial * n,
                 pre_radial=n_pre * arch.k_radial * n, f_angular=3 * lists.capacity_angular * n))
        common = ev.pair_group(dev, lists) | scalars(n_pre=n_pre) | gradient
        ev.launch("nep_potential", n, common | Group(dict(energy=energy), dict(energy=n)))
        ev.launch("nep_force", n, common | Group(
            dict(energy=energy, force=out["force"], virial=virial),
            dict(energy=n, force=3 * n, virial=9 * n)))
        ev.reduce(dev, atom_sums, SUM_COMPONENTS, out["sums"])
        copy_per_atom(ev, atom_sums, out, n)
        if descriptors:
            q = ev.buffer("q", arch.dim * n, real)
            ev.descriptors(dev, lists, q, ev.buffer("angular_sums", arch.n_sums * n, real))
            ev.scaled_descriptors(q, out["descriptors"])

    def result(self, ev: PlanContext, host: dict[str, np.ndarray], dev: "DeviceBatch",
               descriptors: bool, per_atom: frozenset[str]) -> dict[str, Any]:
        return energy_fields(ev, host, dev, descriptors, per_atom)

    def empty_result(self, n_structures: int, ev: PlanContext, descriptors: bool) -> dict[str, Any]:
        return empty_energy_fields(n_structures, ev, descriptors)


def per_atom_sizes(per_atom: frozenset[str], n: int) -> dict[str, int]:
    """The per-atom outputs of a model with an energy in the download: energies and
    virials together as ``atom_sums`` (the reduction's own buffer), or either alone."""
    if per_atom == {"energies", "virials"}:
        return {"atom_sums": SUM_COMPONENTS * n}
    sizes = {}
    if "energies" in per_atom:
        sizes["atom_energies"] = n
    if "virials" in per_atom:
        sizes["atom_virials"] = 9 * n
    return sizes


def per_atom_buffer(ev: PlanContext, out: "Download", n: int) -> Any:
    """(SUM_COMPONENTS, N) per-atom energies and virials: the download's own view when
    both are returned, else a work buffer (see :func:`copy_per_atom`)."""
    if "atom_sums" in out:
        return out["atom_sums"]
    return ev.buffer("atom_sums", SUM_COMPONENTS * n, np.float64)


def copy_per_atom(ev: PlanContext, atom_sums: Any, out: "Download", n: int) -> None:
    """Copy the per-atom energies or virials asked for alone into the download (on the device)."""
    if "atom_energies" in out:
        ev.xp.copyto(out["atom_energies"], atom_sums[:n])
    if "atom_virials" in out:
        ev.xp.copyto(out["atom_virials"], atom_sums[n:])


def energy_fields(ev: PlanContext, host: dict[str, Any], dev: "DeviceBatch",
                  descriptors: bool, per_atom: frozenset[str]) -> dict[str, Any]:
    """BatchResult fields of a model with an energy, from the outputs ``sums``, ``force``
    and, when asked for, ``atom_sums`` and ``descriptors``: host arrays, or device views
    (then device arrays)."""
    n, s = dev.atoms.n_atoms, dev.atoms.n_structures
    # copies throughout: the arrays may be views of the device's download buffer,
    # which the next evaluation overwrites (and .copy() serves numpy and CuPy alike)
    sums = host["sums"].reshape(s, SUM_COMPONENTS)
    fields = {"energy": sums[:, 0].copy(), "virial": sums[:, 1:].copy().reshape(s, 3, 3),
              "forces": host["force"].reshape(3, n).T.copy(),
              "energies": None, "virials": None, "descriptors": None}
    if "atom_sums" in host:
        atom_sums = host["atom_sums"].reshape(SUM_COMPONENTS, n)
        energies, virials = atom_sums[0], atom_sums[1:]
    else:
        energies, virials = host.get("atom_energies"), host.get("atom_virials")
    if energies is not None:
        fields["energies"] = energies.copy()
    if virials is not None:
        fields["virials"] = virials.reshape(9, n).T.copy().reshape(n, 3, 3)
    if descriptors:
        fields["descriptors"] = descriptor_output(ev, host, n)
    return fields


def empty_energy_fields(n_structures: int, ev: PlanContext, descriptors: bool) -> dict[str, Any]:
    """:func:`energy_fields` of a batch without atoms."""
    return dict(energy=np.zeros(n_structures), virial=np.zeros((n_structures, 3, 3)),
                energies=np.zeros(0), forces=np.zeros((0, 3)), virials=np.zeros((0, 3, 3)),
                descriptors=np.zeros((0, ev.architecture.dim)) if descriptors else None)
