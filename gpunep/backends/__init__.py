"""Evaluation backends behind one interface (:class:`~gpunep.backends.base.Backend`).

``reference`` is the plain numpy float64 implementation. The kernel
executors (``host``: the CUDA kernels compiled for the CPU; ``cuda``: CuPy)
register here as they land.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from gpunep.backends.base import Backend
from gpunep.errors import BackendUnavailableError

if TYPE_CHECKING:
    from gpunep.model import Model


def _reference(model: "Model", precision: str | None) -> Backend:
    from gpunep.backends.reference import ReferenceBackend

    return ReferenceBackend(model, precision)


# name -> factory(model, precision); a new backend is one entry.
_FACTORIES: dict[str, Callable[["Model", str | None], Backend]] = {
    "reference": _reference,
}
# Names that are part of the API but whose executor has not landed yet.
_PLANNED = ("host", "cuda", "auto")


def get_backend(model: "Model", name: str = "reference", precision: str | None = None) -> Backend:
    """The backend ``name`` bound to ``model``.

    Parameters
    ----------
    model : the model to evaluate
    name : ``'reference'`` (numpy, float64)
    precision : ``None`` for the backend's default, else ``'float64'`` or ``'float32'``

    Raises
    ------
    BackendUnavailableError
        A known backend that this installation cannot run.
    ValueError
        An unknown backend name, or a precision the backend does not offer.
    """
    if name in _FACTORIES:
        return _FACTORIES[name](model, precision)
    if name in _PLANNED:
        raise BackendUnavailableError(
            f"the {name!r} backend is not available in this version of gpunep; "
            f"available: {', '.join(sorted(_FACTORIES))}"
        )
    raise ValueError(
        f"unknown backend {name!r}; choose from {', '.join(sorted(_FACTORIES) + list(_PLANNED))}"
    )


__all__ = ["Backend", "BackendUnavailableError", "get_backend"]
