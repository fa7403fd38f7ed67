"""Where kernels run: an executor name ('host' or 'cuda') and a precision.

The engine asks an :class:`Executor` for kernel modules: the lists module
(neighbor lists and per-structure sums, one build per precision) and the
model module, compiled for one model architecture with its sizes as
compile-time constants (``kernels/nep_arch.cuh``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

from gpunep.executors.kernel_source import real_type

if TYPE_CHECKING:
    from gpunep.engine.model_arrays import Architecture
    from gpunep.executors.module import KernelModule

EXECUTORS = ("host", "cuda")

REGISTER_SUMS = 48
"""Angular sums one GPU thread accumulates in registers per pass over its
neighbors (a radial order holds (l_max + 1)^2 - 1 of them); the host takes
every order in one pass (its L1 cache holds them)."""


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

    def sum_chunk(self, arch: "Architecture") -> int:
        """Radial orders of angular sums per pass over the neighbors (NEP_SUM_CHUNK)."""
        if self.name == "host":
            return arch.n_angular
        return max(1, min(arch.n_angular, REGISTER_SUMS // arch.n_abc))
