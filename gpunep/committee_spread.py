"""How much the M models of a committee disagree on each structure: the spread, and its result.

The committee's spread estimates the uncertainty of a prediction; the
structures where it is large are the ones worth labelling with DFT. GPUMD
computes it during MD with its ``active`` keyword; here it is computed for a
whole data set (:func:`gpunep.predict_committee`, also on a Dask cluster) or
for one structure at a time in ASE (:class:`gpunep.CommitteeCalculator`).

The force uncertainty (GPUMD's sigma_f)
---------------------------------------
For atom ``i``, Cartesian direction ``k`` and the forces ``F^m`` of the
members ``m = 1..M`` with mean ``F̄``::

    sigma_ik^2 = (1 / D) * sum_m (F^m_ik - F̄_ik)^2
    force_std_i = sqrt(sigma_ix^2 + sigma_iy^2 + sigma_iz^2)
    max_force_std = max_i force_std_i

``variance='population'`` takes ``D = M``: what GPUMD's ``active`` keyword
computes (its code accumulates the means of F and F^2 over the models and
takes ``mean(F^2) - mean(F)^2``), so thresholds carry over from GPUMD runs.
``variance='sample'`` takes ``D = M - 1``: the "sample variance" that
GPUMD's documentation of ``active`` states; it is the population value
times ``sqrt(M / (M - 1))``. The energy uncertainty ``energy_std`` is the
same spread of the members' total energies (eV; GPUMD has none).

The spreads are computed from the differences to the first member
(mathematically the same; the deviations never cancel catastrophically,
and a committee of identical models gives exactly 0).

Members of one architecture (the same species, descriptor sizes, neurons
and cutoffs: a committee trained alike) are evaluated in one pass, sharing
the packed structures and neighbor lists (:func:`member_predictions`);
others each by its own backend. The mathematics: docs/committee.md#gpumds-two-definitions.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from gpunep.backends.kernel import KernelBackend
from gpunep.batching import BatchPlanner, evaluate_batch, evaluate_batch_members, pack_labelled
from gpunep.model import Model, read_model

if TYPE_CHECKING:
    from ase import Atoms

    from gpunep.backends.base import Backend

#: variance name -> the "delta degrees of freedom" of numpy: D = M - ddof
VARIANCES = {"population": 0, "sample": 1}
#: model types whose members give energies and forces
_ENERGY_MODEL_TYPES = ("potential", "temperature", "potential_with_charges")


def committee_spread(energy: np.ndarray, forces: np.ndarray, offsets: np.ndarray,
                     variance: str = "population") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spread of a committee's predictions (see the module docstring for the formulas).

    Parameters
    ----------
    energy : (M, S) each member's total energy of each structure (eV)
    forces : (M, N, 3) each member's forces (eV/Å)
    offsets : (S + 1,) the atoms of structure s are ``offsets[s]:offsets[s + 1]``
    variance : ``'population'`` (divide by M; GPUMD's code) or ``'sample'``
        (divide by M - 1; GPUMD's documentation)

    Returns
    -------
    energy_std : (S,) eV
    force_std : (N,) per atom, eV/Å
    max_force_std : (S,) the largest ``force_std`` of each structure (GPUMD's sigma_f)
    """
    ddof = variance_ddof(variance, len(energy))
    energy_std = np.sqrt(_variance(np.asarray(energy, dtype=np.float64), ddof))
    force_std = np.sqrt(_variance(np.asarray(forces, dtype=np.float64), ddof).sum(axis=-1))
    counts = np.diff(offsets)
    max_force_std = np.zeros(len(counts))
    nonempty = counts > 0
    if nonempty.any():
        max_force_std[nonempty] = np.maximum.reduceat(force_std, offsets[:-1][nonempty])
    return energy_std, force_std, max_force_std


def variance_ddof(variance: str, n_members: int) -> int:
    """numpy's ddof for ``variance``; raises ValueError for an unknown name or fewer than 2 members."""
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {', '.join(VARIANCES)}, not {variance!r}")
    if n_members < 2:
        raise ValueError(f"a committee needs at least 2 models, got {n_members}")
    return VARIANCES[variance]


def _variance(values: np.ndarray, ddof: int) -> np.ndarray:
    """Variance over axis 0, from the differences to member 0 (exactly 0 for identical members)."""
    deviations = values - values[0]
    deviations -= deviations.mean(axis=0)
    return (deviations * deviations).sum(axis=0) / (len(values) - ddof)


def _offsets(counts: np.ndarray) -> np.ndarray:
    """(S + 1,) start of each structure's atoms, from the (S,) atom counts."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


@dataclass
class CommitteeResult:
    """A committee's predictions and spread on a data set.

    Attributes
    ----------
    numbers : (N,) atomic numbers
    positions : (N, 3) Å
    cells : (S, 3, 3) Å
    pbc : (S, 3)
    offsets : (S + 1,) the atoms of structure s are ``offsets[s]:offsets[s + 1]``
    config_types : (S,) the data set's ``config_type`` labels ('' when absent)
    indices : (S,) each structure's index in the input data set
    energy : (M, S) each member's total energy (eV)
    energy_std : (S,) spread of the total energies (eV)
    force_std : (N,) per-atom force spread (eV/Å)
    max_force_std : (S,) largest ``force_std`` in each structure (eV/Å; GPUMD's sigma_f)
    variance : ``'population'`` or ``'sample'`` (see :mod:`gpunep.committee`)
    """

    numbers: np.ndarray
    positions: np.ndarray
    cells: np.ndarray
    pbc: np.ndarray
    offsets: np.ndarray
    config_types: list[str]
    energy: np.ndarray
    energy_std: np.ndarray
    force_std: np.ndarray
    max_force_std: np.ndarray
    variance: str
    indices: np.ndarray

    @property
    def n_structures(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_members(self) -> int:
        return len(self.energy)

    def select(self, threshold: float) -> "CommitteeResult":
        """The structures whose ``max_force_std`` exceeds ``threshold`` (eV/Å), as GPUMD's
        ``active`` selects them (sigma_f > threshold); ``indices`` says where they came from."""
        return self.subset(np.flatnonzero(self.max_force_std > threshold))

    def subset(self, structures: Sequence[int] | np.ndarray) -> "CommitteeResult":
        """The given structures (indices into this result), in the given order."""
        structures = np.asarray(structures, dtype=np.int64).reshape(-1)
        atoms = (np.concatenate([np.arange(self.offsets[s], self.offsets[s + 1]) for s in structures])
                 if len(structures) else np.zeros(0, dtype=np.int64))
        offsets = _offsets(np.diff(self.offsets)[structures])
        return CommitteeResult(
            numbers=self.numbers[atoms], positions=self.positions[atoms], cells=self.cells[structures],
            pbc=self.pbc[structures], offsets=offsets,
            config_types=[self.config_types[s] for s in structures], energy=self.energy[:, structures],
            energy_std=self.energy_std[structures], force_std=self.force_std[atoms],
            max_force_std=self.max_force_std[structures], variance=self.variance,
            indices=self.indices[structures])

    def to_atoms(self, s: int) -> "Atoms":
        """Structure ``s`` as ASE ``Atoms``, with its spread in ``info`` and ``arrays``
        (``uncertainty``: the per-atom force spread, named as GPUMD's active learning names it)."""
        from ase import Atoms

        atoms_slice = slice(int(self.offsets[s]), int(self.offsets[s + 1]))
        atoms = Atoms(numbers=self.numbers[atoms_slice], positions=self.positions[atoms_slice],
                      cell=self.cells[s], pbc=self.pbc[s])
        if self.config_types[s]:
            atoms.info["config_type"] = self.config_types[s]
        atoms.info["uncertainty"] = float(self.max_force_std[s])
        atoms.info["energy_std"] = float(self.energy_std[s])
        atoms.info["index"] = int(self.indices[s])
        atoms.arrays["uncertainty"] = self.force_std[atoms_slice].copy()
        return atoms

    def write_extxyz(self, path: str | os.PathLike) -> None:
        """Write every structure of this result (e.g. after :meth:`select`) as extended XYZ.

        Each frame holds the species, positions, cell and pbc to label, the
        input ``index``, ``uncertainty`` (max force spread, eV/Å) and
        ``energy_std`` (eV) in the comment line, and a per-atom
        ``uncertainty`` column. Written to a temporary file and renamed, so
        ``path`` is never half-written.
        """
        import ase.io

        from gpunep.model.io import atomic_write

        text = io.StringIO()
        ase.io.write(text, [self.to_atoms(s) for s in range(self.n_structures)], format="extxyz")
        atomic_write(path, text.getvalue())

    @staticmethod
    def concatenate(parts: Sequence["CommitteeResult"]) -> "CommitteeResult":
        """Join the results of consecutive pieces of a data set (``indices`` renumbered 0..S-1)."""
        offsets = _offsets(np.concatenate([np.diff(p.offsets) for p in parts]))
        return CommitteeResult(
            numbers=np.concatenate([p.numbers for p in parts]),
            positions=np.concatenate([p.positions for p in parts]),
            cells=np.concatenate([p.cells for p in parts]), pbc=np.concatenate([p.pbc for p in parts]),
            offsets=offsets, config_types=[c for p in parts for c in p.config_types],
            energy=np.concatenate([p.energy for p in parts], axis=1),
            energy_std=np.concatenate([p.energy_std for p in parts]),
            force_std=np.concatenate([p.force_std for p in parts]),
            max_force_std=np.concatenate([p.max_force_std for p in parts]), variance=parts[0].variance,
            indices=np.arange(len(offsets) - 1))


def committee_members(models: Sequence[Model | str | os.PathLike]) -> list[Model]:
    """The committee's models, read where given as paths; each must give energies and forces."""
    members = [m if isinstance(m, Model) else read_model(m) for m in models]
    for index, member in enumerate(members):
        if member.model_type not in _ENERGY_MODEL_TYPES:
            raise ValueError(f"committee member {index} is a {member.model_type!r} model; "
                             "a committee needs models that give energies and forces")
    return members


def evaluate_committee(engines: Sequence["Backend"], members: Sequence[Model], labels: list[str],
                       atoms_list: list["Atoms"], variance: str, batch_size: int | str) -> CommitteeResult:
    """The committee on one piece of a data set (:func:`member_predictions`), then
    :func:`committee_spread`."""
    energy, forces = member_predictions(engines, members, labels, atoms_list, batch_size)
    offsets = _offsets(np.array([len(a) for a in atoms_list]))
    energy_std, force_std, max_force_std = committee_spread(energy, forces, offsets, variance)
    return CommitteeResult(
        numbers=np.concatenate([a.numbers for a in atoms_list]),
        positions=np.concatenate([a.positions for a in atoms_list]),
        cells=np.array([a.cell[:] for a in atoms_list]).reshape(-1, 3, 3),
        pbc=np.array([a.pbc for a in atoms_list], dtype=bool).reshape(-1, 3), offsets=offsets,
        config_types=[str(a.info.get("config_type", "")) for a in atoms_list],
        energy=energy, energy_std=energy_std, force_std=force_std,
        max_force_std=max_force_std, variance=variance, indices=np.arange(len(atoms_list)))


def member_predictions(engines: Sequence["Backend"], members: Sequence[Model], labels: list[str],
                       atoms_list: list["Atoms"], batch_size: int | str) -> tuple[np.ndarray, np.ndarray]:
    """(M, S) energies and (M, N, 3) forces of every member on ``atoms_list``, in batches
    under the memory budget.

    Members that share the first's kernels and cutoffs (:func:`one_pass_backend`) are
    evaluated in one pass per batch: the structures packed once, one set of neighbor
    lists, then each member's potential. Others are evaluated member by member, each
    with its own backend. Both give each member's numbers bitwise.
    """
    engine = one_pass_backend(engines, members)
    if engine is not None:
        planner = BatchPlanner(members[0], engine, batch_size)
        pieces = [evaluate_batch_members(engine, pack_labelled(atoms, names, members[0]), members, planner)
                  for names, atoms in planner.batches(iter(zip(labels, atoms_list)))]
        runs = [[piece[m] for piece in pieces] for m in range(len(members))]
    else:
        runs = []
        for engine, model in zip(engines, members):
            planner = BatchPlanner(model, engine, batch_size)
            runs.append([evaluate_batch(engine, pack_labelled(atoms, names, model), False, planner)
                         for names, atoms in planner.batches(iter(zip(labels, atoms_list)))])
    return (np.array([np.concatenate([r.energy for r in run]) for run in runs]),
            np.array([np.concatenate([r.forces for r in run]) for run in runs]))


def one_pass_backend(engines: Sequence["Backend"], members: Sequence[Model]) -> KernelBackend | None:
    """The first member's backend when it can evaluate every member in one pass (a
    kernel backend, members of one architecture, species and cutoffs), else None."""
    first = engines[0]
    if not isinstance(first, KernelBackend):
        return None
    return first if all(first.cannot_share(m) is None for m in members[1:]) else None
