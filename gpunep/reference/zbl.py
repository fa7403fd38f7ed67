"""The ZBL short-range repulsion (docs/forces.md#zbl-repulsion).

The universal screening function of Ziegler, Biersack and Littmark (1985).

Pairwise over the ANGULAR neighbor set, half of ``phi(r) S(r)`` per directed
pair, so each unordered pair counts once in the total and half on each atom.
Three flavours: universal (one switch ``r_in .. r_out``), typewise
(``r_in = 0``, ``r_out = min(f (R_cov,i + R_cov,j), r_out)``) and flexible
(per type pair ``r_in, r_out`` and the four ``A_k, B_k``; the screening
length stays universal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gpunep.constants import K_C
from gpunep.model.elements import covalent_radius
from gpunep.reference.neighbors import Pairs

if TYPE_CHECKING:
    from gpunep.model import Model

# Universal screening function: (A_k, B_k), k = 1..4
UNIVERSAL = np.array([[0.18175, 3.1998], [0.50986, 0.94229], [0.28022, 0.4029], [0.02817, 0.20162]])
SCREENING_INVERSE = 2.134563  # 1 / 0.46848 Å^-1


def zbl_pair_parameters(model: "Model") -> np.ndarray:
    """Per (t_i, t_j): ``[r_in, r_out, A1, B1, .., A4, B4]``, shape (T, T, 10)."""
    n_types = len(model.types)
    table = np.empty((n_types, n_types, 10))
    r_in, r_out = (float(v) for v in model.zbl)
    flexible = r_in == 0.0 and r_out == 0.0
    for a in range(n_types):
        for b in range(n_types):
            if flexible:
                key = (model.types[min(a, b)], model.types[max(a, b)])
                table[a, b] = np.asarray(model.zbl_parameters[key], dtype=np.float64)
                continue
            inner, outer = r_in, r_out
            if model.zbl_typewise_cutoff_factor is not None:
                radii = covalent_radius(model.atomic_numbers[a]) + covalent_radius(model.atomic_numbers[b])
                inner, outer = 0.0, min(model.zbl_typewise_cutoff_factor * radii, r_out)
            table[a, b, :2] = inner, outer
            table[a, b, 2:] = UNIVERSAL.reshape(-1)
    return table


def zbl_pair_terms(pairs: Pairs, types: np.ndarray, atomic_numbers: np.ndarray,
                   parameters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energy ``phi(r) S(r) / 2`` of each directed angular pair and its pair force ``d/dr_ij``.

    Parameters
    ----------
    pairs : the angular neighbor pairs
    types : (N,) type index per atom
    atomic_numbers : (T,) atomic number per type
    parameters : (T, T, 10) from :func:`zbl_pair_parameters`

    Returns
    -------
    energy : (P,) eV, to be added to the center atom
    pair_forces : (P, 3) ``d(energy)/d r_ij``
    """
    ti, tj = types[pairs.center], types[pairs.neighbor]
    params = parameters[ti, tj]
    z = np.asarray(atomic_numbers, dtype=np.float64)
    zi, zj = z[ti], z[tj]
    r = pairs.distances
    a_inv = (zi**0.23 + zj**0.23) * SCREENING_INVERSE
    amplitude = K_C * zi * zj
    screen = np.zeros_like(r)
    dscreen = np.zeros_like(r)
    for k in range(4):
        a_k, b_k = params[:, 2 + 2 * k], params[:, 3 + 2 * k]
        term = a_k * np.exp(-b_k * a_inv * r)
        screen += term
        dscreen -= b_k * a_inv * term
    phi = amplitude * screen / r
    dphi = amplitude * (dscreen / r - screen / r**2)
    switch, dswitch = _switch(r, params[:, 0], params[:, 1])
    energy = 0.5 * phi * switch
    de_dr = 0.5 * (dphi * switch + phi * dswitch)
    return energy, (de_dr / r)[:, None] * pairs.vectors


def _switch(r: np.ndarray, r_in: np.ndarray, r_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``S = 1`` below ``r_in``, ``(1 + cos(pi (r - r_in)/(r_out - r_in)))/2`` up to ``r_out``, then 0."""
    width = r_out - r_in
    with np.errstate(divide="ignore", invalid="ignore"):
        phase = np.pi * (r - r_in) / width
        between = (r >= r_in) & (r < r_out)
        s = np.where(r < r_in, 1.0, np.where(between, 0.5 * (1.0 + np.cos(phase)), 0.0))
        ds = np.where(between, -0.5 * np.pi / width * np.sin(phase), 0.0)
    return s, ds
