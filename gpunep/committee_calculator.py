"""CommitteeCalculator: a committee of NEP models as one ASE calculator, for on-the-fly active learning.

One member drives the simulation (``propagate``, GPUMD's first potential);
the others are evaluated on the same structure, and their spread (see
:mod:`gpunep.committee_spread` for the formulas and GPUMD's two definitions) is
offered next to the usual properties.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
import numpy as np

from gpunep.calculator import NEPCalculator
from gpunep.committee_spread import committee_members, committee_spread, variance_ddof
from gpunep.model import Model

#: the committee's own properties, added to those of the propagated model
COMMITTEE_PROPERTIES = ["energy_comm", "forces_comm", "energy_std", "force_std", "max_force_std"]


class CommitteeCalculator(Calculator):
    """An ASE calculator for a committee of M NEP models.

    Parameters
    ----------
    models : two or more models (:class:`~gpunep.model.Model` or nep.txt
        paths) that give energies and forces
    backend, precision, kspace, mean_d_correction : as for
        :class:`~gpunep.NEPCalculator`; every member gets its own backend
    propagate : the index of the member whose energy, forces and stress the
        calculator reports (the one an MD driver follows; GPUMD's ``active``
        follows its first potential, index 0)
    variance : ``'population'`` (divide by M: GPUMD's ``active`` code; default)
        or ``'sample'`` (divide by M - 1: GPUMD's documentation)
    **kwargs : passed to :class:`ase.calculators.calculator.Calculator`

    Notes
    -----
    Properties: those of the propagated member (see
    :class:`~gpunep.NEPCalculator`), plus

    * ``energy_comm`` (M,): every member's energy (eV);
    * ``forces_comm`` (M, N, 3): every member's forces (eV/Å);
    * ``energy_std``: the spread of the members' energies (eV);
    * ``force_std`` (N,): per atom, ``sqrt(sum_k sigma_ik^2)`` (eV/Å);
    * ``max_force_std``: its maximum over the atoms, GPUMD's sigma_f (eV/Å).

    Read them with ``calc.get_property('max_force_std', atoms)``.
    """

    implemented_properties = ["energy", "forces"] + COMMITTEE_PROPERTIES

    def __init__(self, models: Sequence[Model | str | os.PathLike], backend: str = "auto",
                 precision: str | None = None, propagate: int = 0, variance: str = "population",
                 kspace: str = "truncated", mean_d_correction: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        members = committee_members(models)
        variance_ddof(variance, len(members))
        if not 0 <= propagate < len(members):
            raise ValueError(f"propagate must index one of the {len(members)} models, not {propagate}")
        self.members = [NEPCalculator(m, backend=backend, precision=precision, kspace=kspace,
                                      mean_d_correction=mean_d_correction) for m in members]
        self.propagate = propagate
        self.variance = variance
        self.implemented_properties = self.members[propagate].implemented_properties + COMMITTEE_PROPERTIES

    def calculate(self, atoms: Atoms | None = None, properties: list[str] | None = None,
                  system_changes: list[str] = all_changes) -> None:
        if properties is None:
            properties = self.implemented_properties
        super().calculate(atoms, properties, system_changes)
        for member in self.members:
            member.calculate(self.atoms, member.implemented_properties, all_changes)
        self.results = dict(self.members[self.propagate].results)
        energy = np.array([m.results["energy"] for m in self.members])
        forces = np.array([m.results["forces"] for m in self.members])
        offsets = np.array([0, len(self.atoms)])
        energy_std, force_std, max_force_std = committee_spread(energy[:, None], forces, offsets, self.variance)
        self.results.update(energy_comm=energy, forces_comm=forces, energy_std=float(energy_std[0]),
                            force_std=force_std, max_force_std=float(max_force_std[0]))
