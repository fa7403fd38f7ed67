"""Charge models (qNEP, ``nep*_charge1|2``) on the kernels (docs/charges.md).

The launch order of one evaluation (kernels/nep_charge.cu, nep_ewald.cu):

1. descriptors; the network with both heads (energies, raw charges, Fp, Fp^Q);
2. dq^raw/ds from a copy of the angular sums, then the pair part of the Born
   effective charges from Fp^Q;
3. charges shifted per structure to its net charge (``Batch.charges_total``);
4. per structure, over its own k-vectors (set up on the host once per cell):
   the structure factor (one thread per k), then per atom the reciprocal
   energy, forces, virial and ``D_i = dE/dq_i``; for ``charge_mode`` 1 the
   real-space erfc and self terms over the radial list;
5. ``D_i - mean_s(D)`` per structure (the chain rule through the
   neutralisation; switchable), ``Fp_eff = Fp + D Fp^Q``;
6. the descriptor forces with Fp_eff, and ZBL; per-structure sums.

Charge models need cells periodic in all three directions (as GPUMD).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from gpunep.engine.kspace import KSPACE, check_periodic, ewald_alpha, kvectors
from gpunep.engine.launch import Group, scalars
from gpunep.engine.plans.base import ModelPlan, PlanContext, descriptor_output
from gpunep.engine.plans.potential import (
    SUM_COMPONENTS,
    copy_per_atom,
    empty_energy_fields,
    energy_fields,
    per_atom_buffer,
    per_atom_sizes,
)

if TYPE_CHECKING:
    from gpunep.engine.download import Download
    from gpunep.engine.device_batch import DeviceBatch
    from gpunep.engine.neighbors import NeighborLists
    from gpunep.model import Model
    from gpunep.structures import Batch


class ChargePlan(ModelPlan):
    """Launches and outputs of a charge model.

    Parameters
    ----------
    model : a ``potential_with_charges`` model
    kspace : 'truncated' (``|k| < 2 pi alpha``, GPUMD's trainer and ``kspace
        ewald``; default) or 'converged' (the full Ewald sum, which GPUMD's
        MD default PPPM approximates; see docs/charges.md#ewald-summation)
    mean_d_correction : subtract each structure's mean of ``D`` in the chain
        rule (the exact gradient; GPUMD since 2026-04, docs/charges.md#chain-rule-through-the-charges)
    """

    files = ("nep_descriptor.cu", "nep_ann.cu", "nep_charge.cu", "nep_ewald.cu", "nep_force.cu")

    def __init__(self, model: "Model", kspace: str = "truncated", mean_d_correction: bool = True):
        if kspace not in KSPACE:
            raise ValueError(f"kspace must be one of {', '.join(KSPACE)}, not {kspace!r}")
        self.kspace = kspace
        self.mean_d_correction = bool(mean_d_correction)
        self.alpha = ewald_alpha(model)
        self.charge_mode = int(model.charge_mode)
        self.sqrt_epsilon_infinity = float(model.sqrt_epsilon_infinity)
        # the k-vectors of the last batch's cells (MD keeps the cell): (cells bytes, device arrays)
        self._kspace_cache: tuple[bytes, dict[str, Any]] | None = None

    # ------------------------------------------------------------------ setup
    def upload(self, ev: PlanContext, batch: "Batch", types: np.ndarray) -> dict[str, Any]:
        for s in np.flatnonzero(~np.all(batch.pbc, axis=1)):
            check_periodic(batch.structure(int(s)),
                           f"structure {s}" if batch.n_structures > 1 else "structure")
        xp = ev.xp
        counts = np.diff(batch.offsets).astype(np.float64)
        dev = {"charges_total": xp.asarray(np.asarray(batch.charges_total, dtype=np.float64)),
               # structures without atoms take no part; 1 avoids 0/0 for them
               "atom_counts": xp.asarray(np.maximum(counts, 1.0))}
        key = np.ascontiguousarray(batch.cells, dtype=np.float64).tobytes()
        if self._kspace_cache is None or self._kspace_cache[0] != key:
            self._kspace_cache = (key, {name: xp.asarray(value)
                                        for name, value in self._kvectors(batch.cells).items()})
        dev.update(self._kspace_cache[1])
        return dev

    def _kvectors(self, cells: np.ndarray) -> dict[str, np.ndarray]:
        """Every structure's k-vectors back to back, their offsets, owners and weights G(k)."""
        k_list = [kvectors(cell, self.alpha, self.kspace) for cell in cells]
        counts = np.array([k.shape[0] for k in k_list], dtype=np.int64)
        offsets = np.zeros(len(k_list) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        k = np.concatenate(k_list) if k_list else np.zeros((0, 3))
        volumes = np.abs(np.linalg.det(cells)) if len(cells) else np.zeros(0)
        owner = np.repeat(np.arange(len(k_list), dtype=np.int32), counts)
        ksq = np.einsum("ka,ka->k", k, k)
        # G(k) = (4 pi / V) exp(-k^2 / 4 alpha^2) / k^2 (docs/charges.md#ewald-summation)
        weight = (4.0 * math.pi / volumes[owner]) * np.exp(-ksq / (4.0 * self.alpha**2)) / ksq
        return {"k_offsets": offsets.astype(np.int32), "k_system": owner,
                "kx": np.ascontiguousarray(k[:, 0]), "ky": np.ascontiguousarray(k[:, 1]),
                "kz": np.ascontiguousarray(k[:, 2]), "k_weight": weight}

    def outputs(self, ev: PlanContext, dev: "DeviceBatch", descriptors: bool,
                per_atom: frozenset[str]) -> dict[str, int]:
        n, s = dev.atoms.n_atoms, dev.atoms.n_structures
        sizes = {"sums": SUM_COMPONENTS * s, "force": 3 * n, "charges": n, "raw_charges": n,
                 "bec_pairs": 9 * n, **per_atom_sizes(per_atom, n)}
        if descriptors:
            sizes["descriptors"] = ev.architecture.dim * n
        return sizes

    # --------------------------------------------------------------- launches
    def launch(self, ev: PlanContext, dev: "DeviceBatch", lists: "NeighborLists",
               out: "Download", descriptors: bool, per_atom: frozenset[str]) -> None:
        xp, arch, real = ev.xp, ev.architecture, ev.module.real_dtype
        n = dev.atoms.n_atoms
        atom_sums = per_atom_buffer(ev, out, n)
        energy, virial, force = atom_sums[:n], atom_sums[n:], out["force"]
        q = ev.buffer("q", arch.dim * n, real)
        dU_ds = ev.buffer("dU_ds", arch.n_sums * n, real)
        dQ_ds = ev.buffer("dQ_ds", arch.n_sums * n, real)
        fp = ev.buffer("fp", arch.dim * n, real)
        fp_charge = ev.buffer("fp_charge", arch.dim * n, real)
        potential = ev.buffer("potential", n, np.float64)
        for array in (force, virial, out["bec_pairs"]):
            array.fill(0.0)
        pairs = ev.pair_group(dev, lists)
        dim_n, sums_n = arch.dim * n, arch.n_sums * n

        ev.descriptors(dev, lists, q, dU_ds)
        ev.launch("nep_ann_charge", n, scalars(N=n) | ev.model_group() | Group(
            dict(types=dev.atoms.types, q=q, energy=energy, charge=out["raw_charges"], fp=fp,
                 fp_charge=fp_charge),
            dict(types=n, q=dim_n, energy=n, charge=n, fp=dim_n, fp_charge=dim_n)))
        # Both heads need dF/ds, and the gradient kernel overwrites the sums it reads.
        xp.copyto(dQ_ds, dU_ds)
        self._angular_gradient(ev, n, fp_charge, dQ_ds)
        ev.launch("nep_bec_radial", n, pairs | Group(
            dict(fp_charge=fp_charge, bec=out["bec_pairs"]), dict(fp_charge=dim_n, bec=9 * n)))
        ev.launch("nep_bec_angular", n, pairs | Group(
            dict(dQ_ds=dQ_ds, bec=out["bec_pairs"]), dict(dQ_ds=sums_n, bec=9 * n)))
        self._neutralise(ev, dev, out["raw_charges"], out["charges"])
        self._electrostatics(ev, dev, pairs, out["charges"], energy, force, virial, potential)
        if self.mean_d_correction:
            mean = self._per_structure(ev, dev, potential) / dev.extra["atom_counts"]
            potential -= mean[dev.atoms.system_index]
        ev.launch("nep_charge_chain_rule", n, scalars(N=n) | Group(
            dict(fp_charge=fp_charge, potential=potential, fp=fp),
            dict(fp_charge=dim_n, potential=n, fp=dim_n)))
        self._angular_gradient(ev, n, fp, dU_ds)
        ev.launch("nep_force_radial", n, pairs | Group(
            dict(fp=fp, force=force, virial=virial), dict(fp=dim_n, force=3 * n, virial=9 * n)))
        ev.launch("nep_force_angular", n, pairs | Group(
            dict(dF_ds=dU_ds, force=force, virial=virial),
            dict(dF_ds=sums_n, force=3 * n, virial=9 * n)))
        if arch.has_zbl:
            ev.launch("nep_zbl", n, pairs | Group(
                dict(energy=energy, force=force, virial=virial),
                dict(energy=n, force=3 * n, virial=9 * n)))
        ev.reduce(dev, atom_sums, SUM_COMPONENTS, out["sums"])
        copy_per_atom(ev, atom_sums, out, n)
        if descriptors:
            ev.scaled_descriptors(q, out["descriptors"])

    @staticmethod
    def _angular_gradient(ev: PlanContext, n: int, fp: Any, sums: Any) -> None:
        arch = ev.architecture
        ev.launch("nep_angular_gradient", n, scalars(N=n) | Group(
            dict(fp=fp, sums=sums), dict(fp=arch.dim * n, sums=arch.n_sums * n)))

    @staticmethod
    def _per_structure(ev: PlanContext, dev: "DeviceBatch", values: Any) -> Any:
        """(S,) sums of a per-atom array over each structure."""
        sums = ev.buffer("structure_sums", dev.atoms.n_structures, np.float64)
        ev.reduce(dev, values, 1, sums)
        return sums

    def _neutralise(self, ev: PlanContext, dev: "DeviceBatch", raw: Any, charge: Any) -> None:
        """Charges shifted so that each structure's sum is its net charge."""
        raw_total = self._per_structure(ev, dev, raw)
        shift = (dev.extra["charges_total"] - raw_total) / dev.extra["atom_counts"]
        ev.xp.add(raw, shift[dev.atoms.system_index], out=charge)

    def _electrostatics(self, ev: PlanContext, dev: "DeviceBatch", pairs: Group, charge: Any,
                        energy: Any, force: Any, virial: Any, potential: Any) -> None:
        """Ewald energies, forces, virials at fixed charges; D_i into ``potential``."""
        n, n_structures = dev.atoms.n_atoms, dev.atoms.n_structures
        k = dev.extra
        n_k = int(k["kx"].shape[0])
        if n_k == 0:  # cells too small for any |k| below the cutoff
            potential.fill(0.0)
        else:
            s_real = ev.buffer("s_real", n_k, np.float64)
            s_imag = ev.buffer("s_imag", n_k, np.float64)
            k_arrays = Group(dict(kx=k["kx"], ky=k["ky"], kz=k["kz"]), dict(kx=n_k, ky=n_k, kz=n_k))
            ev.launch("nep_ewald_structure_factor", n_k, k_arrays | scalars(n_k=n_k) | Group(
                dict(k_system=k["k_system"], offsets=dev.atoms.offsets,
                     positions=dev.atoms.positions, charge=charge, s_real=s_real, s_imag=s_imag),
                dict(k_system=n_k, offsets=n_structures + 1, positions=3 * n, charge=n,
                     s_real=n_k, s_imag=n_k)))
            ev.launch("nep_ewald_reciprocal", n, k_arrays | scalars(N=n, alpha=self.alpha) | Group(
                dict(system_index=dev.atoms.system_index, k_offsets=k["k_offsets"],
                     k_weight=k["k_weight"], s_real=s_real, s_imag=s_imag,
                     positions=dev.atoms.positions, charge=charge, energy=energy, force=force,
                     virial=virial, potential=potential),
                dict(system_index=n, k_offsets=n_structures + 1, k_weight=n_k, s_real=n_k,
                     s_imag=n_k, positions=3 * n, charge=n, energy=n, force=3 * n, virial=9 * n,
                     potential=n)))
        if self.charge_mode == 1:
            ev.launch("nep_ewald_real_space", n, pairs | scalars(alpha=self.alpha) | Group(
                dict(charge=charge, energy=energy, force=force, virial=virial, potential=potential),
                dict(charge=n, energy=n, force=3 * n, virial=9 * n, potential=n)))

    # ---------------------------------------------------------------- outputs
    def result(self, ev: PlanContext, host: dict[str, np.ndarray], dev: "DeviceBatch",
               descriptors: bool, per_atom: frozenset[str]) -> dict[str, Any]:
        fields = energy_fields(ev, host, dev, descriptors, per_atom)
        n = dev.atoms.n_atoms
        charges = host["charges"].copy()
        # Z_i = sqrt_eps (q_i I + pair terms) (docs/charges.md#born-effective-charges)
        bec = host["bec_pairs"].reshape(9, n).T.reshape(-1, 3, 3) + charges[:, None, None] * np.eye(3)
        fields.update(charges=charges, raw_charges=host["raw_charges"].copy(),
                      bec=self.sqrt_epsilon_infinity * bec)
        return fields

    def empty_result(self, n_structures: int, ev: PlanContext, descriptors: bool) -> dict[str, Any]:
        fields = empty_energy_fields(n_structures, ev, descriptors)
        fields.update(charges=np.zeros(0), raw_charges=np.zeros(0), bec=np.zeros((0, 3, 3)))
        return fields
