"""NEPCalculator: NEP models as an ASE calculator.

The ASE contract only; the physics lives behind a
:class:`~gpunep.backends.base.Backend`. Conventions (ASE's): energies in eV,
forces in eV/Å, ``stress = -W / V`` in Voigt order ``xx yy zz yz xz xy``
(eV/Å³) with ``W = -sum_ij r_ij (x) f_ij`` the virial (GPUMD's sign, positive
under compression), ``stresses`` the per-atom ``-W_i / V`` of GPUMD's
neighbor-side split of the virial.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from gpunep.backends import get_backend
from gpunep.model import Model, read_model
from gpunep.structures import pack


class NEPCalculator(Calculator):
    """An ASE calculator for a NEP potential.

    Parameters
    ----------
    model : a :class:`~gpunep.model.Model` or the path of a nep.txt
    backend : which evaluator runs: ``'reference'`` (plain numpy, float64).
        The default is ``'reference'`` for now; it becomes ``'auto'`` (the
        fastest available) once the kernel backends land.
    precision : ``None`` (the backend's default), ``'float64'`` or ``'float32'``
    **kwargs : passed to :class:`ase.calculators.calculator.Calculator`

    Notes
    -----
    ``stress`` and ``stresses`` exist only for cells periodic in all three
    directions (as in ASE's own calculators); asking for them otherwise
    raises ``PropertyNotImplementedError``.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress", "stresses"]

    def __init__(self, model: Model | str | os.PathLike, backend: str = "reference",
                 precision: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.model = model if isinstance(model, Model) else read_model(model)
        self.backend = get_backend(self.model, backend, precision)

    def calculate(self, atoms: Atoms | None = None, properties: list[str] | None = None,
                  system_changes: list[str] = all_changes) -> None:
        if properties is None:
            properties = self.implemented_properties
        super().calculate(atoms, properties, system_changes)
        result = self.backend.evaluate(pack(self.atoms, self.model))
        result.check_finite()
        energy = float(result.energy[0])
        self.results["energy"] = energy
        self.results["free_energy"] = energy
        self.results["energies"] = result.energies.copy()
        self.results["forces"] = result.forces.copy()
        if self.atoms.pbc.all():
            # pack() has refused a degenerate periodic cell, so V > 0.
            volume = self.atoms.get_volume()
            self.results["stress"] = full_3x3_to_voigt_6_stress(-result.virial[0] / volume)
            self.results["stresses"] = full_3x3_to_voigt_6_stress(-result.virials / volume)

    def get_descriptors(self, atoms: Atoms) -> np.ndarray:
        """The scaled descriptors ``q_scaler * q`` of every atom of ``atoms``, shape (N, dim).

        Columns in NEP_SPEC §3.7 order (radial, then the angular blocks),
        the same as GPUMD's descriptor.out; works for dipole and
        polarizability models too.
        """
        return self.backend.compute_descriptors(pack(atoms, self.model))
