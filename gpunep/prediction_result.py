"""A data set's predictions and reference values (:class:`PredictionResult`), as compared and as stored.

:func:`gpunep.predict` returns it; GPUMD's files (:mod:`gpunep.io.gpumd_files`),
the parity plots and model comparison read it. Its :meth:`~PredictionResult.columns`
are the values of the property table (:mod:`gpunep.properties`): per atom
where GPUMD divides, in GPUMD's component order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gpunep.metrics import ErrorTable, error_table
from gpunep.properties import (
    GPUMD_SIX, PROPERTIES, VOIGT_SIX, columns, properties_of, six_from_matrix,
)

if TYPE_CHECKING:
    from ase import Atoms

#: columns of GPUMD's six-component order (xx yy zz xy yz zx) taken in ASE's Voigt order
#: (xx yy zz yz xz xy), as calorine's parity keys hold them
_ASE_FROM_GPUMD = [next(i for i, pair in enumerate(GPUMD_SIX) if set(pair) == set(voigt))
                   for voigt in VOIGT_SIX]


@dataclass
class ReferenceArrays:
    """Reference values of a data set (NaN where a structure has none).

    Attributes
    ----------
    energy : (S,) total energy (eV)
    forces : (N, 3) eV/Å
    virial : (S, 3, 3) total virial, GPUMD's sign (eV)
    charge : (S,) total charge (e)
    dipole : (S, 3) dipole targets (``dipole=``)
    polarizability : (S, 3, 3) polarizability targets (``pol=``)
    bec : (N, 3, 3) Born effective charge targets (``bec:R:9``, e)
    """

    energy: np.ndarray
    forces: np.ndarray
    virial: np.ndarray
    charge: np.ndarray
    dipole: np.ndarray
    polarizability: np.ndarray
    bec: np.ndarray


@dataclass
class PredictionResult:
    """Predictions for every structure of a data set, plus the reference values it held.

    Attributes
    ----------
    species : the model's species; ``types`` index into it
    types : (N,) model type index per atom
    offsets : (S + 1,) the atoms of structure s are ``offsets[s]:offsets[s + 1]``
    volumes : (S,) |det(cell)| in Å³, 0 for structures without a three-dimensional
        cell (:func:`gpunep.geometry.cell_volume`)
    config_types : (S,) the data set's ``config_type`` labels ('' when absent)
    model_type : the model's type (``'potential'``, ``'potential_with_charges'``,
        ``'dipole'``, ``'polarizability'``)
    energy : (S,) total energy (eV; charge models include the electrostatics)
    virial : (S, 3, 3) total virial ``W = -sum r_ij (x) f_ij`` (eV, GPUMD's sign)
    energies : (N,) per-atom energies (eV)
    forces : (N, 3) eV/Å
    descriptors : (N, dim) scaled descriptors, or None
    reference : the data set's reference values
    backend, precision : what computed the predictions
    charges : (N,) charge models: the neutralised charges (e), else None
    raw_charges : (N,) charge models: the network's charges before
        neutralisation (GPUMD's charge_train.out), else None
    bec : (N, 3, 3) charge models: Born effective charges (e), else None
    dipole : (S, 3) dipole models: each structure's dipole, else None
    polarizability : (S, 3, 3) polarizability models: each structure's
        polarizability, else None
    positions : (N, 3) the structures' positions as evaluated (wrapped into the
        cell along periodic directions), Å
    cells : (S, 3, 3) cell vectors as rows, Å
    pbc : (S, 3) periodicity

    Dipole and polarizability models give no energy: their ``energy``,
    ``virial``, ``energies`` and ``forces`` are None.
    """

    species: tuple[str, ...]
    types: np.ndarray
    offsets: np.ndarray
    volumes: np.ndarray
    config_types: list[str]
    model_type: str
    energy: np.ndarray | None
    virial: np.ndarray | None
    energies: np.ndarray | None
    forces: np.ndarray | None
    descriptors: np.ndarray | None
    reference: ReferenceArrays
    backend: str
    precision: str
    charges: np.ndarray | None = None
    raw_charges: np.ndarray | None = None
    bec: np.ndarray | None = None
    dipole: np.ndarray | None = None
    polarizability: np.ndarray | None = None
    positions: np.ndarray | None = None
    cells: np.ndarray | None = None
    pbc: np.ndarray | None = None

    @property
    def n_structures(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_atoms(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_atoms_per_structure(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def symbols(self) -> np.ndarray:
        """(N,) chemical symbol of every atom."""
        return np.asarray(self.species, dtype=object)[self.types]

    @property
    def stress(self) -> np.ndarray | None:
        """(S, 6) ASE stress ``-W / V`` in Voigt order xx yy zz yz xz xy (eV/Å³).

        NaN for structures without a three-dimensional cell (a molecule
        without a cell), where a stress is undefined, as in
        :class:`~gpunep.calculator.NEPCalculator`; None for models without a virial
        (dipole, polarizability).
        """
        if self.virial is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            volume = np.where(self.volumes > 0, self.volumes, np.nan)[:, None]
            return -six_from_matrix(self.virial, VOIGT_SIX) / volume

    def structure_slice(self, s: int) -> slice:
        """The atoms of structure ``s`` in the per-atom arrays."""
        return slice(int(self.offsets[s]), int(self.offsets[s + 1]))

    def columns(self) -> dict[str, np.ndarray]:
        """The predicted values as compared and as GPUMD's files hold them (:mod:`gpunep.properties`).

        Keys: the properties of the model type: ``energy`` (S,) eV/atom,
        ``force`` (N, 3), ``virial`` (S, 6) W/N, ``stress`` (S, 6) W/V in
        GPa; charge models add ``charge`` (N,) raw charges and ``bec`` (N,
        9); dipole models give only ``dipole`` (S, 3) / N, polarizability
        models only ``polarizability`` (S, 6) / N.
        """
        values = {"energy": self.energy, "force": self.forces, "virial": self.virial,
                  "charge": self.raw_charges, "bec": self.bec, "dipole": self.dipole,
                  "polarizability": self.polarizability}
        return columns(values, self.n_atoms_per_structure, self.volumes,
                       properties_of(self.model_type))

    def reference_columns(self) -> dict[str, np.ndarray]:
        """The data set's reference values in the units of :meth:`columns` (NaN = absent).

        Same keys as :meth:`columns`; ``charge`` is all NaN (data sets hold
        no per-atom charge targets; GPUMD's charge_train.out has no reference column).
        """
        ref = self.reference
        values = {"energy": ref.energy, "force": ref.forces, "virial": ref.virial,
                  "charge": np.full(self.n_atoms, np.nan), "bec": ref.bec, "dipole": ref.dipole,
                  "polarizability": ref.polarizability}
        return columns(values, self.n_atoms_per_structure, self.volumes,
                       properties_of(self.model_type))

    def rmse(self, title: str = "") -> ErrorTable:
        """Errors against the data set's reference values, per property, species and config_type.

        Energy in eV/atom, force components in eV/Å, virial in eV/atom (six
        components, xx yy zz xy yz zx), Born effective charges in e, dipole
        and polarizability per atom, as GPUMD reports them (see
        :data:`gpunep.properties.PROPERTIES`); properties without reference
        values (e.g. charges) have no rows. See :mod:`gpunep.metrics` for the groups.
        """
        return error_table(self.columns(), self.reference_columns(), self.symbols, self.offsets,
                           self.config_types, title=title)

    def to_atoms(self) -> list["Atoms"]:
        """Every structure as ASE ``Atoms`` holding its predictions, as calorine reads a nep run.

        Each structure has a ``SinglePointCalculator`` with the predictions in
        ASE's conventions (``energy``, ``forces``, ``energies``, ``stress``
        where the cell has a volume; ``charges`` and ``born_effective_charges``
        for charge models; ``dipole`` for dipole models; ASE has no
        polarizability property, so only the parity keys hold it), its ``config_type``,
        and calorine's parity keys (``calorine.nep.read_structures``), so
        ``calorine.nep.get_parity_data(result.to_atoms(), 'force')`` works:
        ``info['energy_predicted']`` and ``info['energy_target']`` (eV/atom),
        ``arrays['force_predicted']`` and ``arrays['force_target']`` (eV/Å),
        ``info['virial_*']`` (eV/atom) and ``info['stress_*']`` (``W / V`` in
        GPa, GPUMD's sign), each six components in ASE's Voigt order xx yy
        zz yz xz xy; charge models ``arrays['charge_predicted']`` (the raw
        charges, no target) and ``arrays['bec_*']`` (nine, row-major); TNEP
        models ``info['dipole_*']`` / ``info['polarizability_*']`` per atom.
        Absent reference values are NaN.
        """
        from ase import Atoms
        from ase.calculators.singlepoint import SinglePointCalculator

        if self.positions is None:
            raise ValueError("this result holds no structures (made without positions and cells)")
        keys = {role: _parity_columns(values) for role, values in
                (("predicted", self.columns()), ("target", self.reference_columns()))}
        stress = self.stress   # computed once: a property over every structure
        structures = []
        for s in range(self.n_structures):
            atoms_slice = self.structure_slice(s)
            atoms = Atoms(symbols=list(self.symbols[atoms_slice]), positions=self.positions[atoms_slice],
                          cell=self.cells[s], pbc=self.pbc[s])
            atoms.calc = SinglePointCalculator(atoms, **self._calculator_results(s, stress))
            if self.config_types[s]:
                atoms.info["config_type"] = self.config_types[s]
            _store_parity_keys(atoms, keys, s, atoms_slice)
            structures.append(atoms)
        return structures

    def _calculator_results(self, s: int, stress: np.ndarray | None) -> dict[str, np.ndarray | float]:
        """Structure ``s``'s predictions under ASE's property names and conventions."""
        atoms_slice = self.structure_slice(s)
        results: dict[str, np.ndarray | float] = {}
        if self.energy is not None:
            results.update(energy=float(self.energy[s]), free_energy=float(self.energy[s]),
                           forces=self.forces[atoms_slice].copy())
            if self.energies is not None:
                results["energies"] = self.energies[atoms_slice].copy()
            if self.volumes[s] > 0:
                results["stress"] = stress[s].copy()
        if self.charges is not None:
            results.update(charges=self.charges[atoms_slice].copy(),
                           born_effective_charges=self.bec[atoms_slice].copy())
        if self.dipole is not None:
            results["dipole"] = self.dipole[s].copy()
        return results


def _parity_columns(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The compared columns as calorine stores them: six-component ones in ASE's Voigt order."""
    return {name: column[:, _ASE_FROM_GPUMD] if column.ndim == 2 and column.shape[1] == 6 else column
            for name, column in values.items()}


def _store_parity_keys(atoms: "Atoms", keys: dict[str, dict[str, np.ndarray]], s: int,
                       atoms_slice: slice) -> None:
    """calorine's ``<property>_predicted`` / ``<property>_target`` of structure ``s`` on ``atoms``."""
    for role, values in keys.items():
        for name, column in values.items():
            if role == "target" and PROPERTIES[name].n_reference_columns == 0:
                continue   # charges: no target, as calorine reads charge_train.out
            if PROPERTIES[name].per == "atom":
                per_atom = column[atoms_slice]
                atoms.arrays[f"{name}_{role}"] = per_atom.reshape(len(per_atom), -1).copy()
            else:
                atoms.info[f"{name}_{role}"] = np.atleast_1d(column[s]).copy()
