// What every kernels/*.cu shares: the grid-stride loop, float/double overloads of the math
// functions, and EXPORT_FLOAT_KERNELS, which turns a template into two extern "C" kernels.
//
// The loader (minigan/cuda/loader.py) pastes this file in place of `#include "common.cuh"`
// before NVRTC compiles a .cu, so CuPy's binary cache sees every line it compiles.
#ifndef MINIGAN_COMMON_CUH
#define MINIGAN_COMMON_CUH

// i runs over [0, n), split among all threads of the grid: thread t takes t, t + T, t + 2T, ...
// (T = gridDim.x * blockDim.x). 64-bit, so n may exceed 2^31.
#define GRID_STRIDE_LOOP(i, n)                                                    \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
       i += (long long)gridDim.x * blockDim.x)

// The same loop over fewer than 2^31 items in 32-bit unsigned arithmetic, whose division (to split
// a flat index into coordinates) costs a fraction of the 64-bit one. The caller checks n < 2^31.
#define GRID_STRIDE_LOOP_32(i, n)                                                   \
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < (unsigned)(n); \
       i += gridDim.x * blockDim.x)

// out[i] = op(in[i]...) for i in [0, n): the one loop of every elementwise kernel. op is a functor
// (a struct with operator()), so the math of each kernel is one line in its .cu.
template <typename T, typename Op, typename... In>
__device__ void map_elements(T* __restrict__ out, long long n, Op op, const In* __restrict__... in) {
  GRID_STRIDE_LOOP(i, n) out[i] = op(in[i]...);
}

// The float kernels call the float functions (expf), the double kernels the double ones (exp).
__device__ __forceinline__ float mg_exp(float x) { return expf(x); }
__device__ __forceinline__ double mg_exp(double x) { return exp(x); }
__device__ __forceinline__ float mg_log1p(float x) { return log1pf(x); }
__device__ __forceinline__ double mg_log1p(double x) { return log1p(x); }
__device__ __forceinline__ float mg_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double mg_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float mg_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double mg_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float mg_abs(float x) { return fabsf(x); }
// a / b within 2 ulp, without the branch to IEEE division's slow path (float); exact for double
__device__ __forceinline__ float mg_fast_div(float a, float b) { return __fdividef(a, b); }
__device__ __forceinline__ double mg_fast_div(double a, double b) { return a / b; }
__device__ __forceinline__ double mg_abs(double x) { return fabs(x); }

// 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: exp only sees -|x|, so it never overflows
template <typename T> __device__ __forceinline__ T mg_sigmoid(T x) {
  T e = mg_exp(-mg_abs(x));
  return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

// EXPORT_FLOAT_KERNELS(name, (params using T), statement) defines the kernels name_f32 (T = float)
// and name_f64 (T = double), whose body is the statement, a call of the __device__ code.
#define EXPORT_FLOAT_KERNELS(name, params, statement)                     \
  namespace name##_float {                                                \
  typedef float T;                                                        \
  extern "C" __global__ void name##_f32 params { statement; }            \
  }                                                                       \
  namespace name##_double {                                               \
  typedef double T;                                                       \
  extern "C" __global__ void name##_f64 params { statement; }            \
  }

#endif  // MINIGAN_COMMON_CUH
