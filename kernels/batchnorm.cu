// Batch normalization with batch statistics over every axis but the channel axis 1, for x of shape
// (N, C) or (N, C, H, W) seen as (N, C, HW); replaces batch_norm_forward/_backward of minigan.nn.
// M = N HW values per channel.
//   forward:  mean, var (biased, M2 / M) per channel;  y = (x - mean) w / sqrt(var + eps) + b
//   backward: xhat = (x - mean) / sqrt(var + eps);  grad_bias = sum g;  grad_weight = sum g xhat;
//             grad_x = w / sqrt(var + eps) (g - grad_bias / M - xhat grad_weight / M)
//
// Each reduction has two levels. Block (c, s) of a grid (C, S) reduces slice s of channel c (the
// images n in [n0, n1)) to one partial; then one block per channel merges its S partials by a tree.
// With S slices a channel, every multiprocessor has work even when C is smaller than their count;
// both levels combine in a fixed order, so results are deterministic. The statistics are Welford's
// (count, mean, M2), merged by Chan's formula: stable where sum x^2 - (sum x)^2 / M is not. They are
// taken of x - shift, the shift a value of the channel (its first), so that the running mean stays
// near 0 and float32 keeps its digits for the spread even when |mean| >> std.
#include "common.cuh"

#define BLOCK_THREADS 256  // the wrappers launch every kernel here with 256 threads a block

// Count, mean and sum of squared deviations M2 of a set of values.
template <typename T> struct Moments {
  T count, mean, m2;
  __device__ void add(T x) {  // Welford's update
    count += T(1);
    T delta = x - mean;
    mean += mg_fast_div(delta, count);
    m2 += delta * (x - mean);
  }
};
struct MergeMoments {  // Chan et al.: the moments of the union of two disjoint sets
  template <typename T> __device__ Moments<T> operator()(Moments<T> a, Moments<T> b) const {
    T count = a.count + b.count;
    if (count == T(0)) return a;
    T delta = b.mean - a.mean, share_b = b.count / count;
    return Moments<T>{count, a.mean + delta * share_b, a.m2 + b.m2 + delta * delta * a.count * share_b};
  }
};
template <typename T> struct GradSums { T g, g_centered; };  // sum g, sum g (x - mean)
struct AddGradSums {
  template <typename T> __device__ GradSums<T> operator()(GradSums<T> a, GradSums<T> b) const {
    return GradSums<T>{a.g + b.g, a.g_centered + b.g_centered};
  }
};

// Tree reduction of one value per thread over the block's BLOCK_THREADS threads: halve the live
// threads each round, each merging its partner's value. Every thread gets the result.
template <typename V, typename Merge> __device__ V block_reduce(V v, Merge merge) {
  __shared__ V buf[BLOCK_THREADS];
  unsigned tid = threadIdx.y * blockDim.x + threadIdx.x;
  buf[tid] = v;
  __syncthreads();
  for (unsigned half = BLOCK_THREADS / 2; half > 0; half /= 2) {
    if (tid < half) buf[tid] = merge(buf[tid], buf[tid + half]);
    __syncthreads();
  }
  V result = buf[0];
  __syncthreads();  // buf is free again for the next call
  return result;
}

// How many of a row's HW values thread x takes (x, x + blockDim.x, ...): a count known before the
// loop, which lets the compiler unroll it with the loads of several iterations in flight at once.
__device__ __forceinline__ int values_along(int HW) {
  return (int)threadIdx.x < HW ? (HW - 1 - (int)threadIdx.x) / (int)blockDim.x + 1 : 0;
}

// f(in[k]...) for the flat index k of every value of block (c, s)'s slice: blockDim.y images at a time,
// blockDim.x threads along each image's HW values.
template <typename F, typename... In>
__device__ void for_each_in_slice(int N, int C, int HW, F f, const In* __restrict__... in) {
  int c = blockIdx.x, n_end = (int)((long long)N * (blockIdx.y + 1) / gridDim.y), along = values_along(HW);
  for (int n = (int)((long long)N * blockIdx.y / gridDim.y) + threadIdx.y; n < n_end; n += blockDim.y) {
    long long first = ((long long)n * C + c) * HW + threadIdx.x;  // n c hw
#pragma unroll 4
    for (int u = 0; u < along; ++u) f(in[first + (long long)u * blockDim.x]...);
  }
}

// The block's partial, written to partial[c, s, :] (width values each) by thread 0.
template <typename T> __device__ T* partial_slot(T* partial, int width) {
  return partial + (long long)width * ((long long)blockIdx.x * gridDim.y + blockIdx.y);  // c s width
}

// For every row (n, c) of HW values, grid-stride (blockDim.y rows a block, blockDim.x threads along a
// row): out[k] = op(in[k]...) for each k in the row, where op = row_op(c) holds the channel's constants.
template <typename T, typename RowOp, typename... In>
__device__ void for_each_row(T* __restrict__ out, int N, int C, int HW, RowOp row_op, const In* __restrict__... in) {
  int along = values_along(HW);
  for (int r = blockIdx.x * blockDim.y + threadIdx.y; r < N * C; r += gridDim.x * blockDim.y) {
    auto op = row_op(r % C);                          // r = n C + c
    long long first = (long long)r * HW + threadIdx.x;  // n c hw
#pragma unroll 4
    for (int u = 0; u < along; ++u) {
      long long k = first + (long long)u * blockDim.x;
      out[k] = op(in[k]...);
    }
  }
}

// The channel's shift: its first value, x[0, c, 0].
template <typename T> __device__ T channel_shift(const T* x, int HW) { return x[(long long)blockIdx.x * HW]; }

template <typename T> __device__ void bn_partial_stats(const T* x, T* partial, int N, int C, int HW) {
  T shift = channel_shift(x, HW);
  Moments<T> m = {T(0), T(0), T(0)};
  for_each_in_slice(N, C, HW, [&](T xk) { m.add(xk - shift); }, x);
  m = block_reduce(m, MergeMoments());
  if (threadIdx.x == 0 && threadIdx.y == 0) {
    T* out = partial_slot(partial, 3);
    out[0] = m.count, out[1] = m.mean, out[2] = m.m2;
  }
}

// One block per channel c: merge its S partial moments (of x - shift).
template <typename T> __device__ void bn_finalize_stats(const T* x, const T* partial, T* mean, T* var, int HW, int S) {
  const T* p = partial + 3LL * blockIdx.x * S;  // c s (count mean m2)
  Moments<T> m = {T(0), T(0), T(0)};
  for (int s = threadIdx.x; s < S; s += blockDim.x)
    m = MergeMoments()(m, Moments<T>{p[3 * s], p[3 * s + 1], p[3 * s + 2]});
  m = block_reduce(m, MergeMoments());
  if (threadIdx.x == 0) mean[blockIdx.x] = channel_shift(x, HW) + m.mean, var[blockIdx.x] = m.m2 / m.count;
}

template <typename T>
__device__ void bn_normalize(const T* x, const T* mean, const T* var, const T* weight, const T* bias, T eps, T* y,
                             int N, int C, int HW) {
  for_each_row(y, N, C, HW, [&](int c) {
    T m = mean[c], scale = weight[c] / mg_sqrt(var[c] + eps), b = bias[c];
    return [=](T xk) { return (xk - m) * scale + b; };
  }, x);
}

// The two sums of the backward pass in one read of g and x.
template <typename T>
__device__ void bn_partial_grad_sums(const T* g, const T* x, const T* mean, T* partial, int N, int C, int HW) {
  T m = mean[blockIdx.x];
  GradSums<T> sums = {T(0), T(0)};
  for_each_in_slice(N, C, HW, [&](T gk, T xk) {
    sums.g += gk;
    sums.g_centered += gk * (xk - m);
  }, g, x);
  sums = block_reduce(sums, AddGradSums());
  if (threadIdx.x == 0 && threadIdx.y == 0) {
    T* out = partial_slot(partial, 2);
    out[0] = sums.g, out[1] = sums.g_centered;
  }
}

// One block per channel c: add its S partial sums; grad_weight = sum g xhat, grad_bias = sum g.
template <typename T>
__device__ void bn_finalize_grad_sums(const T* partial, const T* var, T eps, T* grad_weight, T* grad_bias, int S) {
  const T* p = partial + 2LL * blockIdx.x * S;  // c s (g g_centered)
  GradSums<T> sums = {T(0), T(0)};
  for (int s = threadIdx.x; s < S; s += blockDim.x) sums = AddGradSums()(sums, GradSums<T>{p[2 * s], p[2 * s + 1]});
  sums = block_reduce(sums, AddGradSums());
  if (threadIdx.x == 0) {
    grad_bias[blockIdx.x] = sums.g;
    grad_weight[blockIdx.x] = sums.g_centered / mg_sqrt(var[blockIdx.x] + eps);
  }
}

template <typename T>
__device__ void bn_backward_input(const T* g, const T* x, const T* mean, const T* var, const T* weight,
                                  const T* grad_weight, const T* grad_bias, T eps, T* grad_x, int N, int C, int HW) {
  T count = T((long long)N * HW);
  for_each_row(grad_x, N, C, HW, [&](int c) {
    T m = mean[c], invstd = T(1) / mg_sqrt(var[c] + eps), scale = weight[c] * invstd;
    T mean_g = grad_bias[c] / count, mean_g_xhat = grad_weight[c] / count;
    return [=](T gk, T xk) { return scale * (gk - mean_g - (xk - m) * invstd * mean_g_xhat); };
  }, g, x);
}

EXPORT_FLOAT_KERNELS(bn_partial_stats, (const T* x, T* partial, int N, int C, int HW),
                     bn_partial_stats<T>(x, partial, N, C, HW))
EXPORT_FLOAT_KERNELS(bn_finalize_stats, (const T* x, const T* partial, T* mean, T* var, int HW, int S),
                     bn_finalize_stats<T>(x, partial, mean, var, HW, S))
EXPORT_FLOAT_KERNELS(bn_normalize,
                     (const T* x, const T* mean, const T* var, const T* weight, const T* bias, T eps, T* y,
                      int N, int C, int HW),
                     bn_normalize<T>(x, mean, var, weight, bias, eps, y, N, C, HW))
EXPORT_FLOAT_KERNELS(bn_partial_grad_sums, (const T* g, const T* x, const T* mean, T* partial, int N, int C, int HW),
                     bn_partial_grad_sums<T>(g, x, mean, partial, N, C, HW))
EXPORT_FLOAT_KERNELS(bn_finalize_grad_sums,
                     (const T* partial, const T* var, T eps, T* grad_weight, T* grad_bias, int S),
                     bn_finalize_grad_sums<T>(partial, var, eps, grad_weight, grad_bias, S))
EXPORT_FLOAT_KERNELS(bn_backward_input,
                     (const T* g, const T* x, const T* mean, const T* var, const T* weight, const T* grad_weight,
                      const T* grad_bias, T eps, T* grad_x, int N, int C, int HW),
                     bn_backward_input<T>(g, x, mean, var, weight, grad_weight, grad_bias, eps, grad_x, N, C, HW))
