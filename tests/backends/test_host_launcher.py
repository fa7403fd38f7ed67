"""The host executor: compiling, launching, and refusing every argument CuPy would mangle.

The kernels here are tiny test-only sources compiled with
``gpunep.executors.host.compile_source``; the expected numbers are computed in
numpy from the same inputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gpunep.executors import host
from gpunep.executors.signature import parse_signatures
from gpunep.errors import BackendUnavailableError, KernelArgumentError, KernelCompileError

# One kernel with every allowed parameter type.
MIXED = """
#include "nep_types.cuh"
extern "C" __global__ void nep_test_mixed(
  int n, unsigned long long big, float f, double d, real r,
  const int* __restrict__ ints, const real* values, double* out)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  out[i] = (double)n + (double)(big % 1000ULL) + (double)f + d + (double)r + ints[i] + (double)values[i];
}
"""

# Launch geometry and atomics: every simulated thread records its global id.
GEOMETRY = """
extern "C" __global__ void nep_test_geometry(int* hits, int* largest, double* total)
{
  const unsigned bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const int id = (int)(bx * blockDim.x * blockDim.y * blockDim.z + tx);
  atomicAdd(&hits[id], 1);
  atomicMax(largest, id);
  atomicAdd(total, 0.5);
}
"""


@pytest.fixture(scope="module")
def mixed32():
    return host.compile_source(MIXED, "float32")


@pytest.fixture(scope="module")
def mixed64():
    return host.compile_source(MIXED, "float64")


def _mixed_args(module, **override):
    n = 70
    args = dict(
        n=np.int32(n),
        big=np.uint64(2**40 + 123),
        f=np.float32(0.25),
        d=1.5,
        r=module.real_dtype.type(0.125),
        ints=np.arange(n, dtype=np.int32),
        values=np.linspace(0, 1, n).astype(module.real_dtype),
        out=np.zeros(n),
    )
    args.update(override)
    return args


def _launch(module, args, sizes=None, grid=(2,), block=(64,)):
    module.get_function("nep_test_mixed")(grid, block, tuple(args.values()), sizes=sizes)


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_values_arrive_intact(precision, mixed32, mixed64):
    module = mixed32 if precision == "float32" else mixed64
    a = _mixed_args(module)
    _launch(module, a, sizes={"ints": 70, "values": 70, "out": 70})
    # 2**40 + 123 mod 1000 = 899: the 64-bit scalar was not truncated to 32 bits
    expected = 70 + (2**40 + 123) % 1000 + 0.25 + 1.5 + 0.125 + np.arange(70) + a["values"].astype(float)
    np.testing.assert_array_equal(a["out"], expected)  # exact: all terms are exact in double


def test_launch_geometry_and_atomics():
    module = host.compile_source(GEOMETRY, "float64")
    grid, block = (3, 2, 2), (4, 2, 3)
    n = 12 * 24
    hits, largest, total = np.zeros(n, np.int32), np.zeros(1, np.int32), np.zeros(1)
    module.get_function("nep_test_geometry")(grid, block, (hits, largest, total))
    np.testing.assert_array_equal(hits, 1)  # every (block, thread) ran exactly once
    assert largest[0] == n - 1
    assert total[0] == 0.5 * n  # the double atomicAdd lost no update across OpenMP threads


# ------------------------------------------------------------ argument rules

@pytest.mark.parametrize(
    "param, value, message",
    [
        ("n", 70, "Python int"),                     # CuPy would pass a 64-bit integer
        ("n", np.int64(70), "np.int64"),
        ("n", True, "Python bool"),
        ("n", np.float32(70), "np.float32"),
        ("big", 2**40 + 123, "Python int"),
        ("big", np.int64(5), "np.int64"),
        ("f", 0.25, "Python float"),                 # CuPy would pass a double
        ("f", np.float64(0.25), "np.float64"),
        ("d", 1, "Python int"),                      # an int where a double is read
        ("d", np.float32(1.5), "np.float32"),
        ("r", 0.125, "Python float"),               # real needs the build's own scalar type
        ("r", np.float64(0.125), "np.float64"),
    ],
)
def test_wrong_scalar_is_refused(mixed32, param, value, message):
    a = _mixed_args(mixed32, **{param: value})
    with pytest.raises(KernelArgumentError, match=rf"nep_test_mixed.*'{param}'.*{message}"):
        _launch(mixed32, a)
    assert not a["out"].any()  # nothing ran


def test_real_scalar_follows_the_precision(mixed64):
    a = _mixed_args(mixed64, r=np.float32(0.125))
    with pytest.raises(KernelArgumentError, match=r"'r' \(real\) expects np.float64"):
        _launch(mixed64, a)


@pytest.mark.parametrize(
    "param, make, message",
    [
        ("ints", lambda n: np.arange(n, dtype=np.int64), "expects dtype int32, got int64"),
        ("values", lambda n: np.linspace(0, 1, n), "expects dtype float32, got float64"),
        ("out", lambda n: np.zeros(n, np.float32), "expects dtype float64"),
        ("out", lambda n: np.zeros(2 * n)[::2], "C-contiguous"),
        ("out", lambda n: np.zeros((n, 2)).T, "C-contiguous"),
        ("out", lambda n: 12345678, "Python int"),   # an address-like int for a pointer
        ("out", lambda n: 1.0, "Python float"),
        ("out", lambda n: [0.0] * n, "list"),
        ("ints", lambda n: np.int32(3), "np.int32"),
    ],
)
def test_wrong_pointer_is_refused(mixed32, param, make, message):
    a = _mixed_args(mixed32, **{param: make(70)})
    with pytest.raises(KernelArgumentError, match=rf"'{param}'.*{message}"):
        _launch(mixed32, a)


def test_read_only_array_for_written_pointer(mixed32):
    out = np.zeros(70)
    out.flags.writeable = False
    with pytest.raises(KernelArgumentError, match="'out'.*read-only"):
        _launch(mixed32, _mixed_args(mixed32, out=out))
    ints = np.arange(70, dtype=np.int32)
    ints.flags.writeable = False  # fine for a const pointer
    a = _mixed_args(mixed32, ints=ints)
    _launch(mixed32, a)
    assert a["out"][69] > 0


def test_wrong_length_is_refused(mixed32):
    a = _mixed_args(mixed32)
    with pytest.raises(KernelArgumentError, match="'values'.*expects 71 elements, got 70"):
        _launch(mixed32, a, sizes={"values": 71})
    with pytest.raises(KernelArgumentError, match=r"not pointer parameters"):
        _launch(mixed32, a, sizes={"n": 70})
    with pytest.raises(KernelArgumentError, match=r"not pointer parameters"):
        _launch(mixed32, a, sizes={"valuez": 70})


def test_wrong_argument_count_and_container(mixed32):
    args = tuple(_mixed_args(mixed32).values())
    fn = mixed32.get_function("nep_test_mixed")
    with pytest.raises(KernelArgumentError, match="expects 8 arguments.*got 7"):
        fn((2,), (64,), args[:-1])
    with pytest.raises(KernelArgumentError, match="expects 8 arguments.*got 9"):
        fn((2,), (64,), args + (np.int32(0),))
    with pytest.raises(KernelArgumentError, match="args must be a tuple"):
        fn((2,), (64,), list(args))


@pytest.mark.parametrize(
    "grid, block, message",
    [
        ((0,), (64,), r"grid\[0\] = 0"),            # an empty launch fails on the GPU
        ((2,), (2048,), r"block\[0\] = 2048"),
        ((2,), (64, 32), "more than 1024 threads"),
        ((2.0,), (64,), r"grid\[0\] must be an int"),
        (2, (64,), "grid must be a tuple"),
        ((1, 1, 1, 1), (64,), "grid must be a tuple"),
        ((2,), (1, 1, 65), r"block\[2\] = 65"),
    ],
)
def test_wrong_launch_shape_is_refused(mixed32, grid, block, message):
    with pytest.raises(KernelArgumentError, match=message):
        _launch(mixed32, _mixed_args(mixed32), grid=grid, block=block)


def test_unknown_kernel_name(mixed32):
    with pytest.raises(KeyError, match="no kernel 'nep_nope'.*nep_test_mixed"):
        mixed32.get_function("nep_nope")


# ------------------------------------------------------------ compiling

def test_compile_error_surfaces_the_log():
    source = 'extern "C" __global__ void nep_test_bad(double* x) { x[0] = undeclared_thing; }'
    with pytest.raises(KernelCompileError, match=r"(?s)host compile failed.*undeclared_thing"):
        host.compile_source(source, "float64")


@pytest.mark.parametrize("construct", ["__syncthreads();", "__shared__ double s[4]; s[0] = 1; x[0] = s[0];",
                                       "x[0] = __shfl_down_sync(0xffffffffu, x[0], 1);"])
def test_shim_refuses_block_cooperation(construct):
    # The host executor runs a block's threads one after another: cooperation cannot work there.
    source = f'extern "C" __global__ void nep_test_coop(double* x) {{ {construct} }}'
    with pytest.raises(KernelCompileError):
        host.compile_source(source, "float64")


def test_parameter_outside_the_contract_is_refused():
    source = 'extern "C" __global__ void nep_test_short(int n, short* s) {}'
    with pytest.raises(KernelCompileError, match=r"nep_test_short, parameter 1 'short\* s'.*not allowed"):
        host.compile_source(source, "float64")


def test_signature_parser():
    text = textwrap.dedent("""
        // extern "C" __global__ void nep_commented_out(int a)
        /* extern "C" __global__ void nep_block_comment(int a) */
        extern "C" __global__ void __launch_bounds__(64)
        nep_a(const int N, const double* __restrict__ x, real* y, unsigned long long seed,
              double* const z)
        {}
        extern "C" __global__ void nep_b(void) {}
    """)
    a, b = parse_signatures(text)
    assert a.name == "nep_a" and b.name == "nep_b" and b.params == ()
    assert [(p.name, p.base, p.pointer, p.const) for p in a.params] == [
        ("N", "int", False, False),
        ("x", "double", True, True),
        ("y", "real", True, False),
        ("seed", "unsigned long long", False, False),
        ("z", "double", True, False),  # a const pointer to non-const data is written through
    ]


def test_missing_compiler_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no compiler on the PATH
    with pytest.raises(BackendUnavailableError, match="apt install g\\+\\+"):
        host.find_compiler()
    monkeypatch.setenv("CXX", "/nonexistent/g++")
    with pytest.raises(BackendUnavailableError, match="CXX='/nonexistent/g\\+\\+'"):
        host.find_compiler()


def test_build_is_cached_per_user_and_reused(tmp_path):
    """A second process loads the cached library instead of compiling again."""
    script = textwrap.dedent(f"""
        import numpy as np
        from gpunep.executors import host
        m = host.compile_source({GEOMETRY!r}, "float64")
        print(m.handle._name)
    """)
    env = dict(os.environ, GPUNEP_CACHE_DIR=str(tmp_path))

    def run() -> Path:
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True)
        return Path(out.stdout.strip())

    first = run()
    assert first.parent == tmp_path / "host" and first.exists()
    stamp = first.stat().st_mtime_ns
    second = run()
    assert second == first and first.stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert sorted(p.name for p in (tmp_path / "host").iterdir()) == [first.name]  # no temp left

    env["GPUNEP_NO_NATIVE"] = "1"  # other flags: another cache entry
    third = run()
    assert third != first and third.exists()


def test_a_damaged_cached_library_is_built_again(tmp_path):
    """A cached library cut short (a full disk, an interrupted copy) is rebuilt by the
    next process that needs it, not a failure (each process in its own interpreter: a
    library a process has loaded stays mapped)."""
    script = textwrap.dedent("""
        import numpy as np
        from gpunep.executors import host
        module = host.compile_source(
            'extern "C" __global__ void nep_probe_rebuild(double* x) { x[threadIdx.x] = 2.0; }',
            "float64", "rebuild probe")
        x = np.zeros(4)
        module.get_function("nep_probe_rebuild")((1,), (4,), (x,), sizes={"x": 4})
        print(x.tolist(), module.compile_seconds > 0)
    """)
    env = dict(os.environ, GPUNEP_CACHE_DIR=str(tmp_path))
    run = lambda: subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                 text=True, check=True).stdout.split()
    assert run()[-1] == "True"  # compiled
    (library,) = (tmp_path / "host").glob("source-*.so")
    damaged = library.with_suffix(".part")
    damaged.write_bytes(library.read_bytes()[:1000])
    os.replace(damaged, library)
    out = run()
    assert " ".join(out[:-1]) == "[2.0, 2.0, 2.0, 2.0]" and out[-1] == "True"  # rebuilt, right
