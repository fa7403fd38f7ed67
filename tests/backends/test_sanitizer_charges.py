"""The charge, Ewald, BEC and dipole kernels run clean under AddressSanitizer.

As tests/backends/test_sanitizer.py does for the potential kernels: a child
process builds the host kernels with ``GPUNEP_SANITIZE=address`` (its own
cache) and runs agreement cases that reach every kernel of
kernels/nep_charge.cu, nep_ewald.cu and nep_tnep.cu: both charge modes, ZBL,
l_max 8 with every invariant, a cell without k-vectors, net charges, a
dipole and a polarizability model on every periodicity, in both precisions.
Any out-of-bounds read or write aborts the child with a report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backends.test_sanitizer import _libasan

TESTS = Path(__file__).resolve().parents[1]

CHILD = """
import sys
sys.path[:0] = [{tests!r}, {backends!r}]
import test_charge_agreement as charges
import test_tnep_agreement as tnep
from backends.test_agreement import structure_zoo

# float32 is compared loosely here: this test is about memory safety
for precision, rtol in (("float64", charges.RTOL_FLOAT64), ("float32", 1e-3)):
    for name in ("mode1_zbl_universal", "mode2_l_max_8"):
        model = charges.GENERATED[name]()
        charges.assert_below(charges.compare(model, charges.generated_structures(), precision), rtol)
    for name in ("dipole_l_max_8", "polarizability"):
        model = tnep.GENERATED[name]()
        tnep.assert_below(tnep.compare(model, structure_zoo(model.types), precision), rtol)
print("clean")
"""


@pytest.mark.slow
def test_charge_and_tensor_kernels_are_clean_under_address_sanitizer(tmp_path):
    libasan = _libasan()
    if libasan is None:
        pytest.skip("the C++ compiler has no AddressSanitizer runtime (libasan.so)")
    env = dict(os.environ, GPUNEP_SANITIZE="address", GPUNEP_CACHE_DIR=str(tmp_path / "cache"),
               LD_PRELOAD=libasan, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1")
    child = CHILD.format(tests=str(TESTS), backends=str(TESTS / "backends"))
    run = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0 and run.stdout.strip().endswith("clean"), run.stderr[-4000:]
