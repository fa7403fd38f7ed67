"""What the GPU compiler makes of the kernels specialised for a model (ptxas's report).

The budget: every kernel of a potential specialised for NEP89's architecture
(float32, sm_90, the way gpunep compiles it on an H100/H200) keeps its stack
frame within 2,048 bytes and spills nothing; per-atom arrays of compile-time
size live in registers or a small local frame. The architecture is NEP89's
(generated weights: the kernels depend on the sizes only), so no model file
is needed. Skips only when no compiler can target sm_90, naming what to install.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gpunep import bench
from gpunep.doctor import compilers, resources
from gpunep.engine.builds import evaluator_builds
from gpunep.executors.executor import Executor
from gpunep.executors.kernel_source import source_from_text

STACK_BUDGET = 2048  # bytes per thread (issue: GPUMD's find_descriptor uses 920)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nep89_rows():
    try:
        return resources.kernel_resources(bench.nep89_like_model(), "sm_90", "float32")
    except RuntimeError as exc:
        if "no available compiler" in str(exc):
            pytest.skip(str(exc))
        raise


def test_nep89_potential_kernels_fit_the_register_budget(nep89_rows):
    model_rows = [r for r in nep89_rows if r.build != "lists"]
    assert {r.kernel for r in model_rows} == {"nep_potential", "nep_force", "nep_descriptor"}
    for r in model_rows:
        assert r.stack_bytes <= STACK_BUDGET, r
        assert r.spill_store_bytes == 0 and r.spill_load_bytes == 0, r
        assert r.registers <= 255, r


def test_every_kernel_of_the_model_is_reported(nep89_rows):
    expected = set()
    from gpunep.executors.kernel_source import load_source

    for build in evaluator_builds(bench.nep89_like_model(), Executor("cuda", "float32")):
        expected |= set(load_source(build.files).signatures)
    assert {r.kernel for r in nep89_rows} == expected


def test_ptxas_reports_are_parsed_per_kernel():
    log = """ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'nep_a' for 'sm_90'
ptxas info    : Function properties for nep_a
    1104 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads
ptxas info    : Used 254 registers, used 0 barriers, 1104 bytes cumulative stack size
ptxas info    : Compiling entry function 'nep_b' for 'sm_80'
ptxas info    : Function properties for nep_b
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 30 registers, 64 bytes smem, 380 bytes cmem[0]
"""
    a, b = resources.parse_ptxas(log, "unit")
    assert (a.kernel, a.registers, a.stack_bytes, a.spill_store_bytes, a.spill_load_bytes) == (
        "nep_a", 254, 1104, 8, 12)
    assert (b.kernel, b.registers, b.stack_bytes, b.shared_bytes, b.build) == ("nep_b", 30, 0, 64, "unit")


def test_emitted_units_reproduce_the_report(tmp_path, nep89_rows):
    """nvcc (or NVRTC) on the emitted files with nvcc_options.txt gives what gpunep compiles."""
    model = bench.nep89_like_model()
    paths = resources.emit(tmp_path, model, "float32")
    options = (tmp_path / "nvcc_options.txt").read_text().split()
    units = [p for p in paths if p.suffix == ".cu"]
    assert len(units) == 2
    for unit in units:
        assert '#include "' not in unit.read_text()  # self-contained
    available, _ = compilers.available_compilers()
    compiler = next((c for c in available if c.supports("sm_90")), None)
    assert compiler is not None  # the fixture would have skipped
    rows = []
    for unit in units:
        code = unit.read_text()
        source = source_from_text(code, unit.name)
        # the options file carries NEP_REAL and the architecture: compile with them alone
        defines = [o for o in options if o.startswith("-D") and not o.startswith("-DNEP_REAL")]
        result = compiler.compile(source, "sm_90", "float32", defines)
        assert result.ok, result.log
        rows += resources.parse_ptxas(result.log)
    expected = {(r.kernel, r.registers, r.stack_bytes, r.spill_store_bytes) for r in nep89_rows}
    assert {(r.kernel, r.registers, r.stack_bytes, r.spill_store_bytes) for r in rows} == expected


def test_doctor_resources_command(capsys):
    from gpunep.cli import main

    model_file = Path(__file__).parent / "_nep89_like.txt"
    try:
        bench.nep89_like_model().write(str(model_file))
        code = main(["doctor", "--resources", str(model_file)])
    finally:
        model_file.unlink(missing_ok=True)
    out = capsys.readouterr().out
    if code == 1 and "no available compiler" in capsys.readouterr().err:
        pytest.skip("no compiler targets sm_90")
    assert code == 0
    assert "nep_potential" in out and "stack" in out and "sm_90" in out
