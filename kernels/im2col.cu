// im2col and col2im for 2-d convolutions with stride, padding and dilation; they replace the NumPy
// functions of the same names in minigan/nn/conv.py. Output position (oh, ow) sees input pixel
// (h, w) through kernel tap (i, j) when
//     h = oh SH - PH + i DH,   w = ow SW - PW + j DW.
// im2col:  cols[n, c, i, j, oh, ow] = x[n, c, h, w], 0 where (h, w) is padding   # n c kh kw oh ow
// col2im, its adjoint: x[n, c, h, w] = the sum of cols[n, c, i, j, oh, ow] over the taps that see (h, w).
// Each reads its input through element strides (sN, sC, ...), so views need no copy; the output is
// contiguous. Both split a flat index in 32-bit arithmetic: the wrappers check N C OH OW and
// N C H W < 2^31.
#include "common.cuh"

#define CONV_GEOMETRY_PARAMS                                                                   \
  int N, int C, int H, int W, int KH, int KW, int OH, int OW, int SH, int SW, int PH, int PW, \
      int DH, int DW
#define CONV_GEOMETRY_ARGS N, C, H, W, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW

// One thread per output position (n, c, oh, ow): it copies that position's KH KW taps.
template <typename T>
__device__ void im2col(const T* __restrict__ x, long long sN, long long sC, long long sH, long long sW,
                       T* __restrict__ cols, CONV_GEOMETRY_PARAMS) {
  const long long plane = (long long)OH * OW;
  GRID_STRIDE_LOOP_32(t, (long long)N * C * OH * OW) {
    unsigned ow = t % OW, q = t / OW, oh = q % OH, nc = q / OH;    // t = ((n C + c) OH + oh) OW + ow
    const T* image = x + (nc / C) * sN + (nc % C) * sC;              // x[n, c]
    T* out = cols + (long long)nc * KH * KW * plane + oh * OW + ow;  // cols[n, c, 0, 0, oh, ow]
    for (int i = 0; i < KH; ++i) {
      int h = (int)oh * SH - PH + i * DH;
      for (int j = 0; j < KW; ++j, out += plane) {  // n c kh kw oh ow: the next tap is a plane on
        int w = (int)ow * SW - PW + j * DW;
        *out = (h >= 0 && h < H && w >= 0 && w < W) ? image[h * sH + w * sW] : T(0);
      }
    }
  }
}

// The sum of the cols entries that see padded pixel (hp, wp), in the order of the taps (i, j).
// col = cols[n, c]. Without dilation those taps form a block: output rows oh0, oh0 - 1, ... see the
// pixel through taps i0, i0 + SH, ... (columns likewise), so one flat loop over the block's
// entries needs no test per tap, and its loads, unrolled, are all in flight at once.
template <typename T>
__device__ T gather_undilated(const T* col, long long sI, long long sJ, long long sOH, long long sOW, int hp, int wp,
                             int KH, int KW, int OH, int OW, int SH, int SW) {
  int oh0 = min((int)((unsigned)hp / SH), OH - 1), ow0 = min((int)((unsigned)wp / SW), OW - 1);
  int i0 = hp - oh0 * SH, j0 = wp - ow0 * SW;  // the first taps: (oh0, ow0) sees the pixel through (i0, j0)
  int rows = 0, columns = 0;
  for (int i = i0; i < KH && rows <= oh0; i += SH) ++rows;  // taps i < KH at output rows oh0 - rows >= 0
  for (int j = j0; j < KW && columns <= ow0; j += SW) ++columns;
  const T* row = col + i0 * sI + oh0 * sOH + j0 * sJ + ow0 * sOW;  // cols[n, c, i0, j0, oh0, ow0]
  const long long next_row = SH * sI - sOH, next_column = SW * sJ - sOW;  // (i, oh) -> (i + SH, oh - 1)
  T sum = T(0);
#pragma unroll 4
  for (int k = 0, b = 0; k < rows * columns; ++k) {
    sum += row[b * next_column];
    if (++b == columns) b = 0, row += next_row;
  }
  return sum;
}

// The same with dilation: output row oh sees the pixel through the tap offset di = hp - oh SH,
// which must be a multiple i DH of the dilation with i < KH; oh descends so that i ascends.
template <typename T>
__device__ T gather_dilated(const T* col, long long sI, long long sJ, long long sOH, long long sOW, int hp, int wp,
                           int KH, int KW, int OH, int OW, int SH, int SW, int DH, int DW) {
  int last_ow = min((int)((unsigned)wp / SW), OW - 1);  // the largest ow with ow SW <= wp
  T sum = T(0);
  for (int oh = min((int)((unsigned)hp / SH), OH - 1); oh >= 0; --oh) {
    int di = hp - oh * SH;
    if (di >= (KH - 1) * DH + 1) break;
    if (di % DH != 0) continue;  // between two dilated taps
    const T* row = col + di / DH * sI + oh * sOH;  // cols[n, c, i, :, oh]
    for (int ow = last_ow; ow >= 0; --ow) {
      int dj = wp - ow * SW;
      if (dj >= (KW - 1) * DW + 1) break;
      if (dj % DW == 0) sum += row[dj / DW * sJ + ow * sOW];
    }
  }
  return sum;
}

// One thread per input pixel (n, c, h, w): it gathers the entries of cols that see the pixel, so no
// two threads write one pixel (no atomics), adding them in one fixed order (the taps').
template <typename T>
__device__ void col2im(const T* __restrict__ cols, long long sN, long long sC, long long sI, long long sJ,
                       long long sOH, long long sOW, T* __restrict__ x, CONV_GEOMETRY_PARAMS) {
  GRID_STRIDE_LOOP_32(t, (long long)N * C * H * W) {
    unsigned w = t % W, q = t / W, h = q % H, nc = q / H;  // t = ((n C + c) H + h) W + w
    const T* col = cols + (nc / C) * sN + (nc % C) * sC;   // cols[n, c]
    int hp = h + PH, wp = w + PW;                          // (h, w) in the padded input
    x[t] = DH == 1 && DW == 1 ? gather_undilated(col, sI, sJ, sOH, sOW, hp, wp, KH, KW, OH, OW, SH, SW)
                              : gather_dilated(col, sI, sJ, sOH, sOW, hp, wp, KH, KW, OH, OW, SH, SW, DH, DW);
  }
}

EXPORT_FLOAT_KERNELS(im2col,
                     (const T* x, long long sN, long long sC, long long sH, long long sW, T* cols,
                      CONV_GEOMETRY_PARAMS),
                     im2col<T>(x, sN, sC, sH, sW, cols, CONV_GEOMETRY_ARGS))
EXPORT_FLOAT_KERNELS(col2im,
                     (const T* cols, long long sN, long long sC, long long sI, long long sJ, long long sOH,
                      long long sOW, T* x, CONV_GEOMETRY_PARAMS),
                     col2im<T>(cols, sN, sC, sI, sJ, sOH, sOW, x, CONV_GEOMETRY_ARGS))
