"""Random-weight models of any flavour, made by our own code (tests, benchmarks, demos)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gpunep.model import layout
from gpunep.model.model import Model


def random_model(
    types: Sequence[str] = ("Te", "Pb"),
    *,
    version: int = 4,
    model_type: str = "potential",
    cutoff: tuple[float, float] | tuple[Sequence[float], Sequence[float]] = (6.0, 4.0),
    n_max: tuple[int, int] = (4, 4),
    basis_size: tuple[int, int] = (8, 8),
    l_max: Sequence[int] = (4, 2, 1),
    n_neuron: int = 10,
    zbl: tuple[float, float] | None = None,
    zbl_typewise_cutoff_factor: float | None = None,
    charge_mode: int | None = None,
    max_neighbors: tuple[int, int] = (100, 50),
    seed: int = 0,
    weight_scale: float = 0.5,
) -> Model:
    """A model with uniformly random parameters, clearly synthetic.

    ``l_max`` holds 1 to 7 fields (l_max_3b, l_max_4b, l_max_5b, has_q_112,
    has_q_123, has_q_233, has_q_134). Per-type cutoffs are given as two
    sequences. ``zbl=(0.0, 0.0)`` makes flexible ZBL with a plausible random
    table. The q_scaler is drawn from [0.5, 2], so every descriptor component
    matters at a similar scale.
    """
    if version == 5 and model_type in ("polarizability", "potential_with_charges"):
        raise ValueError(f"NEP5 has no {model_type} models (no GPUMD parameter layout for them)")
    rng = np.random.default_rng(seed)
    types = tuple(types)
    flags = list(l_max) + [0] * (7 - len(l_max))
    radial, angular = cutoff
    per_type = not np.isscalar(radial)
    model = Model(
        version=version, model_type=model_type, types=types,
        radial_cutoff=[float(v) for v in radial] if per_type else float(radial),
        angular_cutoff=[float(v) for v in angular] if per_type else float(angular),
        max_neighbors_radial=max_neighbors[0], max_neighbors_angular=max_neighbors[1],
        n_max_radial=n_max[0], n_max_angular=n_max[1],
        n_basis_radial=basis_size[0], n_basis_angular=basis_size[1],
        l_max_3b=flags[0], l_max_4b=flags[1], l_max_5b=flags[2], has_q_112=flags[3],
        has_q_123=flags[4], has_q_233=flags[5], has_q_134=flags[6], n_neuron=n_neuron,
        ann_parameters={}, q_scaler=np.zeros(0), radial_descriptor_weights={},
        angular_descriptor_weights={}, zbl=zbl, zbl_typewise_cutoff_factor=zbl_typewise_cutoff_factor,
        charge_mode=charge_mode if model_type == "potential_with_charges" else None,
    )
    spec = dict(types=types, version=version, model_type=model_type, n_neuron=n_neuron,
                dim=model.n_descriptor)
    model.ann_parameters = layout.unflatten_ann(
        rng.uniform(-weight_scale, weight_scale, model.n_ann_parameters), **spec)
    if model_type == "potential_with_charges":
        model.ann_parameters.pop("sqrt_epsilon_infinity")
        model.sqrt_epsilon_infinity = float(rng.uniform(1.0, 3.0))
    model.radial_descriptor_weights = layout.unflatten_descriptor(
        rng.uniform(-1, 1, len(types) ** 2 * (n_max[0] + 1) * (basis_size[0] + 1)),
        types, n_max[0], basis_size[0])
    model.angular_descriptor_weights = layout.unflatten_descriptor(
        rng.uniform(-1, 1, len(types) ** 2 * (n_max[1] + 1) * (basis_size[1] + 1)),
        types, n_max[1], basis_size[1])
    model.q_scaler = rng.uniform(0.5, 2.0, model.n_descriptor)
    if zbl == (0.0, 0.0):
        model.zbl_parameters = {}
        for pair in layout.zbl_pairs(types):
            r_in = rng.uniform(0.8, 1.2)
            a = rng.dirichlet(np.ones(4))  # screening amplitudes sum to 1, like the universal set
            b = np.sort(rng.uniform(0.2, 3.2, 4))[::-1]
            model.zbl_parameters[pair] = np.array([r_in, r_in + rng.uniform(0.8, 1.2),
                                                   *np.column_stack([a, b]).reshape(-1)])
    return model
