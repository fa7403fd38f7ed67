// The real type of a build and the small portable helpers every kernel uses.
//
// Host-injected compile-time constant: NEP_REAL (float or double). Positions,
// boxes, forces, virials and energies are double in every build; descriptors
// and the network use `real` (float is GPUMD's arithmetic).
//
// Every kernel runs under both executors (NVRTC on a GPU, g++ through
// cuda_shim.h on the CPU): no shared memory, no __syncthreads, no warp
// intrinsics; one thread per atom (or per structure, per k-vector) that owns
// what it writes.
#ifndef NEP_TYPES_CUH
#define NEP_TYPES_CUH

#ifndef NEP_REAL
#error "compile with -DNEP_REAL=float or -DNEP_REAL=double"
#endif
typedef NEP_REAL real;

// Loops over compile-time trip counts are unrolled on the GPU, so that the
// per-atom arrays they index stay in registers; g++ -O3 decides for itself.
// NEP_UNROLL_ALWAYS also unrolls on the CPU: for the short loops of the
// spherical harmonics, whose trip counts (1-5) defeat g++'s vectoriser.
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define NEP_UNROLL _Pragma("unroll")
#define NEP_UNROLL_DIM _Pragma("unroll NEP_DIM_UNROLL")
#define NEP_UNROLL_ALWAYS _Pragma("unroll")
#define NEP_NO_UNROLL _Pragma("unroll 1")
#else
#define NEP_UNROLL
#define NEP_UNROLL_DIM
#define NEP_UNROLL_ALWAYS _Pragma("GCC unroll 16")
#define NEP_NO_UNROLL _Pragma("GCC unroll 1")
#endif

// Overloads so that `real` code calls the single- or double-precision libm
// function (the float versions are what GPUMD uses).
__device__ __forceinline__ float nep_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double nep_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float nep_cos(float x) { return cosf(x); }
__device__ __forceinline__ double nep_cos(double x) { return cos(x); }
__device__ __forceinline__ float nep_sin(float x) { return sinf(x); }
__device__ __forceinline__ double nep_sin(double x) { return sin(x); }
__device__ __forceinline__ float nep_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double nep_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float nep_exp(float x) { return expf(x); }
__device__ __forceinline__ double nep_exp(double x) { return exp(x); }
__device__ __forceinline__ float nep_erfc(float x) { return erfcf(x); }
__device__ __forceinline__ double nep_erfc(double x) { return erfc(x); }

#define NEP_PI ((real)3.14159265358979323846)

// The global index of this thread (one thread per atom, structure or item).
__device__ __forceinline__ int nep_thread_index()
{
  return blockIdx.x * blockDim.x + threadIdx.x;
}

#endif  // NEP_TYPES_CUH
