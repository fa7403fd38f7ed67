"""NEPCalculator: NEP models as an ASE calculator.

The ASE contract only; the physics lives behind a
:class:`~gpunep.backends.base.Backend`. Conventions (ASE's): energies in eV,
forces in eV/Å, ``stress = -W / V`` in Voigt order ``xx yy zz yz xz xy``
(eV/Å³) with ``W = -sum_ij r_ij (x) f_ij`` the virial (GPUMD's sign, positive
under compression), ``stresses`` the per-atom ``-W_i / V`` of GPUMD's
neighbor-side split of the virial.

What a calculator offers depends on the model (``implemented_properties``):

* potentials: energy, free_energy, energies, forces, stress, stresses;
* charge models (qNEP): the same (electrostatics included), plus
  ``charges`` (neutralised, so ``atoms.get_charges()`` works) and the Born
  effective charges, (N, 3, 3), as ``'bec'`` and under ASE's name
  ``'born_effective_charges'``;
* dipole models: ``'dipole'`` (3,); polarizability models:
  ``'polarizability'`` (3, 3). Their network output is not an energy, so
  they offer no energy, forces or stress.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from gpunep.backends import get_backend
from gpunep.charge_options import charge_options
from gpunep.geometry import cell_volume
from gpunep.model import Model, read_model
from gpunep.structures import pack

_POTENTIAL = ["energy", "free_energy", "energies", "forces", "stress", "stresses"]
_PROPERTIES = {
    "potential": _POTENTIAL,
    "temperature": _POTENTIAL,
    "potential_with_charges": _POTENTIAL + ["charges", "bec", "born_effective_charges"],
    "dipole": ["dipole"],
    "polarizability": ["polarizability"],
}


class NEPCalculator(Calculator):
    """An ASE calculator for a NEP model.

    Parameters
    ----------
    model : a :class:`~gpunep.model.Model` or the path of a nep.txt
    backend : which evaluator runs: ``'auto'`` (default: ``'cuda'`` when the GPU
        is proven to compile and run kernels, else ``'host'``, with a warning
        saying why when CuPy is installed but unusable), ``'cuda'`` (the kernels on an NVIDIA GPU),
        ``'host'`` (the same kernels compiled for the CPU) or ``'reference'``
        (plain numpy, float64; the cross-check). The backend that ran is
        ``calc.backend.name``.
    precision : ``None`` (the backend's default: float32 for ``cuda``/``host``,
        as GPUMD), ``'float64'`` or ``'float32'``
    kspace : charge models: ``'truncated'`` (default; ``|k| < 2 pi alpha``,
        the sum GPUMD's trainer uses) or ``'converged'`` (the full Ewald sum,
        what GPUMD's MD default PPPM approximates; ~1e-4 eV per 250 atoms apart)
    mean_d_correction : charge models: the exact chain rule through the
        charge neutralisation (default; GPUMD since 2026-04). False
        reproduces older GPUMD outputs and NEP_CPU
    device : the GPU ordinal for ``'cuda'`` (or ``'auto'`` when it picks cuda);
        None: CuPy's current device
    **kwargs : passed to :class:`ase.calculators.calculator.Calculator`

    Notes
    -----
    ``stress`` and ``stresses`` (``-W / V``) exist whenever the cell is
    three-dimensional: three non-zero, linearly independent vectors, whatever
    ``pbc`` says, so a slab (pbc T T F) with its vacuum or a molecule in a box
    has one. ASE's EMT does the same (stress whenever ``atoms.cell.rank ==
    3``), GPUMD divides the virial by the box volume, ASE's cell filters relax
    slabs in-plane from this stress, and ASE's socket client asks for it
    whenever any direction is periodic. Without such a cell, asking for them
    raises ``PropertyNotImplementedError``. Charge models need cells periodic
    in all three directions. The net charge of a structure for a charge
    model is ``atoms.info['charge']`` where set, else 0.

    Thread safety: one calculator may be shared by threads; a lock makes each
    ``get_*`` call compute and read its results as one step, so every thread
    gets the numbers of its own ``atoms`` (calls run one at a time).
    """

    implemented_properties = _POTENTIAL

    def __init__(self, model: Model | str | os.PathLike, backend: str = "auto",
                 precision: str | None = None, kspace: str = "truncated",
                 mean_d_correction: bool = True, device: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.model = model if isinstance(model, Model) else read_model(model)
        self.implemented_properties = list(_PROPERTIES[self.model.model_type])
        options = charge_options(self.model.model_type, kspace, mean_d_correction)
        self.backend = get_backend(self.model, backend, precision, device, **options)
        # ASE keeps one atoms/results pair per calculator: a get_* call must check,
        # compute and read it without another thread's call in between.
        self._lock = threading.RLock()

    def get_property(self, name: str, atoms: Atoms | None = None, allow_calculation: bool = True):
        if name not in self.implemented_properties:
            raise PropertyNotImplementedError(
                f"a {self.model.model_type!r} model gives no {name!r}; it gives "
                f"{', '.join(self.implemented_properties)}"
            )
        with self._lock:
            return super().get_property(name, atoms, allow_calculation)

    def calculate(self, atoms: Atoms | None = None, properties: list[str] | None = None,
                  system_changes: list[str] = all_changes) -> None:
        with self._lock:
            self._calculate(atoms, properties, system_changes)

    def _calculate(self, atoms: Atoms | None, properties: list[str] | None,
                   system_changes: list[str]) -> None:
        if properties is None:
            properties = self.implemented_properties
        super().calculate(atoms, properties, system_changes)
        volume = cell_volume(self.atoms.cell[:])
        wanted = {"stress", "stresses"} & set(properties)
        if wanted and volume == 0.0:
            raise PropertyNotImplementedError(
                f"{' and '.join(sorted(wanted))} need a three-dimensional cell (three non-zero, "
                f"independent vectors); this cell has {self.atoms.cell.rank} non-zero vectors "
                f"and volume {abs(self.atoms.cell.volume):.3g} Å³")
        # per-atom energies and virials cross to the host only when asked for
        per_atom = [name for name, prop in (("energies", "energies"), ("virials", "stresses"))
                    if prop in properties]
        result = self.backend.evaluate(pack(self.atoms, self.model), per_atom=per_atom,
                                       descriptors="descriptors" in properties)
        result.check_finite()
        if result.descriptors is not None:
            self.results["descriptors"] = result.descriptors.copy()
        if result.dipole is not None:
            self.results["dipole"] = result.dipole[0].copy()
            return
        if result.polarizability is not None:
            self.results["polarizability"] = result.polarizability[0].copy()
            return
        energy = float(result.energy[0])
        self.results["energy"] = energy
        self.results["free_energy"] = energy
        if result.energies is not None:
            self.results["energies"] = result.energies.copy()
        self.results["forces"] = result.forces.copy()
        if volume > 0.0:
            self.results["stress"] = full_3x3_to_voigt_6_stress(-result.virial[0] / volume)
            if result.virials is not None:
                self.results["stresses"] = full_3x3_to_voigt_6_stress(-result.virials / volume)
        if result.charges is not None:
            self.results["charges"] = result.charges.copy()
            self.results["bec"] = result.bec.copy()
            self.results["born_effective_charges"] = result.bec.copy()

    def get_descriptors(self, atoms: Atoms | None = None) -> np.ndarray:
        """The scaled descriptors ``q_scaler * q`` of every atom, shape (N, dim).

        Of ``atoms``, or of the calculator's own atoms when None (as ASE's
        ``get_*`` methods). Columns in descriptor order (radial, then the
        angular blocks; docs/descriptors.md#descriptor-vector), the same as
        GPUMD's descriptor.out; works for dipole and polarizability models
        too. Cached like every property until the atoms change.

        Raises
        ------
        ValueError
            No ``atoms`` given and the calculator has none yet.
        """
        with self._lock:
            if atoms is None:
                if self.atoms is None:
                    raise ValueError("get_descriptors() needs atoms: pass them, or attach the "
                                     "calculator (atoms.calc = calc) and compute something first")
                atoms, changes = self.atoms, []
            else:
                changes = self.check_state(atoms)
                if changes:
                    self.reset()
            if "descriptors" not in self.results:
                self._calculate(atoms, ["descriptors"], changes)
            return self.results["descriptors"].copy()
