"""NVRTC through ctypes: compile CUDA source to a cubin without CuPy and without a GPU.

``gpunep doctor --compile`` uses this when CuPy is absent or its NVRTC cannot
target an architecture (CUDA 13 dropped sm_70; the PyPI wheel
``nvidia-cuda-nvrtc-cu12`` still targets it). Only the documented C API of
``nvrtc.h`` is used; every ``nvrtcResult`` is checked, and a failed call
becomes a failed :class:`NvrtcOutput` carrying the program log.

Libraries are looked for in the ``nvidia`` namespace package of the PyPI
wheels (``nvidia/cuda_nvrtc/lib`` for CUDA 12, ``nvidia/cu13/lib`` for CUDA
13), then by the dynamic loader (``ctypes.util.find_library``), then under
``$CUDA_HOME`` / ``$CUDA_PATH`` / ``/usr/local/cuda``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

NVRTC_SUCCESS = 0
_LIBRARY_NAME = re.compile(r"libnvrtc\.so\.\d+(\.\d+)*")  # not libnvrtc-builtins, not libnvrtc.alt
_ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class NvrtcOutput:
    """One compile: ``ok``, NVRTC's program log (warnings or errors) and the cubin (empty if not ok)."""

    ok: bool
    log: str
    cubin: bytes = b""


@dataclass(frozen=True)
class NvrtcLibrary:
    """A loaded ``libnvrtc`` with its version and the architectures it can target.

    Attributes
    ----------
    path : the file (or loader name) it was loaded from
    version : (major, minor)
    archs : the sm_XX numbers ``nvrtcGetSupportedArchs`` reports, ascending
    """

    path: str
    version: tuple[int, int]
    archs: tuple[int, ...]
    _lib: ctypes.CDLL = field(repr=False, compare=False)

    def compile(self, code: str, name: str, options: Sequence[str]) -> NvrtcOutput:
        """Compile ``code`` with ``options`` (e.g. ``--gpu-architecture=sm_80``) to a cubin.

        ``ok`` is True only when compilation succeeded AND a cubin (an ELF
        file, i.e. ptxas ran for a real ``sm_XX``) came back.
        """
        lib = self._lib
        program = ctypes.c_void_p()
        result = lib.nvrtcCreateProgram(ctypes.byref(program), code.encode(), name.encode(), 0, None, None)
        if result != NVRTC_SUCCESS:
            return NvrtcOutput(False, f"nvrtcCreateProgram failed: {self._error(result)}")
        try:
            output = self._compile_program(program, options)
        finally:
            destroyed = lib.nvrtcDestroyProgram(ctypes.byref(program))
        if destroyed != NVRTC_SUCCESS:
            # A broken library must not pass silently, even if the compile itself went through.
            return NvrtcOutput(False, f"{output.log}\nnvrtcDestroyProgram failed: {self._error(destroyed)}")
        return output

    def _compile_program(self, program: ctypes.c_void_p, options: Sequence[str]) -> NvrtcOutput:
        encoded = [option.encode() for option in options]
        result = self._lib.nvrtcCompileProgram(program, len(encoded), (ctypes.c_char_p * len(encoded))(*encoded))
        log, log_error = self._log(program)
        if result != NVRTC_SUCCESS:
            return NvrtcOutput(False, f"nvrtcCompileProgram failed: {self._error(result)}\n{log}{log_error}")
        if log_error:
            return NvrtcOutput(False, log_error)
        return self._cubin(program, log)

    def _log(self, program: ctypes.c_void_p) -> tuple[str, str]:
        """(program log, error text if the log itself could not be read)."""
        size = ctypes.c_size_t()
        result = self._lib.nvrtcGetProgramLogSize(program, ctypes.byref(size))
        if result != NVRTC_SUCCESS:
            return "", f"nvrtcGetProgramLogSize failed: {self._error(result)}"
        buffer = ctypes.create_string_buffer(max(size.value, 1))  # the size counts the trailing NUL
        result = self._lib.nvrtcGetProgramLog(program, buffer)
        if result != NVRTC_SUCCESS:
            return "", f"nvrtcGetProgramLog failed: {self._error(result)}"
        return buffer.value.decode(errors="replace"), ""

    def _cubin(self, program: ctypes.c_void_p, log: str) -> NvrtcOutput:
        size = ctypes.c_size_t()
        result = self._lib.nvrtcGetCUBINSize(program, ctypes.byref(size))
        if result != NVRTC_SUCCESS:
            return NvrtcOutput(False, f"nvrtcGetCUBINSize failed: {self._error(result)}\n{log}")
        if size.value == 0:
            # A virtual architecture (compute_XX) yields PTX only: ptxas never ran.
            return NvrtcOutput(False, f"NVRTC produced no cubin (was a real sm_XX architecture given?)\n{log}")
        buffer = ctypes.create_string_buffer(size.value)
        result = self._lib.nvrtcGetCUBIN(program, buffer)
        if result != NVRTC_SUCCESS:
            return NvrtcOutput(False, f"nvrtcGetCUBIN failed: {self._error(result)}\n{log}")
        cubin = buffer.raw
        if not cubin.startswith(_ELF_MAGIC):
            return NvrtcOutput(False, f"NVRTC returned a cubin that is not an ELF file\n{log}")
        return NvrtcOutput(True, log, cubin)

    def _error(self, result: int) -> str:
        text = self._lib.nvrtcGetErrorString(result)
        return f"{text.decode() if text else 'unknown'} ({result})"


def candidate_paths() -> list[str]:
    """Every ``libnvrtc`` this process could load, most specific first, without duplicates."""
    found: list[str] = []
    for folder in _wheel_lib_dirs() + _toolkit_lib_dirs():
        found += sorted((str(p) for p in folder.glob("libnvrtc.so*") if _LIBRARY_NAME.fullmatch(p.name)),
                        reverse=True)
    by_loader = ctypes.util.find_library("nvrtc")
    if by_loader:
        found.append(by_loader)
    unique: list[str] = []
    seen: set[str] = set()
    for path in found:
        key = os.path.realpath(path) if os.path.isabs(path) else path
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def load(path: str) -> NvrtcLibrary:
    """Load one ``libnvrtc`` and ask it for its version and supported architectures.

    Raises
    ------
    OSError
        The file cannot be loaded, lacks a function gpunep needs (NVRTC older
        than 11.2 has no ``nvrtcGetSupportedArchs`` / ``nvrtcGetCUBIN``), or a
        query fails.
    """
    lib = ctypes.CDLL(path)
    try:
        _declare(lib)
    except AttributeError as exc:
        raise OSError(f"{path} lacks an NVRTC function gpunep needs (NVRTC >= 11.2 required): {exc}") from None
    major, minor = ctypes.c_int(), ctypes.c_int()
    _check(lib, lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)), "nvrtcVersion", path)
    count = ctypes.c_int()
    _check(lib, lib.nvrtcGetNumSupportedArchs(ctypes.byref(count)), "nvrtcGetNumSupportedArchs", path)
    archs = (ctypes.c_int * count.value)()
    _check(lib, lib.nvrtcGetSupportedArchs(archs), "nvrtcGetSupportedArchs", path)
    return NvrtcLibrary(path, (major.value, minor.value), tuple(sorted(archs)), lib)


def available() -> tuple[list[NvrtcLibrary], list[str]]:
    """(the loadable NVRTC libraries, newest version first; 'path: why' for those that failed)."""
    libraries: list[NvrtcLibrary] = []
    failures: list[str] = []
    for path in candidate_paths():
        try:
            libraries.append(load(path))
        except OSError as exc:
            failures.append(f"{path}: {exc}")
    libraries.sort(key=lambda lib: lib.version, reverse=True)
    return libraries, failures


# ------------------------------------------------------------------ internals

def _declare(lib: ctypes.CDLL) -> None:
    """Prototypes from nvrtc.h (nvrtcProgram is an opaque pointer; results are enum ints)."""
    c_int_p, c_size_p, program_p = (ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_size_t),
                                    ctypes.POINTER(ctypes.c_void_p))
    char_pp = ctypes.POINTER(ctypes.c_char_p)
    prototypes = {
        "nvrtcGetErrorString": (ctypes.c_char_p, [ctypes.c_int]),
        "nvrtcVersion": (ctypes.c_int, [c_int_p, c_int_p]),
        "nvrtcGetNumSupportedArchs": (ctypes.c_int, [c_int_p]),
        "nvrtcGetSupportedArchs": (ctypes.c_int, [c_int_p]),
        "nvrtcCreateProgram": (ctypes.c_int, [program_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
                                              char_pp, char_pp]),
        "nvrtcDestroyProgram": (ctypes.c_int, [program_p]),
        "nvrtcCompileProgram": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int, char_pp]),
        "nvrtcGetProgramLogSize": (ctypes.c_int, [ctypes.c_void_p, c_size_p]),
        "nvrtcGetProgramLog": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
        "nvrtcGetCUBINSize": (ctypes.c_int, [ctypes.c_void_p, c_size_p]),
        "nvrtcGetCUBIN": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    }
    for name, (restype, argtypes) in prototypes.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes


def _check(lib: ctypes.CDLL, result: int, call: str, path: str) -> None:
    if result != NVRTC_SUCCESS:
        text = lib.nvrtcGetErrorString(result)
        raise OSError(f"{call} failed in {path}: {text.decode() if text else result}")


def _wheel_lib_dirs() -> list[Path]:
    """``lib`` folders of the NVIDIA PyPI wheels (nvidia/cuda_nvrtc/lib, nvidia/cu13/lib, ...)."""
    try:
        spec = importlib.util.find_spec("nvidia")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(lib for root in spec.submodule_search_locations for lib in Path(root).glob("*/lib")
                  if lib.is_dir())


def _toolkit_lib_dirs() -> list[Path]:
    roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    return [Path(root) / sub for root in roots if root for sub in ("lib64", "lib")
            if (Path(root) / sub).is_dir()]
