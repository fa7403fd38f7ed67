"""Evaluation backends behind one interface (:class:`~gpunep.backends.base.Backend`).

``reference`` is the plain numpy float64 implementation; ``host`` runs the
CUDA kernels compiled for the CPU, ``cuda`` runs them with CuPy, and
``auto`` picks cuda when the GPU is proven to build and run kernels
(:func:`gpunep.executors.cuda.probe`), else host: silently when CuPy is not
installed, with one :class:`~gpunep.errors.BackendFallbackWarning` saying
why when it is installed but unusable.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Callable

from gpunep.backends.base import Backend
from gpunep.errors import BackendFallbackWarning, BackendUnavailableError

if TYPE_CHECKING:
    from gpunep.model import Model


Factory = Callable[..., Backend]


def _reference(model: "Model", precision: str | None, device: int | None,
               **options: Any) -> Backend:
    from gpunep.backends.reference import ReferenceBackend

    if device is not None:
        raise ValueError(f"device={device!r} chooses a GPU; the reference backend runs on the CPU")
    return ReferenceBackend(model, precision, **options)


def _kernels(executor: str) -> Factory:
    def factory(model: "Model", precision: str | None, device: int | None,
                **options: Any) -> Backend:
        from gpunep.backends.kernel import KernelBackend

        return KernelBackend(model, executor, precision, device=device, **options)

    return factory


def _auto(model: "Model", precision: str | None, device: int | None, **options: Any) -> Backend:
    from gpunep.executors import cuda
    from gpunep.backends.kernel import KernelBackend

    probe = cuda.probe(device)
    if probe.error is None:
        return KernelBackend(model, "cuda", precision, device=probe.device, **options)
    if (probe.cupy_installed or device is not None) and not probe.warned:
        probe.warned = True
        warnings.warn(f"backend='auto' evaluates on the CPU (host backend): {probe.error}",
                      BackendFallbackWarning, stacklevel=4)
    return KernelBackend(model, "host", precision, **options)


# name -> factory(model, precision, **options); a new backend is one entry.
_FACTORIES: dict[str, Factory] = {
    "reference": _reference,
    "host": _kernels("host"),
    "cuda": _kernels("cuda"),
    "auto": _auto,
}


def get_backend(model: "Model", name: str = "reference", precision: str | None = None,
                device: int | None = None, **options: Any) -> Backend:
    """The backend ``name`` bound to ``model``.

    Parameters
    ----------
    model : the model to evaluate
    name : ``'reference'`` (numpy, float64), ``'host'``, ``'cuda'`` or ``'auto'``
        (the kernels; default precision float32)
    precision : ``None`` for the backend's default, else ``'float64'`` or ``'float32'``
    device : the GPU ordinal for ``'cuda'`` (and ``'auto'`` when it picks cuda);
        None: CuPy's current device. The CPU backends take None only
    **options : charge models: ``kspace`` ('truncated' or 'converged') and
        ``mean_d_correction`` (bool); see :func:`gpunep.reference.evaluate`

    Raises
    ------
    BackendUnavailableError
        A known backend that this installation cannot run (for cuda: what is
        missing and how to install it).
    ValueError
        An unknown backend name, a precision the backend does not offer, or a
        device for a CPU backend.

    Warns
    -----
    BackendFallbackWarning
        ``'auto'`` falls back to host although CuPy is installed (or a device
        was asked for): once per process and device, saying why.
    """
    if name in _FACTORIES:
        return _FACTORIES[name](model, precision, device, **options)
    raise ValueError(
        f"unknown backend {name!r}; choose from {', '.join(sorted(_FACTORIES))}"
    )


__all__ = ["Backend", "BackendUnavailableError", "get_backend"]
