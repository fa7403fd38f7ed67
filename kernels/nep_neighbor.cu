// Neighbor lists (docs/descriptors.md#neighbor-sets): for every atom i, every
// atom j of its own structure and every periodic image of j with
// |r_j + k.cell - r_i| below the pair cutoff (strict <), images of i itself
// included, the zero-shift self pair excluded. Per-structure cells and
// per-direction periodicity; positions need not be wrapped.
//
//   nep_wrap_positions      (one thread per atom) positions moved into the cell
//                           along periodic directions; every later kernel reads these
//   nep_neighbor_small      (one thread per atom) every atom of the structure,
//                           over the images the cutoff reaches
//   nep_neighbor_bin        (one thread per atom) cell list: the atom's bin
//   nep_neighbor_fill_bins  (one thread per binned atom) cell list: bin-ordered
//                           copies of what the search reads
//   nep_neighbor_cell       (one thread per atom) cell list: the 27 stencil bins
//
// Both strategies emit every list in key order (j, ka, kb, kc) by
// construction, without sorting: the small scan visits j in ascending order
// and the images of one j lexicographically; the cell search merges its 27
// stencil bins, each holding its atoms in ascending index order. So the two
// give identical lists, and a list that overflows its capacity holds its
// `capacity` smallest keys.
//
// Layouts (N atoms, S structures, T types):
//   positions (N, 3) double; types, system_index (N) int; offsets (S + 1) int
//   frames (S, NEP_FRAME_DOUBLES) double, frame_ints (S, NEP_FRAME_INTS) int: nep_frame.cuh
//   rc_radial, rc_angular (T*T) double pair cutoffs [t_i * T + t_j]
//   nbr[e] neighbor index (packed with its image, nep_pack_neighbor, in mic
//     structures) and, for structures that are not "mic", shift[e] its packed
//     lattice shift, at e = nep_tiled(slot, i, capacity, N) (nep_layout.cuh)
//   nn[i] = stored count min(true count, capacity)
//   diagnostics (3) int: [0] / [1] largest TRUE radial / angular count (an
//     overflow is always visible), [2] 1 + the largest atom index with a
//     neighbor at distance zero (0 if none)
#include "nep_frame.cuh"
#include "nep_layout.cuh"
#include "nep_types.cuh"

#define NEP_DIAG_MAX_RADIAL 0
#define NEP_DIAG_MAX_ANGULAR 1
#define NEP_DIAG_COINCIDENT 2
#define NEP_DIAGNOSTICS 3
#define NEP_SCAN_CHUNK 32   // candidates whose distance estimates one vectorisable pass computes
#define NEP_STREAMS 27      // stencil bins of the cell search (3 per direction)
#define NEP_ATOM_CELL 8     // ints per atom of the cell list: bin coordinates [0..2], wraps [3..5], bin [6]

// One list of one atom while it is being built.
struct NepListWriter {
  int* nbr;
  int* shift;       // written only when `store_shift`
  long long base;   // atom i's first slot, nep_tiled_base
  int stride;
  int capacity;
  int count;        // true number of neighbors met so far
  bool store_shift;

  __device__ void add(int j, const int* k)
  {
    if (count < capacity) {
      const long long e = base + (long long)count * stride;
      if (store_shift) {
        nbr[e] = j;
        shift[e] = nep_pack_shift(k[0], k[1], k[2]);
      } else {
        nbr[e] = nep_pack_neighbor(j, k);
      }
    }
    ++count;
  }
};

__device__ __forceinline__ NepListWriter nep_list_writer(
  int i, int N, int capacity, int* nbr, int* shift, bool store_shift)
{
  int stride;
  const long long base = nep_tiled_base(i, capacity, N, stride);
  return NepListWriter{nbr, shift, base, stride, capacity, 0, store_shift};
}

// Everything the search of one atom needs.
struct NepSearch {
  int i;
  const double* ri;
  const double* frame;
  const int* frame_int;
  const double* rc_radial;   // the pair cutoffs of i's type, [t_j]
  const double* rc_angular;
  double bound;              // estimate threshold: largest cutoff of i's type, squared, plus 1e-6
  NepListWriter radial;
  NepListWriter angular;
  int coincident;            // 1 when a neighbor sits at distance zero
};

// Test image k of atom j (position rj, type tj) and record it in both lists.
__device__ __forceinline__ void nep_consider(NepSearch& s, int j, const double* rj, int tj, const int* k)
{
  if (j == s.i && k[0] == 0 && k[1] == 0 && k[2] == 0) return;
  double d[3];
  nep_image_vector(s.ri, rj, s.frame + NEP_FRAME_CELL, k, d);
  const double d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
  const double rcr = s.rc_radial[tj], rca = s.rc_angular[tj];
  if (d2 < rcr * rcr) s.radial.add(j, k);
  if (d2 < rca * rca) s.angular.add(j, k);
  if (d2 == 0.0) s.coincident = 1;
}

__device__ __forceinline__ NepSearch nep_search(
  int i, int N, int n_types, int capacity_radial, int capacity_angular,
  const double* __restrict__ positions, const int* __restrict__ types,
  const int* __restrict__ system_index, const double* __restrict__ frames,
  const int* __restrict__ frame_ints, const double* __restrict__ rc_radial,
  const double* __restrict__ rc_angular, int* nbr_radial, int* shift_radial, int* nbr_angular,
  int* shift_angular)
{
  const int s = system_index[i];
  const int ti = types[i];
  const int* ints = frame_ints + (long long)NEP_FRAME_INTS * s;
  const bool store_shift = ints[NEP_FRAME_MIC] == 0;
  double rc2 = 0.0;
  for (int t = 0; t < n_types; ++t) {
    const double rc = fmax(rc_radial[ti * n_types + t], rc_angular[ti * n_types + t]);
    rc2 = fmax(rc2, rc * rc);
  }
  return NepSearch{i, positions + 3LL * i, frames + (long long)NEP_FRAME_DOUBLES * s, ints,
                   rc_radial + ti * n_types, rc_angular + ti * n_types, rc2 * (1.0 + 1e-6),
                   nep_list_writer(i, N, capacity_radial, nbr_radial, shift_radial, store_shift),
                   nep_list_writer(i, N, capacity_angular, nbr_angular, shift_angular, store_shift), 0};
}

__device__ __forceinline__ void nep_finish(
  NepSearch& s, int* __restrict__ nn_radial, int* __restrict__ nn_angular, int* __restrict__ diagnostics)
{
  nn_radial[s.i] = min(s.radial.count, s.radial.capacity);
  nn_angular[s.i] = min(s.angular.count, s.angular.capacity);
  atomicMax(&diagnostics[NEP_DIAG_MAX_RADIAL], s.radial.count);
  atomicMax(&diagnostics[NEP_DIAG_MAX_ANGULAR], s.angular.count);
  if (s.coincident) atomicMax(&diagnostics[NEP_DIAG_COINCIDENT], s.i + 1);
}

// A "mic" structure: the nearest image of each atom j in [first, last) is the
// only candidate. A branch-free pass over a chunk estimates the squared
// distances (the CPU vectorises it); only atoms within the largest cutoff of
// i's type go through the exact test of nep_consider.
__device__ __forceinline__ void nep_scan_nearest(
  NepSearch& s, int first, int last, const double* __restrict__ positions,
  const int* __restrict__ types)
{
  const double* ri = s.ri;
  const double* cell = s.frame + NEP_FRAME_CELL;
  const double* g = s.frame + NEP_FRAME_INVERSE;
  const int* per = s.frame_int + NEP_FRAME_PERIODIC;
  const double on[3] = {per[0] ? 1.0 : 0.0, per[1] ? 1.0 : 0.0, per[2] ? 1.0 : 0.0};
  for (int j0 = first; j0 < last; j0 += NEP_SCAN_CHUNK) {
    const int m = min(last - j0, NEP_SCAN_CHUNK);
    bool near[NEP_SCAN_CHUNK];
    for (int c = 0; c < m; ++c) {
      const double* rj = positions + 3LL * (j0 + c);
      const double dx = rj[0] - ri[0], dy = rj[1] - ri[1], dz = rj[2] - ri[2];
      const double ka = on[0] * rint(-(dx * g[0] + dy * g[3] + dz * g[6]));
      const double kb = on[1] * rint(-(dx * g[1] + dy * g[4] + dz * g[7]));
      const double kc = on[2] * rint(-(dx * g[2] + dy * g[5] + dz * g[8]));
      const double x = dx + (ka * cell[0] + kb * cell[3] + kc * cell[6]);
      const double y = dy + (ka * cell[1] + kb * cell[4] + kc * cell[7]);
      const double z = dz + (ka * cell[2] + kb * cell[5] + kc * cell[8]);
      near[c] = x * x + y * y + z * z < s.bound;
    }
    for (int c = 0; c < m; ++c) {
      if (!near[c]) continue;
      const int j = j0 + c;
      const double* rj = positions + 3LL * j;
      int k[3];
      nep_nearest_shift(s.frame, per, rj[0] - ri[0], rj[1] - ri[1], rj[2] - ri[2], k);
      nep_consider(s, j, rj, types[j], k);
    }
  }
}

// Every atom j in [first, last) over every image its fractional distance to
// i allows, in key order (j, then k lexicographic).
__device__ __forceinline__ void nep_scan_images(
  NepSearch& s, int first, int last, const double* __restrict__ positions,
  const int* __restrict__ types)
{
  const double* g = s.frame + NEP_FRAME_INVERSE;
  const double* reach = s.frame + NEP_FRAME_REACH;
  const int* per = s.frame_int + NEP_FRAME_PERIODIC;
  for (int j = first; j < last; ++j) {
    const double* rj = positions + 3LL * j;
    const double d[3] = {rj[0] - s.ri[0], rj[1] - s.ri[1], rj[2] - s.ri[2]};
    // image k reaches the cutoff only if |f_e + k_e| < reach_e along each periodic direction
    int lo[3], hi[3];
    for (int e = 0; e < 3; ++e) {
      const double f = d[0] * g[e] + d[1] * g[3 + e] + d[2] * g[6 + e];
      lo[e] = per[e] ? (int)ceil(-f - reach[e]) : 0;
      hi[e] = per[e] ? (int)floor(-f + reach[e]) : 0;
    }
    const int tj = types[j];
    int k[3];
    for (k[0] = lo[0]; k[0] <= hi[0]; ++k[0])
      for (k[1] = lo[1]; k[1] <= hi[1]; ++k[1])
        for (k[2] = lo[2]; k[2] <= hi[2]; ++k[2]) nep_consider(s, j, rj, tj, k);
  }
}

// Every atom of i's structure: the nearest images of a mic structure, else
// every image in reach.
__device__ __forceinline__ void nep_scan_structure(
  NepSearch& s, int first, int last, const double* __restrict__ positions,
  const int* __restrict__ types)
{
  if (s.frame_int[NEP_FRAME_MIC]) {
    nep_scan_nearest(s, first, last, positions, types);
  } else {
    nep_scan_images(s, first, last, positions, types);
  }
}

extern "C" __global__ void nep_neighbor_small(
  int N,
  int n_types,
  int capacity_radial,
  int capacity_angular,
  const double* __restrict__ positions,
  const int* __restrict__ types,
  const int* __restrict__ system_index,
  const int* __restrict__ offsets,
  const double* __restrict__ frames,
  const int* __restrict__ frame_ints,
  const double* __restrict__ rc_radial,
  const double* __restrict__ rc_angular,
  int* __restrict__ nn_radial,
  int* __restrict__ nbr_radial,
  int* __restrict__ shift_radial,
  int* __restrict__ nn_angular,
  int* __restrict__ nbr_angular,
  int* __restrict__ shift_angular,
  int* __restrict__ diagnostics)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NepSearch s = nep_search(i, N, n_types, capacity_radial, capacity_angular, positions, types,
                           system_index, frames, frame_ints, rc_radial, rc_angular, nbr_radial,
                           shift_radial, nbr_angular, shift_angular);
  const int structure = system_index[i];
  nep_scan_structure(s, offsets[structure], offsets[structure + 1], positions, types);
  nep_finish(s, nn_radial, nn_angular, diagnostics);
}

// r_i - floor(f_i) . cell along periodic directions (f the fractional
// coordinates): the positions every kernel works on, so that the nearest
// image of a mic structure is at most one cell away (nep_frame.cuh).
extern "C" __global__ void nep_wrap_positions(
  int N,
  const double* __restrict__ positions,
  const int* __restrict__ system_index,
  const double* __restrict__ frames,
  const int* __restrict__ frame_ints,
  double* __restrict__ wrapped)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  const int s = system_index[i];
  const double* r = positions + 3LL * i;
  const double* g = frames + (long long)NEP_FRAME_DOUBLES * s + NEP_FRAME_INVERSE;
  const double* cell = frames + (long long)NEP_FRAME_DOUBLES * s + NEP_FRAME_CELL;
  const int* per = frame_ints + (long long)NEP_FRAME_INTS * s + NEP_FRAME_PERIODIC;
  double w[3];
  for (int d = 0; d < 3; ++d) w[d] = per[d] ? floor(r[0] * g[d] + r[1] * g[3 + d] + r[2] * g[6 + d]) : 0.0;
  for (int c = 0; c < 3; ++c) wrapped[3LL * i + c] = r[c] - (w[0] * cell[c] + w[1] * cell[3 + c] + w[2] * cell[6 + c]);
}

// floor(a / b) for b > 0
__device__ __forceinline__ int nep_floor_div(int a, int b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// The bin of atom i: along a periodic direction its fractional coordinate,
// wrapped into [0, 1) (the wrap is kept: the atom sits in image -wrap of the
// cell), times the bins; along a free direction its length along the completed
// cell's unit vector in units of the search radius, hashed modulo the bins.
extern "C" __global__ void nep_neighbor_bin(
  int N,
  const double* __restrict__ positions,
  const int* __restrict__ system_index,
  const double* __restrict__ frames,
  const int* __restrict__ frame_ints,
  int* __restrict__ atom_cells)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  const int s = system_index[i];
  const double* r = positions + 3LL * i;
  const double* frame = frames + (long long)NEP_FRAME_DOUBLES * s;
  const double* g = frame + NEP_FRAME_INVERSE;
  const int* ints = frame_ints + (long long)NEP_FRAME_INTS * s;
  const int* nb = ints + NEP_FRAME_BINS;
  int* out = atom_cells + (long long)NEP_ATOM_CELL * i;
  for (int d = 0; d < 3; ++d) {
    const double f = r[0] * g[d] + r[1] * g[3 + d] + r[2] * g[6 + d];
    if (ints[NEP_FRAME_PERIODIC + d]) {
      const double wrap = floor(f);
      const int c = (int)floor((f - wrap) * nb[d]);
      out[d] = c < 0 ? 0 : (c >= nb[d] ? nb[d] - 1 : c);
      out[3 + d] = (int)wrap;
    } else {
      const double c = floor(f / frame[NEP_FRAME_RADIUS]);
      out[d] = (int)(c - (double)nb[d] * floor(c / (double)nb[d]));
      out[3 + d] = 0;
    }
  }
  out[6] = ints[NEP_FRAME_FIRST_BIN] + (out[0] * nb[1] + out[1]) * nb[2] + out[2];
  out[7] = 0;
}

// Bin-ordered copies of what the search reads of bin_atoms[p] (the atoms
// sorted by (bin, index) on the device): its position moved into the cell
// (r - wraps . cell, for the distance estimates), its type and its wraps.
extern "C" __global__ void nep_neighbor_fill_bins(
  int N,
  const int* __restrict__ bin_atoms,
  const double* __restrict__ positions,
  const int* __restrict__ types,
  const int* __restrict__ system_index,
  const double* __restrict__ frames,
  const int* __restrict__ atom_cells,
  double* __restrict__ bin_positions,
  int* __restrict__ bin_codes)
{
  const int p = nep_thread_index();
  if (p >= N) return;
  const int i = bin_atoms[p];
  const int* wraps = atom_cells + (long long)NEP_ATOM_CELL * i + 3;
  const double* cell = frames + (long long)NEP_FRAME_DOUBLES * system_index[i] + NEP_FRAME_CELL;
  for (int c = 0; c < 3; ++c) {
    bin_positions[3LL * p + c] = positions[3LL * i + c] - ((double)wraps[0] * cell[c] + (double)wraps[1] * cell[3 + c] +
                                                           (double)wraps[2] * cell[6 + c]);
  }
  bin_codes[4LL * p] = types[i];
  for (int c = 0; c < 3; ++c) bin_codes[4LL * p + 1 + c] = wraps[c];
}

// The candidates of one stencil bin, in ascending atom index: the atoms
// p = next .. end - 1 of the bin-ordered arrays, each at lattice shift
// base - (its wraps) relative to the raw positions, so at the estimated
// vector (its position in the cell) + offset, offset = base . cell - r_i.
// The head candidate's key (j, packed shift), whose numeric order is the key
// order (nep_pack_shift keeps each component's order), is kept apart in an
// array of the 27 keys (NEP_DONE once a stream is exhausted), so that finding
// the smallest is a branch-free pass the CPU vectorises.
struct NepStream {
  int next;
  int end;
  int base[3];
  double offset[3];
};

#define NEP_DONE 0x7fffffffffffffffLL

__device__ __forceinline__ void nep_candidate_shift(const NepStream& st, const int* __restrict__ bin_codes, int p,
                                                    int* k)
{
  for (int c = 0; c < 3; ++c) k[c] = st.base[c] - bin_codes[4LL * p + 1 + c];
}

// Move a stream to its next candidate whose squared distance estimate is
// below the search bound (or to its end), and key it.
__device__ __forceinline__ void nep_advance(
  NepStream& st, long long& key, const NepSearch& s, const int* __restrict__ bin_atoms,
  const double* __restrict__ bin_positions, const int* __restrict__ bin_codes)
{
  for (; st.next < st.end; ++st.next) {
    const double* w = bin_positions + 3LL * st.next;
    const double x = w[0] + st.offset[0], y = w[1] + st.offset[1], z = w[2] + st.offset[2];
    if (x * x + y * y + z * z < s.bound) {
      int k[3];
      nep_candidate_shift(st, bin_codes, st.next, k);
      key = ((long long)bin_atoms[st.next] << (3 * NEP_SHIFT_BITS)) | nep_pack_shift(k[0], k[1], k[2]);
      return;
    }
  }
  key = NEP_DONE;
}

// The 27 streams of atom i's stencil (bin, lattice shift) in a fixed order.
__device__ __forceinline__ void nep_open_streams(
  const NepSearch& s, const int* __restrict__ me, const int* __restrict__ bin_starts,
  const int* __restrict__ bin_atoms, const double* __restrict__ bin_positions,
  const int* __restrict__ bin_codes, NepStream* streams, long long* keys)
{
  const int* per = s.frame_int + NEP_FRAME_PERIODIC;
  const int* nb = s.frame_int + NEP_FRAME_BINS;
  int n = 0;
  for (int oa = -1; oa <= 1; ++oa) {
    for (int ob = -1; ob <= 1; ++ob) {
      for (int oc = -1; oc <= 1; ++oc, ++n) {
        const int o[3] = {oa, ob, oc};
        int bin[3];
        NepStream& st = streams[n];
        for (int d = 0; d < 3; ++d) {
          const int c = me[d] + o[d];
          const int shift = per[d] ? nep_floor_div(c, nb[d]) : 0;
          bin[d] = per[d] ? c - shift * nb[d] : c - nb[d] * nep_floor_div(c, nb[d]);
          st.base[d] = shift + me[3 + d];
        }
        const double* cell = s.frame + NEP_FRAME_CELL;
        for (int c = 0; c < 3; ++c) {
          st.offset[c] = ((double)st.base[0] * cell[c] + (double)st.base[1] * cell[3 + c] +
                          (double)st.base[2] * cell[6 + c]) - s.ri[c];
        }
        const int k = s.frame_int[NEP_FRAME_FIRST_BIN] + (bin[0] * nb[1] + bin[1]) * nb[2] + bin[2];
        st.next = bin_starts[k];
        st.end = bin_starts[k + 1];
        nep_advance(st, keys[n], s, bin_atoms, bin_positions, bin_codes);
      }
    }
  }
}

// The stencil search of one atom: a merge of the 27 streams, smallest key first.
__device__ __forceinline__ void nep_merge_streams(
  NepSearch& s, NepStream* streams, long long* keys, const double* __restrict__ positions,
  const int* __restrict__ bin_atoms, const double* __restrict__ bin_positions,
  const int* __restrict__ bin_codes)
{
  for (;;) {
    long long smallest = NEP_DONE;
    for (int n = 0; n < NEP_STREAMS; ++n) smallest = keys[n] < smallest ? keys[n] : smallest;
    if (smallest == NEP_DONE) return;
    int best = 0;
    while (keys[best] != smallest) ++best;
    NepStream& st = streams[best];
    int k[3];
    nep_unpack_shift((int)(smallest & ((1LL << (3 * NEP_SHIFT_BITS)) - 1)), k);
    const int j = (int)(smallest >> (3 * NEP_SHIFT_BITS));
    nep_consider(s, j, positions + 3LL * j, bin_codes[4LL * st.next], k);
    ++st.next;
    nep_advance(st, keys[best], s, bin_atoms, bin_positions, bin_codes);
  }
}

extern "C" __global__ void nep_neighbor_cell(
  int N,
  int n_types,
  int capacity_radial,
  int capacity_angular,
  const double* __restrict__ positions,
  const int* __restrict__ types,
  const int* __restrict__ system_index,
  const int* __restrict__ offsets,
  const double* __restrict__ frames,
  const int* __restrict__ frame_ints,
  const int* __restrict__ atom_cells,
  const int* __restrict__ bin_starts,
  const int* __restrict__ bin_atoms,
  const double* __restrict__ bin_positions,
  const int* __restrict__ bin_codes,
  const double* __restrict__ rc_radial,
  const double* __restrict__ rc_angular,
  int* __restrict__ nn_radial,
  int* __restrict__ nbr_radial,
  int* __restrict__ shift_radial,
  int* __restrict__ nn_angular,
  int* __restrict__ nbr_angular,
  int* __restrict__ shift_angular,
  int* __restrict__ diagnostics)
{
  const int i = nep_thread_index();
  if (i >= N) return;
  NepSearch s = nep_search(i, N, n_types, capacity_radial, capacity_angular, positions, types,
                           system_index, frames, frame_ints, rc_radial, rc_angular, nbr_radial,
                           shift_radial, nbr_angular, shift_angular);
  const int* stencil = s.frame_int + NEP_FRAME_STENCIL;
  if (stencil[0] > 1 || stencil[1] > 1 || stencil[2] > 1) {
    // a periodic thickness below the search radius: a bin cannot hold the
    // cutoff sphere's slice, so scan the structure like the small strategy
    const int structure = system_index[i];
    nep_scan_structure(s, offsets[structure], offsets[structure + 1], positions, types);
  } else {
    NepStream streams[NEP_STREAMS];
    long long keys[NEP_STREAMS];
    nep_open_streams(s, atom_cells + (long long)NEP_ATOM_CELL * i, bin_starts, bin_atoms, bin_positions,
                     bin_codes, streams, keys);
    nep_merge_streams(s, streams, keys, positions, bin_atoms, bin_positions, bin_codes);
  }
  nep_finish(s, nn_radial, nn_angular, diagnostics);
}
