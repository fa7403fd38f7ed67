"""``gpunep doctor``: what this machine can run, whether every kernel compiles for
GPUs, and what the GPU compiler makes of a model's kernels.

``doctor_report()`` lists CuPy, the GPUs it sees, every CUDA compiler found
(with the architectures each can target) and the host C++ compiler.
``compile_all()`` compiles every build CI checks
(:func:`gpunep.engine.builds.check_builds`: the lists module and model
modules covering every kernel, exactly as the executors build them) for each
requested GPU architecture and precision. No GPU is needed. Per architecture
the first compiler that can target it is used (:mod:`gpunep.doctor.compilers`).
An architecture that no available compiler can target (CUDA 13 dropped
sm_70, for example) is reported as not checked, never as passed, and
``gpunep doctor --compile`` then exits non-zero. ``--resources MODEL`` prints
ptxas's registers / stack / spills per kernel specialised for a model, and
``--emit DIR MODEL`` writes its translation units
(:mod:`gpunep.doctor.resources`).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Sequence

from gpunep.doctor.compilers import (
    INSTALL_HINT,
    CompileResult,
    Compiler,
    available_compilers,
    ctypes_nvrtc_compiler,
    not_checked_reason,
    options,
)
from gpunep.doctor.resources import emit, kernel_resources, resources_table
from gpunep.engine.builds import Build, check_builds
from gpunep.executors.executor import Executor
from gpunep.executors.kernel_source import PRECISIONS, define_options, load_source, real_type

DEFAULT_ARCHS = ("sm_70", "sm_80", "sm_90")
__all__ = ["DEFAULT_ARCHS", "INSTALL_HINT", "CompileResult", "Compiler", "available_compilers",
           "compile_all", "ctypes_nvrtc_compiler", "doctor_report", "main", "options"]


def doctor_report() -> str:
    """A few lines on CuPy, GPUs, the CUDA compilers (and their architectures) and the host compiler."""
    lines = [f"gpunep {_version()}"]
    lines += _cupy_lines()
    lines.append("CUDA compilers for the GPU compile check (preferred first):")
    compilers, problems = available_compilers()
    for compiler in compilers:
        archs = " ".join(f"sm_{a}" for a in sorted(compiler.archs)) if compiler.archs else "unknown"
        lines.append(f"  {compiler.name}: {archs}")
    lines += [f"  not usable: {problem}" for problem in problems]
    if not any(c.name.startswith("NVRTC") for c in compilers):
        lines.append(f"  no NVRTC library found: {INSTALL_HINT}")
    lines.append(_host_compiler_line())
    try:
        source = load_source()
        lines.append(f"kernels: {len(source.signatures)} in {', '.join(source.files)} ({source.include_dir})")
    except Exception as exc:  # a broken kernel file must not hide the rest of the report
        lines.append(f"kernels: cannot be parsed: {exc}")
    return "\n".join(lines)


def compile_all(
    archs: Sequence[str] = DEFAULT_ARCHS,
    precisions: Sequence[str] = tuple(PRECISIONS),
    builds: Sequence[Build] | None = None,
) -> list[CompileResult]:
    """Compile every build for each architecture and precision.

    Each architecture goes to the first available compiler that can target
    it (see the module docstring); if none can, its results have ``ok=None``.

    Parameters
    ----------
    archs : e.g. ('sm_70', 'sm_80', 'sm_90')
    precisions : 'float32' and/or 'float64'
    builds : the translation units (default: :func:`gpunep.engine.builds.check_builds`)

    Raises
    ------
    ValueError
        An architecture not written like ``sm_80``.
    RuntimeError
        No CUDA compiler at all (neither CuPy, nor an NVRTC library, nor nvcc).
    """
    for arch in archs:
        if not re.fullmatch(r"sm_\d+[a-z]?", arch):
            raise ValueError(f"architectures look like sm_80, not {arch!r}")
    for precision in precisions:
        real_type(precision)
    compilers, problems = available_compilers()
    if not compilers:
        found = "; ".join(problems) or "none found"
        raise RuntimeError(f"no CUDA compiler ({found}): {INSTALL_HINT}, or install CuPy or the CUDA toolkit")
    results = []
    for arch in archs:
        compiler = next((c for c in compilers if c.supports(arch)), None)
        for precision in precisions:
            for build in builds if builds is not None else check_builds(Executor("cuda", precision)):
                if compiler is None:
                    result = CompileResult(arch, precision, None, not_checked_reason(arch, compilers))
                else:
                    result = compiler.compile(load_source(build.files), arch, precision,
                                              define_options(build.define_map))
                results.append(result._replace(build=build.label))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """``gpunep doctor [--compile sm_70,sm_80,sm_90] [--resources MODEL] [--emit DIR MODEL]``.

    Non-zero if any compile fails, or if a requested architecture could not
    be checked by any available compiler (it was asked for explicitly).
    """
    parser = argparse.ArgumentParser(prog="gpunep doctor")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.resources or args.emit:
        return _model_report(args)
    print(doctor_report())
    if not args.compile:
        return 0
    archs = [a.strip() for a in args.compile.split(",") if a.strip()]
    try:
        results = compile_all(archs)
    except (RuntimeError, ValueError) as exc:
        print(f"compile check: {exc}", file=sys.stderr)
        return 1
    for r in results:
        status = {True: "ok", False: "FAILED", None: "NOT CHECKED"}[r.ok]
        print(f"compile {r.arch} {r.precision}: {status}" + (f" [{r.build}]" if r.build else "")
              + (f" ({r.compiler})" if r.compiler else ""))
        if r.ok is not True and r.log.strip():
            print("  " + r.log.strip().replace("\n", "\n  "))
    unchecked = sorted({r.arch for r in results if r.ok is None})
    if unchecked:
        print(f"compile check: {', '.join(unchecked)} could not be checked: no available compiler targets "
              f"{'it' if len(unchecked) == 1 else 'them'}; {INSTALL_HINT}", file=sys.stderr)
    return 1 if unchecked or any(r.ok is False for r in results) else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``gpunep doctor`` (shared with the ``gpunep`` command line)."""
    parser.add_argument("--compile", metavar="ARCHS",
                        help="compile every kernel for these GPU architectures, e.g. sm_70,sm_80,sm_90")
    parser.add_argument("--resources", metavar="MODEL",
                        help="registers, stack frame, spills and shared memory of every kernel "
                             "specialised for MODEL (nep.txt), from ptxas")
    parser.add_argument("--emit", nargs=2, metavar=("DIR", "MODEL"),
                        help="write the translation units gpunep compiles for MODEL, and "
                             "nvcc_options.txt, into DIR")
    parser.add_argument("--arch", default="sm_90", help="GPU architecture for --resources (sm_90)")
    parser.add_argument("--precision", default="float32", choices=tuple(PRECISIONS),
                        help="precision for --resources and --emit (float32)")


def _model_report(args: argparse.Namespace) -> int:
    from gpunep.errors import ModelFileError
    from gpunep.model import read_model

    try:
        if args.emit:
            directory, model_file = args.emit
            for path in emit(directory, read_model(model_file), args.precision):
                print(path)
            return 0
        rows = kernel_resources(read_model(args.resources), args.arch, args.precision)
    except (OSError, ModelFileError, RuntimeError, ValueError) as exc:
        print(f"gpunep doctor: {exc}", file=sys.stderr)
        return 1
    print(f"{args.resources}: {args.precision}, {args.arch}")
    print(resources_table(rows))
    return 0


# ------------------------------------------------------------------ report parts

def _version() -> str:
    from gpunep import __version__

    return __version__


def _cupy_lines() -> list[str]:
    try:
        import cupy
    except ImportError:
        return ["CuPy: not installed (pip install 'gpunep[cuda13]' or 'gpunep[cuda12]')",
                "GPU: unknown without CuPy", "cuda backend: unavailable (no CuPy)"]
    lines = [f"CuPy: {cupy.__version__}"]
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        for d in range(count):
            props = cupy.cuda.runtime.getDeviceProperties(d)
            name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
            lines.append(f"GPU {d}: {name}, sm_{props['major']}{props['minor']}, "
                         f"{props['totalGlobalMem'] / 2**30:.1f} GiB")
        if count == 0:
            lines.append("GPU: none")
    except Exception as exc:
        lines.append(f"GPU: none usable ({exc})")
    return lines + [_cuda_backend_line()]


def _cuda_backend_line() -> str:
    """The cuda executor's own probe: what ``backend='auto'`` decides, in its words."""
    from gpunep.executors import cuda

    probe = cuda.probe()
    if probe.error is None:
        return f"cuda backend: usable on GPU {probe.device} (NVRTC compiled, loaded and ran a test kernel)"
    return f"cuda backend: UNAVAILABLE, backend='auto' runs on the CPU: {probe.error}"


def _host_compiler_line() -> str:
    from gpunep.executors import host
    from gpunep.errors import BackendUnavailableError

    try:
        compiler, version = host.find_compiler()
    except BackendUnavailableError as exc:
        return f"host compiler: none ({exc})"
    first = version.splitlines()[0] if version else "unknown version"
    return f"host compiler: {' '.join(compiler)} ({first}); cache {host.cache_dir()}"
