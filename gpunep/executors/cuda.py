"""The CUDA executor: the ``kernels/*.cu`` sources compiled by NVRTC through CuPy.

One ``cupy.RawModule`` per process, CuPy module, device and build (CuPy
caches the compiled binary on disk as well). Kernels are called with CuPy's
``RawKernel`` convention, after the same argument check the host executor
runs (:mod:`gpunep.executors.arguments`), so the two executors accept exactly
the same launches. CuPy is imported lazily: importing gpunep never needs it.

Before anything is built for a device, :func:`probe` proves the whole chain
on it once per process: CuPy imports, the driver answers, NVRTC loads and
compiles a trivial kernel, the driver loads it and a launch writes what it
should. Any failure becomes a :class:`~gpunep.errors.BackendUnavailableError`
that names what is missing and how to install it; ``backend='auto'`` then
falls back to the host executor with one warning, and ``gpunep doctor``
prints the same diagnosis.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ContextManager, Iterable, Mapping

import numpy as np

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

INSTALL = ("pip install 'gpunep[cuda13]' (CuPy for CUDA 13 with its NVRTC; NVIDIA driver 580 or "
           "newer) or 'gpunep[cuda12]' (CUDA 12; driver 525 or newer)")
PROBE_SOURCE = """extern "C" __global__ void gpunep_probe(int* out, int value)
{
  out[threadIdx.x] = value + (int)threadIdx.x;
}
"""
_PROBE_VALUE = 40

_lock = threading.Lock()
_modules: dict[tuple, KernelModule] = {}
# probe results per CuPy module (one per process, or per test stand-in) and device
_probes: "weakref.WeakKeyDictionary[ModuleType, dict[int | None, Probe]]" = weakref.WeakKeyDictionary()


@dataclass
class Probe:
    """The outcome of :func:`probe` for one device.

    Attributes
    ----------
    device : the ordinal probed (None when CuPy could not tell)
    error : None when the device works, else why not (what to install)
    cupy_installed : whether CuPy itself imported (``auto`` falls back silently when not)
    warned : whether ``backend='auto'`` has warned about ``error`` in this process
    """

    device: int | None
    error: BackendUnavailableError | None
    cupy_installed: bool = True
    warned: bool = False


def import_cupy() -> ModuleType:
    """CuPy, if it is installed.

    Raises
    ------
    BackendUnavailableError
        CuPy missing (the message says which package to install).
    """
    try:
        import cupy
    except ImportError as exc:
        raise BackendUnavailableError(f"the cuda backend needs CuPy, which is not installed: {INSTALL}"
                                      f" ({exc})") from exc
    return cupy


def probe(device: int | None = None) -> Probe:
    """Whether the cuda executor works on ``device`` (default: CuPy's current device),
    proven once per process by compiling, loading and running a trivial kernel."""
    try:
        cupy = import_cupy()
    except BackendUnavailableError as exc:
        return Probe(device, exc, cupy_installed=False)
    if device is None:
        try:
            device = int(cupy.cuda.runtime.getDevice())
        except Exception:  # no driver: the probe below says why
            pass
    with _lock:
        per_device = _probes.setdefault(cupy, {})
        if device not in per_device:
            per_device[device] = _run_probe(cupy, device)
        return per_device[device]


def require(device: int | None = None) -> tuple[ModuleType, int]:
    """CuPy and the ordinal of a device on which the cuda executor works.

    Raises
    ------
    BackendUnavailableError
        Naming what is missing (CuPy, a driver new enough, a GPU, NVRTC) and how to install it.
    """
    result = probe(device)
    if result.error is not None:
        raise result.error
    return import_cupy(), int(result.device)


def is_available(device: int | None = None) -> bool:
    """Whether :func:`require` would succeed (for ``backend='auto'``)."""
    return probe(device).error is None


def on_device(device: int | None) -> ContextManager[Any]:
    """A context in which CuPy's current device is ``device`` (nothing when None)."""
    if device is None:
        return contextlib.nullcontext()
    return import_cupy().cuda.Device(device)


def _run_probe(cupy: ModuleType, device: int | None) -> Probe:
    try:
        ordinal = _usable_device(cupy, device)
        with cupy.cuda.Device(ordinal):
            function = _probe_function(cupy)
            _probe_launch(cupy, function)
    except BackendUnavailableError as exc:
        return Probe(device, exc)
    return Probe(ordinal, None)


def _usable_device(cupy: ModuleType, device: int | None) -> int:
    runtime = cupy.cuda.runtime
    try:
        count = runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError: no driver, or one older than CuPy's CUDA
        raise BackendUnavailableError(
            f"CuPy {cupy.__version__} cannot reach a GPU ({exc}){_driver_hint(cupy, str(exc))}") from exc
    if count < 1:
        raise BackendUnavailableError(f"CuPy {cupy.__version__} sees no CUDA device")
    ordinal = runtime.getDevice() if device is None else int(device)
    if not 0 <= ordinal < count:
        raise BackendUnavailableError(f"there is no GPU {ordinal}: CuPy sees {count} "
                                      f"(device 0..{count - 1})")
    return ordinal


def _driver_hint(cupy: ModuleType, text: str) -> str:
    if "nsufficient" not in text and "UNSUPPORTED_PTX" not in text:
        return ""
    runtime = cupy.cuda.runtime
    try:
        wanted, driver = runtime.runtimeGetVersion(), runtime.driverGetVersion()
        versions = f" (the driver supports CUDA {driver // 1000}.{driver % 1000 // 10}, CuPy needs " \
                   f"{wanted // 1000}.{wanted % 1000 // 10})"
    except Exception:
        versions = ""
    return (f": the NVIDIA driver is older than the CUDA this CuPy was built for{versions}; update "
            "the driver, or install the CuPy of an older CUDA: pip install 'gpunep[cuda12]'")


def _probe_function(cupy: ModuleType) -> Any:
    """The trivial kernel, compiled by NVRTC and loaded by the driver."""
    raw = cupy.RawModule(code=PROBE_SOURCE, options=("-std=c++17", "-DNEP_REAL=float"))
    try:
        raw.compile()
    except cupy.cuda.compiler.CompileException as exc:
        raise BackendUnavailableError(f"NVRTC failed to compile a trivial kernel: {exc}") from exc
    except Exception as exc:  # the NVRTC library missing: DynamicLibNotFoundError, OSError, ...
        if "nvrtc" in f"{type(exc).__name__} {exc}".lower():
            raise BackendUnavailableError(
                f"CuPy {cupy.__version__} cannot load NVRTC, the CUDA run-time compiler gpunep "
                f"builds its kernels with ({type(exc).__name__}: {exc}); the plain cupy-cuda12x / "
                f"cupy-cuda13x wheels do not bring it: {INSTALL}") from exc
        raise BackendUnavailableError(
            f"compiling a trivial kernel failed: {type(exc).__name__}: {exc}") from exc
    try:
        return raw.get_function("gpunep_probe")
    except Exception as exc:  # CUDADriverError from loading the module
        raise BackendUnavailableError(
            f"the driver cannot load a kernel NVRTC compiled ({type(exc).__name__}: {exc})"
            f"{_driver_hint(cupy, str(exc))}") from exc


def _probe_launch(cupy: ModuleType, function: Any) -> None:
    try:
        out = cupy.zeros(2, dtype=np.int32)
        function((1,), (2,), (out, np.int32(_PROBE_VALUE)))
        got = cupy.asnumpy(out).tolist()
    except Exception as exc:  # CUDADriverError / CUDARuntimeError of the launch
        raise BackendUnavailableError(
            f"a trivial kernel failed to run on the GPU ({type(exc).__name__}: {exc})"
            f"{_driver_hint(cupy, str(exc))}") from exc
    if got != [_PROBE_VALUE, _PROBE_VALUE + 1]:
        raise BackendUnavailableError(f"a trivial kernel ran but wrote {got} instead of "
                                      f"{[_PROBE_VALUE, _PROBE_VALUE + 1]}")


def compile_options(precision: str, source: KernelSource,
                    defines: tuple[str, ...] = ()) -> tuple[str, ...]:
    """NVRTC options of a build (the same macros and include path as the host build)."""
    return ("-std=c++17", f"-DNEP_REAL={real_type(precision)}", *defines,
            f"-I{source.include_dir}")


def load_module(precision: str = "float32", files: Iterable[str] | None = None,
                defines: Mapping[str, int] | None = None, device: int | None = None) -> KernelModule:
    """The kernels of ``kernels/`` compiled for a CUDA device (once per process, device,
    precision and set of compile-time constants; CuPy keeps the binaries on disk).

    Parameters
    ----------
    precision : 'float32' (GPUMD's arithmetic) or 'float64'
    files : a subset of the ``kernels/*.cu`` file names (default: all of them)
    defines : compile-time constants (``-DNAME=value``), e.g. a model's architecture
    device : the GPU ordinal (default: CuPy's current device)

    Raises
    ------
    BackendUnavailableError
        No CuPy, no GPU, or NVRTC or the driver cannot build and run a kernel (:func:`probe`).
    KernelCompileError
        NVRTC failed on gpunep's kernels; the message holds its log.
    """
    real_type(precision)
    cupy, device = require(device)
    source = load_source(files)
    options = define_options(defines)
    key = (cupy, source.digest, precision, options, device)
    with _lock:
        module = _modules.get(key)
        if module is None:
            with cupy.cuda.Device(device):
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
