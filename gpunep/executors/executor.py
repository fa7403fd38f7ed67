"""Where kernels run: an executor name ('host' or 'cuda') and a precision.

The engine asks an :class:`Executor` for kernel modules by files and
compile-time constants (:mod:`gpunep.engine.builds` says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

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
    """

    name: str
    precision: str

    def __post_init__(self) -> None:
        if self.name not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, not {self.name!r}")
        real_type(self.precision)

    def load(self, files: Iterable[str], defines: Mapping[str, int] | None = None) -> "KernelModule":
        """The kernels of ``files`` compiled with ``defines`` (cached per process and on disk)."""
        if self.name == "host":
            from gpunep.executors import host

            return host.load_module(self.precision, files, defines)
        from gpunep.executors import cuda

        return cuda.load_module(self.precision, files, defines)
