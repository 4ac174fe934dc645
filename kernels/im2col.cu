// im2col and col2im for 2-d convolutions with stride, padding and dilation; they replace the NumPy
// functions of the same names in minigan/nn/conv.py. Output position (oh, ow) sees input pixel
// (h, w) through kernel tap (i, j) when
//     h = oh SH - PH + i DH,   w = ow SW - PW + j DW.
// im2col:  cols[n, c, i, j, oh, ow] = x[n, c, h, w], 0 where (h, w) is padding   # n c kh kw oh ow
// col2im, its adjoint: x[n, c, h, w] = the sum of cols[n, c, i, j, oh, ow] over the taps that see (h, w).
// Both read and write every array through element strides, so any layout works without a copy;
// the wrappers choose the outputs' layouts. Threads take positions (n, c, a, b) channel fastest
// (c_fastest, for channels-last memory) or b fastest, so that neighbouring threads touch
// neighbouring memory. Flat indices are split in 32-bit arithmetic: the wrappers check that the
// thread counts are below 2^31.
#include "common.cuh"

#define CONV_GEOMETRY_PARAMS                                                                   \
  int N, int C, int H, int W, int KH, int KW, int OH, int OW, int SH, int SW, int PH, int PW, \
      int DH, int DW
#define CONV_GEOMETRY_ARGS N, C, H, W, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW
#define COLS_STRIDES long long cN, long long cC, long long cI, long long cJ, long long cOH, long long cOW
#define COLS_STRIDE_ARGS cN, cC, cI, cJ, cOH, cOW
#define IMAGE_STRIDES long long sN, long long sC, long long sH, long long sW
#define IMAGE_STRIDE_ARGS sN, sC, sH, sW

// Thread t's position (n, c, a, b) among N x C x A x B: t = ((n A + a) B + b) C + c when c_fastest,
// else t = ((n C + c) A + a) B + b.
struct Position {
  unsigned n, c, a, b;
  __device__ Position(unsigned t, int c_fastest, unsigned C, unsigned A, unsigned B) {
    if (c_fastest) {
      unsigned q = t / C, r = q / B;
      c = t - q * C, b = q - r * B, n = r / A, a = r - n * A;
    } else {
      unsigned q = t / B, r = q / A;
      b = t - q * B, a = q - r * A, n = r / C, c = r - n * C;
    }
  }
};

// One thread per output position (n, c, oh, ow): it copies that position's KH KW taps, (i, j) in
// row-major order, four at a time: four loads before their four stores, so that they are in flight at once.
template <typename T>
__device__ void im2col(const T* __restrict__ x, IMAGE_STRIDES, T* __restrict__ cols, COLS_STRIDES,
                       CONV_GEOMETRY_PARAMS, int c_fastest) {
  GRID_STRIDE_LOOP_32(t, (long long)N * C * OH * OW) {
    Position p(t, c_fastest, C, OH, OW);
    const T* image = x + p.n * sN + p.c * sC;                      // x[n, c]
    T* out = cols + p.n * cN + p.c * cC + p.a * cOH + p.b * cOW;   // cols[n, c, 0, 0, oh, ow]
    int h0 = (int)p.a * SH - PH, w0 = (int)p.b * SW - PW;          // tap (0, 0) reads x[n, c, h0, w0]
    for (int tap = 0, i = 0, j = 0; tap < KH * KW; tap += 4) {
      T v[4];
      long long at[4];  // where each goes in cols, -1 past the last tap
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        int h = h0 + i * DH, w = w0 + j * DW;
        bool tap_exists = tap + u < KH * KW;
        v[u] = tap_exists && h >= 0 && h < H && w >= 0 && w < W ? image[h * sH + w * sW] : T(0);
        at[u] = tap_exists ? i * cI + j * cJ : -1;
        if (++j == KW) j = 0, ++i;
      }
#pragma unroll
      for (int u = 0; u < 4; ++u)
        if (at[u] >= 0) out[at[u]] = v[u];
    }
  }
}

// Without dilation, padded pixel hp = h + PH is seen from output rows oh = hp / SH - k (k = 0, 1, ...)
// through taps i = hp % SH + k SH (columns likewise). So the padded input is cut into cells of
// SH x SW pixels, cell (qh, qw) holding hp = qh SH + a, wp = qw SW + b; one thread per cell and
// channel gathers each of its pixels from rows oh = qh - k, taps i = a + k SH, without a division.
// Cells qh in [QH0, QH0 + QH) and qw in [QW0, QW0 + QW) cover the unpadded pixels. Each pixel's sum
// adds its taps in the order (i, j), the reference's, and no two threads write one pixel: no atomics.
template <typename T>
__device__ void col2im(const T* __restrict__ cols, COLS_STRIDES, T* __restrict__ x, IMAGE_STRIDES,
                       CONV_GEOMETRY_PARAMS, int QH0, int QH, int QW0, int QW, int c_fastest) {
  const long long next_row = SH * cI - cOH, next_column = SW * cJ - cOW;  // (i, oh) -> (i + SH, oh - 1)
  GRID_STRIDE_LOOP_32(t, (long long)N * C * QH * QW) {
    Position p(t, c_fastest, C, QH, QW);
    int qh = p.a + QH0, qw = p.b + QW0;
    const T* col = cols + p.n * cN + p.c * cC;                  // cols[n, c]
    T* image = x + p.n * sN + p.c * sC;                         // x[n, c]
    int k0 = max(qh - (OH - 1), 0), l0 = max(qw - (OW - 1), 0);  // the first k, l with oh, ow in range
    for (int a = 0; a < SH; ++a) {
      int h = qh * SH + a - PH, i0 = a + k0 * SH, rows = 0;
      if (h < 0 || h >= H) continue;
      for (int i = i0; i < KH && rows <= qh - k0; i += SH) ++rows;  // taps i < KH at rows oh = qh - k0 - r >= 0
      for (int b = 0; b < SW; ++b) {
        int w = qw * SW + b - PW, j0 = b + l0 * SW, columns = 0;
        if (w < 0 || w >= W) continue;
        for (int j = j0; j < KW && columns <= qw - l0; j += SW) ++columns;
        // one flat loop over the rows x columns taps, unrolled: the loads of four are in flight at once
        const T* row = col + i0 * cI + (qh - k0) * cOH + j0 * cJ + (qw - l0) * cOW;  // cols[n, c, i0, j0, oh, ow]
        T sum = T(0);
#pragma unroll 4
        for (int tap = 0, j = 0; tap < rows * columns; ++tap) {
          sum += row[j * next_column];
          if (++j == columns) j = 0, row += next_row;
        }
        image[h * sH + w * sW] = sum;
      }
    }
  }
}

// With dilation, one thread per input pixel and channel: output row oh sees padded pixel hp through
// the tap offset di = hp - oh SH, which must be a multiple i DH of the dilation with i < KH; oh
// descends so that i ascends, the reference's order.
template <typename T>
__device__ void col2im_dilated(const T* __restrict__ cols, COLS_STRIDES, T* __restrict__ x, IMAGE_STRIDES,
                               CONV_GEOMETRY_PARAMS, int c_fastest) {
  GRID_STRIDE_LOOP_32(t, (long long)N * C * H * W) {
    Position p(t, c_fastest, C, H, W);
    const T* col = cols + p.n * cN + p.c * cC;  // cols[n, c]
    int hp = p.a + PH, wp = p.b + PW;           // (h, w) in the padded input
    int last_ow = min(wp / SW, OW - 1);         // the largest ow with ow SW <= wp
    T sum = T(0);
    for (int oh = min(hp / SH, OH - 1); oh >= 0; --oh) {
      int di = hp - oh * SH;
      if (di >= (KH - 1) * DH + 1) break;
      if (di % DH != 0) continue;  // between two dilated taps
      const T* row = col + di / DH * cI + oh * cOH;  // cols[n, c, i, :, oh]
      for (int ow = last_ow; ow >= 0; --ow) {
        int dj = wp - ow * SW;
        if (dj >= (KW - 1) * DW + 1) break;
        if (dj % DW == 0) sum += row[dj / DW * cJ + ow * cOW];
      }
    }
    x[p.n * sN + p.c * sC + p.a * sH + p.b * sW] = sum;
  }
}

EXPORT_FLOAT_KERNELS(im2col, (const T* x, IMAGE_STRIDES, T* cols, COLS_STRIDES, CONV_GEOMETRY_PARAMS, int c_fastest),
                     im2col<T>(x, IMAGE_STRIDE_ARGS, cols, COLS_STRIDE_ARGS, CONV_GEOMETRY_ARGS, c_fastest))
EXPORT_FLOAT_KERNELS(col2im,
                     (const T* cols, COLS_STRIDES, T* x, IMAGE_STRIDES, CONV_GEOMETRY_PARAMS, int QH0, int QH, int QW0,
                      int QW, int c_fastest),
                     col2im<T>(cols, COLS_STRIDE_ARGS, x, IMAGE_STRIDE_ARGS, CONV_GEOMETRY_ARGS, QH0, QH, QW0, QW,
                               c_fastest))
EXPORT_FLOAT_KERNELS(col2im_dilated,
                     (const T* cols, COLS_STRIDES, T* x, IMAGE_STRIDES, CONV_GEOMETRY_PARAMS, int c_fastest),
                     col2im_dilated<T>(cols, COLS_STRIDE_ARGS, x, IMAGE_STRIDE_ARGS, CONV_GEOMETRY_ARGS, c_fastest))
