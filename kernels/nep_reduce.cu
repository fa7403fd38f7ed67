// Per-structure sums of per-atom values, deterministic (no atomics): the
// atoms of a structure are contiguous, each structure is cut into parts of
// strided atoms, every part summed in a fixed order by one thread, then the
// parts of each structure in a fixed order by one thread. The totals are
// therefore bitwise the same run to run, and on every executor.
//
//   nep_reduce_parts(n_parts, components, N, part_system, part_offsets,
//                    offsets, values, partial)
//       one thread per part p of structure s (local index q of P_s parts):
//       partial[c * n_parts + p] = sum_m values[c * N + offsets[s] + q + m P_s]
//       (atoms q, q + P_s, ... of the structure: consecutive threads read
//       consecutive atoms)
//   nep_reduce_structures(S, components, n_parts, part_offsets, partial, sums)
//       one thread per structure: sums[s * components + c] = sum of its parts
//
// values (components, N) double; part_system (n_parts) int; part_offsets
// (S + 1) int: the parts of s are part_offsets[s] .. part_offsets[s+1]-1 (at
// least one per structure); sums (S, components) double.
#include "nep_types.cuh"

extern "C" __global__ void nep_reduce_parts(
  int n_parts,
  int components,
  int N,
  const int* __restrict__ part_system,
  const int* __restrict__ part_offsets,
  const int* __restrict__ offsets,
  const double* __restrict__ values,
  double* __restrict__ partial)
{
  const int p = nep_thread_index();
  if (p >= n_parts) return;
  const int s = part_system[p];
  const int parts = part_offsets[s + 1] - part_offsets[s];
  const int q = p - part_offsets[s];
  const int first = offsets[s], last = offsets[s + 1];
  for (int c = 0; c < components; ++c) {
    const double* v = values + (long long)c * N;
    double sum = 0.0;
    for (int a = first + q; a < last; a += parts) sum += v[a];
    partial[(long long)c * n_parts + p] = sum;
  }
}

extern "C" __global__ void nep_reduce_structures(
  int S,
  int components,
  int n_parts,
  const int* __restrict__ part_offsets,
  const double* __restrict__ partial,
  double* __restrict__ sums)
{
  const int s = nep_thread_index();
  if (s >= S) return;
  for (int c = 0; c < components; ++c) {
    const double* v = partial + (long long)c * n_parts;
    double sum = 0.0;
    for (int p = part_offsets[s]; p < part_offsets[s + 1]; ++p) sum += v[p];
    sums[(long long)s * components + c] = sum;
  }
}
