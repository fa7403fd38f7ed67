"""Every kernel compiles for real GPU architectures: sm_70, sm_80 and sm_90, float32 and float64.

No GPU is needed, only a compiler: NVRTC through CuPy, NVRTC through ctypes
(the ``nvidia-cuda-nvrtc-cu12`` wheel, installed by CI through the
``gpu-check`` extra) or ``nvcc -cubin``. A case skips only when no available
compiler can target its architecture, and then says which compilers were
found and what to install.
"""

from __future__ import annotations

import os
import struct

import pytest

from gpunep import doctor
from gpunep.doctor import nvrtc
from gpunep.engine.builds import Build, check_builds
from gpunep.executors.executor import Executor
from gpunep.executors.kernel_source import load_source, source_from_text

ARCHS = ("sm_70", "sm_80", "sm_90")
#: architectures whose compile check must run, never skip (.ci/run sets them)
REQUIRED_ARCHS = tuple(a for a in os.environ.get("GPUNEP_REQUIRE_GPU_ARCHS", "").split(",") if a)
EM_CUDA = 190  # ELF e_machine of NVIDIA cubins

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results():
    try:
        by_case: dict[tuple[str, str], list] = {}
        for r in doctor.compile_all(ARCHS):
            by_case.setdefault((r.arch, r.precision), []).append(r)
        return by_case
    except RuntimeError as exc:  # no compiler at all
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def nvrtc_library() -> nvrtc.NvrtcLibrary:
    libraries, failures = nvrtc.available()
    if not libraries:
        pytest.skip(f"no loadable NVRTC library ({'; '.join(failures) or 'none found'}): {doctor.INSTALL_HINT}")
    return libraries[0]


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("arch", ARCHS)
def test_every_kernel_compiles(results, arch, precision):
    builds = results[(arch, precision)]
    # every translation unit CI checks: the lists module and model modules covering every kernel
    assert {r.build for r in builds} == {b.label for b in check_builds(Executor("cuda", precision))}
    for r in builds:
        if r.ok is None:
            if arch in REQUIRED_ARCHS:  # CI's toolchain must check this architecture
                pytest.fail(f"{arch} could not be checked, and GPUNEP_REQUIRE_GPU_ARCHS asks for it:\n{r.log}")
            pytest.skip(r.log)
        assert r.ok, f"{arch} {precision} {r.build} failed to compile with {r.compiler}:\n{r.log}"
        assert r.compiler


def _cubin_sm(cubin: bytes) -> int:
    """The sm_XX number an NVIDIA cubin was built for, read from its ELF header.

    e_flags holds it: in the low byte for the classic CUDA ELF ABI (OS/ABI
    byte 0x33, what NVRTC 12 writes), in bits 8-15 for the ABI that CUDA 13
    introduced (OS/ABI byte 0x41); cuobjdump reads the same field.
    """
    assert cubin[:4] == b"\x7fELF" and struct.unpack_from("<H", cubin, 18)[0] == EM_CUDA
    flags = struct.unpack_from("<I", cubin, 48)[0]
    return (flags >> 8) & 0xFF if cubin[7] == 0x41 else flags & 0xFF


@pytest.mark.parametrize("arch", ARCHS)
def test_nvrtc_cubin_is_machine_code_for_the_requested_arch(nvrtc_library, arch):
    """The ctypes path returns a real cubin (ptxas ran) for the requested sm_XX, holding every kernel."""
    number = int(arch[3:])
    if number not in nvrtc_library.archs:
        pytest.skip(f"NVRTC {nvrtc_library.version} ({nvrtc_library.path}) cannot target {arch}")
    source = load_source(["nep_neighbor.cu"])
    output = nvrtc_library.compile(source.code, "gpunep_kernels.cu", doctor.options(source, arch, "float64"))
    assert output.ok, output.log
    assert _cubin_sm(output.cubin) == number
    for name in source.signatures:
        assert name.encode() in output.cubin


def test_a_compile_error_is_reported_with_its_log_through_ctypes_nvrtc(nvrtc_library):
    source = source_from_text('extern "C" __global__ void nep_broken(double* x) { x[0] = nonsense_here; }')
    compiler = doctor.ctypes_nvrtc_compiler(nvrtc_library)
    r = compiler.compile(source, "sm_80", "float32")
    assert r.ok is False
    assert "NVRTC_ERROR_COMPILATION" in r.log and "nonsense_here" in r.log  # NVRTC's own diagnostic
    assert r.compiler.startswith("NVRTC")


def test_a_virtual_architecture_is_not_passed_as_compiled(nvrtc_library):
    """compute_80 gives PTX only; without a cubin ptxas never ran, so it must not count as checked."""
    source = source_from_text('extern "C" __global__ void nep_fine(double* x) { x[0] = 1.0; }')
    output = nvrtc_library.compile(source.code, "probe.cu", ["--gpu-architecture=compute_80"])
    assert output.ok is False and "no cubin" in output.log


def test_every_available_compiler_builds_a_kernel():
    """Compilers the matrix did not pick (e.g. nvcc behind NVRTC) still work, and fail on bad code."""
    compilers, problems = doctor.available_compilers()
    if not compilers:
        pytest.skip(f"no CUDA compiler ({'; '.join(problems) or 'none found'}): {doctor.INSTALL_HINT}")
    good = source_from_text('#include "nep_types.cuh"\n'
                            'extern "C" __global__ void nep_fine(double* x) { x[threadIdx.x] *= 2.0; }')
    bad = source_from_text('extern "C" __global__ void nep_broken(double* x) { x[0] = nonsense_here; }')
    for compiler in compilers:
        arch = "sm_90" if compiler.supports("sm_90") else f"sm_{max(compiler.archs)}"
        ok = compiler.compile(good, arch, "float64")
        assert ok.ok is True, f"{compiler.name}: {ok.log}"
        failed = compiler.compile(bad, arch, "float32")
        assert failed.ok is False and "nonsense_here" in failed.log, compiler.name


def _fake_compiler(name, archs, calls):
    def compile_one(source, arch, precision, defines=()):
        calls.append((name, arch, precision))
        return doctor.CompileResult(arch, precision, True, "", name)

    return doctor.Compiler(name, frozenset(archs), compile_one)


def test_each_arch_goes_to_the_first_compiler_that_targets_it(monkeypatch):
    calls = []
    compilers = [_fake_compiler("cupy", {80, 90}, calls), _fake_compiler("ctypes", {70, 80}, calls),
                 _fake_compiler("nvcc", {75, 80, 90}, calls)]
    monkeypatch.setattr(doctor, "available_compilers", lambda: (compilers, []))
    results = doctor.compile_all(("sm_70", "sm_80", "sm_90", "sm_61"), precisions=("float32",),
                                 builds=[Build("one unit", ("nep_reduce.cu",))])
    assert calls == [("ctypes", "sm_70", "float32"), ("cupy", "sm_80", "float32"), ("cupy", "sm_90", "float32")]
    unchecked = results[-1]
    assert unchecked.arch == "sm_61" and unchecked.ok is None and unchecked.compiler == ""
    assert "nvidia-cuda-nvrtc-cu12" in unchecked.log and "nvcc targets sm_75 to sm_90" in unchecked.log


def test_no_compiler_at_all_names_what_to_install(monkeypatch):
    monkeypatch.setattr(doctor, "available_compilers", lambda: ([], []))
    with pytest.raises(RuntimeError, match="nvidia-cuda-nvrtc-cu12"):
        doctor.compile_all(("sm_80",))


@pytest.mark.parametrize(
    "statuses, code",
    [((True, True), 0),      # all compiled
     ((True, None), 1),      # an architecture asked for but not checkable: not a pass
     ((True, False), 1),     # any compile error fails
     ((None, None), 1)],     # nothing could be checked
)
def test_doctor_exit_status(monkeypatch, capsys, statuses, code):
    fake = [doctor.CompileResult(f"sm_{80 + 10 * k}", "float32", ok, "log text", "fake" if ok is not None else "")
            for k, ok in enumerate(statuses)]
    monkeypatch.setattr(doctor, "compile_all", lambda archs: fake)
    assert doctor.main(["--compile", "sm_80,sm_90"]) == code
    captured = capsys.readouterr()
    for r in fake:
        assert f"compile {r.arch} float32: {({True: 'ok', False: 'FAILED', None: 'NOT CHECKED'})[r.ok]}" in captured.out
    if None in statuses:
        assert "could not be checked" in captured.err and "pip install nvidia-cuda-nvrtc-cu12" in captured.err


def test_doctor_report_lists_each_compiler_with_its_archs():
    report = doctor.doctor_report()
    compilers, _ = doctor.available_compilers()
    for compiler in compilers:
        assert compiler.name in report
        if compiler.archs:
            assert " ".join(f"sm_{a}" for a in sorted(compiler.archs)) in report
