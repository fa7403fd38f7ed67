"""GPUMD's ``*_train.out`` prediction files: writing them and reading them back.

Formats (docs/file-formats.md#gpumd-output-files): every value printed with C's ``%g`` (6 significant
digits), space separated, no trailing space, prediction columns first, then
the reference columns, ``-1e+06`` where the data set has no reference (and
for the stress of a structure whose cell has no volume, where it is
undefined).

* ``energy_train.out``: per structure, ``E/N`` (eV/atom) predicted, reference;
* ``force_train.out``: per atom, ``Fx Fy Fz`` predicted, reference (eV/Å);
* ``virial_train.out``: per structure, ``W/N`` (eV/atom) in the order xx yy zz
  xy yz zx, predicted then reference;
* ``stress_train.out``: per structure, ``W/V`` in GPa with GPUMD's sign
  (positive under compression, minus ASE's stress), same order;
* charge models (qNEP) add ``charge_train.out``: per atom, one column, the
  network's raw charge before neutralisation (no reference column); and
  ``bec_train.out``: per atom, the Born effective charge (e) row-major
  11 12 13 21 ... 33, then the ``bec:R:9`` target, 0 where absent. Their
  energy/force/virial/stress files include the electrostatics;
* dipole models write only ``dipole_train.out``: per structure, the dipole
  / N (x y z) predicted, then the ``dipole=`` target / N;
* polarizability models write only ``polarizability_train.out``: per
  structure, the polarizability / N in the order xx yy zz xy yz zx, then the
  ``pol=`` target / N (``-1e+06`` where a dipole or polarizability target is absent);
* ``descriptor.out``: per atom (GPUMD's ``output_descriptor 2``) or per
  structure mean (``output_descriptor 1``), the scaled descriptor, each value
  followed by a space;
* ``train.xyz``: the structures in the files' order with their reference
  values, in the extended XYZ conventions of GPUMD's training data
  (:func:`write_structures`), so that a folder of these files reads like a
  nep run (``calorine.nep.read_structures`` with a ``nep.in`` beside it).

The file and column counts of each property are rows of the property
table (:data:`gpunep.properties.PROPERTIES`); this module formats and parses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gpunep.properties import EV_PER_A3_TO_GPA, GPUMD_SIX, PROPERTIES, properties_of, six_from_matrix
from gpunep.io.file_set import naming, staged_directory

if TYPE_CHECKING:
    from gpunep.prediction_result import PredictionResult

#: what GPUMD writes where a reference value is absent
ABSENT = -1.0e6

FILES = tuple(PROPERTIES[name].file for name in ("energy", "force", "virial", "stress"))


@dataclass
class GpumdOutputs:
    """The contents of a folder of GPUMD ``*_train.out`` files.

    Predictions and references are split; absent references (``-1e6``) are
    NaN. Missing files leave their attributes None.

    Attributes
    ----------
    energy, energy_ref : (S,) eV/atom
    force, force_ref : (N, 3) eV/Å
    virial, virial_ref : (S, 6) eV/atom, xx yy zz xy yz zx
    stress, stress_ref : (S, 6) GPa, GPUMD's sign
    charge : (N,) raw charges (e); charge_train.out holds no reference
    bec, bec_ref : (N, 9) Born effective charges (e), row-major; an all-zero
        target row (GPUMD's mark of an absent target) reads as NaN
    dipole, dipole_ref : (S, 3) dipole / N
    polarizability, polarizability_ref : (S, 6) polarizability / N, xx yy zz xy yz zx
    """

    energy: np.ndarray | None = None
    energy_ref: np.ndarray | None = None
    force: np.ndarray | None = None
    force_ref: np.ndarray | None = None
    virial: np.ndarray | None = None
    virial_ref: np.ndarray | None = None
    stress: np.ndarray | None = None
    stress_ref: np.ndarray | None = None
    charge: np.ndarray | None = None
    bec: np.ndarray | None = None
    bec_ref: np.ndarray | None = None
    dipole: np.ndarray | None = None
    dipole_ref: np.ndarray | None = None
    polarizability: np.ndarray | None = None
    polarizability_ref: np.ndarray | None = None


def _stored_reference_columns(result: "PredictionResult") -> dict[str, np.ndarray]:
    """The reference columns as GPUMD's nep computes them: from float32 copies of the data.

    nep keeps energies, forces and virials of the data set in float and
    divides by N in float; printing those values with ``%g`` reproduces its
    files digit for digit, where float64 values differ in the sixth digit
    for about 5% of the numbers (a float rounding decides a tie).
    """
    n_atoms = result.n_atoms_per_structure.astype(np.float32)
    ref = result.reference

    def per_atom_float32(values: np.ndarray) -> np.ndarray:
        return (values.astype(np.float32) / n_atoms[:, None]).astype(np.float64)

    per_atom_virial = per_atom_float32(six_from_matrix(ref.virial, GPUMD_SIX))
    with np.errstate(divide="ignore", invalid="ignore"):
        volume_per_atom = np.where(result.volumes > 0, result.volumes / result.n_atoms_per_structure,
                                   np.nan)
    full = {
        "energy": (ref.energy.astype(np.float32) / n_atoms).astype(np.float64),
        "force": ref.forces.astype(np.float32).astype(np.float64),
        "virial": per_atom_virial,
        "stress": per_atom_virial / volume_per_atom[:, None] * EV_PER_A3_TO_GPA,
        "charge": np.full(result.n_atoms, np.nan),
        # GPUMD's mark of an absent BEC target is 0, not -1e6 (docs/file-formats.md#gpumd-output-files)
        "bec": np.nan_to_num(ref.bec.reshape(-1, 9).astype(np.float32).astype(np.float64), nan=0.0),
        "dipole": per_atom_float32(ref.dipole),
        "polarizability": per_atom_float32(six_from_matrix(ref.polarizability, GPUMD_SIX)),
    }
    return {key: full[key] for key in properties_of(result.model_type)}


def write_prediction(result: "PredictionResult", directory: str | os.PathLike,
                     descriptors: str | None = None) -> list[Path]:
    """Write GPUMD's ``*_train.out`` files (and ``descriptor.out``) for ``result``.

    Which files depends on the model, as GPUMD's ``nep`` writes them:
    potentials the four energy/force/virial/stress files, charge models
    also ``charge_train.out`` and ``bec_train.out``, dipole models
    ``dipole_train.out``, polarizability models ``polarizability_train.out``.

    Parameters
    ----------
    result : what :func:`gpunep.predict` returned
    directory : created if needed; existing files of the same names are replaced,
        all of them or (when a write fails) none
    descriptors : ``'atom'`` (one row per atom), ``'structure'`` (the mean
        over each structure's atoms) or None; needs ``result.descriptors``

    Returns
    -------
    The paths written.

    Raises
    ------
    OSError
        A file could not be written (full disk, file-size limit, permissions):
        the message names it, and no file in ``directory`` has changed.
    """
    directory = Path(directory)
    with staged_directory(directory) as staging:
        written = _write_files(result, staging, descriptors)
    return [directory / path.name for path in written]


def _write_files(result: "PredictionResult", directory: Path, descriptors: str | None) -> list[Path]:
    """The files of :func:`write_prediction`, written straight into ``directory``."""
    pred, ref = result.columns(), _stored_reference_columns(result)
    written = []
    for key in pred:
        columns = [pred[key].reshape(len(pred[key]), -1)]
        if PROPERTIES[key].n_reference_columns:
            columns.append(ref[key].reshape(len(ref[key]), -1))
        rows = np.column_stack(columns)
        path = directory / PROPERTIES[key].file
        write_table(path, np.where(np.isnan(rows), ABSENT, rows))
        written.append(path)
    if descriptors is not None:
        written.append(write_descriptors(result, directory / "descriptor.out", descriptors))
    written.append(write_structures(result, directory / "train.xyz"))
    return written


def write_structures(result: "PredictionResult", path: str | os.PathLike) -> Path:
    """Write the structures of ``result`` with their reference values as extended XYZ.

    GPUMD's training-data conventions, as :mod:`gpunep.io.extxyz` reads
    them back: ``energy=`` (eV), ``virial=`` (nine values, eV, GPUMD's sign),
    a ``force`` column (eV/Å), ``charge=``, ``dipole=``, ``pol=`` (nine) and
    a ``bec`` column (nine) where the data set has them, and ``config_type=``.
    Positions are those evaluated (wrapped into the cell along periodic
    directions).
    """
    import ase.io
    from ase import Atoms

    if result.positions is None:
        raise ValueError("the prediction holds no structures (made without positions and cells)")
    ref = result.reference
    frames = []
    for s in range(result.n_structures):
        atoms_slice = result.structure_slice(s)
        atoms = Atoms(symbols=list(result.symbols[atoms_slice]), positions=result.positions[atoms_slice],
                      cell=result.cells[s], pbc=result.pbc[s])
        if result.config_types[s]:
            atoms.info["config_type"] = result.config_types[s]
        for key, value in (("energy", ref.energy[s]), ("virial", ref.virial[s].reshape(9)),
                           ("charge", ref.charge[s]), ("dipole", ref.dipole[s]),
                           ("pol", ref.polarizability[s].reshape(9))):
            if np.all(np.isfinite(value)):
                # numpy arrays: ASE writes them as plain numbers; tensors flattened row-major
                # here, as the file holds them (ASE would flatten a 3x3 virial column-major)
                atoms.info[key] = np.array(value) if np.ndim(value) else float(value)
        for key, value in (("force", ref.forces[atoms_slice]), ("bec", ref.bec[atoms_slice])):
            if np.all(np.isfinite(value)):
                atoms.arrays[key] = value.reshape(len(value), -1).copy()
        frames.append(atoms)
    path = Path(path)
    with naming(path), open(path, "w") as handle:
        ase.io.write(handle, frames, format="extxyz")
    return path


def write_descriptors(result: "PredictionResult", path: str | os.PathLike, mode: str = "atom") -> Path:
    """Write ``descriptor.out`` like GPUMD: per atom (``'atom'``) or per-structure mean (``'structure'``)."""
    if result.descriptors is None:
        raise ValueError("the prediction holds no descriptors; run predict(..., descriptors=True)")
    if mode == "atom":
        rows = result.descriptors
    elif mode == "structure":
        offsets = result.offsets
        rows = np.add.reduceat(result.descriptors, offsets[:-1], axis=0) / np.diff(offsets)[:, None]
    else:
        raise ValueError(f"descriptor mode must be 'atom' or 'structure', not {mode!r}")
    path = Path(path)
    with naming(path), open(path, "w") as handle:
        for row in rows:
            handle.write("".join(f"{v:g} " for v in row) + "\n")
    return path


def write_table(path: str | os.PathLike, rows: np.ndarray) -> None:
    """Write a 2D array with C's ``%g``, one space between values, no trailing space."""
    fmt = " ".join(["%g"] * rows.shape[1])
    with naming(path), open(path, "w") as handle:
        handle.writelines(fmt % tuple(row) + "\n" for row in rows.tolist())


def read_outputs(directory: str | os.PathLike) -> GpumdOutputs:
    """Read the ``*_train.out`` files GPUMD's ``nep`` wrote into ``directory``.

    Any of energy, force, virial, stress, charge, bec, dipole and
    polarizability files present are read; the others stay None.

    Raises
    ------
    FileNotFoundError
        When none of the files is there.
    ValueError
        A file with the wrong number of columns (names the file and line).
    """
    directory = Path(directory)
    out = GpumdOutputs()
    found = False
    for key, prop in PROPERTIES.items():
        n_predicted, n_reference = prop.n_columns, prop.n_reference_columns
        path = directory / prop.file
        if not path.is_file():
            continue
        found = True
        table = _load(path, n_predicted + n_reference)
        pred, ref = table[:, :n_predicted], table[:, n_predicted:]
        if key == "bec":
            ref = np.where(np.all(ref == 0.0, axis=1, keepdims=True), np.nan, ref)
        else:
            ref = np.where(ref == ABSENT, np.nan, ref)
        setattr(out, key, pred[:, 0] if n_predicted == 1 else pred)
        if n_reference:
            setattr(out, f"{key}_ref", ref[:, 0] if n_reference == 1 else ref)
    if not found:
        names = ", ".join(prop.file for prop in PROPERTIES.values())
        raise FileNotFoundError(f"{directory}: none of {names} is there")
    return out


def _load(path: Path, n_columns: int) -> np.ndarray:
    rows = []
    with open(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != n_columns:
                raise ValueError(f"{path}, line {line_number}: {len(fields)} columns, "
                                 f"expected {n_columns}")
            try:
                rows.append([float(x) for x in fields])
            except ValueError:
                raise ValueError(f"{path}, line {line_number}: not a number in "
                                 f"{line.strip()[:60]!r}") from None
    return np.array(rows, dtype=np.float64).reshape(-1, n_columns)
