"""The interface every evaluation backend implements.

A backend is a small object bound to one model: it takes a packed
:class:`~gpunep.structures.Batch` and returns a
:class:`~gpunep.structures.BatchResult`. Front ends (the ASE calculator,
predict) only ever talk to this interface, so a new executor is one class
and one line in :func:`gpunep.backends.get_backend`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Iterable

import numpy as np

from gpunep.structures import Batch, BatchResult

if TYPE_CHECKING:
    from gpunep.model import Model


class Backend(ABC):
    """Evaluates one model on batches of structures.

    Attributes
    ----------
    name : the backend's registry name (``'reference'``, ``'host'``, ``'cuda'``)
    precision : ``'float64'`` or ``'float32'``, the precision of the descriptor and network math
    model : the model it evaluates
    """

    name: str
    precision: str
    model: "Model"

    @abstractmethod
    def evaluate(self, batch: Batch, descriptors: bool = False,
                 per_atom: bool | Iterable[str] = True) -> BatchResult:
        """Energies, forces and virials of every structure of ``batch``.

        Returns a :class:`BatchResult` with ``energy`` (S,), ``virial``
        (S, 3, 3), ``forces`` (N, 3), the per-atom ``energies`` (N,) and
        ``virials`` (N, 3, 3) asked for by ``per_atom`` (True: both, False:
        neither, or some of ``('energies', 'virials')``; a backend may give
        more than asked), and, if ``descriptors``, the scaled descriptors (N, dim).
        """

    def compute_descriptors(self, batch: Batch) -> np.ndarray:
        """The scaled descriptors ``q_scaler * q`` of every atom of ``batch``, (N, dim)."""
        result = self.evaluate(batch, descriptors=True)
        assert result.descriptors is not None
        return result.descriptors
