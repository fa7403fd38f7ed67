"""What the GPU compiler makes of a model's kernels: ptxas's resource report,
and the exact translation units for anyone to compile themselves.

:func:`kernel_resources` compiles every build an evaluator of the model loads
on a GPU (:func:`gpunep.engine.builds.evaluator_builds`) for one architecture
and reads, per kernel, the registers, stack frame, spill stores and loads
and shared memory ptxas reports. :func:`emit` writes those builds as
self-contained ``.cu`` files (every ``kernels/`` header inlined) beside an
``nvcc_options.txt``, so that
``nvcc -cubin -arch=sm_90 $(cat nvcc_options.txt) -Xptxas -v DIR/<build>.cu``
reproduces what gpunep compiles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gpunep.doctor.compilers import available_compilers, not_checked_reason
from gpunep.engine.builds import Build, evaluator_builds
from gpunep.executors.executor import Executor
from gpunep.executors.kernel_source import define_options, kernels_dir, load_source, real_type
from gpunep.model.io import atomic_write

if TYPE_CHECKING:
    from gpunep.model import Model

_ENTRY = re.compile(r"Compiling entry function '(\w+)'")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(r"Used (\d+) registers(?:.*?(\d+) bytes smem)?")
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$', re.M)


@dataclass(frozen=True)
class KernelResources:
    """ptxas's report for one kernel of one build."""

    build: str
    kernel: str
    registers: int
    stack_bytes: int
    spill_store_bytes: int
    spill_load_bytes: int
    shared_bytes: int


def parse_ptxas(log: str, build: str = "") -> list[KernelResources]:
    """The per-kernel resources in a ptxas ``-v`` log."""
    rows, kernel, frame = [], None, (0, 0, 0)
    for line in log.splitlines():
        entry = _ENTRY.search(line)
        if entry:
            kernel, frame = entry.group(1), (0, 0, 0)
            continue
        match = _FRAME.search(line)
        if match and kernel:
            frame = tuple(int(v) for v in match.groups())
            continue
        used = _USED.search(line)
        if used and kernel:
            rows.append(KernelResources(build, kernel, int(used.group(1)), *frame,
                                        int(used.group(2) or 0)))
            kernel = None
    return rows


def kernel_resources(model: "Model", arch: str = "sm_90",
                     precision: str = "float32") -> list[KernelResources]:
    """Compile the model's GPU builds for ``arch`` and report every kernel's resources.

    Raises
    ------
    RuntimeError
        No available CUDA compiler targets ``arch`` (what to install is named),
        or a build fails to compile (its log attached).
    """
    compilers, problems = available_compilers()
    compiler = next((c for c in compilers if c.supports(arch)), None)
    if compiler is None:
        raise RuntimeError(not_checked_reason(arch, compilers) + "".join(
            f"\n  {problem}" for problem in problems))
    rows = []
    for build in evaluator_builds(model, Executor("cuda", precision)):
        source = load_source(build.files)
        result = compiler.compile(source, arch, precision, define_options(build.define_map))
        if not result.ok:
            raise RuntimeError(f"{build.label} failed to compile for {arch} with "
                               f"{result.compiler}:\n{result.log}")
        rows += parse_ptxas(result.log, build.label)
    return rows


def resources_table(rows: list[KernelResources]) -> str:
    """The report as aligned text."""
    header = f"{'build':<22} {'kernel':<28} {'registers':>9} {'stack':>7} {'spill st':>8} " \
             f"{'spill ld':>8} {'smem':>6}"
    lines = [header, "-" * len(header)]
    lines += [f"{r.build:<22} {r.kernel:<28} {r.registers:>9} {r.stack_bytes:>7} "
              f"{r.spill_store_bytes:>8} {r.spill_load_bytes:>8} {r.shared_bytes:>6}" for r in rows]
    return "\n".join(lines)


def emit(directory: str | Path, model: "Model", precision: str = "float32") -> list[Path]:
    """Write the model's GPU builds as self-contained ``<build>.cu`` files and their
    ``nvcc_options.txt`` into ``directory`` (files written atomically); returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    builds = evaluator_builds(model, Executor("cuda", precision))
    defines: dict[str, int] = {}
    written = []
    for build in builds:
        defines.update(build.define_map)
        path = directory / f"{_file_stem(build)}.cu"
        atomic_write(path, inline_headers(load_source(build.files).code))
        written.append(path)
    options = ["-std=c++17", f"-DNEP_REAL={real_type(precision)}", *define_options(defines)]
    atomic_write(directory / "nvcc_options.txt", "\n".join(options) + "\n")
    return [*written, directory / "nvcc_options.txt"]


def inline_headers(code: str, seen: set[str] | None = None) -> str:
    """``code`` with every ``#include "..."`` of the kernels folder replaced by the
    file's text, recursively, each file once (their include guards allow that)."""
    seen = set() if seen is None else seen
    folder = kernels_dir()

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name in seen:
            return f"// {name} (inlined above)"
        seen.add(name)
        return f"// ---- {name}\n" + inline_headers((folder / name).read_text(), seen)

    return _INCLUDE.sub(replace, code)


def _file_stem(build: Build) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", build.label).strip("_")

