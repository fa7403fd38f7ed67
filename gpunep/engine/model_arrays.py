"""A model's parameters in the flat layout the NEP kernels read (host numpy arrays).

GPUMD-like: per-type networks contiguous, descriptor coefficients re-laid out
per (center, neighbor) type pair, per-pair cutoffs and ZBL constants
precomputed in float64 and rounded once to the build's real type. The
layouts are documented at the head of each ``kernels/nep_*.cu`` file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gpunep.constants import K_C
from gpunep.errors import UnsupportedModelError
from gpunep.model.elements import covalent_radius
from gpunep.model.fields import MIN_L_MAX_3B as _L_NEEDED

if TYPE_CHECKING:
    from gpunep.model import Model

# Compile-time limits of the kernels (kernels/nep_common.cuh, NEP_SPEC §6.4).
MAX_NUM_N = 17
MAX_DIM = 103
MAX_L = 8

# Bits of the kernels' `extras` argument, in descriptor order (NEP_SPEC §3.7).
EXTRA_INVARIANTS = (("l_max_4b", 1), ("l_max_5b", 2), ("has_q_112", 4),
                    ("has_q_123", 8), ("has_q_233", 16), ("has_q_134", 32))

# Model types the kernels evaluate (temperature models append a temperature
# to the descriptor, which structures do not carry).
KERNEL_MODEL_TYPES = ("potential", "potential_with_charges", "dipole", "polarizability")

ZBL_STRIDE = 12  # kernels/nep_zbl.cu: NEP_ZBL_STRIDE
ZBL_SCREENING_INVERSE = 2.134563  # 1 / 0.46848 Å^-1 (NEP_SPEC §3.11)
ZBL_UNIVERSAL = (0.18175, 3.1998, 0.50986, 0.94229, 0.28022, 0.4029, 0.02817, 0.20162)


def check_supported(model: "Model") -> None:
    """Raise unless the kernels can evaluate ``model``.

    Raises
    ------
    UnsupportedModelError
        Temperature models (named), charge models with per-type cutoffs (GPUMD
        refuses them too: the Ewald parameter needs one radial cutoff), an
        invariant whose angular sums need a larger ``l_max_3b``, or sizes
        beyond the kernels' register arrays (the limit and the model's value).
    """
    if model.model_type not in KERNEL_MODEL_TYPES:
        raise UnsupportedModelError(
            f"the host and cuda backends evaluate {', '.join(map(repr, KERNEL_MODEL_TYPES))} "
            f"models, not {model.model_type!r} models (yet)"
        )
    if model.model_type == "potential_with_charges" and not np.isscalar(model.radial_cutoff):
        raise UnsupportedModelError(
            "charge models need a single radial cutoff (Ewald alpha = pi / rc_R, NEP_SPEC §4.5); "
            f"this one has per-type cutoffs {list(model.radial_cutoff)}"
        )
    if model.version not in (3, 4, 5):
        raise UnsupportedModelError(f"NEP version {model.version} is not supported (3, 4 or 5)")
    limits = [
        ("n_max_radial + 1", model.n_max_radial + 1, MAX_NUM_N),
        ("n_max_angular + 1", model.n_max_angular + 1, MAX_NUM_N),
        ("n_basis_radial + 1", model.n_basis_radial + 1, MAX_NUM_N),
        ("n_basis_angular + 1", model.n_basis_angular + 1, MAX_NUM_N),
        ("descriptor dimension", model.n_descriptor, MAX_DIM),
        ("l_max_3b", model.l_max_3b, MAX_L),
    ]
    for name, value, limit in limits:
        if value > limit:
            raise UnsupportedModelError(
                f"the model's {name} is {value}; the kernels support at most {limit} "
                "(kernels/nep_common.cuh)"
            )
    if model.l_max_3b < 1:
        raise UnsupportedModelError(f"l_max_3b must be at least 1, the model has {model.l_max_3b}")
    for name, _ in EXTRA_INVARIANTS:
        if getattr(model, name) and model.l_max_3b < _L_NEEDED[name]:
            raise UnsupportedModelError(
                f"the invariant enabled by {name} needs l_max_3b >= {_L_NEEDED[name]}, "
                f"the model has l_max_3b = {model.l_max_3b}"
            )


def extras_mask(model: "Model") -> int:
    """The kernels' `extras` bit mask of enabled many-body invariants."""
    return sum(bit for name, bit in EXTRA_INVARIANTS if getattr(model, name))


@dataclass(frozen=True)
class ModelArrays:
    """Host arrays of one model for the kernels (see the kernels' headers).

    Attributes
    ----------
    rc_radial_pairs, rc_angular_pairs : (T*T,) float64 pair cutoffs, for the neighbor lists
    rc_radial, rc_angular : (T*T,) real pair cutoffs, for the basis functions
    c_radial, c_angular : real descriptor coefficients per (center, neighbor) pair
    q_scaler : (dim,) real
    ann : real, one block of (dim + 2) * n_neuron + 1 values per type
    zbl : (T*T*ZBL_STRIDE,) real, or None without ZBL
    ann_charge : charge models: (T * n_neuron,) real, the charge head's output
        weights per type (kernels/nep_charge.cu), else None
    ann_polar : polarizability models: the second (scalar) network in the
        layout of ``ann``, else None
    """

    rc_radial_pairs: np.ndarray
    rc_angular_pairs: np.ndarray
    rc_radial: np.ndarray
    rc_angular: np.ndarray
    c_radial: np.ndarray
    c_angular: np.ndarray
    q_scaler: np.ndarray
    ann: np.ndarray
    zbl: np.ndarray | None
    ann_charge: np.ndarray | None = None
    ann_polar: np.ndarray | None = None


def model_arrays(model: "Model", real_dtype: np.dtype) -> ModelArrays:
    """Lay ``model`` out for the kernels, rounding to ``real_dtype`` once."""
    check_supported(model)
    rc_radial, rc_angular = (np.ascontiguousarray(rc, dtype=np.float64).reshape(-1)
                             for rc in model.type_pair_cutoffs())

    def real(values) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1),
                                    dtype=real_dtype)

    pairs = [(a, b) for a in model.types for b in model.types]
    # one np.array call over all T*T blocks (a per-pair loop cost ~10 ms for NEP89)
    c_radial = np.array([model.radial_descriptor_weights[p] for p in pairs], dtype=np.float64)
    c_angular = np.array([model.angular_descriptor_weights[p] for p in pairs], dtype=np.float64)
    return ModelArrays(
        rc_radial_pairs=rc_radial,
        rc_angular_pairs=rc_angular,
        rc_radial=real(rc_radial),
        rc_angular=real(rc_angular),
        c_radial=real(c_radial),
        c_angular=real(c_angular),
        q_scaler=real(model.q_scaler),
        ann=real(_ann_blocks(model)),
        zbl=None if model.zbl is None else real(_zbl_table(model)),
        ann_charge=(real([_network(model, s)["w1_charge"] for s in model.types])
                    if model.model_type == "potential_with_charges" else None),
        ann_polar=(real(_ann_blocks(model, ("w0_polar", "b0_polar", "w1_polar"), "b1_polar"))
                   if model.model_type == "polarizability" else None),
    )


def _network(model: "Model", symbol: str) -> dict:
    """The network parameters of species ``symbol`` (NEP3 shares one network)."""
    return model.ann_parameters["all_species" if model.version == 3 else symbol]


def _ann_blocks(model: "Model", keys: tuple[str, str, str] = ("w0", "b0", "w1"),
                bias_key: str = "b1") -> np.ndarray:
    """Per type: W0 (row-major [neuron][component]), b0, w1, and the total output bias.

    ``keys`` and ``bias_key`` name the network: the default is the energy (or
    tensor) network, ``*_polar`` a polarizability model's scalar network.
    """
    b1 = float(model.ann_parameters[bias_key])
    w0, b0, w1 = keys
    blocks = []
    for symbol in model.types:
        net = _network(model, symbol)
        bias = b1 + (float(net["b1_species"]) if model.version == 5 else 0.0)
        blocks += [np.asarray(net[w0], dtype=np.float64).reshape(-1),
                   np.asarray(net[b0], dtype=np.float64).reshape(-1),
                   np.asarray(net[w1], dtype=np.float64).reshape(-1),
                   np.array([bias])]
    return np.concatenate(blocks)


def _zbl_table(model: "Model") -> np.ndarray:
    """Per ordered type pair: r_in, r_out, K_C Z_i Z_j, 1/a, A_1, B_1, ..., A_4, B_4."""
    n_types = len(model.types)
    r_in, r_out = (float(v) for v in model.zbl)
    z = np.asarray(model.atomic_numbers, dtype=np.float64)
    table = np.empty((n_types, n_types, ZBL_STRIDE))
    if r_in == 0.0 and r_out == 0.0:  # flexible: a fitted row per unordered pair
        for a in range(n_types):
            for b in range(a, n_types):
                params = np.asarray(model.zbl_parameters[(model.types[a], model.types[b])],
                                    dtype=np.float64)
                table[a, b, :2] = table[b, a, :2] = params[:2]
                table[a, b, 4:] = table[b, a, 4:] = params[2:10]
    else:
        table[:, :, 0] = r_in
        table[:, :, 1] = r_out
        table[:, :, 4:] = ZBL_UNIVERSAL
        if model.zbl_typewise_cutoff_factor is not None:
            radii = np.array([covalent_radius(int(v)) for v in z])
            table[:, :, 0] = 0.0
            table[:, :, 1] = np.minimum(
                model.zbl_typewise_cutoff_factor * (radii[:, None] + radii[None, :]), r_out)
    table[:, :, 2] = K_C * z[:, None] * z[None, :]
    zp = np.array([float(v) ** 0.23 for v in z])  # scalar pow: numpy's SIMD pow may differ by an ulp
    table[:, :, 3] = (zp[:, None] + zp[None, :]) * ZBL_SCREENING_INVERSE
    return table
