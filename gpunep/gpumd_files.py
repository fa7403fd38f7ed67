"""GPUMD's ``*_train.out`` prediction files: writing them and reading them back.

Formats (NEP_SPEC §6.7): every value printed with C's ``%g`` (6 significant
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
* ``descriptor.out``: per atom (GPUMD's ``output_descriptor 2``) or per
  structure mean (``output_descriptor 1``), the scaled descriptor, each value
  followed by a space.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gpunep.datasets import GPUMD_SIX, six_from_matrix

if TYPE_CHECKING:
    from gpunep.prediction import PredictionResult

#: eV/Å³ -> GPa, the constant GPUMD's nep executable uses (NEP_SPEC §6.7).
EV_PER_A3_TO_GPA = 160.2177
#: what GPUMD writes where a reference value is absent
ABSENT = -1.0e6

FILES = ("energy_train.out", "force_train.out", "virial_train.out", "stress_train.out")


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
    """

    energy: np.ndarray | None = None
    energy_ref: np.ndarray | None = None
    force: np.ndarray | None = None
    force_ref: np.ndarray | None = None
    virial: np.ndarray | None = None
    virial_ref: np.ndarray | None = None
    stress: np.ndarray | None = None
    stress_ref: np.ndarray | None = None


def prediction_columns(result: "PredictionResult") -> dict[str, np.ndarray]:
    """The predicted values as GPUMD's files hold them (per-atom energy, W/N, W/V in GPa)."""
    n_atoms = result.n_atoms_per_structure.astype(np.float64)
    return {
        "energy": result.energy / n_atoms,
        "force": result.forces,
        "virial": six_from_matrix(result.virial, GPUMD_SIX) / n_atoms[:, None],
        "stress": _stress_gpa(result.virial, result.volumes),
    }


def reference_columns(result: "PredictionResult") -> dict[str, np.ndarray]:
    """The data set's reference values in the same units as :func:`prediction_columns` (NaN = absent)."""
    n_atoms = result.n_atoms_per_structure.astype(np.float64)
    ref = result.reference
    return {
        "energy": ref.energy / n_atoms,
        "force": ref.forces,
        "virial": six_from_matrix(ref.virial, GPUMD_SIX) / n_atoms[:, None],
        "stress": _stress_gpa(ref.virial, result.volumes),
    }


def _stored_reference_columns(result: "PredictionResult") -> dict[str, np.ndarray]:
    """The reference columns as GPUMD's nep computes them: from float32 copies of the data.

    nep keeps energies, forces and virials of the data set in float and
    divides by N in float; printing those values with ``%g`` reproduces its
    files digit for digit, where float64 values differ in the sixth digit
    for about 5% of the numbers (a float rounding decides a tie).
    """
    n_atoms = result.n_atoms_per_structure.astype(np.float32)
    ref = result.reference
    per_atom_virial = (six_from_matrix(ref.virial, GPUMD_SIX).astype(np.float32)
                       / n_atoms[:, None]).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        volume_per_atom = np.where(result.volumes > 0, result.volumes / result.n_atoms_per_structure,
                                   np.nan)
    return {
        "energy": (ref.energy.astype(np.float32) / n_atoms).astype(np.float64),
        "force": ref.forces.astype(np.float32).astype(np.float64),
        "virial": per_atom_virial,
        "stress": per_atom_virial / volume_per_atom[:, None] * EV_PER_A3_TO_GPA,
    }


def write_prediction(result: "PredictionResult", directory: str | os.PathLike,
                     descriptors: str | None = None) -> list[Path]:
    """Write GPUMD's four ``*_train.out`` files (and ``descriptor.out``) for ``result``.

    Parameters
    ----------
    result : what :func:`gpunep.predict` returned
    directory : created if needed; existing files of the same names are replaced
    descriptors : ``'atom'`` (one row per atom), ``'structure'`` (the mean
        over each structure's atoms) or None; needs ``result.descriptors``

    Returns
    -------
    The paths written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pred, ref = prediction_columns(result), _stored_reference_columns(result)
    written = []
    for name, key in zip(FILES, ("energy", "force", "virial", "stress")):
        rows = np.column_stack([pred[key].reshape(len(pred[key]), -1),
                                ref[key].reshape(len(ref[key]), -1)])
        path = directory / name
        write_table(path, np.where(np.isnan(rows), ABSENT, rows))
        written.append(path)
    if descriptors is not None:
        written.append(write_descriptors(result, directory / "descriptor.out", descriptors))
    return written


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
    with open(path, "w") as handle:
        for row in rows:
            handle.write("".join(f"{v:g} " for v in row) + "\n")
    return path


def write_table(path: str | os.PathLike, rows: np.ndarray) -> None:
    """Write a 2D array with C's ``%g``, one space between values, no trailing space."""
    fmt = " ".join(["%g"] * rows.shape[1])
    with open(path, "w") as handle:
        handle.writelines(fmt % tuple(row) + "\n" for row in rows.tolist())


def read_outputs(directory: str | os.PathLike) -> GpumdOutputs:
    """Read the ``*_train.out`` files GPUMD's ``nep`` wrote into ``directory``.

    Raises
    ------
    FileNotFoundError
        When none of the four files is there.
    ValueError
        A file with the wrong number of columns (names the file and line).
    """
    directory = Path(directory)
    out = GpumdOutputs()
    found = False
    for name, key, n_columns in zip(FILES, ("energy", "force", "virial", "stress"), (2, 6, 12, 12)):
        path = directory / name
        if not path.is_file():
            continue
        found = True
        table = _load(path, n_columns)
        half = n_columns // 2
        pred, ref = table[:, :half], table[:, half:]
        ref = np.where(ref == ABSENT, np.nan, ref)
        if key == "energy":
            pred, ref = pred[:, 0], ref[:, 0]
        setattr(out, key, pred)
        setattr(out, f"{key}_ref", ref)
    if not found:
        raise FileNotFoundError(f"{directory}: none of {', '.join(FILES)} is there")
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


def _stress_gpa(virial: np.ndarray, volumes: np.ndarray) -> np.ndarray:
    # +W/V (GPUMD's pressure-like sign); undefined (NaN) for cells without volume
    six = six_from_matrix(virial, GPUMD_SIX)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(volumes[:, None] > 0, six / volumes[:, None], np.nan) * EV_PER_A3_TO_GPA
