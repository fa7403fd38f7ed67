"""The CUDA compilers ``gpunep doctor`` can use, and one compile with each.

In order of preference: NVRTC through ``cupy.cuda.nvrtc``; NVRTC loaded with
ctypes (:mod:`gpunep.doctor.nvrtc`, e.g. from the ``nvidia-cuda-nvrtc-cu12``
wheel, newest version first); ``nvcc -cubin``. Every compile targets a real
architecture (sm_XX), so ptxas runs and its resource report (registers,
stack frame, spills) is part of the log.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

from gpunep.doctor import nvrtc as ctypes_nvrtc
from gpunep.executors.kernel_source import KernelSource, real_type

INSTALL_HINT = ("pip install nvidia-cuda-nvrtc-cu12  (or pip install 'gpunep[gpu-check]'; "
                "NVRTC 12 targets sm_50 and newer, sm_70 included; no GPU needed)")


class CompileResult(NamedTuple):
    """One (architecture, precision, build) compile.

    ``ok`` is True (compiled), False (compile error; ``log`` holds the
    compiler's output) or None (no available compiler can target ``arch``,
    so nothing was checked; ``log`` says why). ``compiler`` names the
    compiler that ran (empty when none did); ``build`` the translation unit
    (:class:`gpunep.engine.builds.Build` label).
    """

    arch: str
    precision: str
    ok: bool | None
    log: str
    compiler: str = ""
    build: str = ""


CompileOne = Callable[[KernelSource, str, str, Sequence[str]], CompileResult]


class Compiler(NamedTuple):
    """A CUDA compiler ``compile_all`` can use.

    ``archs`` holds the sm_XX numbers it targets (None: it cannot say, so
    every architecture is tried); ``compile`` maps (source, arch, precision,
    extra -D options) to a :class:`CompileResult`.
    """

    name: str
    archs: frozenset[int] | None
    compile: CompileOne

    def supports(self, arch: str) -> bool:
        return self.archs is None or arch_number(arch) in self.archs


def options(source: KernelSource, arch: str, precision: str,
            defines: Sequence[str] = ()) -> list[str]:
    """NVRTC options: the executors' build, for a real architecture (so ptxas runs too),
    with ptxas's resource report in the log."""
    return [f"--gpu-architecture={arch}", "-std=c++17", f"-DNEP_REAL={real_type(precision)}",
            *defines, f"-I{source.include_dir}", "--ptxas-options=-v"]


def available_compilers() -> tuple[list[Compiler], list[str]]:
    """(the CUDA compilers found, in order of preference; one line per compiler found but unusable)."""
    compilers: list[Compiler] = []
    problems: list[str] = []
    cupy_compiler = cupy_nvrtc_compiler()
    if cupy_compiler is not None:
        compilers.append(cupy_compiler)
    libraries, failures = ctypes_nvrtc.available()
    compilers += [ctypes_nvrtc_compiler(library) for library in libraries]
    problems += [f"NVRTC library {failure}" for failure in failures]
    nvcc = nvcc_compiler()
    if nvcc is not None:
        compilers.append(nvcc)
    return compilers, problems


def cupy_nvrtc_compiler() -> Compiler | None:
    """NVRTC through CuPy, or None without a CuPy whose NVRTC loads."""
    try:
        from cupy.cuda import nvrtc
        supported = frozenset(nvrtc.getSupportedArchs())
        major, minor = nvrtc.getVersion()
    except Exception:  # no CuPy, or CuPy without a loadable NVRTC
        return None
    name = f"NVRTC {major}.{minor} via CuPy"

    def compile_one(source: KernelSource, arch: str, precision: str,
                    defines: Sequence[str] = ()) -> CompileResult:
        program = nvrtc.createProgram(source.code, "gpunep_kernels.cu", [], [])
        try:
            nvrtc.compileProgram(program, options(source, arch, precision, defines))
            return CompileResult(arch, precision, True, nvrtc.getProgramLog(program), name)
        except nvrtc.NVRTCError as exc:
            return CompileResult(arch, precision, False, f"{exc}\n{nvrtc.getProgramLog(program)}", name)
        finally:
            nvrtc.destroyProgram(program)

    return Compiler(name, supported, compile_one)


def ctypes_nvrtc_compiler(library: ctypes_nvrtc.NvrtcLibrary) -> Compiler:
    """NVRTC from a library loaded with ctypes."""
    name = f"NVRTC {library.version[0]}.{library.version[1]} via ctypes: {library.path}"

    def compile_one(source: KernelSource, arch: str, precision: str,
                    defines: Sequence[str] = ()) -> CompileResult:
        output = library.compile(source.code, "gpunep_kernels.cu",
                                 options(source, arch, precision, defines))
        return CompileResult(arch, precision, output.ok, output.log, name)

    return Compiler(name, frozenset(library.archs), compile_one)


def nvcc_compiler() -> Compiler | None:
    """``nvcc -cubin`` when nvcc is on the PATH."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        return None
    supported = nvcc_architectures(nvcc)
    name = f"nvcc {_nvcc_release(nvcc)}: {nvcc}"

    def compile_one(source: KernelSource, arch: str, precision: str,
                    defines: Sequence[str] = ()) -> CompileResult:
        with tempfile.TemporaryDirectory() as tmp:
            unit = Path(tmp) / "gpunep_kernels.cu"
            unit.write_text(source.code)
            command = [nvcc, "-cubin", f"-arch={arch}", "-std=c++17",
                       f"-DNEP_REAL={real_type(precision)}", *defines, "-I", str(source.include_dir),
                       "-Xptxas", "-v", "-o", str(Path(tmp) / "gpunep_kernels.cubin"), str(unit)]
            result = subprocess.run(command, capture_output=True, text=True)
        log = (result.stdout + result.stderr).strip()
        return CompileResult(arch, precision, result.returncode == 0, log, name)

    return Compiler(name, frozenset(supported) or None, compile_one)


def arch_number(arch: str) -> int:
    return int(re.sub(r"\D", "", arch))


def not_checked_reason(arch: str, compilers: Sequence[Compiler]) -> str:
    """Why ``arch`` could not be checked, and what to install."""
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
