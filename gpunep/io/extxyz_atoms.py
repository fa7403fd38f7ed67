"""Atoms from a checked extxyz frame: its columns converted by numpy, the rest as ASE does it.

ASE's extxyz reader converts every value of every atom line with a Python
call, which is most of the time of reading a data set. A frame that has
passed gpunep's checks (:func:`gpunep.io.extxyz_text.check_atom_lines`:
every atom line has the declared columns, its numbers in C's forms) is
already split into tokens, so each column is converted at once here, by
the converter ASE uses for its type (``float``, ``int``, ``str``, and
``T``/``F``/``True``/``False`` for logicals); the ``Atoms`` are then made
as ASE makes them: cell and pbc from ``Lattice=``/``pbc=``, symbols
capitalised, standard per-atom and per-frame properties in a
``SinglePointCalculator`` (ASE's :func:`ase.io.extxyz.set_calc_and_arrays`),
the rest in ``atoms.arrays`` and ``atoms.info``. Frames with constraints
(``move_mask``) are left to ASE. tests/predict/test_extxyz_atoms.py compares
the two readers' ``Atoms`` on real data sets and on generated frames of every
column type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ase import Atoms

_DEFAULT_PROPERTIES = "species:S:1:pos:R:3"
_LOGICAL = {"T": True, "F": False, "True": True, "False": False}


def frame_atoms(info: dict[str, Any], rows: list[list[str]]) -> "Atoms | None":
    """The ``Atoms`` of a frame from ASE's parse of its comment line (``info``, not
    changed) and the tokens of its atom lines, or None for a frame ASE must read
    (constraints, or anything ASE would refuse: it then names the problem)."""
    from ase.io.extxyz import parse_properties

    try:
        info = dict(info)
        pbc = info.pop("pbc") if "pbc" in info else ([True] * 3 if "Lattice" in info else None)
        cell = info.pop("Lattice").T if "Lattice" in info else None
        properties, names, dtype, _ = parse_properties(info.pop("Properties", _DEFAULT_PROPERTIES))
        if "move_mask" in properties:
            return None
        return _atoms(properties, names, _columns(rows, dtype), cell, pbc, info)
    except Exception:  # noqa: BLE001 - ASE reads the frame again and names what it cannot read
        return None


def _atoms(properties: dict, names: list[str], columns: list[np.ndarray], cell: Any, pbc: Any,
           info: dict[str, Any]) -> "Atoms":
    """ASE's ``Atoms`` of a frame from its converted columns (as ASE's extxyz reader makes them)."""
    from ase import Atoms
    from ase.io.extxyz import set_calc_and_arrays

    arrays, k = {}, 0
    for name in names:
        ase_name, count = properties[name]
        block = columns[k:k + count]
        arrays[ase_name] = block[0] if count == 1 else np.stack(block, axis=1)
        k += count
    numbers, symbols = arrays.pop("numbers", None), arrays.pop("symbols", None)
    if symbols is not None:
        symbols = [s.capitalize() for s in symbols]
    atoms = Atoms(numbers if numbers is not None else symbols, positions=arrays.pop("positions", None),
                  charges=arrays.pop("initial_charges", None), cell=cell, pbc=pbc, info=info)
    set_calc_and_arrays(atoms, arrays)
    return atoms


def _columns(rows: list[list[str]], dtype: np.dtype) -> list[np.ndarray]:
    """Each column of the atom lines as ASE's field of ``dtype`` holds it."""
    by_column = list(zip(*rows)) if rows else [() for _ in dtype.names]
    columns = []
    for values, name in zip(by_column, dtype.names):
        kind = dtype.fields[name][0]
        if kind == np.dtype(object):
            columns.append(np.array(values, dtype=object))
        elif kind == np.dtype(bool):
            columns.append(np.array([bool(_LOGICAL.get(v)) for v in values], dtype=bool))
        elif kind.kind == "i":
            columns.append(np.array([int(v) for v in values], dtype=kind))
        else:
            columns.append(np.array(values, dtype=np.float64))
    return columns
