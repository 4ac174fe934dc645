// Binary cross-entropy on logits, elementwise; replaces bce_with_logits_forward/_backward of
// minigan.nn (the NumPy functions of the same names).
#include "common.cuh"

struct BceWithLogits {  // -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)), stably: exp only sees -|x|
  template <typename T> __device__ T operator()(T x, T t) const {
    return (x > T(0) ? x : T(0)) - x * t + mg_log1p(mg_exp(-mg_abs(x)));
  }
};
struct BceWithLogitsGrad {  // g (sigmoid(x) - t)
  template <typename T> __device__ T operator()(T x, T t, T g) const { return g * (mg_sigmoid(x) - t); }
};

EXPORT_FLOAT_KERNELS(bce_with_logits_forward, (const T* x, const T* t, T* loss, long long n),
                     map_elements(loss, n, BceWithLogits(), x, t))
EXPORT_FLOAT_KERNELS(bce_with_logits_backward, (const T* x, const T* t, const T* g, T* dx, long long n),
                     map_elements(dx, n, BceWithLogitsGrad(), x, t, g))
