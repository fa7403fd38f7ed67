"""Every kernel compiles for real GPU architectures (NVRTC through CuPy, or nvcc -cubin).

No GPU is needed: only the compiler. Without CuPy and nvcc the tests skip
and say so; an architecture the available compiler cannot target at all
(CUDA 13's nvcc has no sm_70) skips with the compiler's list.
"""

from __future__ import annotations

import shutil

import pytest

from gpunep import doctor
from gpunep.backends.kernel_source import source_from_text


def _have_cuda_compiler() -> bool:
    if shutil.which("nvcc"):
        return True
    try:
        from cupy.cuda import nvrtc  # noqa: F401
    except ImportError:
        return False
    return True


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _have_cuda_compiler(), reason="neither nvcc nor CuPy (NVRTC) is installed"),
]


@pytest.fixture(scope="module")
def results():
    return {(r.arch, r.precision): r for r in doctor.compile_all(("sm_70", "sm_80", "sm_90"))}


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("arch", ["sm_70", "sm_80", "sm_90"])
def test_every_kernel_compiles(results, arch, precision):
    r = results[(arch, precision)]
    if r.ok is None:
        pytest.skip(r.log)
    assert r.ok, f"{arch} {precision} failed to compile:\n{r.log}"


def test_a_compile_error_is_reported_with_its_log():
    compiler = doctor._nvrtc_compiler() or doctor._nvcc_compiler()
    source = source_from_text('extern "C" __global__ void nep_broken(double* x) { x[0] = nonsense_here; }')
    r = compiler(source, "sm_80", "float32")
    assert r.ok is False and "nonsense_here" in r.log


@pytest.mark.parametrize(
    "statuses, code",
    [((True, True), 0),      # all compiled
     ((True, None), 0),      # one architecture beyond this compiler: reported, not a failure
     ((True, False), 1),     # any compile error fails
     ((None, None), 1)],     # nothing could be checked: not a pass either
)
def test_doctor_exit_status(monkeypatch, capsys, statuses, code):
    fake = [doctor.CompileResult(f"sm_{80 + 10 * k}", "float32", ok, "log text")
            for k, ok in enumerate(statuses)]
    monkeypatch.setattr(doctor, "compile_all", lambda archs: fake)
    assert doctor.main(["--compile", "sm_80,sm_90"]) == code
    out = capsys.readouterr().out
    for r in fake:
        assert f"compile {r.arch} float32: {({True: 'ok', False: 'FAILED', None: 'NOT CHECKED'})[r.ok]}" in out
