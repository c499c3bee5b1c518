// freezeflow's own SIMD kernels for the tfjs wasm backend. The module imports tfjs-wasm's memory, so
// every pointer is a tensor's offset in that heap: no copies in or out. It must not own any memory: no
// static data, no stack arrays, no libc (scripts/build-kernels.sh checks the built module for data
// segments and a stack pointer). Built with clang -O3 -msimd128; no -ffast-math, so float operations
// happen exactly in the order written (the Adam update matches tfjs' own ops bit for bit).
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

typedef float f32;
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
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(x), wasm_v128_load(dy)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(x + 4), wasm_v128_load(dy + 4)));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(x + 8), wasm_v128_load(dy + 8)));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(x + 12), wasm_v128_load(dy + 12)));
  }
  wasm_v128_store(dw, wasm_f32x4_add(wasm_v128_load(dw), a0));
  wasm_v128_store(dw + 4, wasm_f32x4_add(wasm_v128_load(dw + 4), a1));
  wasm_v128_store(dw + 8, wasm_f32x4_add(wasm_v128_load(dw + 8), a2));
  wasm_v128_store(dw + 12, wasm_f32x4_add(wasm_v128_load(dw + 12), a3));
}

static inline void tap_row4(f32 *dw, const f32 *x, const f32 *dy, i32 n, i32 xstep, i32 dystep) {
  v128_t a = wasm_f32x4_splat(0);
  for (i32 i = 0; i < n; i++, x += xstep, dy += dystep)
    a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(x), wasm_v128_load(dy)));
  wasm_v128_store(dw, wasm_f32x4_add(wasm_v128_load(dw), a));
}

static inline void tap_row1(f32 *dw, const f32 *x, const f32 *dy, i32 n, i32 xstep, i32 dystep) {
  f32 a = 0;
  for (i32 i = 0; i < n; i++, x += xstep, dy += dystep) a += *x * *dy;
  *dw += a;
}

// Depthwise conv filter gradient, NHWC, channel multiplier 1:
//   dw[kh][kw][c] = Σ_{b,oy,ox} x[b][oy·sh − pt + kh][ox·sw − pl + kw][c] · dy[b][oy][ox][c]
// over the images [b0, b1) (a thread's share; dw then holds that share's partial sum). dw is zeroed here.
EXPORT(depthwise_filter_grad)
void depthwise_filter_grad(const f32 *x, const f32 *dy, f32 *dw, i32 b0, i32 b1, i32 h, i32 w, i32 c, i32 oh,
                           i32 ow, i32 kh, i32 kw, i32 sh, i32 sw, i32 pt, i32 pl) {
  for (i32 i = 0; i < kh * kw * c; i++) dw[i] = 0;
  const i32 c16 = c & ~15, c4 = c & ~3;
  for (i32 b = b0; b < b1; b++)
    for (i32 oy = 0; oy < oh; oy++)
      for (i32 ky = 0; ky < kh; ky++) {
        const i32 iy = oy * sh - pt + ky;
        if (iy < 0 || iy >= h) continue;
        const f32 *dyrow = dy + ((i32)(b * oh + oy) * ow) * c;
        for (i32 kx = 0; kx < kw; kx++) {
          const i32 o0 = first_out(pl, kx, sw), o1 = last_out(w, pl, kx, sw, ow);
          if (o1 < o0) continue;
          const i32 n = o1 - o0 + 1;
          const f32 *xs = x + ((i32)(b * h + iy) * w + (o0 * sw - pl + kx)) * c;
          const f32 *dys = dyrow + o0 * c;
          f32 *tap = dw + (ky * kw + kx) * c;
          i32 ch = 0;
          for (; ch < c16; ch += 16) tap_row16(tap + ch, xs + ch, dys + ch, n, sw * c, c);
          for (; ch < c4; ch += 4) tap_row4(tap + ch, xs + ch, dys + ch, n, sw * c, c);
          for (; ch < c; ch++) tap_row1(tap + ch, xs + ch, dys + ch, n, sw * c, c);
        }
      }
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
