"""The property table: every quantity a prediction compares, its units, GPUMD file and limits.

One row per property (:data:`PROPERTIES`), read by the error tables
(:mod:`gpunep.metrics`), the parity plots (:mod:`gpunep.plots`), GPUMD's
``*_train.out`` files (:mod:`gpunep.io.gpumd_files`) and model comparison
(:mod:`gpunep.compare`). Values are compared as GPUMD's ``nep`` reports
them: energy, virial, dipole and polarizability divided by the structure's
number of atoms; the virial and polarizability as six components in GPUMD's
order xx yy zz xy yz zx; the stress ``W / V`` in GPa with GPUMD's sign
(positive under compression, minus ASE's stress); the Born effective
charges as nine components, row-major. :func:`columns` turns a prediction's
arrays into those values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

#: Index pairs of the 6-component orders into a symmetric 3x3 matrix.
GPUMD_SIX = ((0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (2, 0))   # xx yy zz xy yz zx
VOIGT_SIX = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))   # xx yy zz yz xz xy

#: eV/Å³ -> GPa, the constant GPUMD's nep executable uses (docs/README.md#units).
EV_PER_A3_TO_GPA = 160.2177

_ENERGY_MODELS = ("potential", "potential_with_charges", "temperature")
#: :func:`gpunep.evaluate`'s per-atom results, and the per-atom output of
#: ``Backend.evaluate`` (``per_atom=``) each is made from
EVALUATE_PER_ATOM = {"energies": "energies", "stresses": "virials"}
_CHARGE_MODELS = ("potential_with_charges",)


@dataclass(frozen=True)
class Property:
    """One row of the property table.

    Attributes
    ----------
    name : the key everywhere (``'energy'``, ``'force'`` ...)
    per : ``'atom'`` or ``'structure'``: one value per atom or per structure
    shape : the shape of one value in a prediction (``()``, ``(3,)``, ``(3, 3)``)
    unit : the unit of the compared value (GPUMD's column)
    file : GPUMD's file of this property
    n_columns, n_reference_columns : its predicted and reference columns (0: none)
    model_types : the model types that give it
    table_unit, table_scale : the unit of the error tables and the factor to it;
        None for a property the tables leave out
    round_off : ``{precision: |A - B|}`` at or below which two predictions
        differ by round-off only (:func:`gpunep.compare.compare`)
    derived_from : the property this one is computed from (stress: the virial
        over the cell volume, undefined for a cell without volume); its
        errors are that property's, so error tables and comparisons leave it out
    """

    name: str
    per: str
    shape: tuple[int, ...]
    unit: str
    file: str
    n_columns: int
    n_reference_columns: int
    model_types: tuple[str, ...]
    table_unit: str | None = None
    table_scale: float = 1.0
    round_off: Mapping[str, float] | None = None
    derived_from: str | None = None

    @property
    def compared(self) -> bool:
        """Whether error tables and model comparisons have rows for this property."""
        return self.derived_from is None


# Round-off of A vs B: the summation order of parallel atomic adds changes the
# last bits (float64: ~1e-13 relative on energies of ~1e3 eV; float32: GPUMD's
# own run-to-run noise, ~1e-6 relative, docs/README.md#precision). Charges (~1 e) and the
# TNEP outputs per atom (~0.1-10) are network outputs and their derivatives
# like the energies, so they get the energy's bounds.
_VALUE_ROUND_OFF = {"float64": 1e-10, "float32": 1e-5}
_DERIVATIVE_ROUND_OFF = {"float64": 1e-9, "float32": 1e-4}

#: name -> Property, in the order of tables, files and plots
PROPERTIES: dict[str, Property] = {p.name: p for p in (
    Property("energy", "structure", (), "eV/atom", "energy_train.out", 1, 1, _ENERGY_MODELS,
             "meV/atom", 1000.0, _VALUE_ROUND_OFF),
    Property("force", "atom", (3,), "eV/Å", "force_train.out", 3, 3, _ENERGY_MODELS,
             "meV/Å", 1000.0, _DERIVATIVE_ROUND_OFF),
    Property("virial", "structure", (3, 3), "eV/atom", "virial_train.out", 6, 6, _ENERGY_MODELS,
             "meV/atom", 1000.0, _VALUE_ROUND_OFF),
    Property("stress", "structure", (3, 3), "GPa", "stress_train.out", 6, 6, _ENERGY_MODELS,
             derived_from="virial"),
    # GPUMD's charge_train.out has no reference column: data sets hold no per-atom charges
    Property("charge", "atom", (), "e", "charge_train.out", 1, 0, _CHARGE_MODELS,
             "me", 1000.0, _VALUE_ROUND_OFF),
    Property("bec", "atom", (3, 3), "e", "bec_train.out", 9, 9, _CHARGE_MODELS,
             "me", 1000.0, _DERIVATIVE_ROUND_OFF),
    # a TNEP model outputs whatever units its training targets had
    Property("dipole", "structure", (3,), "data units/atom", "dipole_train.out", 3, 3, ("dipole",),
             "data units/atom", 1.0, _VALUE_ROUND_OFF),
    Property("polarizability", "structure", (3, 3), "data units/atom", "polarizability_train.out",
             6, 6, ("polarizability",), "data units/atom", 1.0, _VALUE_ROUND_OFF),
)}

#: the properties error tables and comparisons have rows for
COMPARED = tuple(name for name, p in PROPERTIES.items() if p.compared)

#: precision -> property -> the largest |A - B| that is round-off
ROUND_OFF = {precision: {name: PROPERTIES[name].round_off[precision] for name in COMPARED}
             for precision in ("float64", "float32")}


def properties_of(model_type: str) -> list[str]:
    """The properties a model of ``model_type`` gives, in table order."""
    return [name for name, p in PROPERTIES.items() if model_type in p.model_types]


def symmetric_from_six(values: np.ndarray, order: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The symmetric 3x3 matrix whose six independent entries are ``values`` in ``order``."""
    matrix = np.zeros((3, 3))
    for value, (a, b) in zip(values, order):
        matrix[a, b] = matrix[b, a] = value
    return matrix


def six_from_matrix(matrix: np.ndarray, order: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The six entries of ``matrix`` (..., 3, 3) in ``order``, shape (..., 6)."""
    return np.stack([matrix[..., a, b] for a, b in order], axis=-1)


def stress_gpa(virial: np.ndarray, volumes: np.ndarray) -> np.ndarray:
    """(S, 6) ``+W / V`` in GPa, GPUMD's order and sign; NaN for cells without volume."""
    six = six_from_matrix(virial, GPUMD_SIX)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(volumes[:, None] > 0, six / volumes[:, None], np.nan) * EV_PER_A3_TO_GPA


def columns(values: Mapping[str, np.ndarray], n_atoms: np.ndarray, volumes: np.ndarray,
            names: list[str]) -> dict[str, np.ndarray]:
    """The properties ``names`` as compared: per atom where GPUMD divides, in its component order.

    Parameters
    ----------
    values : a prediction's or a data set's arrays by property name: ``energy``
        (S,) eV, ``force`` (N, 3), ``virial`` (S, 3, 3) eV (also read for
        ``stress``), ``charge`` (N,), ``bec`` (N, 3, 3), ``dipole`` (S, 3),
        ``polarizability`` (S, 3, 3)
    n_atoms : (S,) atoms per structure
    volumes : (S,) cell volumes (Å³), 0 for a structure without a cell
    names : the properties wanted (keys of :data:`PROPERTIES`)

    Returns
    -------
    ``{name: (S or N, n_columns)}``, a single column as a 1D array.
    """
    per_atom = np.asarray(n_atoms, dtype=np.float64)
    converters = {
        "energy": lambda: values["energy"] / per_atom,
        "force": lambda: values["force"],
        "virial": lambda: six_from_matrix(values["virial"], GPUMD_SIX) / per_atom[:, None],
        "stress": lambda: stress_gpa(values["virial"], volumes),
        "charge": lambda: values["charge"],
        "bec": lambda: values["bec"].reshape(-1, 9),
        "dipole": lambda: values["dipole"] / per_atom[:, None],
        "polarizability": lambda: (six_from_matrix(values["polarizability"], GPUMD_SIX)
                                   / per_atom[:, None]),
    }
    return {name: converters[name]() for name in names}
