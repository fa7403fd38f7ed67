"""``gpunep doctor``: what this machine can run, and whether every kernel compiles for GPUs.

``doctor_report()`` lists CuPy, the GPUs it sees, every CUDA compiler found
(with the architectures each can target) and the host C++ compiler.
``compile_all()`` compiles every kernel (one translation unit per precision,
exactly as the executors build it) for each requested GPU architecture. No
GPU is needed. Per architecture the first compiler that can target it is
used, in this order: NVRTC through ``cupy.cuda.nvrtc``; NVRTC loaded with
ctypes (:mod:`gpunep.doctor.nvrtc`, e.g. from the ``nvidia-cuda-nvrtc-cu12``
wheel, newest version first); ``nvcc -cubin``. An architecture that no
available compiler can target (CUDA 13 dropped sm_70, for example) is
reported as not checked, never as passed, and ``gpunep doctor --compile``
then exits non-zero.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

from gpunep.doctor import nvrtc as ctypes_nvrtc
from gpunep.executors.kernel_source import PRECISIONS, KernelSource, load_source, real_type

DEFAULT_ARCHS = ("sm_70", "sm_80", "sm_90")
INSTALL_HINT = ("pip install nvidia-cuda-nvrtc-cu12  (or pip install 'gpunep[gpu-check]'; "
                "NVRTC 12 targets sm_50 and newer, sm_70 included; no GPU needed)")


class CompileResult(NamedTuple):
    """One (architecture, precision) compile.

    ``ok`` is True (compiled), False (compile error; ``log`` holds the
    compiler's output) or None (no available compiler can target ``arch``,
    so nothing was checked; ``log`` says why). ``compiler`` names the
    compiler that ran (empty when none did).
    """

    arch: str
    precision: str
    ok: bool | None
    log: str
    compiler: str = ""


class Compiler(NamedTuple):
    """A CUDA compiler ``compile_all`` can use.

    ``archs`` holds the sm_XX numbers it targets (None: it cannot say, so
    every architecture is tried); ``compile`` maps (source, arch, precision)
    to a :class:`CompileResult`.
    """

    name: str
    archs: frozenset[int] | None
    compile: Callable[[KernelSource, str, str], CompileResult]

    def supports(self, arch: str) -> bool:
        return self.archs is None or _arch_number(arch) in self.archs


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


def available_compilers() -> tuple[list[Compiler], list[str]]:
    """(the CUDA compilers found, in order of preference; one line per compiler found but unusable)."""
    compilers: list[Compiler] = []
    problems: list[str] = []
    cupy_compiler = _cupy_nvrtc_compiler()
    if cupy_compiler is not None:
        compilers.append(cupy_compiler)
    libraries, failures = ctypes_nvrtc.available()
    compilers += [_ctypes_nvrtc_compiler(library) for library in libraries]
    problems += [f"NVRTC library {failure}" for failure in failures]
    nvcc = _nvcc_compiler()
    if nvcc is not None:
        compilers.append(nvcc)
    return compilers, problems


def compile_all(
    archs: Sequence[str] = DEFAULT_ARCHS,
    precisions: Sequence[str] = tuple(PRECISIONS),
    files: Sequence[str] | None = None,
) -> list[CompileResult]:
    """Compile every kernel for each architecture and precision.

    Each architecture goes to the first available compiler that can target
    it (see the module docstring); if none can, its results have ``ok=None``.

    Parameters
    ----------
    archs : e.g. ('sm_70', 'sm_80', 'sm_90')
    precisions : 'float32' and/or 'float64'
    files : a subset of the ``kernels/*.cu`` files (default: all)

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
    source = load_source(files)
    compilers, problems = available_compilers()
    if not compilers:
        found = "; ".join(problems) or "none found"
        raise RuntimeError(f"no CUDA compiler ({found}): {INSTALL_HINT}, or install CuPy or the CUDA toolkit")
    results = []
    for arch in archs:
        compiler = next((c for c in compilers if c.supports(arch)), None)
        for precision in precisions:
            if compiler is None:
                results.append(CompileResult(arch, precision, None, _not_checked_reason(arch, compilers)))
            else:
                results.append(compiler.compile(source, arch, precision))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """``gpunep doctor [--compile sm_70,sm_80,sm_90]``.

    Non-zero if any compile fails, or if a requested architecture could not
    be checked by any available compiler (it was asked for explicitly).
    """
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
        print(f"compile {r.arch} {r.precision}: {status}" + (f" ({r.compiler})" if r.compiler else ""))
        if r.ok is not True and r.log.strip():
            print("  " + r.log.strip().replace("\n", "\n  "))
    unchecked = sorted({r.arch for r in results if r.ok is None})
    if unchecked:
        print(f"compile check: {', '.join(unchecked)} could not be checked: no available compiler targets "
              f"{'it' if len(unchecked) == 1 else 'them'}; {INSTALL_HINT}", file=sys.stderr)
    return 1 if unchecked or any(r.ok is False for r in results) else 0


# ------------------------------------------------------------------ compilers

def _options(source: KernelSource, arch: str, precision: str) -> list[str]:
    """NVRTC options: the executors' build, for a real architecture (so ptxas runs too)."""
    return [f"--gpu-architecture={arch}", "-std=c++17", f"-DNEP_REAL={real_type(precision)}",
            f"-I{source.include_dir}"]


def _cupy_nvrtc_compiler() -> Compiler | None:
    try:
        from cupy.cuda import nvrtc
        supported = frozenset(nvrtc.getSupportedArchs())
        major, minor = nvrtc.getVersion()
    except Exception:  # no CuPy, or CuPy without a loadable NVRTC
        return None
    name = f"NVRTC {major}.{minor} via CuPy"

    def compile_one(source: KernelSource, arch: str, precision: str) -> CompileResult:
        program = nvrtc.createProgram(source.code, "gpunep_kernels.cu", [], [])
        try:
            nvrtc.compileProgram(program, _options(source, arch, precision))
            return CompileResult(arch, precision, True, nvrtc.getProgramLog(program), name)
        except nvrtc.NVRTCError as exc:
            return CompileResult(arch, precision, False, f"{exc}\n{nvrtc.getProgramLog(program)}", name)
        finally:
            nvrtc.destroyProgram(program)

    return Compiler(name, supported, compile_one)


def _ctypes_nvrtc_compiler(library: ctypes_nvrtc.NvrtcLibrary) -> Compiler:
    name = f"NVRTC {library.version[0]}.{library.version[1]} via ctypes: {library.path}"

    def compile_one(source: KernelSource, arch: str, precision: str) -> CompileResult:
        output = library.compile(source.code, "gpunep_kernels.cu", _options(source, arch, precision))
        return CompileResult(arch, precision, output.ok, output.log, name)

    return Compiler(name, frozenset(library.archs), compile_one)


def _nvcc_compiler() -> Compiler | None:
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        return None
    supported = nvcc_architectures(nvcc)
    name = f"nvcc {_nvcc_release(nvcc)}: {nvcc}"

    def compile_one(source: KernelSource, arch: str, precision: str) -> CompileResult:
        with tempfile.TemporaryDirectory() as tmp:
            unit = Path(tmp) / "gpunep_kernels.cu"
            unit.write_text(source.code)
            command = [nvcc, "-cubin", f"-arch={arch}", "-std=c++17",
                       f"-DNEP_REAL={real_type(precision)}", "-I", str(source.include_dir),
                       "-o", str(Path(tmp) / "gpunep_kernels.cubin"), str(unit)]
            result = subprocess.run(command, capture_output=True, text=True)
        log = (result.stdout + result.stderr).strip()
        return CompileResult(arch, precision, result.returncode == 0, log, name)

    return Compiler(name, frozenset(supported) or None, compile_one)


def _arch_number(arch: str) -> int:
    return int(re.sub(r"\D", "", arch))


def _not_checked_reason(arch: str, compilers: Sequence[Compiler]) -> str:
    lines = [f"no available compiler can target {arch}:"]
    for compiler in compilers:
        archs = sorted(compiler.archs or ())
        lines.append(f"  {compiler.name} targets sm_{archs[0]} to sm_{archs[-1]}")
    lines.append(f"to check {arch}: {INSTALL_HINT}")
    return "\n".join(lines)


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
                "GPU: unknown without CuPy"]
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

        nvrtc.getVersion()
    except Exception as exc:
        lines.append(f"NVRTC through CuPy: not loadable ({exc})")
    return lines


def _host_compiler_line() -> str:
    from gpunep.executors import host
    from gpunep.errors import BackendUnavailableError

    try:
        compiler, version = host.find_compiler()
    except BackendUnavailableError as exc:
        return f"host compiler: none ({exc})"
    first = version.splitlines()[0] if version else "unknown version"
    return f"host compiler: {' '.join(compiler)} ({first}); cache {host.cache_dir()}"
