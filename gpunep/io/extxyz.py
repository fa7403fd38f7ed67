"""Reading structures and their reference values, with GPUMD's train.xyz conventions.

What a NEP data set stores per structure (docs/file-formats.md#extended-xyz-data-sets):

* ``energy=`` in the comment line: the total energy (eV);
* per-atom forces under the array name ``force`` (GPUMD) or ``forces`` (ASE);
* ``virial=`` (9 components row-major, or 6 in GPUMD's order xx yy zz xy yz
  zx): the total virial W in eV with GPUMD's sign (positive under
  compression), or ``stress=`` (9 row-major, or 6 in ASE's Voigt order xx yy
  zz yz xz xy) with ASE's sign, so that ``W = -stress * V``;
* ``config_type=`` and ``charge=``;
* targets of the other model types: ``dipole=`` (3 components) for dipole
  models, ``pol=`` (9 row-major, or 6 in GPUMD's order xx yy zz xy yz zx)
  for polarizability models, per-atom ``bec:R:9`` (Born effective charges,
  row-major 11 12 13 21 ... 33) for charge models.

ASE moves ``energy``, ``forces`` and ``stress`` into a SinglePointCalculator
and rejects 6-component ``virial``/``stress`` strings, so extxyz files are
split into frames here and such strings are expanded to 9 components before
ASE parses them; ASE's column-major reading of a 9-component ``virial=`` is
turned back to the file's row-major order. Blanks and numbers are read as
GPUMD reads them (:mod:`gpunep.io.extxyz_text`). Absent reference values are
NaN; a reference that is present but not finite (a truth value ``T``, or a
stress times a cell volume that overflows) raises, naming the file and frame.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from gpunep.errors import StructureWarning
from gpunep.io.extxyz_atoms import frame_atoms
from gpunep.io.extxyz_text import (atom_count, check_atom_lines, check_comment_numbers, declared_columns,
                                   min_bytes, refuse_other_blank)
from gpunep.model.c_text import C_BLANKS, strip_byte_order_marks
from gpunep.properties import GPUMD_SIX, VOIGT_SIX, symmetric_from_six

if TYPE_CHECKING:
    from ase import Atoms

_EXTXYZ_SUFFIXES = (".xyz", ".extxyz")
_SIX_COMPONENTS = re.compile(r'\b(virial|stress)=(["\'])([^"\']*)\2', re.IGNORECASE)


@dataclass
class Reference:
    """The reference values one structure carries (NaN where absent).

    Attributes
    ----------
    energy : total energy (eV)
    forces : (N, 3) forces (eV/Å)
    virial : (3, 3) total virial, GPUMD's sign (eV)
    config_type : the ``config_type`` label ('' when absent)
    charge : total charge (e), NaN when absent
    dipole : (3,) dipole target (the data's units)
    polarizability : (3, 3) polarizability target (the data's units)
    bec : (N, 3, 3) Born effective charge targets (e), ``[i, a, b]``
    """

    energy: float
    forces: np.ndarray
    virial: np.ndarray
    config_type: str
    charge: float
    dipole: np.ndarray
    polarizability: np.ndarray
    bec: np.ndarray


def reference_of(atoms: "Atoms", where: str = "structure") -> Reference:
    """The reference values stored on ``atoms`` (its info, arrays and calculator).

    Parameters
    ----------
    atoms : a structure as ASE reads it from an extxyz (or any) file
    where : how error messages name the structure, e.g. ``"train.xyz, frame 3"``

    Raises
    ------
    ValueError
        A reference value that is not finite or has the wrong number of
        components.
    """
    results = dict(getattr(atoms.calc, "results", {}) or {}) if atoms.calc is not None else {}
    n_atoms = len(atoms)

    energy = _scalar(results.get("energy", atoms.info.get("energy")), "energy", where)

    forces = None
    for name in ("force", "forces"):
        if name in atoms.arrays:
            forces = atoms.arrays[name]
            break
    if forces is None:
        forces = results.get("forces")
    if forces is None:
        forces = np.full((n_atoms, 3), np.nan)
    else:
        forces = np.asarray(forces, dtype=np.float64)
        if forces.shape != (n_atoms, 3):
            raise ValueError(f"{where}: forces have shape {forces.shape}, expected ({n_atoms}, 3)")
        _check_finite(forces, "force", where)

    virial = _virial(atoms, results, where)
    config_type = str(atoms.info.get("config_type", ""))
    charge = _scalar(atoms.info.get("charge"), "charge", where)
    return Reference(energy=energy, forces=forces, virial=virial, config_type=config_type,
                     charge=charge, dipole=_dipole(atoms, results, where),
                     polarizability=_polarizability(atoms, where), bec=_bec(atoms, results, where))


def iter_structures(path: str | os.PathLike) -> Iterator["Atoms"]:
    """Stream the structures of a file one by one (any format ASE reads).

    extxyz files are split into frames here so that a file larger than
    memory streams, errors name the frame and line, and 6-component
    ``virial=``/``stress=`` strings (which ASE rejects) are understood.
    """
    for _, atoms in iter_labelled(path):
        yield atoms


def iter_labelled(path: str | os.PathLike) -> Iterator[tuple[str, "Atoms"]]:
    """Like :func:`iter_structures`, with a label per structure for error messages.

    The label reads ``"train.xyz, frame 3 (line 757)"`` for extxyz files and
    ``"data.traj, frame 3"`` otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix.lower() in _EXTXYZ_SUFFIXES:
        yield from _iter_extxyz(path)
        return
    import ase.io

    for frame, atoms in enumerate(ase.io.iread(str(path), index=":")):
        yield f"{path}, frame {frame}", atoms


def _iter_extxyz(path: Path, offset: int = 0, frame: int = 0, line_number: int = 0,
                 n_frames: int | None = None) -> Iterator[tuple[str, "Atoms"]]:
    """The frames of an extxyz file; a read can start at the frame boundary ``offset``
    (bytes; ``frame`` and ``line_number``, the lines before it, keep the labels right)
    and stop after ``n_frames`` (see :mod:`gpunep.io.extxyz_index`)."""
    import ase.io

    reported_missing_cell = False
    end = None if n_frames is None else frame + n_frames
    with open(path, "rb") as handle:
        handle.seek(offset)
        lines = _Lines(handle, path)
        lines.number = line_number
        while end is None or frame < end:
            header = lines.next()
            if not header:
                return
            if not header.strip(C_BLANKS):
                continue
            first = lines.number
            text, info, rows = _frame_text(lines, header, frame)
            atoms = frame_atoms(info, rows)
            if atoms is None:
                try:
                    atoms = ase.io.read(io.StringIO(text), format="extxyz")
                except Exception as exc:  # ASE raises many types; name the frame for the user
                    raise ValueError(f"{path}, line {first}: frame {frame}: {exc}") from exc
            _virial_row_major(atoms)
            where = f"{path}, frame {frame} (line {first})"
            if not reported_missing_cell and "Lattice" not in info and "pbc" not in info:
                warnings.warn(_MISSING_CELL.format(where=where, name=path.name), StructureWarning,
                              stacklevel=2)
                reported_missing_cell = True
            yield where, atoms
            frame += 1


def _frame_text(lines: "_Lines", header: str, frame: int) -> tuple[str, dict, list[list[str]]]:
    """The text of the frame that opens with ``header`` (just read), read on and checked
    for ASE (:mod:`gpunep.io.extxyz_text`), 6-component tensors expanded; its comment keys;
    and the tokens of its atom lines."""
    path, first = lines.path, lines.number
    refuse_other_blank(header, path, first)
    n_atoms = _atom_count(header, path, first, frame)
    comment = lines.next()
    if not comment:
        raise ValueError(f"{path}, line {first}: frame {frame} is truncated: the file ends after "
                         "its atom count")
    refuse_other_blank(comment, path, first + 1)
    expanded = _SIX_COMPONENTS.sub(_expand_six, comment)
    info = _comment_keys(comment, expanded, path, first, frame)
    columns = declared_columns(str(info.get("Properties", "species:S:1:pos:R:3")), path, first + 1, frame)
    atom_lines = _atom_lines(lines, n_atoms, columns.count, frame)
    rows = check_atom_lines(columns, atom_lines, path, first + 2, frame)
    return header + expanded + "".join(atom_lines), info, rows


def _atom_lines(lines: "_Lines", n_atoms: int, n_columns: int, frame: int) -> list[str]:
    """The ``n_atoms`` lines after a frame's comment line (just read). A count the rest of the
    file cannot hold is refused before a line is read, so that a huge one costs nothing."""
    truncated = (f"{lines.path}, line {lines.number - 1}: frame {frame} is truncated or its atom "
                 f"count is wrong: it says {n_atoms} atoms")
    left = lines.bytes_left()
    if left < min_bytes(n_atoms, n_columns):
        raise ValueError(f"{truncated}, but the {left} bytes after its comment line (line "
                         f"{lines.number}) cannot hold {n_atoms} lines of {n_columns} columns")
    atom_lines = []
    for _ in range(n_atoms):
        line = lines.next()
        if not line:
            raise ValueError(f"{truncated}, but the file ends after line {lines.number}, "
                             f"{len(atom_lines)} atom lines on")
        atom_lines.append(line)
    return atom_lines


def _virial_row_major(atoms: "Atoms") -> None:
    """ASE reshapes a 9-component ``virial=`` column-major (Fortran order, as it does
    ``Lattice=``); the file holds it row-major, xx xy xz yx ... (the 6-component form,
    expanded to 9, is symmetric). A 9-component ``stress=`` needs nothing: ASE keeps six
    Voigt components, xy yz zx taken from the file's 4th, 8th and 7th numbers, the ones
    GPUMD keeps of an asymmetric stress or virial too."""
    virial = atoms.info.get("virial")
    if isinstance(virial, np.ndarray) and virial.shape == (3, 3):
        atoms.info["virial"] = virial.T.copy()


_MISSING_CELL = (
    "{where}: no Lattice= and no pbc= in the comment line, so the structure is read as "
    "non-periodic (a molecule or cluster). GPUMD's nep refuses such a frame ('lattice' is "
    "missing) and treats every frame as periodic in all three directions. Add "
    'Lattice="ax ay az bx by bz cx cy cz" (ASE reads only that spelling) if it is a crystal, '
    'or pbc="F F F" to say it is not periodic. Later such frames of {name} are not reported.')


class _Lines:
    """The lines of a file opened in binary mode, decoded one by one so errors name the line."""

    def __init__(self, handle, path: Path):
        self.handle = handle
        self.path = path
        self.number = 0

    def next(self) -> str:
        """The next line with its newline ('' at the end of the file); ``number`` is its number."""
        raw = self.handle.readline()
        if not raw:
            return ""
        self.number += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{self.path}, line {self.number}: not UTF-8 text (byte "
                             f"0x{raw[exc.start]:02x} at column {exc.start + 1})") from None
        # byte order marks may open the file (some Windows editors write one, or two)
        return strip_byte_order_marks(text) if self.number == 1 else text

    def bytes_left(self) -> int:
        """The number of bytes after the lines read so far."""
        return os.fstat(self.handle.fileno()).st_size - self.handle.tell()


def _atom_count(header: str, path: Path, line: int, frame: int) -> int:
    n_atoms = atom_count(header)
    if n_atoms is None:
        raise ValueError(f"{path}, line {line}: expected the atom count of frame {frame}, "
                         f"got {header.strip(C_BLANKS)[:60]!r}")
    return n_atoms


def _comment_keys(comment: str, expanded: str, path: Path, first: int, frame: int) -> dict:
    """The key=value pairs of a frame's comment line as ASE parses the ``expanded`` line
    (6-component tensors as 9); numbers of the line as written that GPUMD refuses are
    refused naming the key, also where ASE's own error would say less."""
    from ase.io.extxyz import key_val_str_to_dict

    try:
        info = key_val_str_to_dict(expanded.strip())
    except Exception as exc:  # ASE raises several types for malformed values
        check_comment_numbers(comment, None, path, first + 1, frame)
        raise ValueError(f"{path}, line {first + 1}: frame {frame}: {exc}") from exc
    check_comment_numbers(comment, info, path, first + 1, frame)
    return info


def _expand_six(match: re.Match) -> str:
    """Rewrite a 6-component virial/stress as the 9-component row-major form ASE accepts."""
    key, quote, body = match.group(1), match.group(2), match.group(3)
    fields = body.split()
    if len(fields) != 6:
        return match.group(0)
    try:
        values = np.array([float(x) for x in fields])
    except ValueError:
        return match.group(0)
    order = GPUMD_SIX if key.lower() == "virial" else VOIGT_SIX
    full = symmetric_from_six(values, order).reshape(-1)
    return f"{key}={quote}{' '.join(repr(float(v)) for v in full)}{quote}"


def _virial(atoms: "Atoms", results: dict, where: str) -> np.ndarray:
    virial = atoms.info.get("virial")
    if virial is None:
        virial = atoms.info.get("virials")
    if virial is not None:
        return _tensor(virial, GPUMD_SIX, "virial", where)
    stress = results.get("stress", atoms.info.get("stress"))
    if stress is None:
        return np.full((3, 3), np.nan)
    matrix = _tensor(stress, VOIGT_SIX, "stress", where)
    with np.errstate(all="ignore"):  # an overflowing cell is reported below
        volume = abs(float(np.linalg.det(atoms.get_cell()[:])))
        virial = -matrix * volume  # ASE stress = -W / V (docs/README.md#virial-and-stress)
    if volume == 0.0 or not np.isfinite(volume):
        raise ValueError(f"{where}: a stress is given but the cell volume is {volume}, "
                         "so it cannot be turned into a virial")
    _check_finite(virial, "virial (-stress times the cell volume)", where)
    return virial


def _dipole(atoms: "Atoms", results: dict, where: str) -> np.ndarray:
    # ASE's extxyz reader moves dipole= into the calculator (it is an ASE property)
    dipole = results.get("dipole", atoms.info.get("dipole"))
    if dipole is None:
        return np.full(3, np.nan)
    values = _float_array(dipole, "dipole", where).reshape(-1)
    if values.size != 3:
        raise ValueError(f"{where}: dipole has {values.size} components, expected 3")
    _check_finite(values, "dipole", where)
    return values


def _polarizability(atoms: "Atoms", where: str) -> np.ndarray:
    pol = atoms.info.get("pol")
    if pol is None:
        return np.full((3, 3), np.nan)
    return _tensor(_float_array(pol, "pol", where), GPUMD_SIX, "pol", where)


def _bec(atoms: "Atoms", results: dict, where: str) -> np.ndarray:
    n_atoms = len(atoms)
    bec = atoms.arrays.get("bec")
    if bec is None:
        bec = results.get("born_effective_charges")
    if bec is None:
        return np.full((n_atoms, 3, 3), np.nan)
    values = _float_array(bec, "bec", where)
    if values.size != 9 * n_atoms:
        raise ValueError(f"{where}: bec has shape {values.shape}, expected ({n_atoms}, 9)")
    values = values.reshape(n_atoms, 3, 3)
    _check_finite(values, "bec", where)
    return values


def _tensor(value, order, name: str, where: str) -> np.ndarray:
    """A 3x3 tensor given as six components in ``order`` or nine row-major ones.

    Virials and polarizabilities (GPUMD order) and stresses (Voigt order) come
    in either form.
    """
    values = _float_array(value, name, where).reshape(-1)
    if values.size == 6:
        matrix = symmetric_from_six(values, order)
    elif values.size == 9:
        matrix = values.reshape(3, 3)
    else:
        raise ValueError(f"{where}: {name} has {values.size} components, expected 6 or 9")
    _check_finite(matrix, name, where)
    return matrix


def _float_array(value, name: str, where: str) -> np.ndarray:
    if np.asarray(value).dtype.kind == "b":
        raise ValueError(f"{where}: {name}={value!r} holds truth values, not numbers")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name}={value!r} is not numeric") from None


def _scalar(value, name: str, where: str) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, (bool, np.bool_)):  # float(True) would be 1.0
        raise ValueError(f"{where}: {name}={value!r} is a truth value, not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name}={value!r} is not a number") from None
    if not np.isfinite(number):
        raise ValueError(f"{where}: {name} is {number}")
    return number


def _check_finite(values: np.ndarray, name: str, where: str) -> None:
    if not np.all(np.isfinite(values)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
        raise ValueError(f"{where}: {name} has a non-finite value at {index}")
