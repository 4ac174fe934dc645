// Batch normalization with batch statistics over every axis but the channel axis 1, for x of shape
// (N, C) or (N, C, H, W); replaces batch_norm_forward/_backward of minigan.nn. The wrappers lay x,
// y, g and grad_x out alike with the channels innermost (channels-last memory, as minigan's conv
// layers produce), so that each is the matrix (P, C) of the P = N H W positions: value (p, c) is at
// p C + c. Per channel, over its P values:
//   forward:  mean, var (biased);  y = (x - mean) w / sqrt(var + eps) + b
//   backward: xhat = (x - mean) / sqrt(var + eps);  grad_bias = sum g;  grad_weight = sum g xhat;
//             grad_x = w / sqrt(var + eps) (g - grad_bias / P - xhat grad_weight / P)
//
// Each direction is three launches. The first and last run over a grid (C / TC, S) of blocks of
// TC x TR threads: block (b, s) takes channels c in [b TC, (b + 1) TC), one a thread column
// (threadIdx.x), and slice s of the positions, [P s / S, P (s + 1) / S), its TR rows of threads taking
// every TR-th position, so a warp reads whole rows of channels. The first reduces each channel's
// slice to a partial, partial[s, c]; the second, 256 threads for every 4 channels, merges each
// channel's S partials once into its statistics; the last writes the output, re-reading x while
// the L2 cache still holds it (its grid reversed, so that the slices read last are re-read first).
// Every merge runs in a fixed order: results are deterministic. The statistics are Welford's (count,
// mean, M2) of x - shift, the shift a value of the channel, merged by Chan's formula: stable where
// sum x^2 - (sum x)^2 / P is not, even when |mean| >> std.
#include "common.cuh"

#define BLOCK_THREADS 256  // TC x TR, both powers of two (the wrappers choose them)

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

// The merge of the values of the block's thread column by a tree over its rows: halve the live rows
// each round, each merging its partner's value. Every thread gets its column's result.
template <typename V, typename Merge> __device__ V column_reduce(V v, Merge merge) {
  __shared__ V buf[BLOCK_THREADS];
  unsigned tid = threadIdx.y * blockDim.x + threadIdx.x;
  buf[tid] = v;
  __syncthreads();
  for (unsigned half = blockDim.y / 2; half > 0; half /= 2) {
    if (threadIdx.y < half) buf[tid] = merge(buf[tid], buf[tid + half * blockDim.x]);
    __syncthreads();
  }
  V result = buf[threadIdx.x];
  __syncthreads();  // buf is free again for the next call
  return result;
}

// The thread's channel and slice; the last launch takes the blocks in reverse order.
struct Tile {
  int c, s;
  __device__ Tile(bool reversed) {
    int b = reversed ? gridDim.x - 1 - blockIdx.x : blockIdx.x;
    s = reversed ? gridDim.y - 1 - blockIdx.y : blockIdx.y;
    c = b * blockDim.x + threadIdx.x;
  }
  // use(o, load(o)) for the offset o of each of the thread's values: channel c at its slice's positions.
  // The loads of four positions come before their uses, so that four are in flight at once.
  template <typename Load, typename Use> __device__ void for_each(int P, int C, Load load, Use use) const {
    int S = gridDim.y, step = blockDim.y, end = (int)((long long)P * (s + 1) / S);
    int p = (int)((long long)P * s / S) + threadIdx.y;
    for (; p + 3 * step < end; p += 4 * step) {
      decltype(load(0)) v[4];
#pragma unroll
      for (int u = 0; u < 4; ++u) v[u] = load((p + u * step) * C + c);
#pragma unroll
      for (int u = 0; u < 4; ++u) use((p + u * step) * C + c, v[u]);
    }
    for (; p < end; p += step) use(p * C + c, load(p * C + c));
  }
};
template <typename T> struct GradAndInput { T g, x; };  // what the backward kernels load at a position

// The second launch: the merge of channel c's S partials (width values each, read as V by load) by a
// thread column (its blocks have few columns and many rows); every thread takes part in the block's
// barriers, valid (c < C) or not.
template <typename V, typename Load, typename Merge>
__device__ V merge_partials(int c, int C, int S, int width, V v, Load load, Merge merge) {
#pragma unroll 4
  for (int s = threadIdx.y; c < C && s < S; s += blockDim.y) v = merge(v, load(width * (s * C + c)));
  return column_reduce(v, merge);
}

template <typename T>
__device__ void bn_partial_stats(const T* __restrict__ x, T* __restrict__ partial, int P, int C) {
  Tile tile(false);
  bool valid = tile.c < C;
  T shift = valid ? x[tile.c] : T(0);  // x at position 0
  Moments<T> m = {T(0), T(0), T(0)};
  if (valid) tile.for_each(P, C, [=](int o) { return x[o]; }, [&](int, T v) { m.add(v - shift); });
  m = column_reduce(m, MergeMoments());
  if (valid && threadIdx.y == 0) {
    T* out = partial + 3 * (tile.s * C + tile.c);  // s c (count mean m2)
    out[0] = m.count, out[1] = m.mean, out[2] = m.m2;
  }
}

template <typename T>
__device__ void bn_finalize_stats(const T* __restrict__ x, const T* __restrict__ partial, T* __restrict__ mean,
                                  T* __restrict__ var, int C, int S) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  Moments<T> m = merge_partials(c, C, S, 3, Moments<T>{T(0), T(0), T(0)}, [&](int i) {
    return Moments<T>{partial[i], partial[i + 1], partial[i + 2]};
  }, MergeMoments());
  if (c < C && threadIdx.y == 0) mean[c] = x[c] + m.mean, var[c] = m.m2 / m.count;
}

template <typename T>
__device__ void bn_normalize(const T* __restrict__ x, const T* __restrict__ mean, const T* __restrict__ var,
                             const T* __restrict__ weight, const T* __restrict__ bias, T eps, T* __restrict__ y, int P,
                             int C) {
  Tile tile(true);
  if (tile.c >= C) return;
  T mu = mean[tile.c], scale = weight[tile.c] / mg_sqrt(var[tile.c] + eps), shift = bias[tile.c];
  tile.for_each(P, C, [=](int o) { return x[o]; }, [=](int o, T v) { y[o] = (v - mu) * scale + shift; });
}

// The two sums of the backward pass in one read of g and x.
template <typename T>
__device__ void bn_partial_grad_sums(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                     T* __restrict__ partial, int P, int C) {
  Tile tile(false);
  bool valid = tile.c < C;
  GradSums<T> sums = {T(0), T(0)};
  if (valid) {
    T m = mean[tile.c];
    tile.for_each(P, C, [=](int o) { return GradAndInput<T>{g[o], x[o]}; }, [&](int, GradAndInput<T> v) {
      sums.g += v.g, sums.g_centered += v.g * (v.x - m);
    });
  }
  sums = column_reduce(sums, AddGradSums());
  if (valid && threadIdx.y == 0) {
    T* out = partial + 2 * (tile.s * C + tile.c);  // s c (sum g, sum g (x - mean))
    out[0] = sums.g, out[1] = sums.g_centered;
  }
}

// grad_weight = sum g (x - mean) / sqrt(var + eps), grad_bias = sum g
template <typename T>
__device__ void bn_finalize_grad_sums(const T* __restrict__ partial, const T* __restrict__ var, T eps,
                                      T* __restrict__ grad_weight, T* __restrict__ grad_bias, int C, int S) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  GradSums<T> sums = merge_partials(c, C, S, 2, GradSums<T>{T(0), T(0)}, [&](int i) {
    return GradSums<T>{partial[i], partial[i + 1]};
  }, AddGradSums());
  if (c < C && threadIdx.y == 0) grad_weight[c] = sums.g_centered / mg_sqrt(var[c] + eps), grad_bias[c] = sums.g;
}

template <typename T>
__device__ void bn_backward_input(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                  const T* __restrict__ var, const T* __restrict__ weight, T eps,
                                  const T* __restrict__ grad_weight, const T* __restrict__ grad_bias,
                                  T* __restrict__ grad_x, int P, int C) {
  Tile tile(true);
  int c = tile.c;
  if (c >= C) return;
  T invstd = T(1) / mg_sqrt(var[c] + eps), m = mean[c];
  T scale = weight[c] * invstd, mean_g = grad_bias[c] / T(P), mean_g_xhat = grad_weight[c] / T(P);
  tile.for_each(P, C, [=](int o) { return GradAndInput<T>{g[o], x[o]}; }, [=](int o, GradAndInput<T> v) {
    grad_x[o] = scale * (v.g - mean_g - (v.x - m) * invstd * mean_g_xhat);
  });
}

EXPORT_FLOAT_KERNELS(bn_partial_stats, (const T* x, T* partial, int P, int C), bn_partial_stats<T>(x, partial, P, C))
EXPORT_FLOAT_KERNELS(bn_finalize_stats, (const T* x, const T* partial, T* mean, T* var, int C, int S),
                     bn_finalize_stats<T>(x, partial, mean, var, C, S))
EXPORT_FLOAT_KERNELS(bn_normalize,
                     (const T* x, const T* mean, const T* var, const T* weight, const T* bias, T eps, T* y, int P,
                      int C),
                     bn_normalize<T>(x, mean, var, weight, bias, eps, y, P, C))
EXPORT_FLOAT_KERNELS(bn_partial_grad_sums, (const T* g, const T* x, const T* mean, T* partial, int P, int C),
                     bn_partial_grad_sums<T>(g, x, mean, partial, P, C))
EXPORT_FLOAT_KERNELS(bn_finalize_grad_sums,
                     (const T* partial, const T* var, T eps, T* grad_weight, T* grad_bias, int C, int S),
                     bn_finalize_grad_sums<T>(partial, var, eps, grad_weight, grad_bias, C, S))
EXPORT_FLOAT_KERNELS(bn_backward_input,
                     (const T* g, const T* x, const T* mean, const T* var, const T* weight, T eps,
                      const T* grad_weight, const T* grad_bias, T* grad_x, int P, int C),
                     bn_backward_input<T>(g, x, mean, var, weight, eps, grad_weight, grad_bias, grad_x, P, C))
