"""Evaluation backends behind one interface (:class:`~gpunep.backends.base.Backend`).

``reference`` is the plain numpy float64 implementation; ``host`` runs the
CUDA kernels compiled for the CPU, ``cuda`` runs them with CuPy, and
``auto`` picks cuda when CuPy sees a device, else host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from gpunep.backends.base import Backend
from gpunep.errors import BackendUnavailableError

if TYPE_CHECKING:
    from gpunep.model import Model


Factory = Callable[..., Backend]


def _reference(model: "Model", precision: str | None, **options: Any) -> Backend:
    from gpunep.backends.reference import ReferenceBackend

    return ReferenceBackend(model, precision, **options)


def _kernels(executor: str) -> Factory:
    def factory(model: "Model", precision: str | None, **options: Any) -> Backend:
        from gpunep.backends.kernel import KernelBackend

        return KernelBackend(model, executor, precision, **options)

    return factory


def _auto(model: "Model", precision: str | None, **options: Any) -> Backend:
    from gpunep.executors import cuda
    from gpunep.backends.kernel import KernelBackend

    return KernelBackend(model, "cuda" if cuda.is_available() else "host", precision, **options)


# name -> factory(model, precision, **options); a new backend is one entry.
_FACTORIES: dict[str, Factory] = {
    "reference": _reference,
    "host": _kernels("host"),
    "cuda": _kernels("cuda"),
    "auto": _auto,
}


def get_backend(model: "Model", name: str = "reference", precision: str | None = None,
                **options: Any) -> Backend:
    """The backend ``name`` bound to ``model``.

    Parameters
    ----------
    model : the model to evaluate
    name : ``'reference'`` (numpy, float64), ``'host'``, ``'cuda'`` or ``'auto'``
        (the kernels; default precision float32)
    precision : ``None`` for the backend's default, else ``'float64'`` or ``'float32'``
    **options : charge models: ``kspace`` ('truncated' or 'converged') and
        ``mean_d_correction`` (bool); see :func:`gpunep.reference.evaluate`

    Raises
    ------
    BackendUnavailableError
        A known backend that this installation cannot run.
    ValueError
        An unknown backend name, or a precision the backend does not offer.
    """
    if name in _FACTORIES:
        return _FACTORIES[name](model, precision, **options)
    raise ValueError(
        f"unknown backend {name!r}; choose from {', '.join(sorted(_FACTORIES))}"
    )


__all__ = ["Backend", "BackendUnavailableError", "get_backend"]
