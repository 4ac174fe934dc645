// Activations and their gradients, elementwise; they replace the NumPy functions of the same
// names in minigan/ops/activation.py. Backwards that can use the output (relu, tanh, sigmoid)
// take it (y), as the NumPy ones do.
#include "common.cuh"

struct Relu {  // max(x, 0); NaN stays NaN, as np.maximum
  template <typename T> __device__ T operator()(T x) const { return x <= T(0) ? T(0) : x; }
};
struct ReluGrad {  // g [y > 0]
  template <typename T> __device__ T operator()(T y, T g) const { return y > T(0) ? g : T(0); }
};
template <typename T> struct LeakyRelu {  // x if x > 0 else slope x
  T slope;
  __device__ T operator()(T x) const { return x > T(0) ? x : x * slope; }
};
template <typename T> struct LeakyReluGrad {  // g if x > 0 else slope g
  T slope;
  __device__ T operator()(T x, T g) const { return x > T(0) ? g : g * slope; }
};
struct Tanh {
  template <typename T> __device__ T operator()(T x) const { return mg_tanh(x); }
};
struct TanhGrad {  // g (1 - y^2)
  template <typename T> __device__ T operator()(T y, T g) const { return g * (T(1) - y * y); }
};
struct Sigmoid {
  template <typename T> __device__ T operator()(T x) const { return mg_sigmoid(x); }
};
struct SigmoidGrad {  // g y (1 - y)
  template <typename T> __device__ T operator()(T y, T g) const { return g * y * (T(1) - y); }
};

EXPORT_FLOAT_KERNELS(relu_forward, (const T* x, T* y, long long n), map_elements(y, n, Relu(), x))
EXPORT_FLOAT_KERNELS(relu_backward, (const T* y, const T* g, T* dx, long long n),
                     map_elements(dx, n, ReluGrad(), y, g))
EXPORT_FLOAT_KERNELS(leaky_relu_forward, (const T* x, T* y, long long n, T slope),
                     map_elements(y, n, LeakyRelu<T>{slope}, x))
EXPORT_FLOAT_KERNELS(leaky_relu_backward, (const T* x, const T* g, T* dx, long long n, T slope),
                     map_elements(dx, n, LeakyReluGrad<T>{slope}, x, g))
EXPORT_FLOAT_KERNELS(tanh_forward, (const T* x, T* y, long long n), map_elements(y, n, Tanh(), x))
EXPORT_FLOAT_KERNELS(tanh_backward, (const T* y, const T* g, T* dx, long long n),
                     map_elements(dx, n, TanhGrad(), y, g))
EXPORT_FLOAT_KERNELS(sigmoid_forward, (const T* x, T* y, long long n), map_elements(y, n, Sigmoid(), x))
EXPORT_FLOAT_KERNELS(sigmoid_backward, (const T* y, const T* g, T* dx, long long n),
                     map_elements(dx, n, SigmoidGrad(), y, g))
