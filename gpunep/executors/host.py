"""The host executor: the CUDA kernels compiled for the CPU and run with OpenMP.

The ``kernels/*.cu`` sources are compiled by the system C++ compiler
(``$CXX``, else g++, c++ or clang++) as C++20 with ``kernels/cuda_shim.h``
force-included. For every kernel a generated ``extern "C"`` launcher runs
all (block, thread) pairs of the grid: parts of 16 threads of a block are
spread over OpenMP threads (the kernels' threads never cooperate, see
``kernels/cuda_shim.h``), and the threads of a part run one after another
with the shim's thread-local ``threadIdx``/``blockIdx`` set. A launch whose
measured cost (per kernel, per thread; the first launch of a kernel runs on
one thread to measure it) says it takes under :data:`PARALLEL_MIN_SECONDS`
runs on the calling thread alone: waking the team would cost more, and on a
loaded machine a whole scheduler quantum. The shared library is cached
under ``$GPUNEP_CACHE_DIR`` (default ``~/.cache/gpunep``), keyed by a hash of
the sources, the flags and the compiler, and loaded with ctypes.

Environment switches
--------------------
``CXX``               the compiler (may include arguments, e.g. ``ccache g++``)
``GPUNEP_CACHE_DIR``  where built libraries go
``GPUNEP_NO_NATIVE``  set to anything to leave out ``-march=native``
``GPUNEP_SANITIZE``   ``address``: build with AddressSanitizer (separate cache
                      entries; the process must preload libasan)
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shlex
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from gpunep.executors.arguments import CheckedKernel
from gpunep.executors.kernel_source import (
    SHIM_HEADER,
    KernelSource,
    define_options,
    load_source,
    real_dtype,
    real_type,
    source_from_text,
)
from gpunep.executors.module import KernelModule
from gpunep.executors.signature import KernelSignature, Param
from gpunep.errors import BackendUnavailableError, KernelCompileError

_COMPILER_CANDIDATES = ("g++", "c++", "clang++")
_SANITIZERS = {"address": ["-fsanitize=address", "-fno-omit-frame-pointer", "-g"]}
_LAUNCHER_PREFIX = "gpunep_launch_"
_PART = 16  # threads of a block per OpenMP work item
PARALLEL_MIN_SECONDS = 1e-4
"""Launches expected to take less (on one thread) run without the OpenMP team."""

_lock = threading.Lock()
_modules: dict[tuple, KernelModule] = {}


def load_module(precision: str = "float32", files: Iterable[str] | None = None,
                defines: Mapping[str, int] | None = None) -> KernelModule:
    """The kernels of ``kernels/`` compiled for the CPU (once per process, precision and
    set of compile-time constants; on disk across processes).

    Parameters
    ----------
    precision : 'float32' (GPUMD's arithmetic) or 'float64'
    files : a subset of the ``kernels/*.cu`` file names (default: all of them)
    defines : compile-time constants (``-DNAME=value``), e.g. a model's architecture

    Raises
    ------
    BackendUnavailableError
        No C++ compiler (the message says what to install).
    KernelCompileError
        The compiler failed; the message holds its log.
    """
    return _module_for(load_source(files), precision, define_options(defines))


def compile_source(source: str, precision: str = "float64", name: str = "<source>",
                   defines: Mapping[str, int] | None = None) -> KernelModule:
    """Compile CUDA source text (not from ``kernels/``) for the host, with the same flags.

    For tests and one-off kernels; ``kernels/`` stays on the include path.
    """
    return _module_for(source_from_text(source, name), precision, define_options(defines))


def cache_dir() -> Path:
    """Where built libraries are kept: ``$GPUNEP_CACHE_DIR``, else ``~/.cache/gpunep`` (XDG)."""
    explicit = os.environ.get("GPUNEP_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gpunep"


def find_compiler() -> tuple[list[str], str]:
    """The C++ compiler command and its ``--version`` text.

    Raises
    ------
    BackendUnavailableError
        ``$CXX`` does not run, or none of g++, c++, clang++ is on the PATH.
    """
    env = os.environ.get("CXX")
    if env:
        command = shlex.split(env)
        found = shutil.which(command[0]) if command else None
        if not found:
            raise BackendUnavailableError(f"CXX={env!r} is not an executable on the PATH")
        return [found, *command[1:]], _version([found, *command[1:]])
    for candidate in _COMPILER_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return [found], _version([found])
    raise BackendUnavailableError(
        "the host backend needs a C++20 compiler with OpenMP, and none was found "
        f"(tried $CXX, {', '.join(_COMPILER_CANDIDATES)}). Install one, e.g. "
        "'sudo apt install g++' (Debian/Ubuntu), 'sudo dnf install gcc-c++' (Fedora) or "
        "'conda install -c conda-forge cxx-compiler', or set CXX."
    )


def compile_flags(precision: str) -> list[str]:
    """The compiler flags of a host build (without input and output files)."""
    compiler, _ = find_compiler()
    flags = ["-O3", "-fno-math-errno", "-fopenmp", "-fPIC", "-shared", "-std=c++20",
             f"-DNEP_REAL={real_type(precision)}"]
    if not os.environ.get("GPUNEP_NO_NATIVE") and _accepts(tuple(compiler), "-march=native"):
        flags.append("-march=native")
    sanitizer = os.environ.get("GPUNEP_SANITIZE")
    if sanitizer:
        if sanitizer not in _SANITIZERS:
            raise ValueError(f"GPUNEP_SANITIZE must be one of {sorted(_SANITIZERS)}, not {sanitizer!r}")
        flags += _SANITIZERS[sanitizer]
    return flags


class HostKernel(CheckedKernel):
    """One kernel in a loaded host library, called like a CuPy ``RawKernel``."""

    def __init__(self, signature: KernelSignature, function: Any, precision: str,
                 team_size: int):
        super().__init__(signature, real_dtype(precision), np.ndarray)
        self._function = function
        self._team_size = team_size
        self._seconds_per_thread: float | None = None  # one OpenMP thread's time per kernel thread
        real_ctype = ctypes.c_float if precision == "float32" else ctypes.c_double
        self._converters = [_converter(p, real_ctype) for p in signature.params]
        function.argtypes = [ctypes.c_int] + [ctypes.c_uint] * 6 + [c for c, _ in self._converters]
        function.restype = None

    def __call__(
        self, grid: tuple, block: tuple, args: tuple, sizes: Mapping[str, int] | None = None
    ) -> None:
        """Run every (block, thread) of the launch; checks all arguments first.

        Raises
        ------
        KernelArgumentError
            An argument CuPy would pass wrongly (see :mod:`gpunep.executors.arguments`).
        """
        grid3, block3 = self._check(grid, block, args, sizes)
        values = [convert(v) for (_, convert), v in zip(self._converters, args)]
        threads = grid3[0] * grid3[1] * grid3[2] * block3[0] * block3[1] * block3[2]
        # The first launch of a kernel runs on one thread and measures its cost.
        estimate = self._seconds_per_thread
        team = self._team_size if estimate is not None and estimate * threads >= PARALLEL_MIN_SECONDS else 1
        tic = time.perf_counter()
        self._function(int(team > 1), *grid3, *block3, *values)
        # wall x team ~ one thread's time; a stalled team (a loaded machine) inflates the
        # wall time, so the estimate may at most double per launch
        measured = (time.perf_counter() - tic) * team / threads
        self._seconds_per_thread = measured if estimate is None else min(measured, 2.0 * estimate)


def _converter(param: Param, real_ctype: type) -> tuple[type, Any]:
    if param.pointer:
        return ctypes.c_void_p, lambda a: a.ctypes.data
    ctype = {
        "int": ctypes.c_int,
        "unsigned long long": ctypes.c_ulonglong,
        "float": ctypes.c_float,
        "double": ctypes.c_double,
        "real": real_ctype,
    }[param.base]
    cast = int if param.base in ("int", "unsigned long long") else float
    return ctype, cast


def launcher_source(signatures: Iterable[KernelSignature]) -> str:
    """C++ for one ``extern "C"`` launcher per kernel, looping the grid over OpenMP."""
    parts = []
    for sig in signatures:
        decls, call = [], []
        for k, p in enumerate(sig.params):
            ctype = "NEP_REAL" if p.base == "real" else p.base
            if p.pointer:
                decls.append(f"void* a{k}")
                call.append(f"static_cast<{ctype}*>(a{k})")
            else:
                decls.append(f"{ctype} a{k}")
                call.append(f"a{k}")
        params = ", ".join(["int parallel, unsigned gx, unsigned gy, unsigned gz, unsigned bx, "
                            "unsigned by, unsigned bz", *decls])
        parts.append(f"""
extern "C" void {_LAUNCHER_PREFIX}{sig.name}({params})
{{
  const long long per_block = (long long)bx * by * bz;
  const long long parts = (per_block + {_PART} - 1) / {_PART};
  const long long n_items = (long long)gx * gy * gz * parts;
  // Work items (parts of {_PART} threads of a block) are handed out one at a time:
  // when the machine is shared and a thread is descheduled, the others take
  // over its remaining items.
#pragma omp parallel if (parallel && n_items > 1)
  {{
    gridDim = dim3(gx, gy, gz);
    blockDim = dim3(bx, by, bz);
#pragma omp for schedule(dynamic, 1)
    for (long long w = 0; w < n_items; ++w) {{
      const long long b = w / parts;
      blockIdx = uint3{{(unsigned)(b % gx), (unsigned)((b / gx) % gy), (unsigned)(b / ((long long)gx * gy))}};
      const long long first = (w % parts) * {_PART};
      const long long last = first + {_PART} < per_block ? first + {_PART} : per_block;
      for (long long t = first; t < last; ++t) {{
        threadIdx = uint3{{(unsigned)(t % bx), (unsigned)((t / bx) % by), (unsigned)(t / ((long long)bx * by))}};
        {sig.name}({", ".join(call)});
      }}
    }}
  }}
}}
""")
    return "".join(parts)


def _module_for(source: KernelSource, precision: str, defines: tuple[str, ...]) -> KernelModule:
    real_type(precision)  # validates the name before anything is compiled
    key = (source.digest, precision, defines, os.environ.get("GPUNEP_SANITIZE", ""),
           bool(os.environ.get("GPUNEP_NO_NATIVE")), os.environ.get("CXX", ""))
    with _lock:
        module = _modules.get(key)
        if module is None:
            module = _build(source, precision, defines)
            _modules[key] = module
        return module


def _build(source: KernelSource, precision: str, defines: tuple[str, ...]) -> KernelModule:
    compiler, version = find_compiler()
    flags = compile_flags(precision) + list(defines)
    shim = source.include_dir / SHIM_HEADER
    code = (source.code + "\n" + launcher_source(source.signatures.values())
            + '\n#include <omp.h>\nextern "C" int gpunep_max_threads() { return omp_get_max_threads(); }\n')
    h = hashlib.sha256()
    for part in (source.digest, code, " ".join(compiler), version, " ".join(flags)):
        h.update(part.encode() + b"\0")
    if "-march=native" in flags:
        h.update(_cpu_identity().encode())
    stem = "kernels" if source.files else "source"
    folder = cache_dir() / "host"
    library = folder / f"{stem}-{precision}-{h.hexdigest()[:24]}.so"
    compile_seconds = 0.0
    # a cached library cut short (a copy or a disk that failed outside gpunep) is
    # built again; dlopen of a truncated file can crash the process instead of failing
    if not _intact(library):
        tic = time.perf_counter()
        library.unlink(missing_ok=True)
        _compile(compiler, flags, shim, source.include_dir, code, library)
        compile_seconds = time.perf_counter() - tic
    try:
        lib = ctypes.CDLL(str(library))
    except OSError as exc:
        raise BackendUnavailableError(f"could not load the host kernel library {library}: {exc}") from exc
    lib.gpunep_max_threads.restype = ctypes.c_int
    team_size = max(1, int(lib.gpunep_max_threads()))
    kernels = {
        name: HostKernel(sig, getattr(lib, _LAUNCHER_PREFIX + name), precision, team_size)
        for name, sig in source.signatures.items()
    }
    return KernelModule(xp=np, precision=precision, backend="host", source=source,
                        handle=lib, defines=defines, compile_seconds=compile_seconds,
                        _kernels=kernels)


def _compile(compiler: list[str], flags: list[str], shim: Path, include_dir: Path,
             code: str, library: Path) -> None:
    library.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=library.parent, prefix=".build-") as tmp:
        unit = Path(tmp) / "gpunep_kernels.cpp"
        unit.write_text(code)
        partial = Path(tmp) / library.name
        command = [*compiler, *flags, "-include", str(shim), "-I", str(include_dir),
                   "-o", str(partial), str(unit)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise KernelCompileError(
                f"host compile failed (exit {result.returncode}):\n  {shlex.join(command)}\n"
                f"{result.stdout}{result.stderr}"
            )
        # Rename is atomic: a concurrent process sees no library or a whole one.
        os.replace(partial, library)


def _intact(library: Path) -> bool:
    """Whether ``library`` exists and is as long as its ELF header says (the section
    header table is its last part)."""
    try:
        with open(library, "rb") as handle:
            header = handle.read(64)
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        return False
    if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit ELF only
        return False
    order = "<" if header[5] == 1 else ">"
    (section_offset,) = struct.unpack_from(order + "Q", header, 0x28)
    entry_size, count = struct.unpack_from(order + "HH", header, 0x3A)
    return size >= section_offset + entry_size * count


def _version(compiler: list[str]) -> str:
    try:
        result = subprocess.run([*compiler, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise BackendUnavailableError(f"the C++ compiler {compiler[0]} does not run: {exc}") from exc
    return result.stdout.strip()


@functools.lru_cache(maxsize=None)
def _accepts(compiler: tuple[str, ...], flag: str) -> bool:
    """Whether the compiler accepts ``flag`` (e.g. -march=native is unknown on some targets)."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.cpp"
        probe.write_text("int main() { return 0; }\n")
        result = subprocess.run([*compiler, flag, "-o", str(Path(tmp) / "probe"), str(probe)],
                                capture_output=True, text=True)
    return result.returncode == 0


@functools.lru_cache(maxsize=None)
def _cpu_identity() -> str:
    """What -march=native depends on, so a shared cache never serves code built for another CPU."""
    identity = platform.machine() + platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags", "Features", "CPU part")):
                identity += line
                if line.startswith(("flags", "Features")):
                    break
    except OSError:
        pass
    return identity
