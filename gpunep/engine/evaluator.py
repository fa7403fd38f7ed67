"""The NEP launch plan, the same for every executor.

:class:`Evaluator` is the only place that knows the launch order, the buffer
sizes and the grid shapes. It takes a kernel module (host or cuda, see
:mod:`gpunep.executors.module`) and works with that module's array library
(``module.xp``), so the CPU tests run exactly the sequence the GPU runs:

    upload batch -> neighbor lists -> nep_potential (descriptor, network and
    gradients per atom) -> nep_force (radial, angular [, ZBL] per atom)
    -> per-structure sums (xp.bincount) -> one download

Charge, dipole and polarizability models run the same steps as separate
launches (nep_descriptor -> nep_ann -> nep_angular_gradient ->
nep_force_radial -> nep_force_angular [-> nep_zbl], same device code)
through a plan (:mod:`gpunep.engine.plans`: charges, Ewald and BEC in
:mod:`gpunep.engine.plans.charge`, dipoles and polarizabilities in
:mod:`gpunep.engine.plans.tensor`) built from the evaluator's shared ``launch_*``
methods, so argument lists and grids still live in one place per kernel.

Setting ``GPUNEP_PROFILE=1`` times every launch (synchronising after each
on a GPU) and the host-side phases; :attr:`Evaluator.profile` holds the
wall seconds and calls per name (``benchmarks/host_scaling.py`` prints them).

The neighbor lists record the true largest neighbor counts even when a list
overflows its capacity; the evaluator reads them with the results, and if a
capacity was too small it grows the buffers and runs the whole evaluation
again, so results are never truncated. The observed maxima are kept in
:attr:`Evaluator.neighbor_maxima` (what GPUMD writes to neighbor.out).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from gpunep.engine.model_arrays import check_supported, extras_mask, model_arrays
from gpunep.engine.neighbors import build_neighbor_lists, grown_capacity
from gpunep.engine.plans import model_plan
from gpunep.structures import Batch, BatchResult

if TYPE_CHECKING:
    from gpunep.executors.module import KernelModule
    from gpunep.model import Model

BLOCK_SIZE = 64  # threads per block for every NEP kernel, like GPUMD (NEP_SPEC §6.1)
PROFILE_ENV = "GPUNEP_PROFILE"
# Per atom, pre-contracting the radial network derivative costs n_types_present
# (n_max + 1) (n_basis + 1) products and saves 2 n_max (n_basis + 1) per neighbor
# pair; with tens of neighbors it pays while a batch holds up to about this many types.
MAX_PRECONTRACTED_TYPES = 16


@dataclass(frozen=True)
class NeighborMaxima:
    """Largest neighbor counts of the last evaluation, the capacities it ran with,
    and the neighbor strategy ('small' or 'cell') that built the lists."""

    radial: int
    angular: int
    capacity_radial: int
    capacity_angular: int
    strategy: str


class Profile(dict):
    """``{name: [calls, seconds]}`` for kernels and host-side phases (see GPUNEP_PROFILE)."""

    def add(self, name: str, seconds: float) -> None:
        entry = self.setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += seconds

    def table(self, per: float = 1.0, unit: str = "s") -> str:
        """One line per name, slowest first, seconds divided by ``per``."""
        rows = sorted(self.items(), key=lambda item: -item[1][1])
        return "\n".join(f"  {name:<28} {calls:>6} calls {seconds / per:>12.4g} {unit}"
                         for name, (calls, seconds) in rows)


class _TimedModule:
    """A kernel module whose launches are timed into a :class:`Profile`."""

    def __init__(self, module: "KernelModule", profile: Profile):
        self._module = module
        self._profile = profile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def synchronize(self) -> None:
        if self._module.xp is not np:
            self._module.xp.cuda.get_current_stream().synchronize()

    def get_function(self, name: str) -> Any:
        kernel = self._module.get_function(name)

        def timed(*args: Any, **kwargs: Any) -> None:
            self.synchronize()
            tic = time.perf_counter()
            kernel(*args, **kwargs)
            self.synchronize()
            self._profile.add(name, time.perf_counter() - tic)

        return timed


@dataclass
class _Memory:
    """An evaluator's device buffers: the per-atom workspace and the neighbor lists."""

    buffers: dict[str, Any] = field(default_factory=dict)
    shape: tuple[int, int] | None = None  # (atoms, present types) the workspace was made for
    neighbors: Any = None


# The memory of evaluators that were garbage-collected, by (kernel module, model
# architecture). gpunep.predict builds a backend per call: a new evaluator of the same
# shape adopts this memory instead of allocating and first-touching tens of MB again
# (~15 % of a 25 x 250-atom predict on the host). One entry per key, at most _IDLE_KEYS keys.
_IDLE_KEYS = 4
_idle_lock = threading.Lock()
_idle: "OrderedDict[tuple, _Memory]" = OrderedDict()


def _donate(key: tuple, memory: _Memory) -> None:
    with _idle_lock:
        _idle[key] = memory
        _idle.move_to_end(key)
        while len(_idle) > _IDLE_KEYS:
            _idle.popitem(last=False)


def _adopt(key: tuple) -> _Memory:
    with _idle_lock:
        return _idle.pop(key, None) or _Memory()


def initial_capacity(max_neighbors: int) -> int:
    """GPUMD's list size for a model file's max-neighbor number: ceil(1.25 MN), at least 1."""
    return grown_capacity(int(max_neighbors), 1)


class Evaluator:
    """Evaluate one model with one kernel module.

    Parameters
    ----------
    model : a potential (NEP3, NEP4 or NEP5, with or without ZBL), charge,
        dipole or polarizability model
    module : a :class:`~gpunep.executors.module.KernelModule` (host or cuda)
    neighbor_strategy : 'auto', 'small' or 'cell' (see :mod:`gpunep.engine.neighbors`)
    kspace, mean_d_correction : charge models' Ewald sum and chain rule (see
        :class:`gpunep.engine.plans.charge.ChargePlan`); other models ignore them

    Potentials run the launches below; other model types add theirs through
    a plan (:mod:`gpunep.engine.plans`) that reuses them.

    The model's parameters are uploaded once; device buffers are kept and
    reused while the batch size and list capacities stay the same, and handed
    to the next evaluator of the same architecture when this one is
    garbage-collected.
    """

    def __init__(self, model: "Model", module: "KernelModule", neighbor_strategy: str = "auto",
                 *, kspace: str = "truncated", mean_d_correction: bool = True):
        check_supported(model)
        self.plan = model_plan(model, kspace=kspace, mean_d_correction=mean_d_correction)
        self.neighbor_strategy = neighbor_strategy
        self.model = model
        self.profile: Profile | None = Profile() if os.environ.get(PROFILE_ENV) else None
        self.module = module if self.profile is None else _TimedModule(module, self.profile)
        self.xp = module.xp
        host = model_arrays(model, module.real_dtype)
        self._params = {name: (None if value is None else self.xp.asarray(value))
                        for name, value in vars(host).items()}
        self.capacity_radial = initial_capacity(model.max_neighbors_radial)
        self.capacity_angular = initial_capacity(model.max_neighbors_angular)
        self.neighbor_maxima: NeighborMaxima | None = None
        self._extras = extras_mask(model)
        # buffer sizes follow from these (and the batch); the plan's buffers from model_type
        key = (id(module), model.model_type, len(model.types), model.n_descriptor,
               model.n_max_radial, model.n_basis_radial, model.n_max_angular,
               model.n_basis_angular, model.l_max_3b)
        self._memory = _adopt(key)
        weakref.finalize(self, _donate, key, self._memory)

    # ----------------------------------------------------------------- public
    def evaluate(self, batch: Batch, descriptors: bool = False) -> BatchResult:
        """Energies, forces and virials of every structure of ``batch``.

        Returns
        -------
        BatchResult (see :class:`gpunep.structures.BatchResult`), with the
        scaled descriptors when ``descriptors`` is true.

        Raises
        ------
        FloatingPointError
            If any output is NaN or infinite.
        """
        if batch.n_atoms == 0:
            return self._empty_result(batch, descriptors)
        with self._phase("evaluate (total)"):
            return self._evaluate(batch, descriptors)

    # -------------------------------------------------------------- internals
    def _evaluate(self, batch: Batch, descriptors: bool) -> BatchResult:
        while True:
            host = self._run(batch, descriptors)
            max_radial, max_angular = host["max_counts"]
            self.neighbor_maxima = NeighborMaxima(
                max_radial, max_angular, self.capacity_radial, self.capacity_angular,
                self._memory.neighbors.strategy)
            if max_radial <= self.capacity_radial and max_angular <= self.capacity_angular:
                break
            # A list overflowed: the true counts are known now, so one rerun suffices.
            self.capacity_radial = grown_capacity(max_radial, self.capacity_radial)
            self.capacity_angular = grown_capacity(max_angular, self.capacity_angular)
        fields = dict(
            energy=host["energy"], virial=host["virial"], energies=host["energies"],
            forces=host["forces"], virials=host["virials"], descriptors=host.get("descriptors"),
        )
        if self.plan is not None:
            fields.update(self.plan.result(host))
        result = BatchResult(**fields, backend=self.module.backend,
                             precision=self.module.precision)
        result.check_finite()
        return result

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        if self.profile is None:
            yield
            return
        tic = time.perf_counter()
        yield
        if self.xp is not np:
            self.module.synchronize()
        self.profile.add(name, time.perf_counter() - tic)

    def _run(self, batch: Batch, descriptors: bool) -> dict[str, Any]:
        """One pass: upload, neighbor lists, NEP kernels, sums, one download."""
        with self._phase("upload"):
            dev = self._upload(batch)
            if self.plan is not None:
                dev.update(self.plan.upload(self, batch))
        nl = build_neighbor_lists(
            self.module, dev["positions"], dev["types"], dev["cells"], dev["pbc"], dev["offsets"],
            self._params["rc_radial_pairs"], self._params["rc_angular_pairs"],
            self.capacity_radial, self.capacity_angular, out=self._memory.neighbors,
            strategy=self.neighbor_strategy)
        self._memory.neighbors = nl
        with self._phase("workspace"):
            buffers = self._workspace(batch.n_atoms, dev["n_pre"])
        if self.plan is None:
            self._launch_nep(dev, nl, buffers)
        else:
            self.plan.launch(self, dev, nl, buffers)
        with self._phase("collect"):
            extra = ([] if self.plan is None
                     else self.plan.parts(self, dev, batch.n_structures, buffers))
            return self._collect(dev["system_index"], batch.n_structures, nl, buffers, descriptors,
                                 extra)

    def _upload(self, batch: Batch) -> dict[str, Any]:
        n_types = len(self.model.types)
        types = np.ascontiguousarray(batch.types, dtype=np.int32)
        bad = np.flatnonzero((types < 0) | (types >= n_types))
        if bad.size:
            raise ValueError(f"atom {bad[0]} has type index {types[bad[0]]}; the model has "
                             f"{n_types} types (0..{n_types - 1})")
        if not np.all(np.isfinite(batch.positions)):
            atom = int(np.argwhere(~np.isfinite(batch.positions))[0, 0])
            raise ValueError(f"atom {atom} has a non-finite position {batch.positions[atom]}")
        present = np.flatnonzero(np.bincount(types, minlength=n_types))
        type_slot = np.full(n_types, -1, dtype=np.int32)
        type_slot[present] = np.arange(len(present), dtype=np.int32)
        host = {
            "type_slot": type_slot,
            "positions": np.ascontiguousarray(batch.positions, dtype=np.float64),
            "types": types,
            "cells": np.ascontiguousarray(batch.cells, dtype=np.float64),
            "pbc": np.ascontiguousarray(batch.pbc, dtype=np.int32),
            "offsets": np.ascontiguousarray(batch.offsets, dtype=np.int32),
            "system_index": np.ascontiguousarray(batch.system_index, dtype=np.int32),
        }
        dev: dict[str, Any] = {name: self.xp.asarray(value) for name, value in host.items()}
        # a potential's radial derivatives are pre-contracted per present neighbor
        # type (kernels/nep_potential.cu) when that is cheaper: few types in the batch
        few = self.plan is None and len(present) <= MAX_PRECONTRACTED_TYPES
        dev["n_pre"] = len(present) if few else 0
        return dev

    def _launch_nep(self, dev: dict[str, Any], nl: Any, b: dict[str, Any]) -> None:
        """A potential's two kernels: per-atom descriptor, network and gradients, then forces."""
        model, p, i32 = self.model, self._params, np.int32
        types, type_slot, n_pre = dev["types"], dev["type_slot"], dev["n_pre"]
        n, dim = int(types.shape[0]), model.n_descriptor
        radial, radial_sizes = self.radial_pair_arguments(types, nl)
        angular, angular_sizes = self.angular_pair_arguments(types, nl)
        lists = (*radial[6:11], *angular[7:12])  # nn, nl, dx, dy, dz of both lists
        f_angular = b["f_angular"]
        if f_angular.size != 3 * nl.capacity_angular * n:  # sized by the list capacity
            f_angular = b["f_angular"] = self.xp.zeros(3 * nl.capacity_angular * n,
                                                       dtype=self.module.real_dtype)
        sizes = {**radial_sizes, **angular_sizes, "type_slot": len(model.types), "fp": dim * n,
                 "pre_radial": int(b["pre_radial"].size), "f_angular": int(f_angular.size),
                 "energy": n}
        self.launch_threads("nep_potential", n, (
            *radial[:4], i32(model.n_max_angular), i32(model.n_basis_angular),
            i32(model.l_max_3b), i32(self._extras), i32(dim), i32(model.n_neuron), i32(n_pre),
            radial[4], angular[5], types, type_slot, *lists, p["rc_radial"], p["rc_angular"],
            p["c_radial"], p["c_angular"], p["q_scaler"], p["ann"], b["q"], b["energies"],
            b["fp"], b["pre_radial"], b["dU_ds"], f_angular,
        ), {**sizes, "q_scaler": dim, "ann": int(p["ann"].size), "q": dim * n,
            "dU_ds": self.n_angular_sums * n})
        zbl = p["zbl"] if p["zbl"] is not None else p["rc_radial"]  # read only with has_zbl
        self.launch_threads("nep_force", n, (
            *radial[:4], i32(n_pre), i32(p["zbl"] is not None), radial[4], angular[5], types,
            type_slot, *lists, p["rc_radial"], p["c_radial"], b["fp"], b["pre_radial"], f_angular,
            zbl, b["energies"], b["force"], b["virial"],
        ), {**{k: v for k, v in sizes.items() if k not in ("rc_angular", "c_angular")},
            "zbl": int(zbl.size), "force": 3 * n, "virial": 9 * n})

    # ----------------------------------------- launches shared with gpunep.engine.plans
    @property
    def params(self) -> dict[str, Any]:
        """The model's device arrays by name (:class:`gpunep.engine.model_arrays.ModelArrays`)."""
        return self._params

    def launch_threads(self, name: str, n: int, args: tuple, sizes: dict[str, int]) -> None:
        """Launch kernel ``name`` with one thread per item over ``n`` items (n >= 1)."""
        self._launch(name, ((n + BLOCK_SIZE - 1) // BLOCK_SIZE,), (BLOCK_SIZE,), args, sizes)

    def radial_pair_arguments(self, types: Any, nl: Any) -> tuple[tuple, dict[str, int]]:
        """The leading arguments (and pointer sizes) of every kernel over the radial pairs:
        ``N, n_types, n_max_radial, n_basis_radial, capacity_radial, types, nn_radial,
        nl_radial, dx_radial, dy_radial, dz_radial, rc_radial, c_radial``."""
        model, p, i32 = self.model, self._params, np.int32
        n, cap = int(types.shape[0]), nl.capacity_radial
        args = (i32(n), i32(len(model.types)), i32(model.n_max_radial), i32(model.n_basis_radial),
                i32(cap), types, nl.nn_radial, nl.nl_radial, nl.dx_radial, nl.dy_radial,
                nl.dz_radial, p["rc_radial"], p["c_radial"])
        sizes = {"types": n, "nn_radial": n, "nl_radial": cap * n, "dx_radial": cap * n,
                 "dy_radial": cap * n, "dz_radial": cap * n, "rc_radial": int(p["rc_radial"].size),
                 "c_radial": int(p["c_radial"].size)}
        return args, sizes

    def angular_pair_arguments(self, types: Any, nl: Any) -> tuple[tuple, dict[str, int]]:
        """The leading arguments (and pointer sizes) of every kernel over the angular pairs:
        ``N, n_types, n_max_angular, n_basis_angular, l_max, capacity_angular, types,
        nn_angular, nl_angular, dx_angular, dy_angular, dz_angular, rc_angular, c_angular``."""
        model, p, i32 = self.model, self._params, np.int32
        n, cap = int(types.shape[0]), nl.capacity_angular
        args = (i32(n), i32(len(model.types)), i32(model.n_max_angular),
                i32(model.n_basis_angular), i32(model.l_max_3b), i32(cap), types, nl.nn_angular,
                nl.nl_angular, nl.dx_angular, nl.dy_angular, nl.dz_angular, p["rc_angular"],
                p["c_angular"])
        sizes = {"types": n, "nn_angular": n, "nl_angular": cap * n, "dx_angular": cap * n,
                 "dy_angular": cap * n, "dz_angular": cap * n,
                 "rc_angular": int(p["rc_angular"].size), "c_angular": int(p["c_angular"].size)}
        return args, sizes

    @property
    def n_angular_sums(self) -> int:
        """Angular sums per atom, (n_max_angular + 1) ((l_max + 1)^2 - 1)."""
        return (self.model.n_max_angular + 1) * ((self.model.l_max_3b + 1) ** 2 - 1)

    def launch_descriptor(self, types: Any, nl: Any, q: Any, sums: Any) -> None:
        """Unscaled descriptors into ``q`` (dim, N) and the angular sums into ``sums``."""
        model, p, i32 = self.model, self._params, np.int32
        n = int(types.shape[0])
        radial, radial_sizes = self.radial_pair_arguments(types, nl)
        angular, angular_sizes = self.angular_pair_arguments(types, nl)
        self.launch_threads("nep_descriptor", n, (
            *radial[:4], i32(model.n_max_angular), i32(model.n_basis_angular),
            i32(model.l_max_3b), i32(self._extras), radial[4], angular[5], types, *radial[6:11],
            *angular[7:12], p["rc_radial"], p["rc_angular"], p["c_radial"], p["c_angular"], q, sums,
        ), {**radial_sizes, **angular_sizes, "q": model.n_descriptor * n,
            "sum_fxyz": self.n_angular_sums * n})

    def launch_ann(self, types: Any, ann: Any, q: Any, energies: Any, fp: Any) -> None:
        """The network laid out in ``ann`` (see kernels/nep_ann.cu): outputs into
        ``energies`` (N,) and their gradients into ``fp`` (dim, N)."""
        model, i32 = self.model, np.int32
        n, dim = int(types.shape[0]), model.n_descriptor
        self.launch_threads("nep_ann", n, (
            i32(n), i32(dim), i32(model.n_neuron), types, self._params["q_scaler"], ann, q,
            energies, fp,
        ), {"types": n, "q_scaler": dim, "ann": len(model.types) * ((dim + 2) * model.n_neuron + 1),
            "q": dim * n, "energy": n, "fp": dim * n})

    def launch_angular_gradient(self, fp: Any, sums: Any) -> None:
        """Replace the angular sums in ``sums`` by dF/ds for the gradient ``fp``."""
        model, i32 = self.model, np.int32
        n = int(sums.size) // self.n_angular_sums
        self.launch_threads("nep_angular_gradient", n, (
            i32(n), i32(model.n_max_radial), i32(model.n_max_angular), i32(model.l_max_3b),
            i32(self._extras), fp, sums,
        ), {"fp": model.n_descriptor * n, "sum_fxyz": self.n_angular_sums * n})

    def launch_forces(self, types: Any, nl: Any, fp: Any, dU_ds: Any, force: Any,
                      virial: Any) -> None:
        """Add the descriptor forces and per-atom virials of the gradient ``fp`` / ``dU_ds``."""
        n, dim = int(types.shape[0]), self.model.n_descriptor
        radial, radial_sizes = self.radial_pair_arguments(types, nl)
        self.launch_threads("nep_force_radial", n, (*radial, fp, force, virial), {
            **radial_sizes, "fp": dim * n, "force": 3 * n, "virial": 9 * n})
        angular, angular_sizes = self.angular_pair_arguments(types, nl)
        self.launch_threads("nep_force_angular", n, (*angular, dU_ds, force, virial), {
            **angular_sizes, "dU_ds": self.n_angular_sums * n, "force": 3 * n, "virial": 9 * n})

    def launch_zbl(self, types: Any, nl: Any, energies: Any, force: Any, virial: Any) -> None:
        """Add the ZBL energies, forces and per-atom virials (angular pairs, NEP_SPEC §3.11)."""
        p = self._params
        n = int(types.shape[0])
        angular, angular_sizes = self.angular_pair_arguments(types, nl)
        self.launch_threads("nep_zbl", n, (
            angular[0], angular[1], angular[5], types, *angular[7:12], p["zbl"], energies, force,
            virial,
        ), {"types": n, **{k: v for k, v in angular_sizes.items() if not k.startswith(("rc", "c_"))},
            "zbl": int(p["zbl"].size), "energy": n, "force": 3 * n, "virial": 9 * n})

    def _collect(self, system_index: Any, n_structures: int, nl: Any, b: dict[str, Any],
                 descriptors: bool, extra: list[tuple[str, Any, tuple[int, ...]]]) -> dict[str, Any]:
        """Per-structure sums on the device, then everything (and the plan's ``extra``
        parts, returned by name) in a single download."""
        xp = self.xp
        n = int(system_index.shape[0])
        dim = self.model.n_descriptor
        energy = xp.bincount(system_index, weights=b["energies"], minlength=n_structures)
        # per-atom virial row k * N + i goes to bin 9 s + k
        virial_bins = (system_index[None, :] * 9 + xp.arange(9, dtype=np.int32)[:, None]).reshape(-1)
        virial = xp.bincount(virial_bins, weights=b["virial"], minlength=9 * n_structures)
        parts = [("energies", b["energies"], (n,)),
                 ("force", b["force"], (3, n)),
                 ("virial_atoms", b["virial"], (9, n)),
                 ("energy", energy, (n_structures,)),
                 ("virial", virial, (n_structures, 3, 3)),
                 ("max_counts", nl.max_counts.astype(np.float64), (2,))]
        if descriptors:
            scaled = (b["q"].reshape(dim, n).astype(np.float64)
                      * self._params["q_scaler"].astype(np.float64)[:, None])
            parts.append(("descriptors_t", scaled, (dim, n)))
        parts += extra
        flat = self._download(xp.concatenate([a.reshape(-1) for _, a, _ in parts]))
        host: dict[str, Any] = {}
        start = 0
        for name, _, shape in parts:
            size = int(np.prod(shape))
            host[name] = flat[start:start + size].reshape(shape)
            start += size
        out = {
            "energies": host["energies"],
            "forces": np.ascontiguousarray(host["force"].T),
            "virials": np.ascontiguousarray(host["virial_atoms"].T.reshape(n, 3, 3)),
            "energy": host["energy"],
            "virial": host["virial"],
            "max_counts": tuple(int(v) for v in host["max_counts"]),
        }
        if descriptors:
            out["descriptors"] = np.ascontiguousarray(host["descriptors_t"].T)
        out.update({name: host[name] for name, _, _ in extra})
        return out

    def _launch(self, name: str, grid: tuple, block: tuple, args: tuple,
                sizes: dict[str, int]) -> None:
        self.module.get_function(name)(grid, block, args, sizes=sizes)

    def _workspace(self, n: int, n_pre: int) -> dict[str, Any]:
        """Per-atom device buffers, reused while the atom and present-type counts stay the same."""
        model, memory = self.model, self._memory
        if (n, n_pre) != memory.shape:
            xp, real = self.xp, self.module.real_dtype
            dim = model.n_descriptor
            memory.buffers = {
                "q": xp.zeros(dim * n, dtype=real),
                "fp": xp.zeros(dim * n, dtype=real),
                "pre_radial": xp.zeros(max(1, n_pre * (model.n_basis_radial + 1) * n), dtype=real),
                "f_angular": xp.zeros(0, dtype=real),  # sized by _launch_nep
                "dU_ds": xp.zeros(self.n_angular_sums * n, dtype=real),
                "energies": xp.zeros(n, dtype=np.float64),
                "force": xp.zeros(3 * n, dtype=np.float64),
                "virial": xp.zeros(9 * n, dtype=np.float64),
            }
            if self.plan is not None:
                memory.buffers.update(self.plan.workspace(self, n))
            memory.shape = (n, n_pre)
        return memory.buffers

    def _download(self, array: Any) -> np.ndarray:
        # numpy: the array is already a fresh host array (xp.concatenate copies)
        return array if self.xp is np else self.xp.asnumpy(array)

    def _empty_result(self, batch: Batch, descriptors: bool) -> BatchResult:
        s = batch.n_structures
        fields = dict(
            energy=np.zeros(s), virial=np.zeros((s, 3, 3)), energies=np.zeros(0),
            forces=np.zeros((0, 3)), virials=np.zeros((0, 3, 3)),
            descriptors=np.zeros((0, self.model.n_descriptor)) if descriptors else None,
        )
        if self.plan is not None:
            fields.update(self.plan.empty_result(s))
        return BatchResult(**fields, backend=self.module.backend, precision=self.module.precision)
