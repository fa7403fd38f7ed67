// Where component c of atom i lives in an array of C values per atom over N
// atoms: the neighbor lists (c = slot, C = capacity) and the per-atom arrays
// that other threads gather from (angular sums and their gradients, the
// pre-contracted radial derivatives). gpunep/neighbors.py mirrors it
// (entry_index).
//
// Component-major within tiles of NEP_TILE consecutive atoms; the atoms past
// the last whole tile are plain component-major after the tiles, so the array
// holds exactly C * N values:
//   i <  F = N - N % NEP_TILE:  ((i / NEP_TILE) * C + c) * NEP_TILE + i % NEP_TILE
//   i >= F:                     F * C + c * (N - F) + (i - F)
// On a GPU a warp's 32 consecutive atoms still read whole 32-byte sectors per
// component (8 ints or floats, or half of the 8 doubles of a 64-byte row), as
// coalesced as plain c * N + i. On a CPU, where one thread walks the
// components of one atom after another, the rows of a tile are consecutive
// cache lines that the prefetcher streams; with plain c * N + i every
// component was a line N elements away, a miss each, and for N * 4 a multiple
// of 4096 bytes all of an atom's components fell into one L1 set.
#ifndef NEP_LAYOUT_CUH
#define NEP_LAYOUT_CUH

#define NEP_TILE 8

// Atom i's components start at the returned index, `stride` apart.
__device__ __forceinline__ long long nep_tiled_base(int i, int C, int N, int& stride)
{
  const int full = N - N % NEP_TILE;
  if (i < full) {
    stride = NEP_TILE;
    return (long long)(i / NEP_TILE) * C * NEP_TILE + i % NEP_TILE;
  }
  stride = N - full;
  return (long long)full * C + (i - full);
}

__device__ __forceinline__ long long nep_tiled(int c, int i, int C, int N)
{
  int stride;
  const long long base = nep_tiled_base(i, C, N, stride);
  return base + (long long)c * stride;
}

#endif  // NEP_LAYOUT_CUH
