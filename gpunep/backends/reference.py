"""The ``reference`` backend: the plain numpy float64 implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gpunep import reference
from gpunep.backends.base import Backend
from gpunep.structures import Batch, BatchResult

if TYPE_CHECKING:
    from gpunep.model import Model


class ReferenceBackend(Backend):
    """:func:`gpunep.reference.evaluate` behind the :class:`Backend` interface (float64 only)."""

    name = "reference"
    precision = "float64"

    def __init__(self, model: "Model", precision: str | None = None):
        if precision not in (None, "float64"):
            raise ValueError(
                f"the reference backend computes in float64 only, not precision={precision!r}"
            )
        self.model = model

    def evaluate(self, batch: Batch, descriptors: bool = False) -> BatchResult:
        return reference.evaluate(self.model, batch, descriptors=descriptors)

    def compute_descriptors(self, batch: Batch) -> np.ndarray:
        # The descriptor is model-type independent: works for dipole and polarizability models too.
        return reference.compute_descriptors(self.model, batch)
