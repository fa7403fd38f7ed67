"""The host kernels under AddressSanitizer (the CPU stand-in for compute-sanitizer memcheck).

Each case runs in a subprocess with ``GPUNEP_SANITIZE=address`` (an
ASan-instrumented build, cached separately) and libasan preloaded, so that
an out-of-bounds access in any kernel aborts the process with a report.
The first test proves the harness catches a deliberate overflow. The NEP
physics kernels have their own sanitizer run (test_sanitizer.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _libasan() -> str:
    compiler = os.environ.get("CXX", "g++").split()[0]
    try:
        out = subprocess.run([compiler, "-print-file-name=libasan.so"], capture_output=True,
                             text=True, timeout=60).stdout.strip()
    except OSError:
        return ""
    return out if os.path.isabs(out) and Path(out).exists() else ""


LIBASAN = _libasan()
if not LIBASAN:
    pytest.skip("libasan (the compiler's AddressSanitizer runtime) is not installed",
                allow_module_level=True)


def run_sanitized(script: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GPUNEP_SANITIZE="address", LD_PRELOAD=LIBASAN,
               # Python itself keeps memory alive at exit; only memory errors matter here
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=86")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env,
                          capture_output=True, text=True, timeout=900)


def test_asan_catches_an_out_of_bounds_write():
    result = run_sanitized("""
        import numpy as np
        from gpunep.executors import host
        m = host.compile_source('extern "C" __global__ void nep_oob(int n, double* x)'
                                '{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i <= n) x[i] = 1.0; }',
                                "float64")
        x = np.zeros(64)
        m.get_function("nep_oob")((2,), (64,), (np.int32(64), x))  # writes x[64]
    """)
    assert result.returncode == 86, result.stderr[-3000:]
    assert "heap-buffer-overflow" in result.stderr


def test_neighbor_kernels_run_clean():
    # both strategies, tiny/slab/molecule cells in one batch, and overflowing lists
    result = run_sanitized("""
        import numpy as np
        from gpunep.executors import host
        from gpunep.engine.neighbors import build_neighbor_lists
        rng = np.random.default_rng(0)
        m = host.load_module("float64", files=["nep_neighbor.cu"])
        cells = np.array([np.eye(3) * 9.0, [[2.1, 0, 0], [1.7, 1.2, 0], [-0.9, 0.6, 1.4]],
                          [[7.0, 0, 0], [2.5, 6.5, 0], [0, 0, 0]], np.zeros((3, 3))])
        pbc = np.array([[1, 1, 1], [1, 1, 1], [1, 1, 0], [0, 0, 0]], np.int32)
        counts = [60, 1, 30, 20]
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        pos = np.concatenate([rng.random((n, 3)) @ (c if p.all() else np.diag([8.0, 8.0, 8.0]))
                              for n, c, p in zip(counts, cells, pbc)])
        types = rng.integers(0, 2, len(pos)).astype(np.int32)
        rc_r, rc_a = np.array([4.0, 4.5, 4.5, 5.0]), np.array([3.0, 3.2, 3.2, 3.4])
        for strategy in ("small", "cell"):
            for caps in ((400, 400), (5, 2), (1, 1)):
                nl = build_neighbor_lists(m, pos, types, cells, pbc, offsets, rc_r, rc_a, *caps,
                                          strategy=strategy)
                print(strategy, caps, nl.max_counts)
    """)
    assert result.returncode == 0, result.stderr[-5000:]
    assert result.stdout.count("small") == 3 and result.stdout.count("cell") == 3
