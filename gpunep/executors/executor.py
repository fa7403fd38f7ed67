"""Where kernels run: an executor name ('host' or 'cuda'), a precision and, for cuda, a GPU.

The engine asks an :class:`Executor` for kernel modules by files and
compile-time constants (:mod:`gpunep.engine.builds` says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, ContextManager, Iterable, Mapping

from gpunep.executors.kernel_source import real_type

if TYPE_CHECKING:
    from gpunep.executors.module import KernelModule

EXECUTORS = ("host", "cuda")

@dataclass(frozen=True)
class Executor:
    """An executor at a precision.

    Attributes
    ----------
    name : 'host' (g++ and OpenMP) or 'cuda' (CuPy and NVRTC)
    precision : 'float32' or 'float64'
    device : cuda: the GPU ordinal (None: CuPy's current device when a module is
        loaded); host: None
    """

    name: str
    precision: str
    device: int | None = None

    def __post_init__(self) -> None:
        if self.name not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, not {self.name!r}")
        real_type(self.precision)
        if self.device is not None and self.name != "cuda":
            raise ValueError(f"device={self.device!r} chooses a GPU; the {self.name} executor runs "
                             "on the CPU")

    def on_device(self) -> ContextManager[Any]:
        """The context in which this executor's arrays are made and its kernels launched
        (CuPy's ``Device(device)``; nothing on the host)."""
        if self.name == "host":
            return nullcontext()
        from gpunep.executors import cuda

        return cuda.on_device(self.device)

    def load(self, files: Iterable[str], defines: Mapping[str, int] | None = None) -> "KernelModule":
        """The kernels of ``files`` compiled with ``defines`` (cached per process and on disk)."""
        if self.name == "host":
            from gpunep.executors import host

            return host.load_module(self.precision, files, defines)
        from gpunep.executors import cuda

        return cuda.load_module(self.precision, files, defines, self.device)
