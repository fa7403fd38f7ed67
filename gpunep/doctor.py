"""``gpunep doctor``: what this machine can run, and whether every kernel compiles for GPUs.

``doctor_report()`` lists CuPy, the GPUs it sees, NVRTC, nvcc and the host
C++ compiler. ``compile_all()`` compiles every kernel (one translation unit
per precision, exactly as the executors build it) for each requested GPU
architecture: with NVRTC through ``cupy.cuda.nvrtc`` when CuPy is importable
(its compile calls need no GPU), else with ``nvcc -cubin``. An architecture
the available compiler cannot target at all (CUDA 13 dropped sm_70, for
example) is reported as not checked rather than as passed or failed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple, Sequence

from gpunep.backends.kernel_source import PRECISIONS, KernelSource, load_source, real_type

DEFAULT_ARCHS = ("sm_70", "sm_80", "sm_90")


class CompileResult(NamedTuple):
    """One (architecture, precision) compile.

    ``ok`` is True (compiled), False (compile error; ``log`` holds the
    compiler's output) or None (the compiler cannot target ``arch``, so
    nothing was checked; ``log`` says why).
    """

    arch: str
    precision: str
    ok: bool | None
    log: str


def doctor_report() -> str:
    """A few lines on CuPy, GPUs, NVRTC, nvcc and the host compiler."""
    lines = [f"gpunep {_version()}"]
    lines += _cupy_lines()
    nvcc = shutil.which("nvcc")
    if nvcc:
        archs = nvcc_architectures(nvcc)
        lines.append(f"nvcc: {nvcc} ({_nvcc_release(nvcc)}; sm_{min(archs) if archs else '?'} and newer)")
    else:
        lines.append("nvcc: not found on PATH")
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
    files: Sequence[str] | None = None,
) -> list[CompileResult]:
    """Compile every kernel for each architecture and precision.

    Parameters
    ----------
    archs : e.g. ('sm_70', 'sm_80', 'sm_90')
    precisions : 'float32' and/or 'float64'
    files : a subset of the ``kernels/*.cu`` files (default: all)

    Raises
    ------
    RuntimeError
        Neither CuPy (NVRTC) nor nvcc is available.
    """
    for arch in archs:
        if not re.fullmatch(r"sm_\d+[a-z]?", arch):
            raise ValueError(f"architectures look like sm_80, not {arch!r}")
    source = load_source(files)
    compiler = _nvrtc_compiler() or _nvcc_compiler()
    if compiler is None:
        raise RuntimeError("no CUDA compiler: install CuPy (NVRTC) or the CUDA toolkit (nvcc)")
    return [compiler(source, arch, precision) for arch in archs for precision in precisions]


def main(argv: Sequence[str] | None = None) -> int:
    """``gpunep doctor [--compile sm_70,sm_80,sm_90]``; non-zero if any compile fails."""
    parser = argparse.ArgumentParser(prog="gpunep doctor")
    parser.add_argument("--compile", metavar="ARCHS",
                        help="compile every kernel for these architectures, e.g. sm_70,sm_80,sm_90")
    args = parser.parse_args(argv)
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
        print(f"compile {r.arch} {r.precision}: {status}")
        if r.ok is not True and r.log.strip():
            print("  " + r.log.strip().replace("\n", "\n  "))
    if any(r.ok is False for r in results):
        return 1
    if not any(r.ok for r in results):
        print("compile check: no requested architecture could be checked", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------ compilers

def _nvrtc_compiler():
    try:
        from cupy.cuda import nvrtc
        supported = set(nvrtc.getSupportedArchs())
    except Exception:  # no CuPy, or CuPy without a loadable NVRTC
        return None

    def compile_one(source: KernelSource, arch: str, precision: str) -> CompileResult:
        number = int(re.sub(r"\D", "", arch))
        if number not in supported:
            return CompileResult(arch, precision, None,
                                 f"NVRTC {nvrtc.getVersion()} cannot target {arch} "
                                 f"(supported: {', '.join(f'sm_{a}' for a in sorted(supported))})")
        program = nvrtc.createProgram(source.code, "gpunep_kernels.cu", [], [])
        try:
            nvrtc.compileProgram(program, [f"--gpu-architecture={arch}", "-std=c++17",
                                           f"-DNEP_REAL={real_type(precision)}",
                                           f"-I{source.include_dir}"])
            return CompileResult(arch, precision, True, nvrtc.getProgramLog(program))
        except nvrtc.NVRTCError as exc:
            return CompileResult(arch, precision, False, f"{exc}\n{nvrtc.getProgramLog(program)}")
        finally:
            nvrtc.destroyProgram(program)

    return compile_one


def _nvcc_compiler():
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        return None
    supported = nvcc_architectures(nvcc)

    def compile_one(source: KernelSource, arch: str, precision: str) -> CompileResult:
        number = int(re.sub(r"\D", "", arch))
        if supported and number not in supported:
            return CompileResult(arch, precision, None,
                                 f"nvcc ({_nvcc_release(nvcc)}) cannot target {arch} "
                                 f"(supported: {', '.join(f'sm_{a}' for a in sorted(supported))})")
        with tempfile.TemporaryDirectory() as tmp:
            unit = Path(tmp) / "gpunep_kernels.cu"
            unit.write_text(source.code)
            command = [nvcc, "-cubin", f"-arch={arch}", "-std=c++17",
                       f"-DNEP_REAL={real_type(precision)}", "-I", str(source.include_dir),
                       "-o", str(Path(tmp) / "gpunep_kernels.cubin"), str(unit)]
            result = subprocess.run(command, capture_output=True, text=True)
        log = (result.stdout + result.stderr).strip()
        return CompileResult(arch, precision, result.returncode == 0, log)

    return compile_one


def nvcc_architectures(nvcc: str) -> set[int]:
    """The sm_XX numbers this nvcc can compile for (empty if it cannot say)."""
    result = subprocess.run([nvcc, "--list-gpu-code"], capture_output=True, text=True)
    return {int(m) for m in re.findall(r"sm_(\d+)", result.stdout)} if result.returncode == 0 else set()


def _nvcc_release(nvcc: str) -> str:
    result = subprocess.run([nvcc, "--version"], capture_output=True, text=True)
    match = re.search(r"release ([\d.]+)", result.stdout)
    return f"CUDA {match.group(1)}" if match else "unknown version"


# ------------------------------------------------------------------ report parts

def _version() -> str:
    from gpunep import __version__

    return __version__


def _cupy_lines() -> list[str]:
    try:
        import cupy
    except ImportError:
        return ["CuPy: not installed (pip install 'gpunep[cuda12]' or 'gpunep[cuda13]')",
                "GPU: unknown without CuPy", "NVRTC: unknown without CuPy"]
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
    try:
        from cupy.cuda import nvrtc

        major, minor = nvrtc.getVersion()
        lines.append(f"NVRTC: {major}.{minor}")
    except Exception as exc:
        lines.append(f"NVRTC: not loadable ({exc})")
    return lines


def _host_compiler_line() -> str:
    from gpunep.backends import host
    from gpunep.errors import BackendUnavailableError

    try:
        compiler, version = host.find_compiler()
    except BackendUnavailableError as exc:
        return f"host compiler: none ({exc})"
    first = version.splitlines()[0] if version else "unknown version"
    return f"host compiler: {' '.join(compiler)} ({first}); cache {host.cache_dir()}"
