"""The ``reference`` backend: the plain numpy float64 implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gpunep import reference
from gpunep.backends.base import Backend
from gpunep.reference.ewald import KSPACE
from gpunep.structures import Batch, BatchResult

if TYPE_CHECKING:
    from gpunep.model import Model


class ReferenceBackend(Backend):
    """:func:`gpunep.reference.evaluate` behind the :class:`Backend` interface (float64 only).

    Parameters
    ----------
    model : the model to evaluate
    precision : None or 'float64'
    kspace, mean_d_correction : charge models' Ewald sum and chain rule, as in
        :func:`gpunep.reference.evaluate`; other models ignore them
    """

    name = "reference"
    precision = "float64"

    def __init__(self, model: "Model", precision: str | None = None, kspace: str = "truncated",
                 mean_d_correction: bool = True):
        if precision not in (None, "float64"):
            raise ValueError(
                f"the reference backend computes in float64 only, not precision={precision!r}"
            )
        if kspace not in KSPACE:
            raise ValueError(f"kspace must be one of {', '.join(KSPACE)}, not {kspace!r}")
        self.model = model
        self.kspace = kspace
        self.mean_d_correction = bool(mean_d_correction)

    def evaluate(self, batch: Batch, descriptors: bool = False, per_atom: bool = True) -> BatchResult:
        # The reference computes per-atom values on its way to the totals: per_atom
        # changes nothing here, and keeping them costs nothing.
        return reference.evaluate(self.model, batch, descriptors=descriptors, kspace=self.kspace,
                                  mean_d_correction=self.mean_d_correction)

    def compute_descriptors(self, batch: Batch) -> np.ndarray:
        # The descriptor is model-type independent: works for dipole and polarizability models too.
        return reference.compute_descriptors(self.model, batch)
