"""Charge models (qNEP, ``nep*_charge1|2``) on the kernels (NEP_SPEC §4).

The launch order of one evaluation (kernels/nep_charge.cu, nep_ewald.cu):

1. descriptors; the network with both heads (energies, raw charges, Fp, Fp^Q);
2. dq^raw/ds from a copy of the angular sums, then the pair part of the Born
   effective charges (§4.4) from Fp^Q;
3. charges shifted per structure to its net charge (``Batch.charges_total``);
4. per structure, over its own k-vectors (set up on the host by
   :func:`gpunep.reference.ewald.kvectors`, uploaded once per cell): the
   structure factor (one thread per k), then per atom the reciprocal energy,
   forces, virial and ``D_i = dE/dq_i``; for ``charge_mode`` 1 the
   real-space erfc and self terms over the radial list;
5. ``D_i - mean_s(D)`` per structure (the chain rule through the
   neutralisation, §4.3; switchable), ``Fp_eff = Fp + D Fp^Q``;
6. the descriptor forces with Fp_eff, and ZBL.

Charge models need cells periodic in all three directions (as GPUMD).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from gpunep.engine.kspace import KSPACE, check_periodic, ewald_alpha, kvectors
from gpunep.engine.plans import ModelPlan

if TYPE_CHECKING:
    from gpunep.engine.evaluator import Evaluator
    from gpunep.model import Model
    from gpunep.structures import Batch


class ChargePlan(ModelPlan):
    """Launches and outputs of a charge model.

    Parameters
    ----------
    model : a ``potential_with_charges`` model
    kspace : 'truncated' (``|k| < 2 pi alpha``, GPUMD's trainer and ``kspace
        ewald``; default) or 'converged' (the full Ewald sum, which GPUMD's
        MD default PPPM approximates; see :mod:`gpunep.reference.ewald`)
    mean_d_correction : subtract each structure's mean of ``D`` in the chain
        rule (the exact gradient; GPUMD since 2026-04, NEP_SPEC §4.3)
    """

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
    def upload(self, ev: "Evaluator", batch: "Batch") -> dict[str, Any]:
        for s in np.flatnonzero(~np.all(batch.pbc, axis=1)):
            check_periodic(batch.structure(int(s)),
                           f"structure {s}" if batch.n_structures > 1 else "structure")
        xp = ev.xp
        counts = np.diff(batch.offsets).astype(np.float64)
        dev = {"charges_total": xp.asarray(np.asarray(batch.charges_total, dtype=np.float64)),
               # structures without atoms take no part; 1 avoids 0/0 in their unused bins
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
        # G(k) = (4 pi / V) exp(-k^2 / 4 alpha^2) / k^2 (NEP_SPEC §4.2)
        weight = (4.0 * math.pi / volumes[owner]) * np.exp(-ksq / (4.0 * self.alpha**2)) / ksq
        return {"k_offsets": offsets.astype(np.int32), "k_system": owner,
                "kx": np.ascontiguousarray(k[:, 0]), "ky": np.ascontiguousarray(k[:, 1]),
                "kz": np.ascontiguousarray(k[:, 2]), "k_weight": weight}

    def workspace(self, ev: "Evaluator", n: int) -> dict[str, Any]:
        xp, real = ev.xp, ev.module.real_dtype
        return {
            "raw_charge": xp.zeros(n, dtype=np.float64),
            "charge": xp.zeros(n, dtype=np.float64),
            "potential": xp.zeros(n, dtype=np.float64),
            "bec": xp.zeros(9 * n, dtype=np.float64),
            "fp_charge": xp.zeros(ev.model.n_descriptor * n, dtype=real),
            "dQ_ds": xp.zeros(ev.n_angular_sums * n, dtype=real),
        }

    # --------------------------------------------------------------- launches
    def launch(self, ev: "Evaluator", dev: dict[str, Any], nl: Any, b: dict[str, Any]) -> None:
        xp, model, p, i32 = ev.xp, ev.model, ev.params, np.int32
        types, system_index = dev["types"], dev["system_index"]
        n, dim = int(types.shape[0]), model.n_descriptor
        for name in ("force", "virial", "bec"):
            b[name].fill(0.0)

        ev.launch_descriptor(types, nl, b["q"], b["dU_ds"])
        ev.launch_threads("nep_ann_charge", n, (
            i32(n), i32(dim), i32(model.n_neuron), types, p["q_scaler"], p["ann"],
            p["ann_charge"], b["q"], b["energies"], b["raw_charge"], b["fp"], b["fp_charge"],
        ), {"types": n, "q_scaler": dim, "ann": int(p["ann"].size),
            "ann_charge": len(model.types) * model.n_neuron, "q": dim * n, "energy": n,
            "charge": n, "fp": dim * n, "fp_charge": dim * n})
        # Both heads need dF/ds, and the gradient kernel overwrites the sums it reads.
        xp.copyto(b["dQ_ds"], b["dU_ds"])
        ev.launch_angular_gradient(b["fp_charge"], b["dQ_ds"])
        radial, radial_sizes = ev.radial_pair_arguments(types, nl)
        angular, angular_sizes = ev.angular_pair_arguments(types, nl)
        ev.launch_threads("nep_bec_radial", n, (*radial, b["fp_charge"], b["bec"]), {
            **radial_sizes, "fp_charge": dim * n, "bec": 9 * n})
        ev.launch_threads("nep_bec_angular", n, (*angular, b["dQ_ds"], b["bec"]), {
            **angular_sizes, "dQ_ds": ev.n_angular_sums * n, "bec": 9 * n})

        n_structures = int(dev["charges_total"].shape[0])
        raw_total = xp.bincount(system_index, weights=b["raw_charge"], minlength=n_structures)
        shift = (dev["charges_total"] - raw_total) / dev["atom_counts"]
        xp.add(b["raw_charge"], shift[system_index], out=b["charge"])

        self._electrostatics(ev, dev, nl, b)
        if self.mean_d_correction:
            mean = xp.bincount(system_index, weights=b["potential"],
                               minlength=n_structures) / dev["atom_counts"]
            b["potential"] -= mean[system_index]
        ev.launch_threads("nep_charge_chain_rule", n, (
            i32(n), i32(dim), b["fp_charge"], b["potential"], b["fp"],
        ), {"fp_charge": dim * n, "potential": n, "fp": dim * n})
        ev.launch_angular_gradient(b["fp"], b["dU_ds"])
        ev.launch_forces(types, nl, b["fp"], b["dU_ds"], b["force"], b["virial"])
        if p["zbl"] is not None:
            ev.launch_zbl(types, nl, b["energies"], b["force"], b["virial"])

    def _electrostatics(self, ev: "Evaluator", dev: dict[str, Any], nl: Any,
                        b: dict[str, Any]) -> None:
        """Ewald energies, forces, virials at fixed charges; D_i into b['potential'] (§4.2)."""
        i32 = np.int32
        n = int(dev["types"].shape[0])
        n_k = int(dev["kx"].shape[0])
        n_structures = int(dev["charges_total"].shape[0])
        if n_k == 0:  # cells too small for any |k| below the cutoff
            b["potential"].fill(0.0)
        else:
            s_real = ev.xp.empty(n_k, dtype=np.float64)
            s_imag = ev.xp.empty(n_k, dtype=np.float64)
            k_arrays = (dev["kx"], dev["ky"], dev["kz"])
            k_sizes = {"kx": n_k, "ky": n_k, "kz": n_k}
            ev.launch_threads("nep_ewald_structure_factor", n_k, (
                i32(n_k), dev["k_system"], *k_arrays, dev["offsets"], dev["positions"],
                b["charge"], s_real, s_imag,
            ), {"k_system": n_k, **k_sizes, "offsets": n_structures + 1, "positions": 3 * n,
                "charge": n, "s_real": n_k, "s_imag": n_k})
            ev.launch_threads("nep_ewald_reciprocal", n, (
                i32(n), dev["system_index"], dev["k_offsets"], *k_arrays, dev["k_weight"], s_real,
                s_imag, dev["positions"], b["charge"], self.alpha, b["energies"], b["force"],
                b["virial"], b["potential"],
            ), {"system_index": n, "k_offsets": n_structures + 1, **k_sizes, "k_weight": n_k,
                "s_real": n_k, "s_imag": n_k, "positions": 3 * n, "charge": n, "energy": n,
                "force": 3 * n, "virial": 9 * n, "potential": n})
        if self.charge_mode == 1:
            radial, radial_sizes = ev.radial_pair_arguments(dev["types"], nl)
            ev.launch_threads("nep_ewald_real_space", n, (
                radial[0], radial[4], *radial[6:11], b["charge"], self.alpha, b["energies"],
                b["force"], b["virial"], b["potential"],
            ), {**{k: v for k, v in radial_sizes.items()
                   if k.endswith("_radial") and not k.startswith(("rc", "c_"))},
                "charge": n, "energy": n, "force": 3 * n, "virial": 9 * n, "potential": n})

    # ---------------------------------------------------------------- outputs
    def parts(self, ev: "Evaluator", dev: dict[str, Any], n_structures: int,
              b: dict[str, Any]) -> list[tuple[str, Any, tuple[int, ...]]]:
        n = int(dev["types"].shape[0])
        return [("charges", b["charge"], (n,)), ("raw_charges", b["raw_charge"], (n,)),
                ("bec_pairs", b["bec"], (9, n))]

    def result(self, host: dict[str, Any]) -> dict[str, Any]:
        charges = host["charges"]
        # Z_i = sqrt_eps (q_i I + pair terms) (§4.4)
        bec = host["bec_pairs"].T.reshape(-1, 3, 3) + charges[:, None, None] * np.eye(3)
        return {"charges": charges.copy(), "raw_charges": host["raw_charges"].copy(),
                "bec": self.sqrt_epsilon_infinity * bec}

    def empty_result(self, n_structures: int) -> dict[str, Any]:
        return {"charges": np.zeros(0), "raw_charges": np.zeros(0), "bec": np.zeros((0, 3, 3))}

