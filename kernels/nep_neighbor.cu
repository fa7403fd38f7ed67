// Neighbor lists (NEP_SPEC §3.1): for every atom i, every atom j of its own
// structure and every periodic image of j with |r_j + k.cell - r_i| below the
// pair cutoff (strict <), images of i itself included, the zero-shift self
// pair excluded. Per-structure cells and per-direction pbc; positions need
// not be wrapped into the cell.
//
//   nep_neighbor_prepare   (one thread per structure) inverse cell, image
//                          reach, bin grid and stencil of every structure
//   nep_neighbor_small     (one thread per atom) brute force over the atoms
//                          of the structure and the images the cutoff reaches
//   nep_neighbor_bin_atoms (one thread per atom) cell list: bin and count
//   nep_neighbor_fill_bins (one thread per atom) cell list: fill the bins
//   nep_neighbor_cell      (one thread per atom) cell list: search the stencil
//
// Layouts (N atoms, S structures, T types):
//   positions  (N, 3) double;  cells (S, 3, 3) rows are the cell vectors
//   pbc (S, 3) int;  offsets (S + 1) int: atoms of s are offsets[s] .. offsets[s+1]-1
//   rc_radial, rc_angular (T*T) double pair cutoffs, center-major [t_i * T + t_j]
//   geometry (S, 16) double: [0..8] inverse of the completed cell (f = r . inv),
//            [9..11] image reach per direction (0 if non-periodic), [12] search radius
//   bins (S, 8) int: [0..2] bins per direction, [3..5] stencil half-widths, [6] bins
//   lists: nl[nep_tiled(slot, i, capacity, N)] (slot-major in tiles of 8 atoms,
//          nep_layout.cuh), dx = x_j(image) - x_i; nn[i] = stored
//          count min(true count, capacity); max_counts[0/1] = largest TRUE
//          radial/angular count (atomicMax), so an overflow is always visible.
//
// Each list holds its entries sorted by (j, ka, kb, kc), k the integer lattice
// shift of the image (r_ij = r_j - r_i + k . cell, with the raw positions):
// both strategies give identical lists, and an overflowing list keeps the
// `capacity` smallest keys.
// Both strategies compute r_ij with the same expression (nep_image_vector), so
// their vectors are bit-identical.
#include "nep_layout.cuh"
#include "nep_types.cuh"

#define NEP_GEOMETRY_STRIDE 16
#define NEP_BINS_STRIDE 8

// Largest bin count per direction before the budget caps it (int safety).
#define NEP_MAX_BINS_PER_DIRECTION (1 << 20)

// One atom's list while it is being built: entries are appended unsorted
// until the list is full; a full list is sorted once and then keeps its
// `capacity` smallest keys (so even an overflowing list is deterministic).
struct NepList {
  int N;
  int capacity;
  int* nl;
  double* dx;
  double* dy;
  double* dz;
  int count;    // true number of neighbors met so far
  bool sorted;  // entries 0 .. min(count, capacity) - 1 are in key order
};

// What is needed to recover the lattice shift k of an entry of atom i:
// dx = r_j - r_i + k . cell, so k = (dx - (r_j - r_i)) . inv along periodic
// directions (an integer up to round-off; 0 along free directions).
struct NepFrame {
  const double* positions;
  const double* ri;
  const double* inv;
  const int* pbc;
};

__device__ __forceinline__ void nep_shift_of(
  const NepFrame& f, int j, double x, double y, double z, int* k)
{
  const double* rj = f.positions + 3 * j;
  const double d[3] = {x - (rj[0] - f.ri[0]), y - (rj[1] - f.ri[1]), z - (rj[2] - f.ri[2])};
  for (int e = 0; e < 3; ++e) {
    k[e] = f.pbc[e] ? (int)rint(d[0] * f.inv[e] + d[1] * f.inv[3 + e] + d[2] * f.inv[6 + e]) : 0;
  }
}

// Key order: neighbor index j, then the lattice shift (ka, kb, kc).
__device__ __forceinline__ bool nep_less(
  const NepFrame& f, int j, double x, double y, double z, int j2, double x2, double y2, double z2)
{
  if (j != j2) return j < j2;
  int k[3], k2[3];
  nep_shift_of(f, j, x, y, z, k);
  nep_shift_of(f, j2, x2, y2, z2, k2);
  if (k[0] != k2[0]) return k[0] < k2[0];
  if (k[1] != k2[1]) return k[1] < k2[1];
  return k[2] < k2[2];
}

// Move entry (j, x, y, z) down from `slot` in steps of `gap` to its place.
__device__ __forceinline__ void nep_sift_down(
  NepList& list, int i, int slot, int gap, int j, double x, double y, double z, const NepFrame& f)
{
  while (slot >= gap) {
    const long long prev = nep_tiled(slot - gap, i, list.capacity, list.N);
    if (!nep_less(f, j, x, y, z, list.nl[prev], list.dx[prev], list.dy[prev], list.dz[prev])) break;
    const long long here = nep_tiled(slot, i, list.capacity, list.N);
    list.nl[here] = list.nl[prev];
    list.dx[here] = list.dx[prev];
    list.dy[here] = list.dy[prev];
    list.dz[here] = list.dz[prev];
    slot -= gap;
  }
  const long long here = nep_tiled(slot, i, list.capacity, list.N);
  list.nl[here] = j;
  list.dx[here] = x;
  list.dy[here] = y;
  list.dz[here] = z;
}

#define NEP_SORT_LOCAL 128  // entries a list may have to be sorted in registers / local memory
#define NEP_SHIFT_BITS 10   // bits per lattice-shift component in a packed key

// Sort lists of up to NEP_SORT_LOCAL entries in local arrays on packed integer
// keys j << 30 | (ka, kb, kc) + 512: the same order as nep_less, without
// recovering shifts and touching the list arrays at every comparison.
// Returns false (nothing changed) when a shift is too large to pack.
__device__ bool nep_list_sort_local(NepList& list, int i, const NepFrame& f, int n)
{
  long long key[NEP_SORT_LOCAL];
  int jj[NEP_SORT_LOCAL];
  double xx[NEP_SORT_LOCAL], yy[NEP_SORT_LOCAL], zz[NEP_SORT_LOCAL];
  const int half = 1 << (NEP_SHIFT_BITS - 1);
  int stride;
  const long long base = nep_tiled_base(i, list.capacity, list.N, stride);
  for (int m = 0; m < n; ++m) {
    const long long e = base + (long long)m * stride;
    jj[m] = list.nl[e];
    xx[m] = list.dx[e];
    yy[m] = list.dy[e];
    zz[m] = list.dz[e];
    int k[3];
    nep_shift_of(f, jj[m], xx[m], yy[m], zz[m], k);
    long long packed = (long long)jj[m];
    for (int c = 0; c < 3; ++c) {
      if (k[c] < -half || k[c] >= half) return false;
      packed = (packed << NEP_SHIFT_BITS) | (long long)(k[c] + half);
    }
    key[m] = packed;
  }
  int gap = 1;
  while (gap < n / 3) gap = 3 * gap + 1;
  for (; gap > 0; gap /= 3) {
    for (int a = gap; a < n; ++a) {
      const long long kk = key[a];
      const int j = jj[a];
      const double x = xx[a], y = yy[a], z = zz[a];
      int b = a;
      for (; b >= gap && key[b - gap] > kk; b -= gap) {
        key[b] = key[b - gap];
        jj[b] = jj[b - gap];
        xx[b] = xx[b - gap];
        yy[b] = yy[b - gap];
        zz[b] = zz[b - gap];
      }
      key[b] = kk;
      jj[b] = j;
      xx[b] = x;
      yy[b] = y;
      zz[b] = z;
    }
  }
  for (int m = 0; m < n; ++m) {
    const long long e = base + (long long)m * stride;
    list.nl[e] = jj[m];
    list.dx[e] = xx[m];
    list.dy[e] = yy[m];
    list.dz[e] = zz[m];
  }
  return true;
}

// Shell sort (Knuth's gaps) of the stored entries: in local arrays when they
// fit, else in place in the list arrays.
__device__ void nep_list_sort(NepList& list, int i, const NepFrame& f)
{
  const int n = list.count < list.capacity ? list.count : list.capacity;
  list.sorted = true;
  if (n <= NEP_SORT_LOCAL && nep_list_sort_local(list, i, f, n)) return;
  int gap = 1;
  while (gap < n / 3) gap = 3 * gap + 1;
  for (; gap > 0; gap /= 3) {
    for (int a = gap; a < n; ++a) {
      const long long here = nep_tiled(a, i, list.capacity, list.N);
      nep_sift_down(list, i, a, gap, list.nl[here], list.dx[here], list.dy[here], list.dz[here], f);
    }
  }
}

__device__ __forceinline__ void nep_list_add(
  NepList& list, int i, int j, double x, double y, double z, const NepFrame& f)
{
  if (list.count < list.capacity) {
    const long long here = nep_tiled(list.count, i, list.capacity, list.N);
    list.nl[here] = j;
    list.dx[here] = x;
    list.dy[here] = y;
    list.dz[here] = z;
  } else {
    if (!list.sorted) nep_list_sort(list, i, f);
    const long long last = nep_tiled(list.capacity - 1, i, list.capacity, list.N);
    if (nep_less(f, j, x, y, z, list.nl[last], list.dx[last], list.dy[last], list.dz[last])) {
      nep_sift_down(list, i, list.capacity - 1, 1, j, x, y, z, f);  // the largest key drops out
    }
  }
  ++list.count;
}

// r_j + (ka, kb, kc) . cell - r_i; the one expression both strategies use.
__device__ __forceinline__ void nep_image_vector(
  const double* ri, const double* rj, const double* cell, int ka, int kb, int kc,
  double& x, double& y, double& z)
{
  x = (rj[0] - ri[0]) + ((double)ka * cell[0] + (double)kb * cell[3] + (double)kc * cell[6]);
  y = (rj[1] - ri[1]) + ((double)ka * cell[1] + (double)kb * cell[4] + (double)kc * cell[7]);
  z = (rj[2] - ri[2]) + ((double)ka * cell[2] + (double)kb * cell[5] + (double)kc * cell[8]);
}

// Test one image against both pair cutoffs and record it.
__device__ __forceinline__ void nep_consider(
  int i, int j, const double* rj, const double* cell, int ka, int kb, int kc, const NepFrame& f,
  double rc2_radial, double rc2_angular, NepList& radial, NepList& angular)
{
  if (j == i && ka == 0 && kb == 0 && kc == 0) return;
  double x, y, z;
  nep_image_vector(f.ri, rj, cell, ka, kb, kc, x, y, z);
  const double d2 = x * x + y * y + z * z;
  if (d2 < rc2_radial) nep_list_add(radial, i, j, x, y, z, f);
  if (d2 < rc2_angular) nep_list_add(angular, i, j, x, y, z, f);
}

__device__ __forceinline__ void nep_finish_list(NepList& list, int i, const NepFrame& f, int* nn, int* max_count)
{
  if (!list.sorted) nep_list_sort(list, i, f);
  nn[i] = list.count < list.capacity ? list.count : list.capacity;
  atomicMax(max_count, list.count);
}

// The structure holding atom i: the last s with offsets[s] <= i (skips empty structures).
__device__ __forceinline__ int nep_structure_of(int i, const int* offsets, int S)
{
  int lo = 0, hi = S - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (offsets[mid] <= i) lo = mid; else hi = mid - 1;
  }
  return lo;
}

__device__ __forceinline__ void nep_cross(const double* a, const double* b, double* c)
{
  c[0] = a[1] * b[2] - a[2] * b[1];
  c[1] = a[2] * b[0] - a[0] * b[2];
  c[2] = a[0] * b[1] - a[1] * b[0];
}

__device__ __forceinline__ double nep_norm(const double* a)
{
  return sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
}

// The cell with every non-periodic vector replaced by unit vectors orthogonal
// to the periodic ones: its inverse gives fractional coordinates along the
// periodic vectors and plain lengths along the others, and its face distances
// are the periodic thicknesses (the same completion as
// gpunep.structures.image_counts).
__device__ void nep_complete_cell(const double* cell, const int* pbc, double* A)
{
  int periodic[3], n_periodic = 0;
  for (int d = 0; d < 3; ++d) {
    for (int c = 0; c < 3; ++c) A[3 * d + c] = cell[3 * d + c];
    if (pbc[d]) periodic[n_periodic++] = d;
  }
  if (n_periodic == 3) return;
  double u[2][3];  // orthonormal vectors perpendicular to the periodic ones
  if (n_periodic == 2) {
    nep_cross(&A[3 * periodic[0]], &A[3 * periodic[1]], u[0]);
  } else if (n_periodic == 1) {
    const double* a = &A[3 * periodic[0]];
    // cross a with the axis it is least aligned with
    int axis = 0;
    for (int c = 1; c < 3; ++c) if (fabs(a[c]) < fabs(a[axis])) axis = c;
    const double e[3] = {axis == 0 ? 1.0 : 0.0, axis == 1 ? 1.0 : 0.0, axis == 2 ? 1.0 : 0.0};
    nep_cross(a, e, u[0]);
    const double n0 = nep_norm(u[0]);
    for (int c = 0; c < 3; ++c) u[0][c] /= n0;
    nep_cross(a, u[0], u[1]);
  } else {
    u[0][0] = 1.0; u[0][1] = 0.0; u[0][2] = 0.0;
    u[1][0] = 0.0; u[1][1] = 1.0; u[1][2] = 0.0;
  }
  int next = 0;
  for (int d = 0; d < 3; ++d) {
    if (pbc[d]) continue;
    if (n_periodic == 0) {
      for (int c = 0; c < 3; ++c) A[3 * d + c] = (c == d) ? 1.0 : 0.0;
      continue;
    }
    const double n = nep_norm(u[next]);
    for (int c = 0; c < 3; ++c) A[3 * d + c] = u[next][c] / n;
    ++next;
  }
}

extern "C" __global__ void nep_neighbor_prepare(
  int S,
  int n_types,
  const double* __restrict__ cells,
  const int* __restrict__ pbc,
  const int* __restrict__ offsets,
  const double* __restrict__ rc_radial,
  const double* __restrict__ rc_angular,
  double* __restrict__ geometry,
  int* __restrict__ bins)
{
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s >= S) return;
  double rc = 0.0;
  for (int p = 0; p < n_types * n_types; ++p) {
    rc = fmax(rc, fmax(rc_radial[p], rc_angular[p]));
  }
  // A hair above the largest cutoff, so rounding in fractional coordinates
  // can never place a pair inside the cutoff outside the searched region.
  const double rc_search = rc * (1.0 + 1e-12) + 1e-9;
  const int* per = pbc + 3 * s;
  double A[9];
  nep_complete_cell(cells + 9 * s, per, A);

  // inverse of A (rows are vectors): inv = adj(A) / det(A); f = r . inv
  double c0[3], c1[3], c2[3];
  nep_cross(&A[3], &A[6], c0);
  nep_cross(&A[6], &A[0], c1);
  nep_cross(&A[0], &A[3], c2);
  const double det = A[0] * c0[0] + A[1] * c0[1] + A[2] * c0[2];
  double* g = geometry + NEP_GEOMETRY_STRIDE * s;
  for (int c = 0; c < 3; ++c) {
    g[3 * c + 0] = c0[c] / det;
    g[3 * c + 1] = c1[c] / det;
    g[3 * c + 2] = c2[c] / det;
  }
  const double thickness[3] = {fabs(det) / nep_norm(c0), fabs(det) / nep_norm(c1), fabs(det) / nep_norm(c2)};
  g[12] = rc_search;
  for (int c = 13; c < NEP_GEOMETRY_STRIDE; ++c) g[c] = 0.0;

  // Bin grid: periodic directions get floor(thickness / rc) bins (at least 1;
  // a thinner cell is searched through several images), non-periodic ones
  // are hashed modulo their bin count. The total stays <= 27 (atoms + 1).
  const long long budget = (long long)(offsets[s + 1] - offsets[s]) + 1;
  int nb[3], st[3];
  long long periodic_bins = 1;
  int n_free = 0;
  for (int d = 0; d < 3; ++d) {
    if (per[d]) {
      g[9 + d] = rc_search / thickness[d];
      nb[d] = (int)fmin(fmax(floor(thickness[d] / rc_search), 1.0), (double)NEP_MAX_BINS_PER_DIRECTION);
      periodic_bins *= nb[d];
    } else {
      g[9 + d] = 0.0;
      nb[d] = 1;
      ++n_free;
    }
  }
  while (periodic_bins > budget) {
    int d = 0;
    for (int e = 1; e < 3; ++e) if (nb[e] > nb[d]) d = e;
    periodic_bins /= nb[d];
    nb[d] = (nb[d] + 1) / 2;
    periodic_bins *= nb[d];
  }
  if (n_free > 0) {
    const double room = (double)budget / (double)periodic_bins;
    int each = (int)floor(pow(room, 1.0 / n_free));
    for (;;) {  // pow may round up; make sure each^n_free <= room exactly
      long long product = 1;
      for (int e = 0; e < n_free; ++e) product *= each;
      if (each <= 1 || product * periodic_bins <= budget) break;
      --each;
    }
    // at least 3 bins, so the 3 stencil bins of a direction are distinct
    for (int d = 0; d < 3; ++d) if (!per[d]) nb[d] = each > 3 ? each : 3;
  }
  int* b = bins + NEP_BINS_STRIDE * s;
  for (int d = 0; d < 3; ++d) {
    // bin width along d is thickness / nb (periodic) or rc_search (hashed);
    // the factor only absorbs the last-bit rounding of a ratio that is 1 in
    // exact arithmetic (rc_search's own margin is 1e4 times larger)
    st[d] = per[d] ? (int)fmax(1.0, ceil(rc_search * nb[d] / thickness[d] * (1.0 - 1e-13))) : 1;
    b[d] = nb[d];
    b[3 + d] = st[d];
  }
  b[6] = nb[0] * nb[1] * nb[2];
  b[7] = 0;
}

#define NEP_SCAN_CHUNK 32

// The square of the largest cutoff of type ti with any type: candidates
// whose estimated squared distance is below it (with a 1e-6 relative margin
// for the estimate's rounding) go through the exact test of nep_consider.
__device__ __forceinline__ double nep_largest_cutoff2(
  int ti, int n_types, const double* __restrict__ rc_radial, const double* __restrict__ rc_angular)
{
  double rc2 = 0.0;
  for (int t = 0; t < n_types; ++t) {
    const double rc = fmax(rc_radial[ti * n_types + t], rc_angular[ti * n_types + t]);
    rc2 = fmax(rc2, rc * rc);
  }
  return rc2;
}

// The nearest image of every atom j in [first, last) against atom i (see
// nep_neighbor_small). A branch-free pass over a chunk of atoms estimates the
// squared distances (the CPU vectorizes it); only the atoms within the
// largest cutoff of i's type go through nep_consider, which computes the exact
// vector and tests the pair's cutoffs, so the lists are those of testing every atom.
__device__ __forceinline__ void nep_scan_nearest(
  int i, int first, int last, int ti, int n_types, const double* __restrict__ positions,
  const int* __restrict__ types, const double* __restrict__ cell, const NepFrame& f,
  const double* __restrict__ rc_radial, const double* __restrict__ rc_angular, NepList& radial,
  NepList& angular)
{
  const double* ri = f.ri;
  const double* g = f.inv;
  const double bound = nep_largest_cutoff2(ti, n_types, rc_radial, rc_angular) * (1.0 + 1e-6);
  // k = 0 along free directions
  const double on[3] = {f.pbc[0] ? 1.0 : 0.0, f.pbc[1] ? 1.0 : 0.0, f.pbc[2] ? 1.0 : 0.0};
  for (int j0 = first; j0 < last; j0 += NEP_SCAN_CHUNK) {
    const int m = last - j0 < NEP_SCAN_CHUNK ? last - j0 : NEP_SCAN_CHUNK;
    bool near[NEP_SCAN_CHUNK];
    for (int c = 0; c < m; ++c) {
      const double* rj = positions + 3 * (j0 + c);
      const double dx = rj[0] - ri[0], dy = rj[1] - ri[1], dz = rj[2] - ri[2];
      const double ka = on[0] * rint(-(dx * g[0] + dy * g[3] + dz * g[6]));
      const double kb = on[1] * rint(-(dx * g[1] + dy * g[4] + dz * g[7]));
      const double kc = on[2] * rint(-(dx * g[2] + dy * g[5] + dz * g[8]));
      const double x = dx + (ka * cell[0] + kb * cell[3] + kc * cell[6]);
      const double y = dy + (ka * cell[1] + kb * cell[4] + kc * cell[7]);
      const double z = dz + (ka * cell[2] + kb * cell[5] + kc * cell[8]);
      near[c] = x * x + y * y + z * z < bound;
    }
    for (int c = 0; c < m; ++c) {
      if (!near[c]) continue;
      const int j = j0 + c;
      const double* rj = positions + 3 * j;
      const double d[3] = {rj[0] - ri[0], rj[1] - ri[1], rj[2] - ri[2]};
      int k[3];
      for (int e = 0; e < 3; ++e)
        k[e] = f.pbc[e] ? (int)rint(-(d[0] * g[e] + d[1] * g[3 + e] + d[2] * g[6 + e])) : 0;
      const int pair = ti * n_types + types[j];
      const double rcr = rc_radial[pair], rca = rc_angular[pair];
      nep_consider(i, j, rj, cell, k[0], k[1], k[2], f, rcr * rcr, rca * rca, radial, angular);
    }
  }
}

extern "C" __global__ void nep_neighbor_small(
  int N,
  int S,
  int n_types,
  int capacity_radial,
  int capacity_angular,
  const double* __restrict__ positions,
  const int* __restrict__ types,
  const double* __restrict__ cells,
  const int* __restrict__ pbc,
  const int* __restrict__ offsets,
  const double* __restrict__ geometry,
  const double* __restrict__ rc_radial,
  const double* __restrict__ rc_angular,
  int* __restrict__ nn_radial,
  int* __restrict__ nl_radial,
  double* __restrict__ dx_radial,
  double* __restrict__ dy_radial,
  double* __restrict__ dz_radial,
  int* __restrict__ nn_angular,
  int* __restrict__ nl_angular,
  double* __restrict__ dx_angular,
  double* __restrict__ dy_angular,
  double* __restrict__ dz_angular,
  int* __restrict__ max_counts)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int s = nep_structure_of(i, offsets, S);
  const double* ri = positions + 3 * i;
  const double* cell = cells + 9 * s;
  const double* g = geometry + NEP_GEOMETRY_STRIDE * s;
  const int* per = pbc + 3 * s;
  const int ti = types[i];
  // j ascending, then k lexicographic: the entries arrive in key order, so the
  // lists start (and stay) sorted and an overflowing list drops the newcomers
  NepList radial = {N, capacity_radial, nl_radial, dx_radial, dy_radial, dz_radial, 0, true};
  NepList angular = {N, capacity_angular, nl_angular, dx_angular, dy_angular, dz_angular, 0, true};
  const NepFrame frame = {positions, ri, g, per};
  // With every reach below half a cell, at most one image of j (the nearest,
  // k = rint(-f)) can lie within the cutoff: one candidate per atom instead of
  // an image range (the range, when not empty, holds exactly that image).
  const bool nearest = (!per[0] || g[9] < 0.5) && (!per[1] || g[10] < 0.5) && (!per[2] || g[11] < 0.5);
  if (nearest) {
    nep_scan_nearest(i, offsets[s], offsets[s + 1], ti, n_types, positions, types, cell, frame,
                     rc_radial, rc_angular, radial, angular);
  }
  for (int j = offsets[s]; j < offsets[s + 1] && !nearest; ++j) {
    const double* rj = positions + 3 * j;
    const double d[3] = {rj[0] - ri[0], rj[1] - ri[1], rj[2] - ri[2]};
    const int pair = ti * n_types + types[j];
    const double rcr = rc_radial[pair], rca = rc_angular[pair];
    // image k reaches the cutoff only if |f_d + k_d| < reach_d along each periodic direction
    int lo[3], hi[3];
    for (int e = 0; e < 3; ++e) {
      if (per[e]) {
        const double f = d[0] * g[e] + d[1] * g[3 + e] + d[2] * g[6 + e];
        lo[e] = (int)ceil(-f - g[9 + e]);
        hi[e] = (int)floor(-f + g[9 + e]);
      } else {
        lo[e] = 0;
        hi[e] = 0;
      }
    }
    for (int ka = lo[0]; ka <= hi[0]; ++ka)
      for (int kb = lo[1]; kb <= hi[1]; ++kb)
        for (int kc = lo[2]; kc <= hi[2]; ++kc)
          nep_consider(i, j, rj, cell, ka, kb, kc, frame, rcr * rcr, rca * rca, radial, angular);
  }
  nep_finish_list(radial, i, frame, nn_radial, &max_counts[0]);
  nep_finish_list(angular, i, frame, nn_angular, &max_counts[1]);
}

// floor(a / b) for b > 0
__device__ __forceinline__ int nep_floor_div(int a, int b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

extern "C" __global__ void nep_neighbor_bin_atoms(
  int N,
  int S,
  const double* __restrict__ positions,
  const int* __restrict__ pbc,
  const int* __restrict__ offsets,
  const double* __restrict__ geometry,
  const int* __restrict__ bins,
  const int* __restrict__ structure_bin_ends,
  int* __restrict__ atom_cells,
  int* __restrict__ bin_counts)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int s = nep_structure_of(i, offsets, S);
  const double* r = positions + 3 * i;
  const double* g = geometry + NEP_GEOMETRY_STRIDE * s;
  const int* b = bins + NEP_BINS_STRIDE * s;
  const int* per = pbc + 3 * s;
  int* out = atom_cells + 8 * i;  // [0..2] bin coordinates, [3..5] wraps, [6] bin
  for (int d = 0; d < 3; ++d) {
    const double f = r[0] * g[d] + r[1] * g[3 + d] + r[2] * g[6 + d];
    const int nb = b[d];
    if (per[d]) {
      // f = wrap + fraction; the atom sits in image -wrap of the cell
      const double wrap = floor(f);
      const int c = (int)floor((f - wrap) * nb);
      out[d] = c < 0 ? 0 : (c >= nb ? nb - 1 : c);
      out[3 + d] = (int)wrap;
    } else {
      // a length along a unit vector; hashed modulo nb
      const double c = floor(f / g[12]);
      out[d] = (int)(c - (double)nb * floor(c / (double)nb));
      out[3 + d] = 0;
    }
  }
  const int first_bin = structure_bin_ends[s] - b[6];
  out[6] = first_bin + (out[0] * b[1] + out[1]) * b[2] + out[2];
  out[7] = 0;
  atomicAdd(&bin_counts[out[6]], 1);
}

// Bin order copies of what the search reads (index, position, type, wraps), so
// that the stencil scan streams through contiguous memory.
extern "C" __global__ void nep_neighbor_fill_bins(
  int N,
  const double* __restrict__ positions,
  const int* __restrict__ types,
  const int* __restrict__ atom_cells,
  const int* __restrict__ bin_counts,
  const int* __restrict__ bin_ends,
  int* __restrict__ bin_fill,
  int* __restrict__ bin_atoms,
  double* __restrict__ bin_positions,
  int* __restrict__ bin_codes)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int* me = atom_cells + 8 * i;
  const int bin = me[6];
  const int p = bin_ends[bin] - bin_counts[bin] + atomicAdd(&bin_fill[bin], 1);
  bin_atoms[p] = i;
  for (int c = 0; c < 3; ++c) bin_positions[3 * p + c] = positions[3 * i + c];
  bin_codes[4 * p + 0] = types[i];
  for (int c = 0; c < 3; ++c) bin_codes[4 * p + 1 + c] = me[3 + c];
}

extern "C" __global__ void nep_neighbor_cell(
  int N,
  int S,
  int n_types,
  int capacity_radial,
  int capacity_angular,
  const double* __restrict__ positions,
  const int* __restrict__ types,
  const double* __restrict__ cells,
  const int* __restrict__ pbc,
  const int* __restrict__ offsets,
  const double* __restrict__ geometry,
  const int* __restrict__ bins,
  const int* __restrict__ structure_bin_ends,
  const int* __restrict__ atom_cells,
  const int* __restrict__ bin_counts,
  const int* __restrict__ bin_ends,
  const int* __restrict__ bin_atoms,
  const double* __restrict__ bin_positions,
  const int* __restrict__ bin_codes,
  const double* __restrict__ rc_radial,
  const double* __restrict__ rc_angular,
  int* __restrict__ nn_radial,
  int* __restrict__ nl_radial,
  double* __restrict__ dx_radial,
  double* __restrict__ dy_radial,
  double* __restrict__ dz_radial,
  int* __restrict__ nn_angular,
  int* __restrict__ nl_angular,
  double* __restrict__ dx_angular,
  double* __restrict__ dy_angular,
  double* __restrict__ dz_angular,
  int* __restrict__ max_counts)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int s = nep_structure_of(i, offsets, S);
  const double* ri = positions + 3 * i;
  const double* cell = cells + 9 * s;
  const int* per = pbc + 3 * s;
  const double* g = geometry + NEP_GEOMETRY_STRIDE * s;
  const int* b = bins + NEP_BINS_STRIDE * s;
  const int* me = atom_cells + 8 * i;
  const int first_bin = structure_bin_ends[s] - b[6];
  const int ti = types[i];
  NepList radial = {N, capacity_radial, nl_radial, dx_radial, dy_radial, dz_radial, 0, false};
  NepList angular = {N, capacity_angular, nl_angular, dx_angular, dy_angular, dz_angular, 0, false};
  const NepFrame frame = {positions, ri, g, per};
  const double bound = nep_largest_cutoff2(ti, n_types, rc_radial, rc_angular) * (1.0 + 1e-6);
  // Every stencil offset maps to a distinct (bin, cell shift) pair, so each
  // image of each atom is met at most once.
  int bin[3], shift[3];
  for (int oa = -b[3]; oa <= b[3]; ++oa) {
    for (int ob = -b[4]; ob <= b[4]; ++ob) {
      for (int oc = -b[5]; oc <= b[5]; ++oc) {
        const int o[3] = {oa, ob, oc};
        for (int d = 0; d < 3; ++d) {
          const int c = me[d] + o[d];
          if (per[d]) {
            shift[d] = nep_floor_div(c, b[d]);
            bin[d] = c - shift[d] * b[d];
          } else {
            shift[d] = 0;
            bin[d] = c - b[d] * nep_floor_div(c, b[d]);
          }
        }
        const int k = first_bin + (bin[0] * b[1] + bin[1]) * b[2] + bin[2];
        // image of j in the shifted cell, in terms of the raw positions: k = base - wraps
        const int base[3] = {shift[0] + me[3], shift[1] + me[4], shift[2] + me[5]};
        for (int p0 = bin_ends[k] - bin_counts[k]; p0 < bin_ends[k]; p0 += NEP_SCAN_CHUNK) {
          const int m = bin_ends[k] - p0 < NEP_SCAN_CHUNK ? bin_ends[k] - p0 : NEP_SCAN_CHUNK;
          // branch-free distance estimates (vectorized on the CPU); exact test below
          bool near[NEP_SCAN_CHUNK];
          for (int c = 0; c < m; ++c) {
            const double* rj = bin_positions + 3 * (p0 + c);
            const int* code = bin_codes + 4 * (p0 + c);  // type, wraps
            double x, y, z;
            nep_image_vector(ri, rj, cell, base[0] - code[1], base[1] - code[2], base[2] - code[3],
                             x, y, z);
            near[c] = x * x + y * y + z * z < bound;
          }
          for (int c = 0; c < m; ++c) {
            if (!near[c]) continue;
            const int p = p0 + c;
            const int* code = bin_codes + 4 * p;
            const int pair = ti * n_types + code[0];
            const double rcr = rc_radial[pair], rca = rc_angular[pair];
            nep_consider(i, bin_atoms[p], bin_positions + 3 * p, cell, base[0] - code[1],
                         base[1] - code[2], base[2] - code[3], frame, rcr * rcr, rca * rca,
                         radial, angular);
          }
        }
      }
    }
  }
  nep_finish_list(radial, i, frame, nn_radial, &max_counts[0]);
  nep_finish_list(angular, i, frame, nn_angular, &max_counts[1]);
}
