// Host-only CUDA shim: lets the kernels in this folder compile as plain C++20
// for the CPU executor (gpunep/backends/host.py force-includes it; the CUDA
// build never sees it).
//
// What it provides: the function qualifiers, the thread-local launch indices
// (threadIdx, blockIdx, blockDim, gridDim; set by the generated launcher for
// every simulated thread), real atomics, __ldg as a plain load, and min/max.
// What it deliberately omits: __shared__, __syncthreads and warp intrinsics.
// A kernel that uses them fails to compile here, which is the point: the host
// executor runs the threads of a block one after another, so cooperation
// between threads cannot work.
#ifndef GPUNEP_CUDA_SHIM_H
#define GPUNEP_CUDA_SHIM_H

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
// __restrict__ is a GCC/Clang keyword already.

struct uint3 {
  unsigned int x, y, z;
};

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

// One copy per OpenMP thread: each host thread simulates one CUDA thread at a time.
static thread_local uint3 threadIdx;
static thread_local uint3 blockIdx;
static thread_local dim3 blockDim;
static thread_local dim3 gridDim;

template <typename T>
__forceinline__ T __ldg(const T* p)
{
  return *p;
}

// CUDA's atomics return the old value; std::atomic_ref makes a plain array
// element atomic for the duration of the call (C++20).
__forceinline__ int atomicAdd(int* address, int value)
{
  return std::atomic_ref<int>(*address).fetch_add(value, std::memory_order_relaxed);
}

__forceinline__ unsigned int atomicAdd(unsigned int* address, unsigned int value)
{
  return std::atomic_ref<unsigned int>(*address).fetch_add(value, std::memory_order_relaxed);
}

__forceinline__ unsigned long long atomicAdd(unsigned long long* address, unsigned long long value)
{
  return std::atomic_ref<unsigned long long>(*address).fetch_add(value, std::memory_order_relaxed);
}

__forceinline__ float atomicAdd(float* address, float value)
{
  return std::atomic_ref<float>(*address).fetch_add(value, std::memory_order_relaxed);
}

__forceinline__ double atomicAdd(double* address, double value)
{
  return std::atomic_ref<double>(*address).fetch_add(value, std::memory_order_relaxed);
}

__forceinline__ int atomicMax(int* address, int value)
{
  std::atomic_ref<int> ref(*address);
  int old = ref.load(std::memory_order_relaxed);
  while (old < value && !ref.compare_exchange_weak(old, value, std::memory_order_relaxed)) {
  }
  return old;
}

// CUDA's device min/max accept mixed arithmetic types; std::min does not.
template <typename A, typename B>
__forceinline__ std::common_type_t<A, B> min(A a, B b)
{
  return b < a ? b : a;
}

template <typename A, typename B>
__forceinline__ std::common_type_t<A, B> max(A a, B b)
{
  return a < b ? b : a;
}

#endif  // GPUNEP_CUDA_SHIM_H
