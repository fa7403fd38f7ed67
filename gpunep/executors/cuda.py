"""The CUDA executor: the ``kernels/*.cu`` sources compiled by NVRTC through CuPy.

One ``cupy.RawModule`` per process, device and precision (CuPy caches the
compiled binary on disk as well). Kernels are called with CuPy's
``RawKernel`` convention, after the same argument check the host executor
runs (:mod:`gpunep.executors.arguments`), so the two executors accept exactly
the same launches. CuPy is imported lazily: importing gpunep never needs it.
"""

from __future__ import annotations

import threading
import time
from types import ModuleType
from typing import Any, Iterable, Mapping

from gpunep.executors.arguments import CheckedKernel
from gpunep.executors.kernel_source import (
    KernelSource,
    define_options,
    load_source,
    real_dtype,
    real_type,
)
from gpunep.executors.module import KernelModule
from gpunep.executors.signature import KernelSignature
from gpunep.errors import BackendUnavailableError, KernelCompileError

_lock = threading.Lock()
_modules: dict[tuple, KernelModule] = {}


def import_cupy() -> ModuleType:
    """CuPy, if it is installed and sees at least one CUDA device.

    Raises
    ------
    BackendUnavailableError
        CuPy missing (the message says which package to install) or no usable GPU.
    """
    try:
        import cupy
    except ImportError as exc:
        raise BackendUnavailableError(
            "the cuda backend needs CuPy: pip install 'gpunep[cuda12]' (CUDA 12) or "
            f"'gpunep[cuda13]' (CUDA 13) ({exc})"
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError when there is no driver
        raise BackendUnavailableError(f"CuPy is installed but cannot reach a GPU: {exc}") from exc
    if count < 1:
        raise BackendUnavailableError("CuPy is installed but sees no CUDA device")
    return cupy


def is_available() -> bool:
    """Whether :func:`import_cupy` would succeed (for ``backend='auto'``)."""
    try:
        import_cupy()
    except BackendUnavailableError:
        return False
    return True


def compile_options(precision: str, source: KernelSource,
                    defines: tuple[str, ...] = ()) -> tuple[str, ...]:
    """NVRTC options of a build (the same macros and include path as the host build)."""
    return ("-std=c++17", f"-DNEP_REAL={real_type(precision)}", *defines,
            f"-I{source.include_dir}")


def load_module(precision: str = "float32", files: Iterable[str] | None = None,
                defines: Mapping[str, int] | None = None) -> KernelModule:
    """The kernels of ``kernels/`` compiled for the current CUDA device (once per process,
    precision and set of compile-time constants; CuPy keeps the binaries on disk).

    Parameters
    ----------
    precision : 'float32' (GPUMD's arithmetic) or 'float64'
    files : a subset of the ``kernels/*.cu`` file names (default: all of them)
    defines : compile-time constants (``-DNAME=value``), e.g. a model's architecture

    Raises
    ------
    BackendUnavailableError
        No CuPy or no GPU.
    KernelCompileError
        NVRTC failed; the message holds its log.
    """
    real_type(precision)
    cupy = import_cupy()
    source = load_source(files)
    options = define_options(defines)
    key = (source.digest, precision, options, cupy.cuda.runtime.getDevice())
    with _lock:
        module = _modules.get(key)
        if module is None:
            module = _build(cupy, source, precision, options)
            _modules[key] = module
        return module


class CudaKernel(CheckedKernel):
    """One kernel of a CuPy ``RawModule``, with the host executor's argument check."""

    def __init__(self, signature: KernelSignature, function: Any, precision: str, cupy: ModuleType):
        super().__init__(signature, real_dtype(precision), cupy.ndarray)
        self._function = function

    def __call__(
        self, grid: tuple, block: tuple, args: tuple, sizes: Mapping[str, int] | None = None
    ) -> None:
        """Launch asynchronously on the current stream; checks all arguments first.

        Raises
        ------
        KernelArgumentError
            An argument that would reach the kernel with the wrong type or size.
        """
        grid3, block3 = self._check(grid, block, args, sizes)
        self._function(grid3, block3, args)


def _build(cupy: ModuleType, source: KernelSource, precision: str,
           defines: tuple[str, ...]) -> KernelModule:
    # CuPy's on-disk cache keys on the code text, which here is only #include
    # lines: the digest of every kernel file and header makes an edit count.
    code = f"// gpunep kernel sources {source.digest}\n{source.code}"
    raw = cupy.RawModule(code=code, options=compile_options(precision, source, defines))
    tic = time.perf_counter()
    try:
        raw.compile()
    except cupy.cuda.compiler.CompileException as exc:
        raise KernelCompileError(f"NVRTC compile of {', '.join(source.files)} failed:\n{exc}") from exc
    compile_seconds = time.perf_counter() - tic
    kernels = {
        name: CudaKernel(sig, raw.get_function(name), precision, cupy)
        for name, sig in source.signatures.items()
    }
    return KernelModule(xp=cupy, precision=precision, backend="cuda", source=source,
                        handle=raw, defines=defines, compile_seconds=compile_seconds,
                        _kernels=kernels)
