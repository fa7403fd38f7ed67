"""The kernel builds an evaluation compiles: what gpunep compiles, stated once.

An evaluator loads two modules (:func:`evaluator_builds`): the lists module
(neighbor lists and per-structure sums, the same for every model) and the
model module, the files its plan launches compiled with the model's
architecture as compile-time constants. ``gpunep doctor`` compiles, reports
and emits exactly these builds; :func:`check_models` are the architectures
CI compiles for every GPU generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gpunep.engine.model_arrays import architecture
from gpunep.engine.plans import model_plan

if TYPE_CHECKING:
    from gpunep.engine.model_arrays import Architecture
    from gpunep.executors.executor import Executor
    from gpunep.model import Model

LIST_FILES = ("nep_neighbor.cu", "nep_reduce.cu")
REGISTER_SUMS = 48
"""Single-precision angular sums one GPU thread accumulates in registers per
pass over its neighbors (a radial order holds (l_max + 1)^2 - 1 of them); the
host takes every order in one pass (its L1 cache holds them)."""


@dataclass(frozen=True)
class Build:
    """One translation unit: a label, its ``kernels/*.cu`` files and compile-time constants."""

    label: str
    files: tuple[str, ...]
    defines: tuple[tuple[str, int], ...] = ()

    @property
    def define_map(self) -> dict[str, int]:
        return dict(self.defines)


def lists_build() -> Build:
    """The module every evaluator shares: neighbor lists and per-structure sums."""
    return Build("lists", LIST_FILES)


def sum_chunk(executor: "Executor", arch: "Architecture") -> int:
    """Radial orders of angular sums per pass over the neighbors (NEP_SUM_CHUNK)."""
    if executor.name == "host":
        return arch.n_angular
    words = 2 if executor.precision == "float64" else 1  # a double takes two registers
    return max(1, min(arch.n_angular, REGISTER_SUMS // (words * arch.n_abc)))


def model_build(model: "Model", executor: "Executor") -> Build:
    """The module of ``model``'s kernels, compiled for its architecture on ``executor``."""
    arch = architecture(model)
    defines = arch.defines(sum_chunk(executor, arch))
    return Build(f"{model.model_type} model", model_plan(model).files, tuple(sorted(defines.items())))


def evaluator_builds(model: "Model", executor: "Executor") -> list[Build]:
    """Both modules an evaluator of ``model`` loads on ``executor``."""
    return [lists_build(), model_build(model, executor)]


def check_models() -> dict[str, "Model"]:
    """Generated models whose builds cover every kernel and the extremes of the
    architecture: a NEP4 potential with ZBL (NEP89's sizes on two species), a NEP3
    potential with every invariant at l_max 8, charge (mode 1), dipole and
    polarizability models."""
    from gpunep.model import random_model

    return {
        "potential NEP4+ZBL": random_model(("H", "Pb"), l_max=(4, 2, 1), n_neuron=80, zbl=(1.0, 2.0)),
        "potential NEP3 l_max 8, every invariant": random_model(
            ("Si", "O"), version=3, l_max=(8, 2, 1, 1, 1, 1, 1), n_max=(6, 4)),
        "charge model": random_model(("Te", "Pb"), model_type="potential_with_charges",
                                     charge_mode=1, zbl=(1.0, 2.0)),
        "dipole model": random_model(("H", "O"), model_type="dipole"),
        "polarizability model": random_model(("H", "O"), model_type="polarizability"),
    }


def check_builds(executor: "Executor") -> list[Build]:
    """Every build CI compiles for each GPU architecture: the lists module and the
    model module of each of :func:`check_models`."""
    builds = [lists_build()]
    for label, model in check_models().items():
        build = model_build(model, executor)
        builds.append(Build(label, build.files, build.defines))
    return builds
