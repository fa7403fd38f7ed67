"""The NEP launch plan, the same for every executor.

:class:`Evaluator` is the only place that knows the launch order, the buffer
sizes and the grid shapes. It runs on an :class:`~gpunep.executors.executor.Executor`
(host or cuda) and works with that executor's array library, so the CPU tests
run exactly the sequence the GPU runs:

    upload batch -> neighbor lists -> the model type's plan (potential:
    nep_potential, nep_force) -> per-structure sums (nep_reduce_*) -> one download

The model's kernels are compiled for its architecture (its sizes are
compile-time constants, ``kernels/nep_arch.cuh``); the neighbor lists and the
per-structure sums come from a module shared by every model. Each model type
has a plan (:mod:`gpunep.engine.plans`): potentials, charge models,
dipole and polarizability models.

List capacities come from what the lists need: the first evaluation builds
lists with capacities guessed from the number density (or, without a density,
counts neighbors without storing them) and fetches their true counts before
anything else runs (one extra transfer of three numbers); a guess too small
is replaced by the counts and the lists built again, and after the first
evaluation the capacities are GPUMD's, 25 % over the counts. Every evaluation
reports the true largest counts with its results; a list
that overflowed grows (GPUMD's 25 % headroom over the count) and the
evaluation runs again, so results are never truncated. The counts are kept
in :attr:`Evaluator.neighbor_maxima` (what GPUMD writes to neighbor.out).

Setting ``GPUNEP_PROFILE=1`` times every launch (synchronising after each on
a GPU) and the host-side phases; :attr:`Evaluator.profile` holds the wall
seconds and calls per name (``benchmarks/host_scaling.py`` prints them).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from gpunep.engine.builds import evaluator_builds, model_build
from gpunep.engine.download import Download
from gpunep.engine.geometry import search_radius
from gpunep.engine.launch import Group, Launcher, Profile, scalars
from gpunep.engine.model_arrays import check_supported, model_arrays
from gpunep.engine.device_batch import (DeviceAtoms, DeviceBatch, ResidentBatch, device_atoms,
                                         sum_parts)
from gpunep.engine.neighbors import (NeighborLists, NeighborSearch, choose_strategy, grown_capacity,
                                     guessed_capacities)
from gpunep.engine.plans import PotentialPlan, model_plan
from gpunep.executors.kernel_source import real_dtype
from gpunep.structures import Batch, BatchResult, per_atom_outputs

if TYPE_CHECKING:
    from gpunep.executors.executor import Executor
    from gpunep.model import Model

PROFILE_ENV = "GPUNEP_PROFILE"
WRAP_EXACT_LIMIT = 1024.0
"""Å an atom of a resident batch may lie outside its periodic cell. The wrap kernel's
``r - n a`` rounds at about 2**-52 of that distance (2e-13 Å here); beyond it the
host's exact wrap (:func:`gpunep.geometry.wrap_positions`) is used."""
MAX_LIKELY_NEIGHBORS = 4096
"""Neighbors per atom beyond any real structure: caps a model file's max-neighbor
numbers where they only guide a memory estimate."""


@dataclass(frozen=True)
class NeighborMaxima:
    """Largest neighbor counts of the last evaluation, the list capacities (those it
    ran with; after a first evaluation on guessed capacities, those every later one
    gets), and the neighbor strategy ('small' or 'cell') that built the lists."""

    radial: int
    angular: int
    capacity_radial: int
    capacity_angular: int
    strategy: str


class Evaluator:
    """Evaluate one model on one executor.

    Parameters
    ----------
    model : a potential (NEP3, NEP4 or NEP5, with or without ZBL), charge,
        dipole or polarizability model
    executor : where the kernels run (:class:`~gpunep.executors.executor.Executor`)
    neighbor_strategy : 'auto', 'small' or 'cell' (see :mod:`gpunep.engine.neighbors`)
    kspace, mean_d_correction : charge models' Ewald sum and chain rule (see
        :class:`gpunep.engine.plans.charge.ChargePlan`); other models ignore them

    The model's parameters are uploaded once; device buffers are kept and
    reused while the batch size and list capacities stay the same.
    """

    def __init__(self, model: "Model", executor: "Executor", neighbor_strategy: str = "auto",
                 *, kspace: str = "truncated", mean_d_correction: bool = True):
        check_supported(model)
        choose_strategy(neighbor_strategy, 0, 1)  # validates the name
        self.model = model
        self.executor = executor
        self.neighbor_strategy = neighbor_strategy
        self.plan = model_plan(model, kspace=kspace, mean_d_correction=mean_d_correction)
        arrays = model_arrays(model, real_dtype(executor.precision))
        self.architecture = arrays.architecture
        lists, kernels = evaluator_builds(model, executor)
        self.lists_module = executor.load(lists.files, lists.define_map)
        self.module = executor.load(kernels.files, kernels.define_map)
        self.xp = self.module.xp
        self.profile: Profile | None = Profile() if os.environ.get(PROFILE_ENV) else None
        self.launch = Launcher(self.module, self.profile)
        self._list_launch = Launcher(self.lists_module, self.profile)
        self.params = self.xp.asarray(arrays.params)
        self._active_params = self.params
        self._rc_pairs = (arrays.rc_radial_pairs, arrays.rc_angular_pairs)
        self._rc_search = search_radius(arrays.rc_radial_pairs, arrays.rc_angular_pairs)
        self.search = NeighborSearch(self.lists_module, self.xp.asarray(arrays.rc_radial_pairs),
                                     self.xp.asarray(arrays.rc_angular_pairs), self._list_launch)
        self.capacity_radial: int | None = None
        self.capacity_angular: int | None = None
        self.neighbor_maxima: NeighborMaxima | None = None
        self.transfers = 0
        """Device-to-host transfers of the last evaluation."""
        self._after_guess = (1, 1)  # the capacities after a first evaluation on guessed ones
        self._buffers: dict[str, Any] = {}
        self._download: Any = None
        self._last_atoms: DeviceAtoms | None = None

    # ----------------------------------------------------------------- public
    @property
    def backend(self) -> str:
        return self.executor.name

    @property
    def precision(self) -> str:
        return self.executor.precision

    @property
    def synchronizations(self) -> int:
        """Waits for the device in the last evaluation other than its transfers (profiling's)."""
        return self.launch.synchronizations + self._list_launch.synchronizations

    def evaluate(self, batch: Batch, descriptors: bool = False,
                 per_atom: bool | Iterable[str] = True) -> BatchResult:
        """Energies, forces and virials (or the model type's outputs) of every structure.

        Parameters
        ----------
        batch : the structures
        descriptors : also return the scaled descriptors
        per_atom : the per-atom outputs to return: True for energies and virials,
            False for none, or some of ``('energies', 'virials')``; the others
            stay on the device

        Raises
        ------
        ValueError
            A type index the model lacks, a non-finite position, two atoms at
            the same position (named), a cell too thin for the cutoff.
        FloatingPointError
            If any output is NaN or infinite.
        """
        return self._evaluate_all(batch, (self.params,), descriptors, per_atom)[0]

    def member_params(self, model: "Model") -> Any:
        """``model``'s packed parameters on the device, for :meth:`evaluate_members`.

        Raises
        ------
        ValueError
            ``model`` cannot share this evaluator's kernels and neighbor lists
            (:meth:`cannot_share` says why).
        """
        reason = self.cannot_share(model)
        if reason is not None:
            raise ValueError(reason)
        return self.xp.asarray(model_arrays(model, real_dtype(self.executor.precision)).params)

    def cannot_share(self, model: "Model") -> str | None:
        """Why ``model`` cannot be evaluated with this evaluator's compiled kernels and
        neighbor lists, or None when it can: a potential of the same species, architecture
        (the compile-time constants) and cutoffs, differing only in its parameters."""
        mine = self.model
        if not isinstance(self.plan, PotentialPlan) or model.model_type != mine.model_type:
            return f"only potentials share lists ({model.model_type!r} and {mine.model_type!r})"
        if tuple(model.types) != tuple(mine.types):
            return f"species {tuple(model.types)} differ from {tuple(mine.types)}"
        if model_build(model, self.executor) != model_build(mine, self.executor):
            return "the architectures differ (descriptor sizes, neurons, l_max, ZBL or version)"
        arrays = model_arrays(model, real_dtype(self.executor.precision))
        if not all(np.array_equal(a, b) for a, b in zip(
                (arrays.rc_radial_pairs, arrays.rc_angular_pairs), self._rc_pairs)):
            return "the cutoffs differ"
        return None

    def evaluate_members(self, batch: Batch, members: Sequence[Any],
                         per_atom: bool | Iterable[str] = False) -> list[BatchResult]:
        """Energies, forces and virials of every structure for each member of a committee.

        One upload and one set of neighbor lists serve every member: only the
        potential's launches run once per member, each with its own download.
        Each result is bitwise the one :meth:`evaluate` gives for that member.

        Parameters
        ----------
        batch : the structures
        members : :meth:`member_params` of each member
        per_atom : as for :meth:`evaluate`
        """
        return self._evaluate_all(batch, tuple(members), False, per_atom)

    def evaluate_resident(self, batch: ResidentBatch,
                          per_atom: bool | Iterable[str] = False) -> dict[str, Any] | None:
        """A potential's energies, forces and virials of atoms that are on the device, kept there.

        For GPU arrays given to :func:`gpunep.evaluate`: nothing of size N
        crosses to the host. The evaluation's one download is its diagnostics
        (list counts, whether every output is finite, how far wrapping moved an
        atom), 5 numbers; the results stay in the device buffer.

        Parameters
        ----------
        batch : the atoms on this evaluator's device, checked (:class:`ResidentBatch`)
        per_atom : as for :meth:`evaluate`

        Returns
        -------
        dict or None
            ``energy`` (S,), ``virial`` (S, 3, 3), ``forces`` (N, 3) and the
            ``energies`` (N,) and ``virials`` (N, 3, 3) asked for, float64
            device arrays; None when wrapping moved an atom by more than
            :data:`WRAP_EXACT_LIMIT` Å, where only the host's exact wrap
            (:func:`gpunep.geometry.wrap_positions`) keeps every bit: evaluate
            the host batch instead.

        Raises
        ------
        ValueError
            Not a potential; two atoms at the same position (named).
        FloatingPointError
            If any output is NaN or infinite.
        """
        if not isinstance(self.plan, PotentialPlan) or batch.n_atoms == 0:
            raise ValueError("evaluate_resident takes potentials and batches with atoms; "
                             f"this is a {self.model.model_type!r} model and {batch.n_atoms} atoms")
        self.transfers = self.launch.synchronizations = self._list_launch.synchronizations = 0
        strategy = choose_strategy(self.neighbor_strategy, batch.n_atoms, batch.n_structures)
        with self._phase("upload"):
            extra = self.plan.upload_present(self, batch.types_present)
            dev = self._device_batch(batch.positions, batch.types, batch.cells, batch.pbc,
                                     batch.offsets, strategy, extra, batch.system_index)

        def host_batch() -> Batch:  # only to name coincident atoms in an error
            return Batch(self.xp.asnumpy(batch.positions), self.xp.asnumpy(batch.types),
                         batch.cells, batch.pbc, batch.offsets)

        guess = self._guess(batch.cells, batch.pbc, batch.offsets)
        with self._phase("evaluate (total)"):
            return self._run(dev, strategy, (self.params,), False, per_atom_outputs(per_atom),
                             host_batch, guess, raw_positions=batch.positions)[0]

    def _evaluate_all(self, batch: Batch, members: tuple[Any, ...], descriptors: bool,
                      per_atom: bool | Iterable[str]) -> list[BatchResult]:
        self.transfers = self.launch.synchronizations = self._list_launch.synchronizations = 0
        if batch.n_atoms == 0:
            empty = self.plan.empty_result(batch.n_structures, self, descriptors)
            return [self._result(empty) for _ in members]
        with self._phase("evaluate (total)"):
            fields = self._evaluate(batch, members, descriptors, per_atom_outputs(per_atom))
        results = [self._result(f) for f in fields]
        for result in results:
            result.check_finite()
        return results

    def estimated_bytes_per_atom(self) -> int:
        """Device memory per atom an evaluation will hold, before any has run: the
        lists sized for the model file's max-neighbor numbers (with GPUMD's 25 %
        headroom), the per-atom buffers of the plan and the outputs."""
        arch, real = self.architecture, np.dtype(self.module.real_dtype).itemsize
        # a header's numbers are a hint only (the lists are sized by counting)
        radial = grown_capacity(min(self.model.max_neighbors_radial, MAX_LIKELY_NEIGHBORS), 1)
        angular = grown_capacity(min(self.model.max_neighbors_angular, MAX_LIKELY_NEIGHBORS), 1)
        lists = 4 * (radial + angular + 2)                     # entries and counts
        atoms = 8 * 3 * 2 + 4 * 2 + 4 * 12                     # positions (raw, wrapped), types, cells
        gradients = real * (3 * angular + arch.n_radial)       # pair forces, radial gradient
        if self.plan.files != PotentialPlan.files:             # charge and tensor plans
            gradients += real * 3 * (arch.dim + arch.n_sums)   # q, fp (both heads), sums
        outputs = 8 * (10 + 3 + 1)                             # energies and virials, forces, sums
        return lists + atoms + gradients + outputs

    def batch_bytes(self) -> int:
        """Bytes of device memory this evaluator holds for its last batch: the atoms,
        their neighbor lists and every work and download buffer (not the model)."""
        arrays = [self._download, *self._buffers.values()]
        if self._last_atoms is not None:
            atoms = self._last_atoms
            arrays += [atoms.types, atoms.system_index, atoms.offsets, atoms.frames, atoms.frame_ints]
        held = sum(int(a.nbytes) for a in arrays if a is not None)
        return held + self.search.device_bytes()

    # ----------------------------------------------- what the plans build on
    def model_group(self) -> Group:
        """The ``params`` kernel argument (the member's being evaluated)."""
        return Group(dict(params=self._active_params), dict(params=int(self._active_params.size)))

    def buffer(self, name: str, size: int, dtype: Any) -> Any:
        """A device work buffer kept between evaluations (contents undefined)."""
        current = self._buffers.get(name)
        if current is None or current.size != size or current.dtype != np.dtype(dtype):
            current = self._buffers[name] = self.xp.zeros(int(size), dtype=dtype)
        return current

    def reduce(self, batch: DeviceBatch, values: Any, components: int, sums: Any) -> None:
        """Per-structure sums of ``values`` (components, N) into ``sums`` (S, components):
        deterministic, no atomics (kernels/nep_reduce.cu)."""
        n, s = batch.atoms.n_atoms, batch.atoms.n_structures
        partial = self.buffer("reduce_partial", components * batch.n_parts, np.float64)
        self._list_launch("nep_reduce_parts", batch.n_parts, batch.parts | scalars(
            n_parts=batch.n_parts, components=components, N=n) | Group(
            dict(offsets=batch.atoms.offsets, values=values, partial=partial),
            dict(offsets=s + 1, values=components * n, partial=components * batch.n_parts)))
        self._list_launch("nep_reduce_structures", s, scalars(
            S=s, components=components, n_parts=batch.n_parts) | Group(
            dict(part_offsets=batch.parts["part_offsets"], partial=partial, sums=sums),
            dict(part_offsets=s + 1, partial=components * batch.n_parts, sums=components * s)))

    def descriptors(self, batch: DeviceBatch, lists: NeighborLists, q: Any, sums: Any) -> None:
        """The unscaled descriptors into ``q`` (dim, N) and the angular sums into ``sums``."""
        n = batch.atoms.n_atoms
        arch = self.architecture
        self.launch("nep_descriptor", n, self.pair_group(batch, lists) | Group(
            dict(q=q, sums=sums), dict(q=arch.dim * n, sums=arch.n_sums * n)))

    def pair_group(self, batch: DeviceBatch, lists: NeighborLists) -> Group:
        """The arguments every kernel over an atom's pairs takes: N, atoms, both lists, params."""
        return (scalars(N=batch.atoms.n_atoms) | batch.atoms.group() | lists.group("radial")
                | lists.group("angular") | self.model_group())

    def scaled_descriptors(self, q: Any, out: Any) -> None:
        """``q_scaler * q`` in float64 into ``out`` (dim, N)."""
        dim = self.architecture.dim
        scaler = self.params[self._scaler_slice()].astype(np.float64)
        self.xp.multiply(q.reshape(dim, -1).astype(np.float64), scaler[:, None],
                         out=out.reshape(dim, -1))

    # -------------------------------------------------------------- internals
    def _scaler_slice(self) -> slice:
        from gpunep.engine.model_arrays import params_layout

        offset, size = params_layout(self.architecture)["q_scaler"]
        return slice(offset, offset + size)

    def _evaluate(self, batch: Batch, members: tuple[Any, ...], descriptors: bool,
                  per_atom: frozenset[str]) -> list[dict[str, Any]]:
        strategy = choose_strategy(self.neighbor_strategy, batch.n_atoms, batch.n_structures)
        with self._phase("upload"):
            dev = self._upload(batch, strategy)
        guess = self._guess(batch.cells, batch.pbc, batch.offsets)
        return self._run(dev, strategy, members, descriptors, per_atom, lambda: batch, guess)

    def _run(self, dev: DeviceBatch, strategy: str, members: tuple[Any, ...], descriptors: bool,
             per_atom: frozenset[str], host_batch: Callable[[], Batch],
             guess: tuple[int, int] | None, raw_positions: Any = None) -> list[dict[str, Any] | None]:
        """Each member's result fields: on the host, or with the ``raw_positions`` of a
        resident batch on the device (:meth:`_resident_fields`). The first member's
        diagnostics are checked; a list that overflowed grows and everything runs again."""
        lists = self._first_lists(dev, strategy, guess) if self.capacity_radial is None else None
        guessed = lists is not None
        try:
            while True:
                if lists is None:
                    lists = self.search.build(dev.atoms, self.capacity_radial,
                                              self.capacity_angular, strategy)
                fields = self._members_on(lists, dev, members, descriptors, per_atom, host_batch,
                                          raw_positions)
                if fields is not None:
                    return fields
                # A list overflowed: the true counts are known now, so one rerun suffices.
                self.capacity_radial = grown_capacity(self.neighbor_maxima.radial,
                                                      self.capacity_radial)
                self.capacity_angular = grown_capacity(self.neighbor_maxima.angular,
                                                       self.capacity_angular)
                lists = None
        finally:  # also after an error: the guess served the first evaluation only
            if guessed:
                self._settle_capacities()

    def _members_on(self, lists: NeighborLists, dev: DeviceBatch, members: tuple[Any, ...],
                    descriptors: bool, per_atom: frozenset[str], host_batch: Callable[[], Batch],
                    raw_positions: Any) -> list[dict[str, Any] | None] | None:
        """Each member's result fields on ``lists``, or None when a list overflowed."""
        fields: list[dict[str, Any] | None] = []
        for params in members:
            out = self._launch_plan(dev, lists, params, descriptors, per_atom, raw_positions)
            # a resident batch's results are copied out of the download buffer before
            # the download that waits for the device, so no later evaluation (on
            # another stream) can overwrite the buffer before the copies ran
            kept = (None if raw_positions is None
                    else self.plan.result(self, out.views(), dev, False, per_atom))
            with self._phase("download"):
                host = out.fetch() if raw_positions is None else out.fetch_head("status")
            self.transfers += out.transfers
            if not fields:  # the lists, and so the diagnostics, are every member's
                self._check_diagnostics(host_batch, host["diagnostics"], lists)
                if not self._fits():
                    return None
            if raw_positions is None:
                fields.append(self.plan.result(self, host, dev, descriptors, per_atom))
            else:
                fields.append(self._resident_fields(out, host["status"], dev, per_atom, kept))
        return fields

    def _guess(self, cells: np.ndarray, pbc: np.ndarray, offsets: np.ndarray) -> tuple[int, int] | None:
        """First capacities for a backend's first batch (:func:`guessed_capacities`)."""
        if self.capacity_radial is not None:
            return None
        radial, angular = self._rc_pairs
        return guessed_capacities(cells, pbc, offsets, float(np.max(radial)), float(np.max(angular)))

    def _launch_plan(self, dev: DeviceBatch, lists: NeighborLists, params: Any, descriptors: bool,
                     per_atom: frozenset[str], raw_positions: Any = None) -> Download:
        """The plan's launches with ``params``, into the download (still on the device).

        With the ``raw_positions`` of a resident batch the download leads with a
        status: whether every output is finite, and how far wrapping moved an atom.
        """
        status = {} if raw_positions is None else {"status": 2}
        sizes = {"diagnostics": 3, **status, **self.plan.outputs(self, dev, descriptors, per_atom)}
        out = Download(self.xp, sizes, self._download)
        self._download = out.buffer
        self._active_params = params
        try:
            self.plan.launch(self, dev, lists, out, descriptors, per_atom)
        finally:
            self._active_params = self.params
        out["diagnostics"][...] = lists.diagnostics
        if raw_positions is not None:
            xp, outputs = self.xp, sum(out.offsets["status"])
            out["status"][0:1] = xp.isfinite(out.buffer[outputs:]).all()
            out["status"][1:2] = xp.abs(raw_positions - dev.atoms.positions).max()
        return out

    def _resident_fields(self, out: Download, status: np.ndarray, dev: DeviceBatch,
                         per_atom: frozenset[str], kept: dict[str, Any]) -> dict[str, Any] | None:
        """The ``kept`` device result fields of a resident batch, after its status (see
        :meth:`evaluate_resident`)."""
        if not status[0]:  # the host copy names the first non-finite output
            self._result(self.plan.result(self, out.fetch(), dev, False, per_atom)).check_finite()
        if status[1] > WRAP_EXACT_LIMIT:
            return None
        return kept

    def _settle_capacities(self) -> None:
        """After lists of guessed capacities served a first evaluation: GPUMD's capacities,
        25 % over the counts fetched with them, for every later one (and reported)."""
        self.capacity_radial, self.capacity_angular = self._after_guess
        if self.neighbor_maxima is not None:
            self.neighbor_maxima = replace(self.neighbor_maxima, capacity_radial=self.capacity_radial,
                                           capacity_angular=self.capacity_angular)

    def _first_lists(self, dev: DeviceBatch, strategy: str,
                     guess: tuple[int, int] | None) -> NeighborLists | None:
        """The capacities of a backend's first evaluation, from lists whose counts are
        fetched before anything else runs (one transfer): lists of the ``guess``ed
        capacities, returned when every atom's neighbors fit; else (no guess, or a guess
        too small) capacities from the true counts, and None (the lists are built again)."""
        radial, angular = guess if guess is not None else (0, 0)
        lists = self.search.build(dev.atoms, radial, angular, strategy)
        counts = lists.diagnostics if self.xp is np else self.xp.asnumpy(lists.diagnostics)
        self.transfers += 1
        if guess is not None and counts[0] <= radial and counts[1] <= angular:
            self.capacity_radial, self.capacity_angular = radial, angular
            self._after_guess = grown_capacity(int(counts[0]), 1), grown_capacity(int(counts[1]), 1)
            return lists
        self.capacity_radial = grown_capacity(int(counts[0]), 1)
        self.capacity_angular = grown_capacity(int(counts[1]), 1)
        return None

    def _check_diagnostics(self, host_batch: Callable[[], Batch], diagnostics: np.ndarray,
                           lists: NeighborLists) -> None:
        max_radial, max_angular, coincident = (int(v) for v in diagnostics)
        self.neighbor_maxima = NeighborMaxima(max_radial, max_angular, lists.capacity_radial,
                                              lists.capacity_angular, lists.strategy)
        if coincident:
            raise ValueError(_coincident_message(host_batch(), coincident - 1))

    def _fits(self) -> bool:
        m = self.neighbor_maxima
        return m.radial <= m.capacity_radial and m.angular <= m.capacity_angular

    def _upload(self, batch: Batch, strategy: str) -> DeviceBatch:
        n_types = len(self.model.types)
        types = np.ascontiguousarray(batch.types, dtype=np.int32)
        bad = np.flatnonzero((types < 0) | (types >= n_types))
        if bad.size:
            raise ValueError(f"atom {bad[0]} has type index {types[bad[0]]}; the model has "
                             f"{n_types} types (0..{n_types - 1})")
        if not np.all(np.isfinite(batch.positions)):
            atom = int(np.argwhere(~np.isfinite(batch.positions))[0, 0])
            raise ValueError(f"atom {atom} has a non-finite position {batch.positions[atom]}")
        xp = self.xp
        positions = xp.asarray(np.ascontiguousarray(batch.positions, dtype=np.float64))
        return self._device_batch(positions, xp.asarray(types), batch.cells, batch.pbc,
                                  batch.offsets, strategy, self.plan.upload(self, batch, types))

    def _device_batch(self, positions: Any, types: Any, cells: np.ndarray, pbc: np.ndarray,
                      offsets: np.ndarray, strategy: str, extra: dict[str, Any],
                      system_index: Any = None) -> DeviceBatch:
        """The device batch of atoms already on the device, wrapped into their cells."""
        xp = self.xp
        atoms = self.search.wrap(device_atoms(xp, positions, types, cells, pbc, offsets,
                                              self._rc_search, strategy, system_index))
        self._last_atoms = atoms
        parts, n_parts = sum_parts(xp, np.asarray(offsets))
        return DeviceBatch(atoms, parts, n_parts, extra)

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        if self.profile is None:
            yield
            return
        tic = time.perf_counter()
        yield
        self.launch.synchronize()
        self.profile.add(name, time.perf_counter() - tic)

    def _result(self, fields: dict[str, Any]) -> BatchResult:
        return BatchResult(**fields, backend=self.executor.name, precision=self.executor.precision)


def _coincident_message(batch: Batch, atom: int) -> str:
    """Name atom ``atom`` and the atom at its position (nearest image) in its structure."""
    s = int(np.searchsorted(batch.offsets, atom, side="right") - 1)
    first, last = int(batch.offsets[s]), int(batch.offsets[s + 1])
    d = batch.positions[first:last] - batch.positions[atom]
    cell, pbc = np.asarray(batch.cells[s]), np.asarray(batch.pbc[s], dtype=bool)
    if pbc.any() and abs(np.linalg.det(cell)) > 0:
        frac = np.linalg.solve(cell.T, d.T).T
        d = (frac - np.where(pbc, np.rint(frac), 0.0)) @ cell
    others = [first + k for k in np.flatnonzero(np.all(np.abs(d) < 1e-12, axis=1))
              if first + k != atom]
    partner = f"atoms {others[0]} and {atom}" if others else f"atom {atom} and a periodic image of it"
    where = f"structure {s}: " if batch.n_structures > 1 else ""
    return (f"{where}{partner} (or a periodic image) are at the same position "
            f"{batch.positions[atom].tolist()}")
