// Reading one atom's neighbor list in the model kernels: the list entries of
// atom i (nep_layout.cuh) and each pair's vector r_ij = r_j - r_i in `real`
// (computed in double from the positions, nep_frame.cuh).
#ifndef NEP_PAIRS_CUH
#define NEP_PAIRS_CUH

#include "nep_frame.cuh"
#include "nep_layout.cuh"
#include "nep_types.cuh"

// The lists of a batch, as the neighbor kernels wrote them.
struct NepLists {
  int N;
  int capacity;
  const int* nn;      // (N,) stored counts
  const int* nbr;     // neighbor index per entry (packed with its image in mic structures)
  const int* shift;   // packed lattice shift per entry (structures that are not mic)

  // The neighbor of entry e.
  __device__ __forceinline__ int neighbor(long long e) const { return nep_neighbor_index(nbr[e]); }
};

// Atom i's entries: base + slot * stride for slot < count.
struct NepList {
  long long base;
  int stride;
  int count;

  __device__ __forceinline__ long long entry(int slot) const { return base + (long long)slot * stride; }
};

__device__ __forceinline__ NepList nep_list(const NepLists& lists, int i)
{
  int stride;
  const long long base = nep_tiled_base(i, lists.capacity, lists.N, stride);
  const int count = lists.nn[i] < lists.capacity ? lists.nn[i] : lists.capacity;
  return NepList{base, stride, count};
}

// The atoms of a batch.
struct NepAtoms {
  const double* positions;   // (N, 3)
  const int* types;          // (N,)
  const int* system_index;   // (N,) structure of each atom
  const double* frames;      // (S, NEP_FRAME_DOUBLES)
  const int* frame_ints;     // (S, NEP_FRAME_INTS)

  __device__ __forceinline__ NepCenter center(int i) const
  {
    return nep_center(i, positions, system_index, frames, frame_ints);
  }
};

// r_ij of list entry e (neighbor j = lists.neighbor(e)) in real, and |r_ij|.
__device__ __forceinline__ real nep_pair(
  const NepCenter& c, const NepAtoms& atoms, const NepLists& lists, long long e, int j, real* r12)
{
  double d[3];
  nep_pair_vector(c, atoms.positions, lists.nbr[e], lists.shift, e, d);
  r12[0] = (real)d[0];
  r12[1] = (real)d[1];
  r12[2] = (real)d[2];
  return nep_sqrt(r12[0] * r12[0] + r12[1] * r12[1] + r12[2] * r12[2]);
}

// The leading parameters of every model kernel over atoms and their pairs,
// grouped as gpunep.engine passes them (Evaluator.pair_group): the atom
// count, both lists' capacities, the atoms (NepAtoms), both lists (NepLists)
// and the model's params (nep_arch.cuh). gpunep.executors.signature expands
// this macro when it parses the kernels.
#define NEP_PAIR_PARAMS                                                                      \
  int N, int capacity_radial, int capacity_angular, const double* __restrict__ positions,    \
    const int* __restrict__ types, const int* __restrict__ system_index,                     \
    const double* __restrict__ frames, const int* __restrict__ frame_ints,                   \
    const int* __restrict__ nn_radial, const int* __restrict__ nbr_radial,                   \
    const int* __restrict__ shift_radial, const int* __restrict__ nn_angular,                \
    const int* __restrict__ nbr_angular, const int* __restrict__ shift_angular,              \
    const real* __restrict__ params

// The structs of a kernel declared with NEP_PAIR_PARAMS.
#define NEP_PAIR_STRUCTS                                                                     \
  const NepAtoms atoms{positions, types, system_index, frames, frame_ints};                  \
  const NepLists radial{N, capacity_radial, nn_radial, nbr_radial, shift_radial};            \
  const NepLists angular{N, capacity_angular, nn_angular, nbr_angular, shift_angular}

#endif  // NEP_PAIRS_CUH
