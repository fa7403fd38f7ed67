"""benchmarks/gpu/run.sh, the one prepared GPU check, at least parses and refuses to run unprepared.

Its full dry run (``bash benchmarks/gpu/run.sh OUT --dry-run``: install from the
carried wheels for Python 3.12, doctor, GPU tests collected, stand-in tests,
host benchmark) takes minutes and needs the prepared folder, so it is run by
hand (benchmarks/gpu/README.md), not here.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

GPU = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu"


@pytest.mark.parametrize("script", ["run.sh", "prepare.sh"])
def test_the_scripts_parse(script: str):
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    subprocess.run(["bash", "-n", str(GPU / script)], check=True)


def test_run_refuses_without_the_prepared_folder(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    done = subprocess.run(["bash", str(GPU / "run.sh"), str(tmp_path / "out")], capture_output=True,
                          text=True, env={"GPUNEP_CARRY": str(tmp_path / "missing"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2 and "run benchmarks/gpu/prepare.sh first" in done.stdout


def test_the_results_table_has_one_header_per_kind_of_row():
    spec = importlib.util.spec_from_file_location("bench_gpu", GPU / "bench_gpu.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = [{"case": "a", "atoms": 8, "rate": 1234.5678}, {"case": "b", "atoms": 64, "rate": 2.0},
            {"case": "c", "frames": 3}]
    lines = bench.markdown(rows).strip().splitlines()
    assert lines[0] == "| case | atoms | rate |" and lines[2] == "| a | 8 | 1235 |"
    assert "| case | frames |" in lines and len(lines) == 8
