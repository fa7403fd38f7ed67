"""Indices that pass 2^31 are computed in 64 bits: list entries and per-atom offsets at N ~ 2^31.

Nothing is allocated: a probe kernel calls the kernels' own index helpers
(``nep_tiled`` of kernels/nep_layout.cuh, ``nep_center`` of
kernels/nep_frame.cuh) for atoms near 2^31 and returns the offsets. Signed
overflow is undefined behaviour, so an optimising compiler may silently
widen a 32-bit product on the host and hide the bug; the probe is therefore
compiled with ``-fwrapv`` (``CXX="g++ -fwrapv"``), which makes a 32-bit
product wrap as it would on a GPU, so a product computed in ``int`` gives a
wrong offset here.

The other products of an atom index in the kernels (``3LL * j`` for
positions, the bin arrays of the cell list, per-structure frames) are the
same pattern inside kernels that read memory there; they were audited by
reading (kernels/nep_neighbor.cu, nep_frame.cuh, nep_ewald.cu).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from gpunep.engine.neighbors import entry_index
from gpunep.executors import host

PROBE = r"""
#include "nep_layout.cuh"
#include "nep_frame.cuh"

extern "C" __global__ void probe_tiled(int c, int i, int C, int N, unsigned long long* out)
{
  out[0] = (unsigned long long)nep_tiled(c, i, C, N);
}

extern "C" __global__ void probe_center(int i, const double* positions, const int* system_index,
                                        const double* frames, const int* frame_ints,
                                        unsigned long long* out)
{
  // system_index[i] reads the one element given: the offset alone is what is probed
  const NepCenter center = nep_center(i, positions, system_index - (long long)i, frames, frame_ints);
  out[0] = (unsigned long long)(center.r - positions);
}
"""
N_LARGE = 2**31 - 5  # a kernel's int N holds at most 2^31 - 1 atoms


@pytest.fixture(scope="module")
def probe():
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("needs g++ (for -fwrapv)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CXX", f"{compiler} -fwrapv")
        return host.compile_source(PROBE, "float64", "wide-index probe")


@pytest.mark.parametrize("capacity", [1, 300])
@pytest.mark.parametrize("atom", [0, N_LARGE - 7, N_LARGE - 1, 2**30 + 3])
def test_list_entries_of_atoms_near_2_31(probe, capacity: int, atom: int):
    out = np.zeros(1, dtype=np.uint64)
    slot = capacity - 1
    probe.get_function("probe_tiled")((1,), (1,), (np.int32(slot), np.int32(atom), np.int32(capacity),
                                                    np.int32(N_LARGE), out))
    expected = int(entry_index(np.int64(slot), np.int64(atom), capacity, N_LARGE))
    assert int(out[0]) == expected > (2**31 if capacity > 1 and atom > 2**30 else -1)


@pytest.mark.parametrize("atom", [2**30 + 3, N_LARGE - 1])
def test_an_atoms_position_offset_near_2_31(probe, atom: int):
    out = np.zeros(1, dtype=np.uint64)
    positions, frames = np.zeros(3), np.zeros(22)
    frame_ints = np.zeros(12, dtype=np.int32)
    probe.get_function("probe_center")((1,), (1,), (np.int32(atom), positions, np.zeros(1, dtype=np.int32),
                                                    frames, frame_ints, out))
    assert int(out[0]) == 3 * atom > 2**31
