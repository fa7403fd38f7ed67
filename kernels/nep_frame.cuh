// Per-structure geometry of a batch ("frames") and the one expression every
// kernel uses for a pair vector. gpunep/engine/geometry.py fills the frames on
// the host and reads the NEP_FRAME_* offsets below from this file, so the two
// sides cannot disagree.
//
// A pair vector is r_ij = r_j - r_i + k . cell, k the integer lattice shift of
// j's image (k = 0 along non-periodic directions), computed in double from the
// positions as given (they need not be wrapped). Where every periodic
// thickness of a structure exceeds twice the search radius, the only image of
// j within any cutoff is the nearest one, k = -rint(f) with f the fractional
// coordinates of r_j - r_i ("mic" structures). The kernels work on positions
// wrapped into the cell along periodic directions (nep_wrap_positions), so
// that image's k is -1, 0 or 1 per direction: a mic list entry packs it with
// j into one int (nep_pack_neighbor). Otherwise each list entry also stores k
// in a separate array, packed by nep_pack_shift.
#ifndef NEP_FRAME_CUH
#define NEP_FRAME_CUH

// doubles per structure
#define NEP_FRAME_CELL 0        // 9: the cell vectors as rows
#define NEP_FRAME_INVERSE 9     // 9: inverse of the completed cell, f_e = sum_c r_c inv[3 c + e]
#define NEP_FRAME_REACH 18      // 3: search radius / periodic thickness (0 if non-periodic)
#define NEP_FRAME_RADIUS 21     // the search radius (largest pair cutoff, a hair above)
#define NEP_FRAME_DOUBLES 22
// ints per structure
#define NEP_FRAME_PERIODIC 0    // 3: 1 along periodic directions
#define NEP_FRAME_MIC 3         // 1 when lists of this structure store no shifts
#define NEP_FRAME_BINS 4        // 3: cell-list bins per direction
#define NEP_FRAME_STENCIL 7     // 3: stencil half-width per direction
#define NEP_FRAME_FIRST_BIN 10  // the structure's first bin in the batch's bin arrays
#define NEP_FRAME_N_BINS 11     // its number of bins
#define NEP_FRAME_INTS 12

// A mic list entry: j in the low NEP_NBR_BITS bits, the image
// (ka + 1) * 9 + (kb + 1) * 3 + (kc + 1) above them (NEP_ZERO_IMAGE: k = 0).
#define NEP_NBR_BITS 26
#define NEP_NBR_MASK ((1 << NEP_NBR_BITS) - 1)
#define NEP_ZERO_IMAGE 13

__device__ __forceinline__ int nep_pack_neighbor(int j, const int* k)
{
  return j | (((k[0] + 1) * 9 + (k[1] + 1) * 3 + (k[2] + 1)) << NEP_NBR_BITS);
}

__device__ __forceinline__ int nep_neighbor_index(int entry) { return entry & NEP_NBR_MASK; }

__device__ __forceinline__ void nep_neighbor_image(int entry, int* k)
{
  const int code = entry >> NEP_NBR_BITS;
  k[0] = code / 9 - 1;
  k[1] = (code / 3) % 3 - 1;
  k[2] = code % 3 - 1;
}

// Packed lattice shift of a list entry: 10 bits per component, biased by 512.
#define NEP_SHIFT_BITS 10
#define NEP_SHIFT_BIAS 512

__device__ __forceinline__ int nep_pack_shift(int ka, int kb, int kc)
{
  return ((ka + NEP_SHIFT_BIAS) << (2 * NEP_SHIFT_BITS)) | ((kb + NEP_SHIFT_BIAS) << NEP_SHIFT_BITS) |
         (kc + NEP_SHIFT_BIAS);
}

__device__ __forceinline__ void nep_unpack_shift(int code, int* k)
{
  const int mask = (1 << NEP_SHIFT_BITS) - 1;
  k[0] = ((code >> (2 * NEP_SHIFT_BITS)) & mask) - NEP_SHIFT_BIAS;
  k[1] = ((code >> NEP_SHIFT_BITS) & mask) - NEP_SHIFT_BIAS;
  k[2] = (code & mask) - NEP_SHIFT_BIAS;
}

// (r_j - r_i) + k . cell: the one expression for every pair vector, so lists
// and every kernel reading them get the same bits.
__device__ __forceinline__ void nep_image_vector(
  const double* ri, const double* rj, const double* cell, const int* k, double* d)
{
  for (int c = 0; c < 3; ++c) {
    d[c] = (rj[c] - ri[c]) + ((double)k[0] * cell[c] + (double)k[1] * cell[3 + c] +
                              (double)k[2] * cell[6 + c]);
  }
}

// The nearest image's shift of the displacement r_j - r_i = (dx, dy, dz).
__device__ __forceinline__ void nep_nearest_shift(
  const double* frame, const int* periodic, double dx, double dy, double dz, int* k)
{
  const double* inv = frame + NEP_FRAME_INVERSE;
  for (int e = 0; e < 3; ++e) {
    k[e] = periodic[e] ? (int)rint(-(dx * inv[e] + dy * inv[3 + e] + dz * inv[6 + e])) : 0;
  }
}

// What the kernels of one atom i need for its pair vectors: its position and
// its structure's cell (read only for the pairs that cross the cell's faces).
struct NepCenter {
  const double* r;
  const double* cell;
  bool mic;
};

__device__ __forceinline__ NepCenter nep_center(
  int i, const double* __restrict__ positions, const int* __restrict__ system_index,
  const double* __restrict__ frames, const int* __restrict__ frame_ints)
{
  const int s = system_index[i];
  const int* ints = frame_ints + (long long)NEP_FRAME_INTS * s;
  return NepCenter{positions + 3LL * i, frames + (long long)NEP_FRAME_DOUBLES * s + NEP_FRAME_CELL,
                   ints[NEP_FRAME_MIC] != 0};
}

// r_ij in double for list entry e holding `entry` (the image packed with j
// for a mic structure, else in the shift array).
__device__ __forceinline__ void nep_pair_vector(
  const NepCenter& c, const double* __restrict__ positions, int entry, const int* __restrict__ shift,
  long long e, double* d)
{
  const double* rj = positions + 3LL * nep_neighbor_index(entry);
  if (c.mic && (entry >> NEP_NBR_BITS) == NEP_ZERO_IMAGE) {
    for (int a = 0; a < 3; ++a) d[a] = (rj[a] - c.r[a]) + 0.0;  // nep_image_vector at k = 0
    return;
  }
  int k[3];
  if (c.mic) {
    nep_neighbor_image(entry, k);
  } else {
    nep_unpack_shift(shift[e], k);
  }
  nep_image_vector(c.r, rj, c.cell, k, d);
}

#endif  // NEP_FRAME_CUH
