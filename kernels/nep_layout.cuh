// Where entry `slot` of atom i's neighbor list lives (every kernel and
// gpunep/neighbors.py use this one layout).
//
// Slot-major within tiles of NEP_TILE consecutive atoms:
//   index = ((i / NEP_TILE) * capacity + slot) * NEP_TILE + i % NEP_TILE,
// over ceil(N / NEP_TILE) tiles (the last one padded). On a GPU a warp's 32
// consecutive atoms still read whole 32-byte sectors per slot (8 ints, or 4 of
// the 8 doubles of a 64-byte row), as coalesced as plain slot * N + i. On a
// CPU, where one thread walks the slots of one atom after another, the rows
// of a tile are consecutive cache lines that the prefetcher streams; with
// plain slot * N + i every slot was a line N elements away (a miss each).
#ifndef NEP_LAYOUT_CUH
#define NEP_LAYOUT_CUH

#define NEP_TILE 8

__device__ __forceinline__ long long nep_entry(int slot, int i, int capacity)
{
  return ((long long)(i / NEP_TILE) * capacity + slot) * NEP_TILE + (i % NEP_TILE);
}

#endif  // NEP_LAYOUT_CUH
