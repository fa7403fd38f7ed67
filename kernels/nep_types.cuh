// The real type of a build: NEP_REAL is float or double (-DNEP_REAL=...).
// nep_common.cuh defines the same typedef behind the same guard, so either
// header may come first.
#ifndef NEP_REAL_DEFINED
#define NEP_REAL_DEFINED
#ifndef NEP_REAL
#error "compile with -DNEP_REAL=float or -DNEP_REAL=double"
#endif
typedef NEP_REAL real;
#endif
