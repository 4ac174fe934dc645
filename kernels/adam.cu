// Fused Adam steps, in place on param, exp_avg and exp_avg_sq; they replace adam_step and
// adam_step_group of minigan/optim.py (torch.optim.Adam's formula, weight decay as L2):
//   g <- g + lambda theta
//   m <- m + (1 - beta1)(g - m)
//   v <- beta2 v + (1 - beta2) g^2
//   theta <- theta - step_size m / (sqrt(v) / sqrt_bc2 + eps)
// where step_size = lr / (1 - beta1^t) and sqrt_bc2 = sqrt(1 - beta2^t) are computed on the host.
// One pass: each element's four inputs are read once and its three outputs written once.
#include "common.cuh"

#define ADAM_HYPER_PARAMS \
  T step_size, T one_minus_beta1, T beta2, T one_minus_beta2, T eps, T weight_decay, T sqrt_bc2
#define ADAM_HYPER_ARGS step_size, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, sqrt_bc2

// The update of element i of one parameter.
template <typename T>
__device__ __forceinline__ void adam_update(T* __restrict__ param, const T* __restrict__ grad, T* __restrict__ exp_avg,
                                            T* __restrict__ exp_avg_sq, long long i, ADAM_HYPER_PARAMS) {
  T p = param[i], m = exp_avg[i], v = exp_avg_sq[i];
  T g = weight_decay != T(0) ? grad[i] + weight_decay * p : grad[i];
  m += one_minus_beta1 * (g - m);
  v = beta2 * v + one_minus_beta2 * g * g;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  param[i] = p - step_size * (m / (mg_sqrt(v) / sqrt_bc2 + eps));
}

template <typename T>
__device__ void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, long long n, ADAM_HYPER_PARAMS) {
  GRID_STRIDE_LOOP(i, n) adam_update(param, grad, exp_avg, exp_avg_sq, i, ADAM_HYPER_ARGS);
}

// Every parameter of a group in one launch. table is (6, K) int64 on the device: the addresses of
// param, grad, exp_avg and exp_avg_sq of each of the K parameters, its size, and the first block
// that works on it (an ascending row). Block b updates one chunk of blockDim.x * chunk_per_thread
// elements of the parameter k whose blocks hold b.
template <typename T>
__device__ void adam_step_group(const long long* __restrict__ table, int K, int chunk_per_thread, ADAM_HYPER_PARAMS) {
  const long long* first_block = table + 5LL * K;
  int lo = 0, hi = K - 1;  // binary search: the last k with first_block[k] <= b
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (first_block[mid] <= (long long)blockIdx.x) lo = mid; else hi = mid - 1;
  }
  T* param = reinterpret_cast<T*>(table[lo]);
  const T* grad = reinterpret_cast<const T*>(table[K + lo]);
  T* exp_avg = reinterpret_cast<T*>(table[2 * K + lo]);
  T* exp_avg_sq = reinterpret_cast<T*>(table[3 * K + lo]);
  long long n = table[4 * K + lo], chunk = (long long)blockDim.x * chunk_per_thread;
  long long start = (blockIdx.x - first_block[lo]) * chunk, end = min(start + chunk, n);
#pragma unroll 4
  for (long long i = start + threadIdx.x; i < end; i += blockDim.x)
    adam_update(param, grad, exp_avg, exp_avg_sq, i, ADAM_HYPER_ARGS);
}

EXPORT_FLOAT_KERNELS(adam_step, (T* param, const T* grad, T* exp_avg, T* exp_avg_sq, long long n, ADAM_HYPER_PARAMS),
                     adam_step<T>(param, grad, exp_avg, exp_avg_sq, n, ADAM_HYPER_ARGS))
EXPORT_FLOAT_KERNELS(adam_step_group, (const long long* table, int K, int chunk_per_thread, ADAM_HYPER_PARAMS),
                     adam_step_group<T>(table, K, chunk_per_thread, ADAM_HYPER_ARGS))
