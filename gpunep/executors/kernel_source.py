"""Where the CUDA kernels live and how they are put together.

This is the only module that knows the location of ``kernels/``: it is the
``gpunep.kernels`` package (the repository's ``kernels/`` folder, shipped in
the wheel), found with :mod:`importlib.resources`, never relative to a
checkout.

Every ``kernels/*.cu`` file is compiled together into ONE module per
precision: a generated translation unit ``#include``s the chosen files in
sorted order, with the kernels folder on the include path. The real type is
the compile-time macro ``NEP_REAL`` (``float`` or ``double``).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from gpunep.executors.signature import KernelSignature, parameter_macros, parse_signatures
from gpunep.errors import KernelCompileError

PRECISIONS = {"float32": "float", "float64": "double"}
"""precision name -> the C type NEP_REAL stands for"""

SHIM_HEADER = "cuda_shim.h"
_SOURCE_SUFFIXES = (".cu", ".cuh", ".h")

# load_source results by (files, name/mtime/size of every source file): parsing
# the signatures took ~20 ms per backend; a stat of the folder is ~0.1 ms and
# still sees an edited kernel or header.
_source_lock = threading.Lock()
_sources: dict[tuple, "KernelSource"] = {}


def kernels_dir() -> Path:
    """The folder holding ``*.cu`` / ``*.cuh`` (the installed ``gpunep.kernels`` package)."""
    root = resources.files("gpunep.kernels")
    path = Path(str(root))
    if not path.is_dir():
        # A zipped install: nothing can compile from inside a zip file.
        raise FileNotFoundError(f"gpunep's kernels are not on the file system ({root})")
    return path


def header_constants(header: str, prefix: str = "NEP_") -> dict[str, int]:
    """The integer ``#define NAME value`` lines of a header in ``kernels/`` whose names start
    with ``prefix``: named offsets the Python side shares with the kernels."""
    text = (kernels_dir() / header).read_text()
    pattern = re.compile(rf"^#define ({re.escape(prefix)}\w+)\s+(-?\d+)\b", re.M)
    return {name: int(value) for name, value in pattern.findall(text)}


def define_options(defines: Mapping[str, int] | None) -> tuple[str, ...]:
    """``-DNAME=value`` options for compile-time constants, sorted (a stable cache key)."""
    return tuple(f"-D{name}={int(value)}" for name, value in sorted((defines or {}).items()))


def real_type(precision: str) -> str:
    """The C type of ``real`` for a precision name ('float32' -> 'float')."""
    try:
        return PRECISIONS[precision]
    except KeyError:
        raise ValueError(f"precision must be 'float32' or 'float64', not {precision!r}") from None


def real_dtype(precision: str) -> np.dtype:
    """The numpy dtype of ``real`` for a precision name."""
    real_type(precision)
    return np.dtype(precision)


@dataclass(frozen=True)
class KernelSource:
    """A translation unit ready for either compiler.

    Attributes
    ----------
    code : the translation unit text (``#include`` lines, or a whole source)
    include_dir : the kernels folder (``-I``)
    files : the ``.cu`` files it includes (empty for a source given as text)
    signatures : every ``extern "C" __global__`` kernel, by name
    digest : SHA-256 over the code and every kernel source and header, so a
        changed header invalidates cached builds too
    """

    code: str
    include_dir: Path
    files: tuple[str, ...]
    signatures: dict[str, KernelSignature]
    digest: str


def kernel_files(files: Iterable[str] | None = None) -> tuple[str, ...]:
    """Names of the ``.cu`` files to compile: all of them (sorted) or a chosen subset.

    Raises
    ------
    FileNotFoundError
        A requested file that is not in the kernels folder.
    """
    folder = kernels_dir()
    available = sorted(p.name for p in folder.glob("*.cu"))
    if files is None:
        return tuple(available)
    chosen = sorted(set(files))
    missing = [f for f in chosen if f not in available]
    if missing:
        raise FileNotFoundError(
            f"kernel files {missing} not in {folder} (available: {', '.join(available)})"
        )
    return tuple(chosen)


def load_source(files: Iterable[str] | None = None) -> KernelSource:
    """The translation unit that includes ``files`` (default: every ``kernels/*.cu``).

    Raises
    ------
    KernelCompileError
        The same kernel name defined twice, or a parameter type outside the contract.
    """
    folder = kernels_dir()
    names = kernel_files(files)
    key = (names, _folder_state(folder))
    with _source_lock:
        cached = _sources.get(key)
    if cached is not None:
        return cached
    source = _parse_source(folder, names)
    with _source_lock:
        _sources[key] = source
    return source


def _parameter_macros(folder: Path) -> dict[str, str]:
    macros: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in _SOURCE_SUFFIXES:
            macros.update(parameter_macros(path.read_text()))
    return macros


def _parse_source(folder: Path, names: tuple[str, ...]) -> KernelSource:
    signatures: dict[str, KernelSignature] = {}
    macros = _parameter_macros(folder)
    for name in names:
        for sig in parse_signatures((folder / name).read_text(), source=name, macros=macros):
            if sig.name in signatures:
                raise KernelCompileError(
                    f"kernel {sig.name} is defined in both {signatures[sig.name].source} and {name}"
                )
            signatures[sig.name] = sig
    code = "".join(f'#include "{name}"\n' for name in names)
    return KernelSource(code, folder, names, signatures, _digest(code, folder))


def source_from_text(code: str, name: str = "<source>") -> KernelSource:
    """A translation unit from source text (tests, one-off kernels); kernels/ stays on the include path."""
    folder = kernels_dir()
    macros = {**_parameter_macros(folder), **parameter_macros(code)}
    signatures = {sig.name: sig for sig in parse_signatures(code, source=name, macros=macros)}
    return KernelSource(code, folder, (), signatures, _digest(code, folder))


def _folder_state(folder: Path) -> tuple:
    state = []
    for path in sorted(folder.iterdir()):
        if path.suffix in _SOURCE_SUFFIXES:
            st = path.stat()
            state.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(state)


def _digest(code: str, folder: Path) -> str:
    h = hashlib.sha256(code.encode())
    for path in sorted(folder.iterdir()):
        if path.suffix in _SOURCE_SUFFIXES:
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
