"""The kernel-module interface both executors return.

``gpunep.executors.host.load_module`` and ``gpunep.executors.cuda.load_module``
give a :class:`KernelModule`; the evaluator only uses what is here, so the
launch sequence it runs on the CPU is the one it runs on the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Mapping, Protocol

import numpy as np

from gpunep.executors.kernel_source import KernelSource, real_dtype


class Kernel(Protocol):
    """A compiled kernel with CuPy's ``RawKernel`` call convention."""

    def __call__(
        self, grid: tuple, block: tuple, args: tuple, sizes: Mapping[str, int] | None = None
    ) -> None:
        """Launch over ``grid`` x ``block`` threads; ``sizes`` states pointer lengths to check."""


@dataclass
class KernelModule:
    """Every kernel of one build (one precision, one set of ``.cu`` files).

    Attributes
    ----------
    xp : the array module arguments live in (``numpy`` for host, ``cupy`` for cuda)
    precision : 'float32' or 'float64' (the C type ``real`` stands for)
    backend : 'host' or 'cuda'
    source : what was compiled (files, parsed signatures, digest)
    handle : what keeps the build alive (the ctypes library, or the CuPy RawModule)
    defines : the compile-time constants it was built with (``-DNAME=value``)
    compile_seconds : wall time of the compile this process ran for it (0 when the
        build came from the on-disk cache)
    """

    xp: ModuleType
    precision: str
    backend: str
    source: KernelSource
    handle: Any = field(repr=False, default=None)
    defines: tuple[str, ...] = ()
    compile_seconds: float = 0.0
    _kernels: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def real_dtype(self) -> np.dtype:
        """dtype of ``real`` arrays and scalars in this build."""
        return real_dtype(self.precision)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of all kernels in the module, sorted."""
        return tuple(sorted(self._kernels))

    def get_function(self, name: str) -> Kernel:
        """The kernel ``name``: call it as ``fn(grid, block, args, sizes=None)``.

        Raises
        ------
        KeyError
            No kernel of that name in this build (the message lists those that exist).
        """
        try:
            return self._kernels[name]
        except KeyError:
            raise KeyError(
                f"no kernel {name!r} in the {self.backend} module "
                f"(files: {', '.join(self.source.files) or '<source text>'}; "
                f"kernels: {', '.join(self.names)})"
            ) from None
