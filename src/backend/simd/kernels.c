// freezeflow's own SIMD kernels for the tfjs wasm backend. The module imports tfjs-wasm's memory, so
// every pointer is a tensor's offset in that heap: no copies in or out. It must not own any memory: no
// static data, no stack arrays, no libc (scripts/build-kernels.sh checks the built module for data
// segments and a stack pointer). Built with clang -O3 -msimd128; no -ffast-math, so float operations
// happen exactly in the order written (the Adam update matches tfjs' own ops bit for bit).
// Built twice: SIMD128, and relaxed SIMD (-mrelaxed-simd), where the conv gradients' multiply-adds
// (MADD) become f32x4.relaxed_madd: one fused instruction and one rounding on a CPU with FMA. Only
// those sums use it; the Adam update, BatchNorm and the clip stay unfused in both builds.
#include <wasm_simd128.h>

#ifdef __wasm_relaxed_simd__
#define MADD(acc, a, b) wasm_f32x4_relaxed_madd(a, b, acc)
#else
#define MADD(acc, a, b) wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))
#endif

#define EXPORT(name) __attribute__((export_name(#name)))

typedef float f32;
typedef double f64;
typedef int i32;

static inline i32 min_i(i32 a, i32 b) { return a < b ? a : b; }
static inline i32 max_i(i32 a, i32 b) { return a > b ? a : b; }

// First and last output index whose input index o*s - pad + k lies in [0, n).
static inline i32 first_out(i32 pad, i32 k, i32 s) {
  i32 num = pad - k;
  return num <= 0 ? 0 : (num + s - 1) / s;
}
static inline i32 last_out(i32 n, i32 pad, i32 k, i32 s, i32 outs) {
  i32 num = n - 1 + pad - k;
  return num < 0 ? -1 : min_i(outs - 1, num / s);
}

// One filter tap's row: dw[c0..c0+16) += Σ_ox x[ix(ox)][c] · dy[ox][c] for 16 channels at once, with four
// independent accumulators (the sum over ox stays in registers; dw is touched once per row).
static inline void tap_row16(f32 *dw, const f32 *x, const f32 *dy, i32 n, i32 xstep, i32 dystep) {
  v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (i32 i = 0; i < n; i++, x += xstep, dy += dystep) {
    a0 = MADD(a0, wasm_v128_load(x), wasm_v128_load(dy));
    a1 = MADD(a1, wasm_v128_load(x + 4), wasm_v128_load(dy + 4));
    a2 = MADD(a2, wasm_v128_load(x + 8), wasm_v128_load(dy + 8));
    a3 = MADD(a3, wasm_v128_load(x + 12), wasm_v128_load(dy + 12));
  }
  wasm_v128_store(dw, wasm_f32x4_add(wasm_v128_load(dw), a0));
  wasm_v128_store(dw + 4, wasm_f32x4_add(wasm_v128_load(dw + 4), a1));
  wasm_v128_store(dw + 8, wasm_f32x4_add(wasm_v128_load(dw + 8), a2));
  wasm_v128_store(dw + 12, wasm_f32x4_add(wasm_v128_load(dw + 12), a3));
}

static inline void tap_row4(f32 *dw, const f32 *x, const f32 *dy, i32 n, i32 xstep, i32 dystep) {
  v128_t a = wasm_f32x4_splat(0);
  for (i32 i = 0; i < n; i++, x += xstep, dy += dystep)
    a = MADD(a, wasm_v128_load(x), wasm_v128_load(dy));
  wasm_v128_store(dw, wasm_f32x4_add(wasm_v128_load(dw), a));
}

static inline void tap_row1(f32 *dw, const f32 *x, const f32 *dy, i32 n, i32 xstep, i32 dystep) {
  f32 a = 0;
  for (i32 i = 0; i < n; i++, x += xstep, dy += dystep) a += *x * *dy;
  *dw += a;
}

// The geometry both depthwise gradients walk (NHWC, channel multiplier 1): for every image, output row
// and filter tap, the run of output pixels whose input pixel x[b][oy·sh − pt + kh][ox·sw − pl + kw]
// lies inside the image, handed to `rows` 16, 4 and 1 channels at a time as (tap, image run, dy run).
// In the image the run steps sw·c floats, in dy c floats. Being static inline, each caller gets its own
// copy with `rows` inlined.
typedef void (*tap_rows)(f32 *tap, f32 *img, f32 *dy, i32 n, i32 img_step, i32 dy_step, i32 width);

static inline void depthwise_walk(f32 *img, f32 *dy, f32 *taps, i32 batch, i32 h, i32 w, i32 c, i32 oh, i32 ow,
                                  i32 kh, i32 kw, i32 sh, i32 sw, i32 pt, i32 pl, tap_rows rows) {
  const i32 c16 = c & ~15, c4 = c & ~3;
  for (i32 b = 0; b < batch; b++)
    for (i32 oy = 0; oy < oh; oy++)
      for (i32 ky = 0; ky < kh; ky++) {
        const i32 iy = oy * sh - pt + ky;
        if (iy < 0 || iy >= h) continue;
        f32 *dyrow = dy + ((i32)(b * oh + oy) * ow) * c;
        for (i32 kx = 0; kx < kw; kx++) {
          const i32 o0 = first_out(pl, kx, sw), o1 = last_out(w, pl, kx, sw, ow);
          if (o1 < o0) continue;
          const i32 n = o1 - o0 + 1;
          f32 *is = img + ((i32)(b * h + iy) * w + (o0 * sw - pl + kx)) * c;
          f32 *ds = dyrow + o0 * c;
          f32 *tap = taps + (ky * kw + kx) * c;
          i32 ch = 0;
          for (; ch < c16; ch += 16) rows(tap + ch, is + ch, ds + ch, n, sw * c, c, 16);
          for (; ch < c4; ch += 4) rows(tap + ch, is + ch, ds + ch, n, sw * c, c, 4);
          for (; ch < c; ch++) rows(tap + ch, is + ch, ds + ch, n, sw * c, c, 1);
        }
      }
}

static void filter_rows(f32 *tap, f32 *x, f32 *dy, i32 n, i32 xstep, i32 dystep, i32 width) {
  if (width == 16) tap_row16(tap, x, dy, n, xstep, dystep);
  else if (width == 4) tap_row4(tap, x, dy, n, xstep, dystep);
  else tap_row1(tap, x, dy, n, xstep, dystep);
}

// Depthwise conv filter gradient: dw[kh][kw][c] = Σ_{b,oy,ox} x[b][oy·sh − pt + kh][ox·sw − pl + kw][c] ·
// dy[b][oy][ox][c]. dw is zeroed here.
EXPORT(depthwise_filter_grad)
void depthwise_filter_grad(const f32 *x, const f32 *dy, f32 *dw, i32 batch, i32 h, i32 w, i32 c, i32 oh, i32 ow,
                           i32 kh, i32 kw, i32 sh, i32 sw, i32 pt, i32 pl) {
  for (i32 i = 0; i < kh * kw * c; i++) dw[i] = 0;
  depthwise_walk((f32 *)x, (f32 *)dy, dw, batch, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl, filter_rows);
}

// dst[i] += src[i]: summing the threads' partial filter gradients.
EXPORT(add_into)
void add_into(f32 *dst, const f32 *src, i32 n) {
  i32 i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i), wasm_v128_load(src + i)));
  for (; i < n; i++) dst[i] += src[i];
}

// One Adam step for one variable, in one pass, as tfjs' AdamOptimizer computes it op by op:
//   w0 = w · decay                       (decoupled weight decay, AdamW; skipped when decay is 1)
//   m' = m·β1 + g·(1−β1)                 v' = v·β2 + g²·(1−β2)
//   w' = (m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε) · (−lr) + w0
// The scalars come as float32, as tfjs' scalar tensors hold them; β1ᵗ and β2ᵗ are the optimizer's own
// accumulator tensors (read here, so the step needs no read back to JS). Outputs go to new buffers, so
// tensors that still hold the old values (the NaN undo) keep them.
EXPORT(adam_update)
void adam_update(const f32 *w, const f32 *g, const f32 *m, const f32 *v, const f32 *acc_beta1, const f32 *acc_beta2,
                 f32 *w_out, f32 *m_out, f32 *v_out, i32 n, f32 beta1, f32 one_minus_beta1, f32 beta2,
                 f32 one_minus_beta2, f32 eps, f32 neg_lr, f32 decay, i32 decayed) {
  const f32 bias1 = 1.0f - *acc_beta1, bias2 = 1.0f - *acc_beta2;
  const v128_t b1 = wasm_f32x4_splat(beta1), ob1 = wasm_f32x4_splat(one_minus_beta1);
  const v128_t b2 = wasm_f32x4_splat(beta2), ob2 = wasm_f32x4_splat(one_minus_beta2);
  const v128_t c1 = wasm_f32x4_splat(bias1), c2 = wasm_f32x4_splat(bias2);
  const v128_t e = wasm_f32x4_splat(eps), nlr = wasm_f32x4_splat(neg_lr), d = wasm_f32x4_splat(decay);
  i32 i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t gi = wasm_v128_load(g + i);
    v128_t wi = wasm_v128_load(w + i);
    if (decayed) wi = wasm_f32x4_mul(wi, d);
    v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), b1), wasm_f32x4_mul(gi, ob1));
    v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), b2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), ob2));
    v128_t step = wasm_f32x4_div(wasm_f32x4_div(mi, c1), wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vi, c2)), e));
    wasm_v128_store(m_out + i, mi);
    wasm_v128_store(v_out + i, vi);
    wasm_v128_store(w_out + i, wasm_f32x4_add(wasm_f32x4_mul(step, nlr), wi));
  }
  for (; i < n; i++) {
    f32 wi = decayed ? w[i] * decay : w[i];
    f32 mi = m[i] * beta1 + g[i] * one_minus_beta1;
    f32 vi = v[i] * beta2 + (g[i] * g[i]) * one_minus_beta2;
    m_out[i] = mi;
    v_out[i] = vi;
    w_out[i] = ((mi / bias1) / (__builtin_sqrtf(vi / bias2) + eps)) * neg_lr + wi;
  }
}

// ---- BatchNorm in training mode (batch statistics), channels last: x is `rows` rows of `c` channels.
// Sums over rows go block by block (BN_BLOCK rows into a float32 scratch row, then into a double total).
#define BN_BLOCK 256

// tot[ch] = Σ_rows f(row, ch) with f = x − ref (what = 0) or (x − ref)² (what = 1), in double: each block
// of BN_BLOCK rows is summed in float32 SIMD, the block totals in double. The mean is summed shifted by the
// first row (ref = x), so a channel whose mean is large next to its spread (|μ|/σ in the thousands, an
// unnormalised input) sums small numbers: dγ at |μ|/σ = 2000 was 1.3e-4 off with plain float32 sums.
// blk: c floats of scratch.
static void channel_sums(const f32 *x, const f32 *ref, f64 *tot, f32 *blk, i32 rows, i32 c, i32 what) {
  for (i32 ch = 0; ch < c; ch++) tot[ch] = 0;
  for (i32 r0 = 0; r0 < rows; r0 += BN_BLOCK) {
    const i32 r1 = min_i(rows, r0 + BN_BLOCK);
    for (i32 ch = 0; ch < c; ch++) blk[ch] = 0;
    for (i32 r = r0; r < r1; r++) {
      const f32 *row = x + (i32)r * c;
      i32 ch = 0;
      for (; ch + 4 <= c; ch += 4) {
        v128_t v = wasm_f32x4_sub(wasm_v128_load(row + ch), wasm_v128_load(ref + ch));
        if (what) v = wasm_f32x4_mul(v, v);
        wasm_v128_store(blk + ch, wasm_f32x4_add(wasm_v128_load(blk + ch), v));
      }
      for (; ch < c; ch++) blk[ch] += what ? (row[ch] - ref[ch]) * (row[ch] - ref[ch]) : row[ch] - ref[ch];
    }
    for (i32 ch = 0; ch < c; ch++) tot[ch] += (f64)blk[ch];
  }
}

// Mean and biased variance per channel (two passes, as tfjs' moments). scratch: 3c floats (c doubles,
// then c floats; the doubles first, so they are 8-byte aligned).
EXPORT(bn_moments)
void bn_moments(const f32 *x, f32 *mean, f32 *var, f32 *scratch, i32 rows, i32 c) {
  f64 *tot = (f64 *)scratch;
  f32 *blk = scratch + 2 * c;
  const f64 n = (f64)rows;
  channel_sums(x, x, tot, blk, rows, c, 0);
  for (i32 ch = 0; ch < c; ch++) mean[ch] = (f32)((f64)x[ch] + tot[ch] / n);
  channel_sums(x, mean, tot, blk, rows, c, 1);
  for (i32 ch = 0; ch < c; ch++) var[ch] = (f32)(tot[ch] / n);
}

// y = (x − mean)·k + β with k = γ/√(var + ε); gamma, beta may be 0 (scale 1, offset 0). scratch: 2c floats.
EXPORT(bn_normalize)
void bn_normalize(const f32 *x, const f32 *mean, const f32 *var, const f32 *gamma, const f32 *beta, f32 *y,
                  f32 *scratch, i32 rows, i32 c, f32 eps) {
  f32 *k = scratch, *b = scratch + c;
  for (i32 ch = 0; ch < c; ch++) {
    k[ch] = (gamma ? gamma[ch] : 1.0f) / __builtin_sqrtf(var[ch] + eps);
    b[ch] = beta ? beta[ch] : 0.0f;
  }
  for (i32 r = 0; r < rows; r++) {
    const f32 *xr = x + (i32)r * c;
    f32 *yr = y + (i32)r * c;
    i32 ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      v128_t v = wasm_f32x4_sub(wasm_v128_load(xr + ch), wasm_v128_load(mean + ch));
      wasm_v128_store(yr + ch, wasm_f32x4_add(wasm_f32x4_mul(v, wasm_v128_load(k + ch)), wasm_v128_load(b + ch)));
    }
    for (; ch < c; ch++) yr[ch] = (xr[ch] - mean[ch]) * k[ch] + b[ch];
  }
}

// The whole backward pass of y = γ·x̂ + β, x̂ = (x − μ)/√(σ² + ε) with μ, σ² the batch's own statistics:
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/√(σ² + ε) · (dy − dβ/N − x̂·dγ/N)
// (the chain through μ and σ² included). gamma may be 0 (scale 1). Block totals of dβ and dγ are summed in
// double, as the moments are. scratch: 9c floats (2c doubles first, then 5c floats).
EXPORT(bn_backward)
void bn_backward(const f32 *x, const f32 *dy, const f32 *mean, const f32 *var, const f32 *gamma, f32 *dx, f32 *dgamma,
                 f32 *dbeta, f32 *scratch, i32 rows, i32 c, f32 eps) {
  f64 *tot_b = (f64 *)scratch, *tot_g = tot_b + c;
  f32 *rest = scratch + 4 * c;
  f32 *blk_b = rest, *blk_g = rest + c, *a = rest + 2 * c, *m1 = rest + 3 * c, *m2 = rest + 4 * c;
  for (i32 ch = 0; ch < c; ch++) tot_b[ch] = tot_g[ch] = 0;
  for (i32 r0 = 0; r0 < rows; r0 += BN_BLOCK) {
    const i32 r1 = min_i(rows, r0 + BN_BLOCK);
    for (i32 ch = 0; ch < c; ch++) blk_b[ch] = blk_g[ch] = 0;
    for (i32 r = r0; r < r1; r++) {
      const f32 *xr = x + (i32)r * c, *dr = dy + (i32)r * c;
      i32 ch = 0;
      for (; ch + 4 <= c; ch += 4) {
        v128_t d = wasm_v128_load(dr + ch);
        v128_t xc = wasm_f32x4_sub(wasm_v128_load(xr + ch), wasm_v128_load(mean + ch));
        wasm_v128_store(blk_b + ch, wasm_f32x4_add(wasm_v128_load(blk_b + ch), d));
        wasm_v128_store(blk_g + ch, wasm_f32x4_add(wasm_v128_load(blk_g + ch), wasm_f32x4_mul(d, xc)));
      }
      for (; ch < c; ch++) {
        blk_b[ch] += dr[ch];
        blk_g[ch] += dr[ch] * (xr[ch] - mean[ch]);
      }
    }
    for (i32 ch = 0; ch < c; ch++) {
      tot_b[ch] += (f64)blk_b[ch];
      tot_g[ch] += (f64)blk_g[ch];
    }
  }
  for (i32 ch = 0; ch < c; ch++) {
    dbeta[ch] = (f32)tot_b[ch];
    dgamma[ch] = (f32)tot_g[ch];
  }
  const f32 n = (f32)rows;
  for (i32 ch = 0; ch < c; ch++) {
    const f32 inv = 1.0f / __builtin_sqrtf(var[ch] + eps);
    dgamma[ch] *= inv;
    a[ch] = (gamma ? gamma[ch] : 1.0f) * inv;
    m1[ch] = dbeta[ch] / n;
    m2[ch] = inv * dgamma[ch] / n;
  }
  for (i32 r = 0; r < rows; r++) {
    const f32 *xr = x + (i32)r * c, *dr = dy + (i32)r * c;
    f32 *o = dx + (i32)r * c;
    i32 ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      v128_t xc = wasm_f32x4_sub(wasm_v128_load(xr + ch), wasm_v128_load(mean + ch));
      v128_t t = wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(dr + ch), wasm_v128_load(m1 + ch)),
                                wasm_f32x4_mul(xc, wasm_v128_load(m2 + ch)));
      wasm_v128_store(o + ch, wasm_f32x4_mul(wasm_v128_load(a + ch), t));
    }
    for (; ch < c; ch++) o[ch] = a[ch] * ((dr[ch] - m1[ch]) - (xr[ch] - mean[ch]) * m2[ch]);
  }
}

// clipByValue's gradient (ReLU6 layers): dx = dy where lo ≤ x ≤ hi, else 0.
EXPORT(clip_grad)
void clip_grad(const f32 *x, const f32 *dy, f32 *dx, i32 n, f32 lo, f32 hi) {
  const v128_t l = wasm_f32x4_splat(lo), h = wasm_f32x4_splat(hi);
  i32 i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t v = wasm_v128_load(x + i);
    v128_t in = wasm_v128_and(wasm_f32x4_ge(v, l), wasm_f32x4_le(v, h));
    wasm_v128_store(dx + i, wasm_v128_and(wasm_v128_load(dy + i), in));
  }
  for (; i < n; i++) dx[i] = x[i] >= lo && x[i] <= hi ? dy[i] : 0;
}

// One filter tap's row of the depthwise input gradient: dx[ix(ox)][c] += dy[ox][c] · w[c] for 16 channels.
static inline void scatter_row16(f32 *dx, const f32 *dy, const f32 *w, i32 n, i32 dxstep, i32 dystep) {
  const v128_t w0 = wasm_v128_load(w), w1 = wasm_v128_load(w + 4), w2 = wasm_v128_load(w + 8),
               w3 = wasm_v128_load(w + 12);
  for (i32 i = 0; i < n; i++, dx += dxstep, dy += dystep) {
    wasm_v128_store(dx, MADD(wasm_v128_load(dx), wasm_v128_load(dy), w0));
    wasm_v128_store(dx + 4, MADD(wasm_v128_load(dx + 4), wasm_v128_load(dy + 4), w1));
    wasm_v128_store(dx + 8, MADD(wasm_v128_load(dx + 8), wasm_v128_load(dy + 8), w2));
    wasm_v128_store(dx + 12, MADD(wasm_v128_load(dx + 12), wasm_v128_load(dy + 12), w3));
  }
}

static inline void scatter_row4(f32 *dx, const f32 *dy, const f32 *w, i32 n, i32 dxstep, i32 dystep) {
  const v128_t w0 = wasm_v128_load(w);
  for (i32 i = 0; i < n; i++, dx += dxstep, dy += dystep)
    wasm_v128_store(dx, MADD(wasm_v128_load(dx), wasm_v128_load(dy), w0));
}

static inline void scatter_row1(f32 *dx, const f32 *dy, const f32 *w, i32 n, i32 dxstep, i32 dystep) {
  for (i32 i = 0; i < n; i++, dx += dxstep, dy += dystep) *dx += *dy * *w;
}

static void input_rows(f32 *tap, f32 *dx, f32 *dy, i32 n, i32 dxstep, i32 dystep, i32 width) {
  if (width == 16) scatter_row16(dx, dy, tap, n, dxstep, dystep);
  else if (width == 4) scatter_row4(dx, dy, tap, n, dxstep, dystep);
  else scatter_row1(dx, dy, tap, n, dxstep, dystep);
}

// Depthwise conv input gradient: every output pixel's gradient scattered back through each filter tap,
//   dx[b][oy·sh − pt + kh][ox·sw − pl + kw][c] += dy[b][oy][ox][c] · w[kh][kw][c]
// dx (b × h × w × c) is zeroed here.
EXPORT(depthwise_input_grad)
void depthwise_input_grad(const f32 *dy, const f32 *wt, f32 *dx, i32 batch, i32 h, i32 w, i32 c, i32 oh, i32 ow,
                          i32 kh, i32 kw, i32 sh, i32 sw, i32 pt, i32 pl) {
  for (i32 i = 0; i < batch * h * w * c; i++) dx[i] = 0;
  depthwise_walk(dx, (f32 *)dy, (f32 *)wt, batch, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl, input_rows);
}

// ---- 1×1 conv filter gradient (stride 1): dW[i][j] = Σ_p x[p][i] · dy[p][j], x: n × ci, dy: n × co.
// Rows go in chunks that stay in cache; per chunk, blocks of 4 input × 8 output channels are summed in
// registers (8 accumulators) and added into dW once.
#define PW_CHUNK 128

static inline void pw_block_4x8(const f32 *x, const f32 *dy, f32 *dw, i32 n, i32 ci, i32 co) {
  v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  for (i32 p = 0; p < n; p++, x += ci, dy += co) {
    const v128_t d0 = wasm_v128_load(dy), d1 = wasm_v128_load(dy + 4);
    const v128_t x0 = wasm_f32x4_splat(x[0]), x1 = wasm_f32x4_splat(x[1]);
    const v128_t x2 = wasm_f32x4_splat(x[2]), x3 = wasm_f32x4_splat(x[3]);
    a00 = MADD(a00, x0, d0);
    a01 = MADD(a01, x0, d1);
    a10 = MADD(a10, x1, d0);
    a11 = MADD(a11, x1, d1);
    a20 = MADD(a20, x2, d0);
    a21 = MADD(a21, x2, d1);
    a30 = MADD(a30, x3, d0);
    a31 = MADD(a31, x3, d1);
  }
  wasm_v128_store(dw, wasm_f32x4_add(wasm_v128_load(dw), a00));
  wasm_v128_store(dw + 4, wasm_f32x4_add(wasm_v128_load(dw + 4), a01));
  dw += co;
  wasm_v128_store(dw, wasm_f32x4_add(wasm_v128_load(dw), a10));
  wasm_v128_store(dw + 4, wasm_f32x4_add(wasm_v128_load(dw + 4), a11));
  dw += co;
  wasm_v128_store(dw, wasm_f32x4_add(wasm_v128_load(dw), a20));
  wasm_v128_store(dw + 4, wasm_f32x4_add(wasm_v128_load(dw + 4), a21));
  dw += co;
  wasm_v128_store(dw, wasm_f32x4_add(wasm_v128_load(dw), a30));
  wasm_v128_store(dw + 4, wasm_f32x4_add(wasm_v128_load(dw + 4), a31));
}

// The channels the 4×8 blocks leave: one input channel × one output channel at a time.
static inline void pw_scalar(const f32 *x, const f32 *dy, f32 *dw, i32 n, i32 ci, i32 co) {
  f32 a = 0;
  for (i32 p = 0; p < n; p++) a += x[(i32)p * ci] * dy[(i32)p * co];
  *dw += a;
}

// dw[i][j] += Σ_p x[p][i] · dy[p][j] over `rows` rows (no zeroing: callers sum chunks into one dw).
static void pw_accumulate(const f32 *x, const f32 *dy, f32 *dw, i32 rows, i32 ci, i32 co) {
  const i32 ci4 = ci & ~3, co8 = co & ~7;
  for (i32 p0 = 0; p0 < rows; p0 += PW_CHUNK) {
    const i32 n = min_i(PW_CHUNK, rows - p0);
    const f32 *xs = x + (i32)p0 * ci, *ds = dy + (i32)p0 * co;
    for (i32 i = 0; i < ci4; i += 4)
      for (i32 j = 0; j < co8; j += 8) pw_block_4x8(xs + i, ds + j, dw + i * co + j, n, ci, co);
    for (i32 i = 0; i < ci; i++)
      for (i32 j = i < ci4 ? co8 : 0; j < co; j++) pw_scalar(xs + i, ds + j, dw + i * co + j, n, ci, co);
  }
}

EXPORT(pointwise_filter_grad)
void pointwise_filter_grad(const f32 *x, const f32 *dy, f32 *dw, i32 rows, i32 ci, i32 co) {
  for (i32 i = 0; i < ci * co; i++) dw[i] = 0;
  pw_accumulate(x, dy, dw, rows, ci, co);
}

// ---- k×k conv filter gradient (NHWC) as the 1×1 one over patches: the rows [p0, p0 + n) of the patch
// matrix, one row per output pixel holding the kh·kw·ci inputs it saw (0 outside the image), `cols`
// floats per row (kh·kw·ci rounded up to a multiple of 4, the rest 0, so every row block is 4 wide).
static void patches(const f32 *x, f32 *out, i32 p0, i32 n, i32 h, i32 w, i32 ci, i32 oh, i32 ow, i32 kh, i32 kw,
                    i32 sh, i32 sw, i32 pt, i32 pl, i32 cols) {
  for (i32 r = 0; r < n; r++) {
    const i32 p = p0 + r, ox = p % ow, oy = (p / ow) % oh, b = p / (ow * oh);
    f32 *row = out + (i32)r * cols;
    i32 k = 0;
    for (i32 ky = 0; ky < kh; ky++) {
      const i32 iy = oy * sh - pt + ky;
      for (i32 kx = 0; kx < kw; kx++, k += ci) {
        const i32 ix = ox * sw - pl + kx;
        const int inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
        const f32 *src = x + ((i32)(b * h + iy) * w + ix) * ci;
        for (i32 i = 0; i < ci; i++) row[k + i] = inside ? src[i] : 0;
      }
    }
    for (; k < cols; k++) row[k] = 0;
  }
}

// dwpad = Σ over output pixels [p0, p1) of their patch rows times dy, in chunks of PW_CHUNK pixels
// (scratch: PW_CHUNK × cols floats); dwpad is cols × co floats and zeroed here. Threads take row ranges.
EXPORT(conv_filter_grad_rows)
void conv_filter_grad_rows(const f32 *x, const f32 *dy, f32 *dwpad, f32 *scratch, i32 p0, i32 p1, i32 h, i32 w,
                           i32 ci, i32 oh, i32 ow, i32 co, i32 kh, i32 kw, i32 sh, i32 sw, i32 pt, i32 pl) {
  const i32 cols = (kh * kw * ci + 3) & ~3;
  for (i32 i = 0; i < cols * co; i++) dwpad[i] = 0;
  for (i32 q = p0; q < p1; q += PW_CHUNK) {
    const i32 n = min_i(PW_CHUNK, p1 - q);
    patches(x, scratch, q, n, h, w, ci, oh, ow, kh, kw, sh, sw, pt, pl, cols);
    pw_accumulate(scratch, dy + (i32)q * co, dwpad, n, cols, co);
  }
}

// dw = a + b over n floats: the two threads' partial filter gradients (b = 0: one thread, dw = a).
EXPORT(sum_into)
void sum_into(f32 *dw, const f32 *a, const f32 *b, i32 n) {
  for (i32 i = 0; i < n; i++) dw[i] = b ? a[i] + b[i] : a[i];
}

// ---- k×k conv input gradient (NHWC): per chunk of output pixels, their patch gradients
// dP = dY · Wᵀ (rows of dY times the filter, transposed into scratch once), then each patch row added
// back to the input pixels it came from (0 outside the image is dropped).

// c[r][0..8) = Σ_j a[r][j] · b[j][0..8) for 4 rows of a (lda apart); b's rows are ldb apart. acc: the sum
// continues from what c holds (a contraction done in slices adds in the same order as in one go).
static inline void gemm_4x8(const f32 *a, i32 lda, const f32 *b, i32 ldb, f32 *c, i32 ldc, i32 kdim, i32 acc) {
  const v128_t z = wasm_f32x4_splat(0);
  v128_t c00 = acc ? wasm_v128_load(c) : z, c01 = acc ? wasm_v128_load(c + 4) : z;
  v128_t c10 = acc ? wasm_v128_load(c + ldc) : z, c11 = acc ? wasm_v128_load(c + ldc + 4) : z;
  v128_t c20 = acc ? wasm_v128_load(c + 2 * ldc) : z, c21 = acc ? wasm_v128_load(c + 2 * ldc + 4) : z;
  v128_t c30 = acc ? wasm_v128_load(c + 3 * ldc) : z, c31 = acc ? wasm_v128_load(c + 3 * ldc + 4) : z;
  for (i32 j = 0; j < kdim; j++, b += ldb) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    const v128_t a0 = wasm_f32x4_splat(a[j]), a1 = wasm_f32x4_splat(a[lda + j]);
    const v128_t a2 = wasm_f32x4_splat(a[2 * lda + j]), a3 = wasm_f32x4_splat(a[3 * lda + j]);
    c00 = MADD(c00, a0, b0);
    c01 = MADD(c01, a0, b1);
    c10 = MADD(c10, a1, b0);
    c11 = MADD(c11, a1, b1);
    c20 = MADD(c20, a2, b0);
    c21 = MADD(c21, a2, b1);
    c30 = MADD(c30, a3, b0);
    c31 = MADD(c31, a3, b1);
  }
  wasm_v128_store(c, c00);
  wasm_v128_store(c + 4, c01);
  wasm_v128_store(c + ldc, c10);
  wasm_v128_store(c + ldc + 4, c11);
  wasm_v128_store(c + 2 * ldc, c20);
  wasm_v128_store(c + 2 * ldc + 4, c21);
  wasm_v128_store(c + 3 * ldc, c30);
  wasm_v128_store(c + 3 * ldc + 4, c31);
}

// The rows a 4-row block leaves: one row at a time.
static inline void gemm_1x8(const f32 *a, const f32 *b, i32 ldb, f32 *c, i32 kdim, i32 acc) {
  const v128_t z = wasm_f32x4_splat(0);
  v128_t c0 = acc ? wasm_v128_load(c) : z, c1 = acc ? wasm_v128_load(c + 4) : z;
  for (i32 j = 0; j < kdim; j++, b += ldb) {
    const v128_t aj = wasm_f32x4_splat(a[j]);
    c0 = MADD(c0, aj, wasm_v128_load(b));
    c1 = MADD(c1, aj, wasm_v128_load(b + 4));
  }
  wasm_v128_store(c, c0);
  wasm_v128_store(c + 4, c1);
}

// dx[b][oy·sh − pt + ky][ox·sw − pl + kx][i] += Σ_j dy[b][oy][ox][j] · w[ky][kx][i][j]. scratch holds
// wᵀ (co × cols, cols = kh·kw·ci rounded up to 8, zero-padded) and one chunk of patch gradients
// (PW_CHUNK × cols). dx is zeroed here.
EXPORT(conv_input_grad)
void conv_input_grad(const f32 *dy, const f32 *wt, f32 *dx, f32 *scratch, i32 batch, i32 h, i32 w, i32 ci, i32 oh,
                     i32 ow, i32 co, i32 kh, i32 kw, i32 sh, i32 sw, i32 pt, i32 pl) {
  const i32 k = kh * kw * ci, cols = (k + 7) & ~7, rows = batch * oh * ow;
  f32 *bt = scratch, *dp = scratch + (i32)co * cols;
  for (i32 j = 0; j < co; j++)
    for (i32 q = 0; q < cols; q++) bt[j * cols + q] = q < k ? wt[q * co + j] : 0;
  for (i32 i = 0; i < batch * h * w * ci; i++) dx[i] = 0;
  for (i32 p0 = 0; p0 < rows; p0 += PW_CHUNK) {
    const i32 n = min_i(PW_CHUNK, rows - p0), n4 = n & ~3;
    const f32 *a = dy + (i32)p0 * co;
    for (i32 q = 0; q < cols; q += 8) {
      i32 r = 0;
      for (; r < n4; r += 4) gemm_4x8(a + r * co, co, bt + q, cols, dp + r * cols + q, cols, co, 0);
      for (; r < n; r++) gemm_1x8(a + r * co, bt + q, cols, dp + r * cols + q, co, 0);
    }
    for (i32 r = 0; r < n; r++) {
      const i32 p = p0 + r, ox = p % ow, oy = (p / ow) % oh, b = p / (ow * oh);
      const f32 *row = dp + (i32)r * cols;
      for (i32 ky = 0; ky < kh; ky++) {
        const i32 iy = oy * sh - pt + ky;
        if (iy < 0 || iy >= h) continue;
        for (i32 kx = 0; kx < kw; kx++) {
          const i32 ix = ox * sw - pl + kx;
          if (ix < 0 || ix >= w) continue;
          add_into(dx + ((i32)(b * h + iy) * w + ix) * ci, row + (ky * kw + kx) * ci, ci);
        }
      }
    }
  }
}

// ---- max-pool gradient (NHWC): each window's first maximum (strictly greater, row-major: the one tfjs'
// cpu kernel picks) receives that output's gradient; a window holding only -inf or NaN passes none.
// Four channels at a time: one pass finds the window's maximum, a second adds dy at its first
// occurrence (lanes already placed are masked off). Outputs go in order, so overlapping windows add
// into dx in the same order as the one-channel-at-a-time loop.
static inline void pool_grad4(const f32 *x, const f32 *g, f32 *dx, i32 y0, i32 y1, i32 x0, i32 x1, i32 w, i32 c) {
  const v128_t ninf = wasm_f32x4_splat(-__builtin_inff());
  v128_t best = ninf;
  for (i32 y = y0; y < y1; y++)
    for (i32 xx = x0; xx < x1; xx++) {
      const v128_t v = wasm_v128_load(x + (y * w + xx) * c);
      best = wasm_v128_bitselect(v, best, wasm_f32x4_gt(v, best));
    }
  v128_t open = wasm_f32x4_gt(best, ninf);
  const v128_t d = wasm_v128_load(g);
  for (i32 y = y0; y < y1 && wasm_v128_any_true(open); y++)
    for (i32 xx = x0; xx < x1; xx++) {
      const i32 at = (y * w + xx) * c;
      const v128_t hit = wasm_v128_and(open, wasm_f32x4_eq(wasm_v128_load(x + at), best));
      const v128_t old = wasm_v128_load(dx + at);
      wasm_v128_store(dx + at, wasm_v128_bitselect(wasm_f32x4_add(old, d), old, hit));
      open = wasm_v128_andnot(open, hit);
    }
}

static inline void pool_grad1(const f32 *x, const f32 *g, f32 *dx, i32 y0, i32 y1, i32 x0, i32 x1, i32 w, i32 c) {
  f32 best = -__builtin_inff();
  i32 at = -1;
  for (i32 y = y0; y < y1; y++)
    for (i32 xx = x0; xx < x1; xx++) {
      const f32 v = x[(y * w + xx) * c];
      if (v > best) best = v, at = (y * w + xx) * c;
    }
  if (at >= 0) dx[at] += *g;
}

EXPORT(max_pool_grad)
void max_pool_grad(const f32 *x, const f32 *dy, f32 *dx, i32 batch, i32 h, i32 w, i32 c, i32 oh, i32 ow, i32 kh,
                   i32 kw, i32 sh, i32 sw, i32 pt, i32 pl) {
  for (i32 i = 0; i < batch * h * w * c; i++) dx[i] = 0;
  for (i32 b = 0; b < batch; b++) {
    const f32 *xb = x + (i32)b * h * w * c;
    f32 *db = dx + (i32)b * h * w * c;
    for (i32 oy = 0; oy < oh; oy++) {
      const i32 y0 = max_i(0, oy * sh - pt), y1 = min_i(h, oy * sh - pt + kh);
      for (i32 ox = 0; ox < ow; ox++) {
        const i32 x0 = max_i(0, ox * sw - pl), x1 = min_i(w, ox * sw - pl + kw);
        const f32 *g = dy + (((i32)b * oh + oy) * ow + ox) * c;
        i32 ch = 0;
        for (; ch + 4 <= c; ch += 4) pool_grad4(xb + ch, g + ch, db + ch, y0, y1, x0, x1, w, c);
        for (; ch < c; ch++) pool_grad1(xb + ch, g + ch, db + ch, y0, y1, x0, x1, w, c);
      }
    }
  }
}

// ---- conv forward (NHWC, any kernel size, stride and padding): y = act(patches · W + bias), per chunk of
// PW_CHUNK output pixels, 4×8 blocks of the product in registers. pack_filter lays W out once as
// cols × co8 (cols: kh·kw·ci rounded up to 4, as patches pads its rows; co8: co rounded up to 8; the
// padding 0). The contraction goes in KC-deep slices, so a chunk's slice of patch rows stays in cache
// while the filter's columns go by. act: 0 linear, 1 relu, 2 relu6 (NaN stays NaN, as on cpu).
#define KC 256

EXPORT(pack_filter)
void pack_filter(const f32 *wt, f32 *bp, i32 k, i32 co) {
  const i32 cols = (k + 3) & ~3, co8 = (co + 7) & ~7;
  for (i32 j = 0; j < cols; j++)
    for (i32 q = 0; q < co8; q++) bp[j * co8 + q] = j < k && q < co ? wt[j * co + q] : 0;
}

static void conv_epilogue(const f32 *out, const f32 *bias, f32 *y, i32 n, i32 co, i32 co8, i32 act) {
  const v128_t zero = wasm_f32x4_splat(0), six = wasm_f32x4_splat(6);
  for (i32 r = 0; r < n; r++) {
    const f32 *o = out + (i32)r * co8;
    f32 *yr = y + (i32)r * co;
    i32 c = 0;
    for (; c + 4 <= co; c += 4) {
      v128_t v = wasm_v128_load(o + c);
      if (bias) v = wasm_f32x4_add(v, wasm_v128_load(bias + c));
      if (act >= 1) v = wasm_f32x4_pmax(v, zero);
      if (act == 2) v = wasm_f32x4_pmin(v, six);
      wasm_v128_store(yr + c, v);
    }
    for (; c < co; c++) {
      f32 v = o[c] + (bias ? bias[c] : 0);
      if (act >= 1) v = v < 0 ? 0 : v;
      if (act == 2) v = 6 < v ? 6 : v;
      yr[c] = v;
    }
  }
}

// Output pixels [p0, p1) (threads take row ranges). scratch: PW_CHUNK × (cols + co8) floats.
EXPORT(conv_forward_rows)
void conv_forward_rows(const f32 *x, const f32 *bp, const f32 *bias, f32 *y, f32 *scratch, i32 p0, i32 p1, i32 h,
                       i32 w, i32 ci, i32 oh, i32 ow, i32 co, i32 kh, i32 kw, i32 sh, i32 sw, i32 pt, i32 pl,
                       i32 act) {
  const i32 cols = (kh * kw * ci + 3) & ~3, co8 = (co + 7) & ~7;
  // a 1×1 conv at stride 1 without padding reads its rows straight from x (lda = ci, no patch copy)
  const i32 direct = kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0;
  const i32 lda = direct ? ci : cols;
  f32 *patch = scratch, *out = scratch + PW_CHUNK * cols;
  for (i32 q0 = p0; q0 < p1; q0 += PW_CHUNK) {
    const i32 n = min_i(PW_CHUNK, p1 - q0), n4 = n & ~3;
    const f32 *a = direct ? x + (i32)q0 * ci : patch;
    if (!direct) patches(x, patch, q0, n, h, w, ci, oh, ow, kh, kw, sh, sw, pt, pl, cols);
    for (i32 k0 = 0; k0 < lda; k0 += KC) {
      const i32 kd = min_i(KC, lda - k0);
      for (i32 q = 0; q < co8; q += 8) {
        const f32 *b = bp + (i32)k0 * co8 + q;
        i32 r = 0;
        for (; r < n4; r += 4) gemm_4x8(a + r * lda + k0, lda, b, co8, out + r * co8 + q, co8, kd, k0 > 0);
        for (; r < n; r++) gemm_1x8(a + r * lda + k0, b, co8, out + r * co8 + q, kd, k0 > 0);
      }
    }
    conv_epilogue(out, bias, y + (i32)q0 * co, n, co, co8, act);
  }
}

// ---- hard swish, PyTorch's Hardswish: y = x·clip(x/6 + 1/2, 0, 1), and its gradient from x alone,
// dx = dy·(0 below −3, x/3 + 1/2 up to 3, 1 above), as torch's hardswish_backward. One pass each, with
// the operations of the tf ops they replace in the same order (the same numbers). `grad`: dy given.
EXPORT(hard_swish)
void hard_swish(const f32 *x, const f32 *dy, f32 *out, i32 n, i32 grad) {
  const v128_t sixth = wasm_f32x4_splat(1.0f / 6), half = wasm_f32x4_splat(0.5f), zero = wasm_f32x4_splat(0),
               one = wasm_f32x4_splat(1), three = wasm_f32x4_splat(3), m3 = wasm_f32x4_splat(-3);
  i32 i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    v128_t r;
    if (grad) {
      const v128_t mid = wasm_f32x4_add(wasm_f32x4_div(v, three), half);
      r = wasm_v128_bitselect(one, mid, wasm_f32x4_gt(v, three));
      r = wasm_v128_andnot(r, wasm_f32x4_lt(v, m3));
      r = wasm_f32x4_mul(wasm_v128_load(dy + i), r);
    } else {
      const v128_t a = wasm_f32x4_add(wasm_f32x4_mul(v, sixth), half);
      r = wasm_f32x4_mul(v, wasm_f32x4_pmin(wasm_f32x4_pmax(a, zero), one));
    }
    wasm_v128_store(out + i, r);
  }
  for (; i < n; i++) {
    const f32 v = x[i];
    if (grad) {
      out[i] = dy[i] * (v < -3 ? 0 : v > 3 ? 1 : v / 3 + 0.5f);
    } else {
      const f32 a = v * (1.0f / 6) + 0.5f;
      out[i] = v * (a < 0 ? 0 : a > 1 ? 1 : a);
    }
  }
}
