"""A model for the kernels: its architecture as compile-time constants and its
parameters packed into one ``params`` array (host numpy arrays).

The kernels are compiled per architecture (``kernels/nep_arch.cuh``): the
sizes below become ``-D`` definitions, so every per-atom array in the kernels
has a size the compiler knows. :func:`params_layout` mirrors the offsets of
``nep_arch.cuh`` (a test compiles a kernel that writes its offsets and
compares). Per-pair coefficients are re-laid out per (center, neighbor) type
pair, per-pair cutoffs and ZBL constants precomputed in float64 and rounded
once to the build's real type, like GPUMD.
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

# The spherical-harmonics tables of kernels/nep_harmonics.cuh hold l <= 8.
MAX_L = 8
# Per-thread arrays stay register-sized on a GPU up to these sizes (n_max + 1,
# basis_size + 1 and the descriptor length); larger models are for the reference.
MAX_NUM_N = 17
MAX_DIM = 103

# Bits of NEP_EXTRAS (kernels/nep_arch.cuh), in descriptor order.
EXTRA_INVARIANTS = (("l_max_4b", 1), ("l_max_5b", 2), ("has_q_112", 4),
                    ("has_q_123", 8), ("has_q_233", 16), ("has_q_134", 32))

# Model types the kernels evaluate (temperature models append a temperature
# to the descriptor, which structures do not carry).
KERNEL_MODEL_TYPES = ("potential", "potential_with_charges", "dipole", "polarizability")

ZBL_STRIDE = 12  # kernels/nep_arch.cuh: NEP_ZBL_STRIDE
ZBL_SCREENING_INVERSE = 2.134563  # 1 / 0.46848 Å^-1 (docs/forces.md#zbl-repulsion)
ZBL_UNIVERSAL = (0.18175, 3.1998, 0.50986, 0.94229, 0.28022, 0.4029, 0.02817, 0.20162)


def check_supported(model: "Model") -> None:
    """Raise unless the kernels can evaluate ``model``.

    Raises
    ------
    UnsupportedModelError
        Temperature models (named), charge models with per-type cutoffs (GPUMD
        refuses them too: the Ewald parameter needs one radial cutoff), an
        invariant whose angular sums need a larger ``l_max_3b``, or sizes
        beyond the kernels' limits (the limit and the model's value).
    """
    if model.model_type not in KERNEL_MODEL_TYPES:
        raise UnsupportedModelError(
            f"the host and cuda backends evaluate {', '.join(map(repr, KERNEL_MODEL_TYPES))} "
            f"models, not {model.model_type!r} models (yet)"
        )
    if model.model_type == "potential_with_charges" and not np.isscalar(model.radial_cutoff):
        raise UnsupportedModelError(
            "charge models need a single radial cutoff (Ewald alpha = pi / rc_R, "
            f"docs/charges.md#ewald-summation); this one has per-type cutoffs {list(model.radial_cutoff)}"
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
                "(gpunep.engine.model_arrays)"
            )
    if model.l_max_3b < 1:
        raise UnsupportedModelError(f"l_max_3b must be at least 1, the model has {model.l_max_3b}")
    for name, _ in EXTRA_INVARIANTS:
        if getattr(model, name) and model.l_max_3b < _L_NEEDED[name]:
            raise UnsupportedModelError(
                f"the invariant enabled by {name} needs l_max_3b >= {_L_NEEDED[name]}, "
                f"the model has l_max_3b = {model.l_max_3b}"
            )


@dataclass(frozen=True)
class Architecture:
    """The sizes a model's kernels are compiled for (``kernels/nep_arch.cuh``).

    Two models with equal architectures share compiled kernels; the
    parameter values are data.
    """

    n_types: int
    n_radial: int        # n_max_radial + 1
    k_radial: int        # basis_size_radial + 1
    n_angular: int
    k_angular: int
    l_max: int
    extras: int          # bit mask of EXTRA_INVARIANTS
    n_neuron: int
    has_zbl: bool
    has_charge_head: bool
    has_polar_network: bool

    @property
    def n_abc(self) -> int:
        """Angular components (l, m), l = 1..l_max: (l_max + 1)^2 - 1."""
        return (self.l_max + 1) ** 2 - 1

    @property
    def n_invariants(self) -> int:
        """Invariants per angular radial order."""
        return self.l_max + bin(self.extras).count("1")

    @property
    def dim(self) -> int:
        """Descriptor length."""
        return self.n_radial + self.n_angular * self.n_invariants

    @property
    def n_sums(self) -> int:
        """Angular sums of one atom."""
        return self.n_angular * self.n_abc

    def defines(self, sum_chunk: int) -> dict[str, int]:
        """The ``-D`` definitions of ``kernels/nep_arch.cuh``; ``sum_chunk`` radial orders
        of angular sums per pass over the neighbors (registers on a GPU; it changes
        no result, only how often a pair's functions are recomputed)."""
        return {
            "NEP_N_TYPES": self.n_types, "NEP_N_RADIAL": self.n_radial,
            "NEP_K_RADIAL": self.k_radial, "NEP_N_ANGULAR": self.n_angular,
            "NEP_K_ANGULAR": self.k_angular, "NEP_L_MAX": self.l_max, "NEP_EXTRAS": self.extras,
            "NEP_N_NEURON": self.n_neuron, "NEP_HAS_ZBL": int(self.has_zbl),
            "NEP_HAS_CHARGE_HEAD": int(self.has_charge_head),
            "NEP_HAS_POLAR_NETWORK": int(self.has_polar_network), "NEP_SUM_CHUNK": int(sum_chunk),
        }


def architecture(model: "Model") -> Architecture:
    """The compile-time sizes of ``model`` (checked with :func:`check_supported`)."""
    check_supported(model)
    return Architecture(
        n_types=len(model.types), n_radial=model.n_max_radial + 1,
        k_radial=model.n_basis_radial + 1, n_angular=model.n_max_angular + 1,
        k_angular=model.n_basis_angular + 1, l_max=model.l_max_3b,
        extras=sum(bit for name, bit in EXTRA_INVARIANTS if getattr(model, name)),
        n_neuron=model.n_neuron, has_zbl=model.zbl is not None,
        has_charge_head=model.model_type == "potential_with_charges",
        has_polar_network=model.model_type == "polarizability",
    )


def params_layout(arch: Architecture) -> dict[str, tuple[int, int]]:
    """``{block: (offset, size)}`` of the ``params`` array (``NEP_P_*`` of nep_arch.cuh)."""
    pairs = arch.n_types ** 2
    ann_block = (arch.dim + 2) * arch.n_neuron + 1
    sizes = [
        ("rc_radial", pairs), ("rc_angular", pairs),
        ("c_radial", pairs * arch.n_radial * arch.k_radial),
        ("c_angular", pairs * arch.n_angular * arch.k_angular),
        ("q_scaler", arch.dim), ("ann", arch.n_types * ann_block),
        ("zbl", pairs * ZBL_STRIDE if arch.has_zbl else 0),
        ("ann_charge", arch.n_types * arch.n_neuron if arch.has_charge_head else 0),
        ("ann_polar", arch.n_types * ann_block if arch.has_polar_network else 0),
    ]
    layout, offset = {}, 0
    for name, size in sizes:
        layout[name] = (offset, size)
        offset += size
    layout["size"] = (offset, 0)
    return layout


@dataclass(frozen=True)
class ModelArrays:
    """Host arrays of one model for the kernels.

    Attributes
    ----------
    architecture : the compile-time sizes
    params : (NEP_P_SIZE,) real, every parameter at its ``params_layout`` offset
    rc_radial_pairs, rc_angular_pairs : (T*T,) float64 pair cutoffs ``[t_i * T + t_j]``,
        for the neighbor lists
    """

    architecture: Architecture
    params: np.ndarray
    rc_radial_pairs: np.ndarray
    rc_angular_pairs: np.ndarray


def model_arrays(model: "Model", real_dtype: np.dtype) -> ModelArrays:
    """Lay ``model`` out for the kernels, rounding to ``real_dtype`` once."""
    arch = architecture(model)
    rc_radial, rc_angular = (np.ascontiguousarray(rc, dtype=np.float64).reshape(-1)
                             for rc in model.type_pair_cutoffs())
    pairs = [(a, b) for a in model.types for b in model.types]
    # one np.array call over all T*T blocks (a per-pair loop cost ~10 ms for NEP89)
    blocks = {
        "rc_radial": rc_radial, "rc_angular": rc_angular,
        "c_radial": np.array([model.radial_descriptor_weights[p] for p in pairs], dtype=np.float64),
        "c_angular": np.array([model.angular_descriptor_weights[p] for p in pairs], dtype=np.float64),
        "q_scaler": np.asarray(model.q_scaler, dtype=np.float64),
        "ann": _ann_blocks(model),
    }
    if arch.has_zbl:
        blocks["zbl"] = _zbl_table(model)
    if arch.has_charge_head:
        blocks["ann_charge"] = np.array([_network(model, s)["w1_charge"] for s in model.types],
                                        dtype=np.float64)
    if arch.has_polar_network:
        blocks["ann_polar"] = _ann_blocks(model, ("w0_polar", "b0_polar", "w1_polar"), "b1_polar")
    layout = params_layout(arch)
    params = np.zeros(layout["size"][0], dtype=np.float64)
    for name, values in blocks.items():
        offset, size = layout[name]
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
        if flat.size != size:
            raise AssertionError(f"params block {name}: {flat.size} values, layout says {size}")
        params[offset:offset + size] = flat
    return ModelArrays(arch, params.astype(real_dtype), rc_radial, rc_angular)


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
