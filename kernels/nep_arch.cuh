// The architecture of the model a module is compiled for, as compile-time
// constants, and where each model parameter lives in the one `params` array.
//
// gpunep.engine.model_arrays injects these (-D for g++ and NVRTC alike) and
// writes `params` in exactly this layout:
//
//   NEP_N_TYPES            T, species of the model
//   NEP_N_RADIAL           n_max_radial + 1, radial descriptor components
//   NEP_K_RADIAL           basis_size_radial + 1, radial basis functions
//   NEP_N_ANGULAR          n_max_angular + 1
//   NEP_K_ANGULAR          basis_size_angular + 1
//   NEP_L_MAX              l_max of the 3-body invariants (1..8)
//   NEP_EXTRAS             bit mask of the further invariant blocks, in
//                          descriptor order (the NEP_HAS_Q* bits below)
//   NEP_N_NEURON           hidden neurons
//   NEP_HAS_ZBL            1 with a ZBL table in params
//   NEP_HAS_CHARGE_HEAD    1 for charge models (a second output per neuron)
//   NEP_HAS_POLAR_NETWORK  1 for polarizability models (a second network)
//   NEP_SUM_CHUNK          radial orders whose angular sums one pass over the
//                          neighbors accumulates (registers on a GPU; the host
//                          takes all of them in one pass)
//
// So every per-atom array (descriptor, angular sums, network gradient, basis
// functions, spherical harmonics) has a size known to the compiler: registers
// on a GPU, fixed-length vectorisable loops on the CPU.
#ifndef NEP_ARCH_CUH
#define NEP_ARCH_CUH

#include "nep_types.cuh"

#if !defined(NEP_N_TYPES) || !defined(NEP_N_RADIAL) || !defined(NEP_K_RADIAL) ||   \
    !defined(NEP_N_ANGULAR) || !defined(NEP_K_ANGULAR) || !defined(NEP_L_MAX) ||   \
    !defined(NEP_EXTRAS) || !defined(NEP_N_NEURON) || !defined(NEP_HAS_ZBL) ||     \
    !defined(NEP_HAS_CHARGE_HEAD) || !defined(NEP_HAS_POLAR_NETWORK) || !defined(NEP_SUM_CHUNK)
#error "model kernels are compiled for one architecture: gpunep.engine.model_arrays defines NEP_*"
#endif

// Bits of NEP_EXTRAS: the optional invariant blocks in descriptor order
// (docs/descriptors.md#descriptor-vector).
#define NEP_HAS_Q4B 1
#define NEP_HAS_Q5B 2
#define NEP_HAS_Q112 4
#define NEP_HAS_Q123 8
#define NEP_HAS_Q233 16
#define NEP_HAS_Q134 32

__host__ __device__ constexpr int nep_count_bits(int mask) { return mask == 0 ? 0 : (mask & 1) + nep_count_bits(mask >> 1); }

constexpr int NEP_PAIRS = NEP_N_TYPES * NEP_N_TYPES;
// angular components alpha = (l, m) for l = 1..L: (L + 1)^2 - 1
constexpr int NEP_N_ABC = (NEP_L_MAX + 1) * (NEP_L_MAX + 1) - 1;
// invariants per angular radial order: L 3-body ones plus the extras
constexpr int NEP_N_INVARIANTS = NEP_L_MAX + nep_count_bits(NEP_EXTRAS);
constexpr int NEP_DIM = NEP_N_RADIAL + NEP_N_ANGULAR * NEP_N_INVARIANTS;
// angular sums s_{n,alpha} of one atom
constexpr int NEP_N_SUMS = NEP_N_ANGULAR * NEP_N_ABC;
// one network per type: W0 (n_neuron x dim, row-major), b0, w1, output bias
constexpr int NEP_ANN_BLOCK = (NEP_DIM + 2) * NEP_N_NEURON + 1;
constexpr int NEP_ZBL_STRIDE = 12;

// Offsets into params (all `real`):
constexpr long long NEP_P_RC_RADIAL = 0;                                   // [t_i * T + t_j]
constexpr long long NEP_P_RC_ANGULAR = NEP_P_RC_RADIAL + NEP_PAIRS;        // [t_i * T + t_j]
constexpr long long NEP_P_C_RADIAL = NEP_P_RC_ANGULAR + NEP_PAIRS;         // [pair][n][k]
constexpr long long NEP_P_C_ANGULAR = NEP_P_C_RADIAL + (long long)NEP_PAIRS * NEP_N_RADIAL * NEP_K_RADIAL;
constexpr long long NEP_P_Q_SCALER = NEP_P_C_ANGULAR + (long long)NEP_PAIRS * NEP_N_ANGULAR * NEP_K_ANGULAR;
constexpr long long NEP_P_ANN = NEP_P_Q_SCALER + NEP_DIM;                  // [type][NEP_ANN_BLOCK]
constexpr long long NEP_P_ZBL = NEP_P_ANN + (long long)NEP_N_TYPES * NEP_ANN_BLOCK;  // [pair][12]
constexpr long long NEP_P_ANN_CHARGE = NEP_P_ZBL + (NEP_HAS_ZBL ? (long long)NEP_PAIRS * NEP_ZBL_STRIDE : 0);
constexpr long long NEP_P_ANN_POLAR =
  NEP_P_ANN_CHARGE + (NEP_HAS_CHARGE_HEAD ? (long long)NEP_N_TYPES * NEP_N_NEURON : 0);
constexpr long long NEP_P_SIZE =
  NEP_P_ANN_POLAR + (NEP_HAS_POLAR_NETWORK ? (long long)NEP_N_TYPES * NEP_ANN_BLOCK : 0);

// Descriptor-length loops (the network) are unrolled, keeping the descriptor
// and its gradient in registers, up to 48 single-precision values (24 double);
// longer ones stay loops over a local array (a GPU's 255 registers hold no more).
constexpr int NEP_DIM_UNROLL = NEP_DIM * (int)sizeof(real) <= 48 * 4 ? NEP_DIM : 1;
constexpr int NEP_SUM_CHUNK_SIZE = NEP_SUM_CHUNK < NEP_N_ANGULAR ? NEP_SUM_CHUNK : NEP_N_ANGULAR;

static_assert(NEP_N_TYPES >= 1 && NEP_N_RADIAL >= 1 && NEP_N_ANGULAR >= 1, "empty architecture");
static_assert(NEP_K_RADIAL >= 1 && NEP_K_ANGULAR >= 1 && NEP_N_NEURON >= 1, "empty architecture");
static_assert(NEP_L_MAX >= 1 && NEP_L_MAX <= 8, "the harmonics tables hold l = 1..8");
static_assert(NEP_SUM_CHUNK >= 1, "NEP_SUM_CHUNK must be positive");

#endif  // NEP_ARCH_CUH
