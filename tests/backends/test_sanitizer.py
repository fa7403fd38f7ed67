"""The NEP kernels run clean under AddressSanitizer (the CPU stand-in for compute-sanitizer).

A child process builds the host kernels with ``GPUNEP_SANITIZE=address``
(separate cache entries) and runs agreement cases that reach every kernel:
all invariants up to l = 8, NEP5 and flexible ZBL, in both precisions, on
the structure zoo (tiny cells, slabs, molecules). Any out-of-bounds read or
write aborts the child with an AddressSanitizer report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import sys
sys.path.insert(0, {tests!r})
from gpunep.model import random_model
import test_agreement as agreement

models = [
    random_model(("Te", "Pb"), l_max=(8, 2, 1, 1, 1, 1, 1), cutoff=(6.0, 5.0), seed=1),
    random_model(("Te", "Pb", "O"), version=5, zbl=(0.0, 0.0), seed=2),
]
# float32 is compared loosely here: this test is about memory safety
for precision, rtol in (("float64", agreement.RTOL_FLOAT64), ("float32", 1e-3)):
    for model in models:
        agreement.assert_agrees(model, agreement.structure_zoo(model.types), precision, rtol)
print("clean")
"""


def _libasan() -> str | None:
    compiler = shutil.which(os.environ.get("CXX", "g++").split()[0])
    if compiler is None:
        return None
    path = subprocess.run([compiler, "-print-file-name=libasan.so"], capture_output=True,
                          text=True).stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


@pytest.mark.slow
def test_kernels_are_clean_under_address_sanitizer(tmp_path):
    libasan = _libasan()
    if libasan is None:
        pytest.skip("the C++ compiler has no AddressSanitizer runtime (libasan.so)")
    env = dict(os.environ, GPUNEP_SANITIZE="address", GPUNEP_CACHE_DIR=str(tmp_path / "cache"),
               LD_PRELOAD=libasan, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1")
    child = CHILD.format(tests=str(REPO / "tests" / "backends"))
    run = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0 and run.stdout.strip().endswith("clean"), run.stderr[-4000:]
