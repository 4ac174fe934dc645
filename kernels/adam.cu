// One fused Adam step of one parameter, in place on param, exp_avg and exp_avg_sq; replaces
// adam_step of minigan/optim.py (torch.optim.Adam's formula, weight decay as L2):
//   g <- g + lambda theta
//   m <- m + (1 - beta1)(g - m)
//   v <- beta2 v + (1 - beta2) g^2
//   theta <- theta - step_size m / (sqrt(v) / sqrt_bc2 + eps)
// where step_size = lr / (1 - beta1^t) and sqrt_bc2 = sqrt(1 - beta2^t) are computed on the host.
// One pass: each element's four inputs are read once and its three outputs written once.
#include "common.cuh"

template <typename T>
__device__ void adam_step(T* __restrict__ param, const T* __restrict__ grad, T* __restrict__ exp_avg,
                          T* __restrict__ exp_avg_sq, long long n, T step_size,
                          T one_minus_beta1, T beta2, T one_minus_beta2, T eps, T weight_decay, T sqrt_bc2) {
  GRID_STRIDE_LOOP(i, n) {
    T p = param[i], m = exp_avg[i], v = exp_avg_sq[i];
    T g = weight_decay != T(0) ? grad[i] + weight_decay * p : grad[i];
    m += one_minus_beta1 * (g - m);
    v = beta2 * v + one_minus_beta2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] = p - step_size * (m / (mg_sqrt(v) / sqrt_bc2 + eps));
  }
}

EXPORT_FLOAT_KERNELS(adam_step,
                     (T* param, const T* grad, T* exp_avg, T* exp_avg_sq, long long n, T step_size,
                      T one_minus_beta1, T beta2, T one_minus_beta2, T eps, T weight_decay, T sqrt_bc2),
                     adam_step<T>(param, grad, exp_avg, exp_avg_sq, n, step_size, one_minus_beta1, beta2,
                                  one_minus_beta2, eps, weight_decay, sqrt_bc2))
