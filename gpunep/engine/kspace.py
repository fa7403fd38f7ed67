"""The reciprocal-space setup of a charge model's Ewald sum: alpha, the k-vectors, the periodicity check.

Built on the host for the kernels, independently of :mod:`gpunep.reference`,
so that the agreement tests between the two compare two constructions of
the same set.

A charge model splits ``1/r`` with the Ewald parameter ``alpha = pi / rc``
(``rc`` the model's radial cutoff; Å^-1). A cell with rows ``a_1, a_2, a_3``
has the reciprocal basis ``b_i = 2 pi (a_j x a_k) / V`` (``i, j, k`` cyclic,
``V = a_1 . (a_2 x a_3)``), so that ``a_i . b_j = 2 pi delta_ij``. The
reciprocal sum runs over ``k = n_1 b_1 + n_2 b_2 + n_3 b_3`` (integer ``n``)
with ``0 < |k| < k_c``: ``k_c = 2 pi alpha`` for ``kspace='truncated'`` (the
set GPUMD's trainer uses) and ``k_c = 4 pi alpha`` for ``'converged'``,
where ``exp(-k^2 / 4 alpha^2)`` has fallen below 1e-17. The summand is even
in ``k``, so one vector of each pair ``+-k`` is kept: the first nonzero of
``(n_1, n_2, n_3)`` is positive. Since ``n_i = k . a_i / 2 pi``, every kept
vector has ``|n_i| <= k_c |a_i| / 2 pi``, which bounds the search. The
vectors are listed in GPUMD's loop order: ``n_1`` slowest, then ``n_2``,
then ``n_3``, each ascending.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from gpunep.errors import UnsupportedModelError

if TYPE_CHECKING:
    from gpunep.model import Model
    from gpunep.structures import Batch

#: kspace mode -> k_c in units of 2 pi alpha
K_CUTOFF_IN_2PI_ALPHA = {"truncated": 1.0, "converged": 2.0}
KSPACE = tuple(K_CUTOFF_IN_2PI_ALPHA)


def ewald_alpha(model: "Model") -> float:
    """``alpha = pi / rc`` (Å^-1) of a charge model, which has a single radial cutoff.

    Raises
    ------
    UnsupportedModelError
        A model with per-type radial cutoffs (GPUMD refuses those for charge models too).
    """
    if not np.isscalar(model.radial_cutoff):
        raise UnsupportedModelError(
            "charge models need a single radial cutoff (Ewald alpha = pi / rc_R); "
            f"this one has per-type cutoffs {list(model.radial_cutoff)}"
        )
    return math.pi / float(model.radial_cutoff)


def check_periodic(structure: "Batch", where: str) -> None:
    """Refuse a structure whose cell is not periodic in all three directions (the Ewald sum needs it).

    Raises
    ------
    ValueError
        Naming the structure (``where``) and its pbc.
    """
    pbc = structure.pbc[0]
    if not pbc.all():
        raise ValueError(
            f"{where}: charge models need a cell periodic in all three directions "
            f"(Ewald sum, as in GPUMD), this one has pbc={pbc.tolist()}"
        )


def k_cutoff(alpha: float, kspace: str) -> float:
    """``k_c`` of ``kspace`` ('truncated' or 'converged') for the Ewald parameter ``alpha``."""
    if kspace not in K_CUTOFF_IN_2PI_ALPHA:
        raise ValueError(f"kspace must be one of {', '.join(KSPACE)}, not {kspace!r}")
    return K_CUTOFF_IN_2PI_ALPHA[kspace] * 2.0 * math.pi * alpha


def kvectors(cell: np.ndarray, alpha: float, kspace: str = "truncated") -> np.ndarray:
    """One structure's k-vectors (half of the ``+-k`` pairs, GPUMD's order), shape (K, 3), Å^-1.

    Parameters
    ----------
    cell : (3, 3) cell vectors as rows (Å), periodic in all three directions
    alpha : the Ewald parameter (Å^-1)
    kspace : 'truncated' (``|k| < 2 pi alpha``) or 'converged' (``|k| < 4 pi alpha``)
    """
    a1, a2, a3 = np.asarray(cell, dtype=np.float64)
    k_c = k_cutoff(alpha, kspace)
    volume = float(np.dot(a1, np.cross(a2, a3)))
    basis = (2.0 * math.pi / volume) * np.array([np.cross(a2, a3), np.cross(a3, a1), np.cross(a1, a2)])
    bound = [int(k_c * float(np.linalg.norm(a)) / (2.0 * math.pi)) for a in (a1, a2, a3)]
    n1 = np.arange(0, bound[0] + 1)[:, None, None]
    n2 = np.arange(-bound[1], bound[1] + 1)[None, :, None]
    n3 = np.arange(-bound[2], bound[2] + 1)[None, None, :]
    # the first nonzero of (n1, n2, n3) positive: one of each +-k pair, and not k = 0
    kept = (n1 > 0) | ((n1 == 0) & ((n2 > 0) | ((n2 == 0) & (n3 > 0))))
    n = np.stack(np.broadcast_arrays(n1, n2, n3), axis=-1)[kept]   # C order: n1 slowest, n3 fastest
    k = n.astype(np.float64) @ basis
    return k[np.sum(k * k, axis=1) < k_c * k_c]
