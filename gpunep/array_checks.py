"""The dtype and shape rules of :func:`gpunep.evaluate`'s arrays, for arrays of any library.

Only ``dtype``, ``shape`` and ``reshape`` are used, so the same checks (and
messages) serve numpy arrays on the host and CuPy arrays that stay on their
GPU: nothing is read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(values: Any, name: str, expected: str, allowed: tuple[np.dtype, ...] = (),
                integer: bool = False) -> None:
    """Raise TypeError unless ``values`` has an integer dtype (``integer``) or one of ``allowed``."""
    fits = (np.issubdtype(values.dtype, np.integer) if integer else values.dtype in allowed)
    if not fits:
        raise TypeError(f"{name} must be {expected}, not {values.dtype}")


def check_shape(values: Any, name: str, shape: tuple[int, ...], expected: str) -> None:
    """Raise ValueError unless ``values`` has ``shape`` (``expected`` says it in words)."""
    if values.shape != shape:
        raise ValueError(f"{name} must have shape {expected}, not {values.shape}")


def checked_atoms(positions: Any, numbers: Any, cell: Any) -> tuple[int, Any]:
    """``(n_atoms, cells)`` after checking dtypes and shapes; ``cells`` is ``cell`` as (S, 3, 3).

    Raises
    ------
    TypeError
        Positions or cell not float32/float64, numbers not integers.
    ValueError
        Positions not (N, 3), numbers not (N,), cell neither (3, 3) nor (S, 3, 3).
    """
    check_dtype(positions, "positions", "float32 or float64", FLOATS)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must have shape (n_atoms, 3), not {positions.shape}")
    n_atoms = positions.shape[0]
    check_dtype(numbers, "numbers", "an integer type", integer=True)
    check_shape(numbers, "numbers", (n_atoms,), f"(n_atoms,) = ({n_atoms},), as positions")
    check_dtype(cell, "cell", "float32 or float64", FLOATS)
    cells = cell.reshape(1, 3, 3) if cell.shape == (3, 3) else cell
    if cells.ndim != 3 or cells.shape[1:] != (3, 3):
        raise ValueError(f"cell must have shape (3, 3) or (n_systems, 3, 3), not {cell.shape}")
    return n_atoms, cells


def check_pbc_dtype(pbc: Any) -> None:
    """Raise TypeError unless ``pbc`` is bool."""
    if pbc.dtype != np.bool_:
        raise TypeError(f"pbc must be bool (True/False per cell vector), not {pbc.dtype}")
