"""A NEP model's fields: hyperparameters and parameters as host numpy arrays, and their sizes.

:class:`ModelFields` is the data every function of the model package works
on; :class:`gpunep.model.Model` adds the file and editing methods on top.
Names follow calorine's ``Model`` so the walkthroughs users know work
unchanged. Sizes follow docs/network.md#parameter-counts; the parameter order of
the files (docs/network.md#parameter-order) lives in :mod:`gpunep.model.layout`.
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from gpunep.model.elements import atomic_number, covalent_radius

#: any model class: functions that return an edited copy return the class they were given
AnyModel = TypeVar("AnyModel", bound="ModelFields")

# The 3-body order each invariant reads s components of (docs/descriptors.md#invariant-requirements); with a
# smaller l_max_3b GPUMD's force kernel reads uninitialised memory.
#: flag of an extra angular invariant -> the smallest l_max_3b it can be enabled with
MIN_L_MAX_3B = {"l_max_4b": 2, "l_max_5b": 1, "has_q_112": 2, "has_q_123": 3,
                "has_q_233": 3, "has_q_134": 4}

MODEL_TYPES = ("potential", "potential_with_charges", "dipole", "polarizability", "temperature")


@dataclass(eq=False)
class ModelFields:
    """A NEP model's data (nep.txt), optionally with its SNES restart (nep.restart).

    Attributes mirror calorine's ``Model``. ``ann_parameters`` is
    ``{species: {'w0': (n_neuron, dim), 'b0': (n_neuron, 1), 'w1': (1, n_neuron)},
    'b1': float}`` (NEP3: the single key ``'all_species'``). Extras by flavour:
    NEP5 ``'b1_species'`` (per-species output bias, float); charge models
    ``'w1_charge'`` (1, n_neuron) and ``sqrt_epsilon_infinity``; polarizability
    models hold the first network of the file (the tensor network) under the
    plain keys and the second (scalar) network under ``'w0_polar'``,
    ``'b0_polar'``, ``'w1_polar'`` and ``'b1_polar'``.
    ``radial_descriptor_weights[(center, neighbor)]`` is ``(n_max_radial + 1,
    n_basis_radial + 1)``; likewise angular.
    """

    version: int
    model_type: str
    types: tuple[str, ...]
    radial_cutoff: float | list[float]
    angular_cutoff: float | list[float]
    max_neighbors_radial: int
    max_neighbors_angular: int
    n_max_radial: int
    n_max_angular: int
    n_basis_radial: int
    n_basis_angular: int
    l_max_3b: int
    l_max_4b: int
    l_max_5b: int
    n_neuron: int
    ann_parameters: dict[str, Any]
    q_scaler: np.ndarray
    radial_descriptor_weights: dict[tuple[str, str], np.ndarray]
    angular_descriptor_weights: dict[tuple[str, str], np.ndarray]
    has_q_112: int = 0
    has_q_123: int = 0
    has_q_233: int = 0
    has_q_134: int = 0
    zbl: tuple[float, float] | None = None
    zbl_typewise_cutoff_factor: float | None = None
    zbl_parameters: dict[tuple[str, str], np.ndarray] | None = None
    charge_mode: int | None = None
    sqrt_epsilon_infinity: float | None = None
    radial_typewise_cutoff_factor: float | None = None
    angular_typewise_cutoff_factor: float | None = None
    restart_parameters: dict[str, Any] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ sizes
    @property
    def n_types(self) -> int:
        return len(self.types)

    @property
    def atomic_numbers(self) -> tuple[int, ...]:
        return tuple(atomic_number(s) for s in self.types)

    @property
    def n_angular_blocks(self) -> int:
        """num_L: 3-body orders plus the enabled extra invariants (docs/descriptors.md#descriptor-vector)."""
        extras = (self.l_max_4b, self.l_max_5b, self.has_q_112, self.has_q_123,
                  self.has_q_233, self.has_q_134)
        return self.l_max_3b + sum(1 for flag in extras if flag)

    @property
    def n_descriptor_radial(self) -> int:
        return self.n_max_radial + 1

    @property
    def n_descriptor_angular(self) -> int:
        return (self.n_max_angular + 1) * self.n_angular_blocks

    @property
    def n_descriptor(self) -> int:
        """Descriptor length ``dim`` (temperature models append the temperature)."""
        extra = 1 if self.model_type == "temperature" else 0
        return self.n_descriptor_radial + self.n_descriptor_angular + extra

    @property
    def n_networks(self) -> int:
        return 1 if self.version == 3 else self.n_types

    @property
    def n_ann_parameters(self) -> int:
        dim, n1 = self.n_descriptor, self.n_neuron
        if self.model_type == "potential_with_charges":
            return (dim + 3) * n1 * self.n_networks + 2
        per_net = (dim + 2) * n1 + (1 if self.version == 5 else 0)
        count = per_net * self.n_networks + 1
        return 2 * count if self.model_type == "polarizability" else count

    @property
    def n_descriptor_parameters(self) -> int:
        t2 = self.n_types**2
        return t2 * ((self.n_max_radial + 1) * (self.n_basis_radial + 1)
                     + (self.n_max_angular + 1) * (self.n_basis_angular + 1))

    @property
    def n_parameters(self) -> int:
        """ANN + descriptor weights + q_scaler (calorine's count; no ZBL table)."""
        return self.n_ann_parameters + self.n_descriptor_parameters + self.n_descriptor

    # --------------------------------------------------------------- cutoffs
    def type_pair_cutoffs(self) -> tuple[np.ndarray, np.ndarray]:
        """Radial and angular cutoffs per (center, neighbor) type pair, (T, T) each.

        Per-type cutoffs combine by the arithmetic mean (docs/descriptors.md#pair-cutoffs); the
        legacy cutoff factors cap them at ``f (R_cov,a + R_cov,b)``.
        """
        pairs = []
        for cutoff, factor in ((self.radial_cutoff, self.radial_typewise_cutoff_factor),
                               (self.angular_cutoff, self.angular_typewise_cutoff_factor)):
            per_type = np.broadcast_to(np.asarray(cutoff, dtype=np.float64), (self.n_types,))
            rc = 0.5 * (per_type[:, None] + per_type[None, :])
            if factor is not None:
                radii = np.array([covalent_radius(z) for z in self.atomic_numbers])
                rc = np.minimum(rc, factor * (radii[:, None] + radii[None, :]))
            pairs.append(np.ascontiguousarray(rc))
        return pairs[0], pairs[1]

    @property
    def max_cutoff(self) -> float:
        """The largest pair cutoff, which bounds every neighbor search."""
        radial, angular = self.type_pair_cutoffs()
        return float(max(radial.max(), angular.max()))

    # --------------------------------------------------------------- editing
    def copy(self: AnyModel) -> AnyModel:
        """A deep copy: editing the copy's arrays never touches this model."""
        return copy.deepcopy(self)

    # ----------------------------------------------------------- nep.in view
    @property
    def training_parameters(self) -> dict[str, Any]:
        """The architecture keywords of nep.in for this model (for :func:`write_nepfile`)."""
        params: dict[str, Any] = {"version": self.version, "type": [self.n_types, *self.types]}
        if self.model_type != "potential" and self.model_type != "potential_with_charges":
            params["model_type"] = {"dipole": 1, "polarizability": 2, "temperature": 3}[self.model_type]
        if isinstance(self.radial_cutoff, list):
            params["cutoff"] = [float(v) for pair in zip(self.radial_cutoff, self.angular_cutoff)
                                for v in pair]
        else:
            params["cutoff"] = [float(self.radial_cutoff), float(self.angular_cutoff)]
        params["n_max"] = [self.n_max_radial, self.n_max_angular]
        params["basis_size"] = [self.n_basis_radial, self.n_basis_angular]
        params["l_max"] = _l_max_fields(self)
        params["neuron"] = self.n_neuron
        if self.zbl is not None and self.zbl != (0.0, 0.0):
            params["zbl"] = float(self.zbl[1])
        if self.zbl is not None and self.zbl_typewise_cutoff_factor is not None:
            params["use_typewise_cutoff_zbl"] = float(self.zbl_typewise_cutoff_factor)
        if self.radial_typewise_cutoff_factor is not None:
            # Legacy nep.in keyword of the 8-token cutoff line: radial and angular factors.
            params["use_typewise_cutoff"] = [float(self.radial_typewise_cutoff_factor),
                                             float(self.angular_typewise_cutoff_factor)]
        if self.charge_mode is not None:
            params["charge_mode"] = self.charge_mode
        return params

    # ----------------------------------------------------------------- views
    def _rows(self) -> list[tuple[str, Any]]:
        rows: list[tuple[str, Any]] = [
            (name, getattr(self, name)) for name in (
                "version", "model_type", "types", "radial_cutoff", "angular_cutoff",
                "n_basis_radial", "n_basis_angular", "n_max_radial", "n_max_angular",
                "l_max_3b", "l_max_4b", "l_max_5b", "has_q_112", "has_q_123", "has_q_233",
                "has_q_134", "n_descriptor_radial", "n_descriptor_angular", "n_neuron",
                "n_parameters", "n_descriptor_parameters", "n_ann_parameters",
                "sqrt_epsilon_infinity")
        ]
        rows.append(("restart_parameters",
                     "available" if self.restart_parameters is not None else "not available"))
        rows += [(name, getattr(self, name)) for name in (
            "zbl", "zbl_typewise_cutoff_factor", "max_neighbors_radial", "max_neighbors_angular",
            "radial_typewise_cutoff_factor", "angular_typewise_cutoff_factor")]
        first = self.types[0]
        rows += [
            ("Dimension of ann_parameters",
             (self.n_networks, len(_network(self, 0)))),
            ("Dimension of q_scaler", len(self.q_scaler)),
            ("Dimension of radial_descriptor_weights",
             self.radial_descriptor_weights[(first, first)].shape),
            ("Dimension of angular_descriptor_weights",
             self.angular_descriptor_weights[(first, first)].shape),
        ]
        return rows

    def __str__(self) -> str:
        rows = [(name, str(value)) for name, value in self._rows()]
        width = max(len(name) for name, _ in rows)
        lines = [f"{'Field':<{width}} | Value", f"{'-' * width}-+-{'-' * 20}"]
        lines += [f"{name:<{width}} | {value}" for name, value in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td style='text-align: left'>{html.escape(name)}</td>"
            f"<td style='text-align: left'>{html.escape(str(value))}</td></tr>"
            for name, value in self._rows()
        )
        return ("<table border='1' class='dataframe'><thead><tr>"
                "<th style='text-align: left'>Field</th><th style='text-align: left'>Value</th>"
                f"</tr></thead><tbody>{cells}</tbody></table>")

def _network(model: ModelFields, index: int) -> dict[str, np.ndarray]:
    key = "all_species" if model.version == 3 else model.types[index]
    return model.ann_parameters[key]


def _l_max_fields(model: ModelFields) -> list[int]:
    fields = [model.l_max_3b, model.l_max_4b, model.l_max_5b,
              model.has_q_112, model.has_q_123, model.has_q_233, model.has_q_134]
    # Trailing flags are written only up to the last non-zero one (docs/file-formats.md#model-file-header).
    last = max([2] + [i for i in range(3, 7) if fields[i]])
    return fields[: last + 1]
