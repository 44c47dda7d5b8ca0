/*
 * Fused element-wise training kernels for tfjs's wasm backend, in WebAssembly SIMD (and the
 * window kernels of convolutions and pooling, and a matrix product, at the end).
 *
 * Why: tfjs-backend-wasm 4.22 runs each element-wise op as its own pass through a scalar
 * loop (exp costs about 11 ns per element), so the binary cross-entropy of a 784-pixel
 * reconstruction and the Adam step cost more per training step than the matrix products.
 * These kernels do each job in one vectorised pass over tensors that live in tfjs's heap:
 * the module imports tfjs's WebAssembly.Memory and only reads and writes the pointers it
 * is given. It has no data and uses no stack (checked when it is built), so it never
 * touches memory tfjs owns otherwise.
 *
 * Built by packages/trainers/scripts/build-wasm.mjs with Debian's clang and lld:
 *   clang --target=wasm32 -O3 -msimd128 -nostdlib ...
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static inline v128_t splat(float v) { return wasm_f32x4_splat(v); }

/*
 * exp(y) for y <= 0, to about 1 ulp: y = n ln2 + r with |r| <= ln2/2 (ln2 split in two so
 * that r is exact), exp(r) by its Taylor polynomial of degree 7 (error below 5e-9), scaled
 * by 2^n through the exponent bits. Below -87 the result is clamped near 1e-38.
 */
static inline v128_t exp_nonpositive(v128_t y) {
  y = wasm_f32x4_pmax(y, splat(-87.0f));
  /* n = round(y / ln2) by adding 1.5 * 2^23, which leaves n in the low mantissa bits of t:
     cheaper in V8 than nearest and trunc_sat, which have no single x64 instruction */
  v128_t t = wasm_f32x4_add(wasm_f32x4_mul(y, splat(1.44269504088896341f)), splat(12582912.0f));
  v128_t n = wasm_f32x4_sub(t, splat(12582912.0f));
  v128_t r = wasm_f32x4_sub(y, wasm_f32x4_mul(n, splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, splat(-2.12194440e-4f)));
  /* Estrin's scheme: shorter dependency chains than Horner's, so lanes of neighbouring
     iterations overlap (1.7x faster in V8) */
  v128_t r2 = wasm_f32x4_mul(r, r);
  v128_t r4 = wasm_f32x4_mul(r2, r2);
  v128_t p01 = wasm_f32x4_add(splat(1.0f), r);
  v128_t p23 = wasm_f32x4_add(splat(0.5f), wasm_f32x4_mul(r, splat(1.0f / 6.0f)));
  v128_t p45 = wasm_f32x4_add(splat(1.0f / 24.0f), wasm_f32x4_mul(r, splat(1.0f / 120.0f)));
  v128_t p67 = wasm_f32x4_add(splat(1.0f / 720.0f), wasm_f32x4_mul(r, splat(1.0f / 5040.0f)));
  v128_t p = wasm_f32x4_add(wasm_f32x4_add(p01, wasm_f32x4_mul(r2, p23)),
                            wasm_f32x4_mul(r4, wasm_f32x4_add(p45, wasm_f32x4_mul(r2, p67))));
  /* 2^n: (bits(t) - bits(1.5 * 2^23) + 127) << 23, and bits(1.5 * 2^23) << 23 wraps to 0 */
  v128_t bits = wasm_i32x4_shl(wasm_i32x4_add(t, wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, bits);
}

/* Four lanes starting at p, of which the first `count` (1 to 4) are read; the rest are 0. */
static inline v128_t load_partial(const float *p, int count) {
  return wasm_f32x4_make(p[0], count > 1 ? p[1] : 0.0f, count > 2 ? p[2] : 0.0f,
                         count > 3 ? p[3] : 0.0f);
}

static inline void store_partial(float *p, v128_t v, int count) {
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (count > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (count > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
  if (count > 3) p[3] = wasm_f32x4_extract_lane(v, 3);
}

/* All ones in the first `count` (1 to 4) lanes, zeros in the rest. */
static inline v128_t partial_mask(long count) {
  return wasm_i32x4_make(-1, count > 1 ? -1 : 0, count > 2 ? -1 : 0, count > 3 ? -1 : 0);
}

/*
 * One step of sigmoid_bce on four lanes: returns the four losses (0 where `keep` is 0) and
 * writes the gradient to *grad.
 *   loss = max(x, 0) - x z + log(1 + e),  e = exp(-|x|) in (0, 1]
 *   log(1 + e) = 2 atanh(s) = 2 (s + s^3/3 + ... + s^13/13) with s = e / (2 + e) <= 1/3
 *     (the next term, 2 s^15 / 15, is below 1e-8)
 *   sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) otherwise
 * Both quotients come from one division: q = 1 / ((1 + e)(2 + e)), 1 / (1 + e) = (2 + e) q
 * and s = e (1 + e) q.
 */
static inline v128_t bce4(v128_t x, v128_t z, v128_t scale, v128_t keep, v128_t *grad) {
  v128_t e = exp_nonpositive(wasm_f32x4_neg(wasm_f32x4_abs(x)));
  v128_t d1 = wasm_f32x4_add(splat(1.0f), e);
  v128_t d2 = wasm_f32x4_add(splat(2.0f), e);
  v128_t q = wasm_f32x4_div(splat(1.0f), wasm_f32x4_mul(d1, d2));
  v128_t inv = wasm_f32x4_mul(d2, q);
  v128_t s = wasm_f32x4_mul(wasm_f32x4_mul(e, d1), q);
  v128_t s2 = wasm_f32x4_mul(s, s);
  v128_t s4 = wasm_f32x4_mul(s2, s2);
  /* 1 + s2/3 + s4/5 + s6/7 + s8/9 + s10/11 + s12/13, by Estrin's scheme */
  v128_t p01 = wasm_f32x4_add(splat(1.0f), wasm_f32x4_mul(s2, splat(1.0f / 3.0f)));
  v128_t p23 = wasm_f32x4_add(splat(1.0f / 5.0f), wasm_f32x4_mul(s2, splat(1.0f / 7.0f)));
  v128_t p45 = wasm_f32x4_add(splat(1.0f / 9.0f), wasm_f32x4_mul(s2, splat(1.0f / 11.0f)));
  v128_t p = wasm_f32x4_add(
      wasm_f32x4_add(p01, wasm_f32x4_mul(s4, p23)),
      wasm_f32x4_mul(wasm_f32x4_mul(s4, s4), wasm_f32x4_add(p45, wasm_f32x4_mul(s4, splat(1.0f / 13.0f)))));
  v128_t log1p = wasm_f32x4_mul(wasm_f32x4_add(s, s), p);
  v128_t loss = wasm_f32x4_add(
      wasm_f32x4_sub(wasm_f32x4_pmax(x, splat(0.0f)), wasm_f32x4_mul(x, z)), log1p);
  v128_t sig = wasm_v128_bitselect(inv, wasm_f32x4_mul(e, inv), wasm_f32x4_ge(x, splat(0.0f)));
  *grad = wasm_f32x4_mul(wasm_f32x4_sub(sig, z), scale);
  return wasm_v128_and(loss, keep);
}

/* Adds the four lanes of a float sum to two double accumulators. */
static inline void add_f64(v128_t v, v128_t *lo, v128_t *hi) {
  *lo = wasm_f64x2_add(*lo, wasm_f64x2_promote_low_f32x4(v));
  *hi = wasm_f64x2_add(*hi, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)));
}

/*
 * Binary cross-entropy between targets z and sigmoid(x), from the logits x, over n values:
 * returns the sum of the n losses, and writes grad = (sigmoid(x) - z) * scale, the
 * gradient of the loss sum times `scale` (1/n for the mean). Four losses per lane are
 * added in floats, then the sum goes on in doubles.
 */
EXPORT(sigmoid_bce)
double sigmoid_bce(const float *x, const float *z, float *grad, int n, float scale) {
  v128_t sum_lo = wasm_f64x2_splat(0.0);
  v128_t sum_hi = wasm_f64x2_splat(0.0);
  v128_t sc = splat(scale);
  v128_t all = wasm_i32x4_splat(-1);
  v128_t g0, g1, g2, g3;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t l0 = bce4(wasm_v128_load(x + i), wasm_v128_load(z + i), sc, all, &g0);
    v128_t l1 = bce4(wasm_v128_load(x + i + 4), wasm_v128_load(z + i + 4), sc, all, &g1);
    v128_t l2 = bce4(wasm_v128_load(x + i + 8), wasm_v128_load(z + i + 8), sc, all, &g2);
    v128_t l3 = bce4(wasm_v128_load(x + i + 12), wasm_v128_load(z + i + 12), sc, all, &g3);
    wasm_v128_store(grad + i, g0);
    wasm_v128_store(grad + i + 4, g1);
    wasm_v128_store(grad + i + 8, g2);
    wasm_v128_store(grad + i + 12, g3);
    add_f64(wasm_f32x4_add(wasm_f32x4_add(l0, l1), wasm_f32x4_add(l2, l3)), &sum_lo, &sum_hi);
  }
  for (; i + 4 <= n; i += 4) {
    add_f64(bce4(wasm_v128_load(x + i), wasm_v128_load(z + i), sc, all, &g0), &sum_lo, &sum_hi);
    wasm_v128_store(grad + i, g0);
  }
  if (i < n) {
    int rest = n - i;
    v128_t keep = wasm_i32x4_make(-1, rest > 1 ? -1 : 0, rest > 2 ? -1 : 0, 0);
    add_f64(bce4(load_partial(x + i, rest), load_partial(z + i, rest), sc, keep, &g0), &sum_lo,
            &sum_hi);
    store_partial(grad + i, g0, rest);
  }
  v128_t sum = wasm_f64x2_add(sum_lo, sum_hi);
  return wasm_f64x2_extract_lane(sum, 0) + wasm_f64x2_extract_lane(sum, 1);
}

/* One Adam step on four lanes: writes m', v' and returns w'. */
static inline v128_t adam4(v128_t w, v128_t m, v128_t v, v128_t g, v128_t b1, v128_t c1,
                           v128_t b2, v128_t c2, v128_t step, v128_t correction2, v128_t eps,
                           v128_t *m_out, v128_t *v_out) {
  *m_out = wasm_f32x4_add(wasm_f32x4_mul(b1, m), wasm_f32x4_mul(c1, g));
  *v_out = wasm_f32x4_add(wasm_f32x4_mul(b2, v), wasm_f32x4_mul(c2, wasm_f32x4_mul(g, g)));
  v128_t denominator =
      wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_mul(*v_out, correction2)), eps);
  return wasm_f32x4_sub(w, wasm_f32x4_div(wasm_f32x4_mul(step, *m_out), denominator));
}

/*
 * Adam on n values, tfjs's formula:
 *   m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2;
 *   w' = w - step m' / (sqrt(v' correction2) + eps)
 * with step = lr / (1 - b1^t) and correction2 = 1 / (1 - b2^t).
 */
EXPORT(adam)
void adam(const float *w, const float *m, const float *v, const float *g, float *w_out,
          float *m_out, float *v_out, int n, float beta1, float beta2, float step,
          float correction2, float epsilon) {
  v128_t b1 = splat(beta1), c1 = splat(1.0f - beta1);
  v128_t b2 = splat(beta2), c2 = splat(1.0f - beta2);
  v128_t st = splat(step), cr = splat(correction2), ep = splat(epsilon);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t m1, v1;
    v128_t w1 = adam4(wasm_v128_load(w + i), wasm_v128_load(m + i), wasm_v128_load(v + i),
                      wasm_v128_load(g + i), b1, c1, b2, c2, st, cr, ep, &m1, &v1);
    wasm_v128_store(w_out + i, w1);
    wasm_v128_store(m_out + i, m1);
    wasm_v128_store(v_out + i, v1);
  }
  if (i < n) {
    int rest = n - i;
    v128_t m1, v1;
    v128_t w1 = adam4(load_partial(w + i, rest), load_partial(m + i, rest),
                      load_partial(v + i, rest), load_partial(g + i, rest), b1, c1, b2, c2, st,
                      cr, ep, &m1, &v1);
    store_partial(w_out + i, w1, rest);
    store_partial(m_out + i, m1, rest);
    store_partial(v_out + i, v1, rest);
  }
}

/*
 * Sums of the columns of a rows x cols row-major matrix (a reduction over leading axes,
 * such as a bias gradient summed over the batch): out[j] = x[0][j] + x[1][j] + ..., added
 * in row order, streaming through x once.
 */
EXPORT(column_sums)
void column_sums(const float *x, float *out, int rows, int cols) {
  int j = 0;
  for (; j + 4 <= cols; j += 4) wasm_v128_store(out + j, wasm_f32x4_splat(0.0f));
  for (; j < cols; j++) out[j] = 0.0f;
  for (int i = 0; i < rows; i++) {
    const float *row = x + (long)i * cols;
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      wasm_v128_store(out + j, wasm_f32x4_add(wasm_v128_load(out + j), wasm_v128_load(row + j)));
    }
    for (; j < cols; j++) out[j] += row[j];
  }
}

#define SELU_SCALE 1.0507009873554804934193349852946f
#define SELU_SCALE_ALPHA 1.7580993408473768599402175208123f

/* selu(x) = scale x for x > 0, scale alpha (exp(x) - 1) otherwise (tfjs's constants). */
static inline v128_t selu4(v128_t x) {
  v128_t e = exp_nonpositive(wasm_f32x4_pmin(x, splat(0.0f)));
  v128_t negative = wasm_f32x4_mul(splat(SELU_SCALE_ALPHA), wasm_f32x4_sub(e, splat(1.0f)));
  return wasm_v128_bitselect(wasm_f32x4_mul(splat(SELU_SCALE), x), negative,
                             wasm_f32x4_gt(x, splat(0.0f)));
}

/*
 * dy times selu'(x), from the output y = selu(x) as elu_grad4 does: scale for y > 0, else
 * scale alpha exp(x) = y + scale alpha, with no exp to compute.
 */
static inline v128_t selu_grad4(v128_t dy, v128_t y) {
  v128_t slope = wasm_v128_bitselect(splat(SELU_SCALE), wasm_f32x4_add(y, splat(SELU_SCALE_ALPHA)),
                                     wasm_f32x4_gt(y, splat(0.0f)));
  return wasm_f32x4_mul(dy, slope);
}

/* elu(x) = x for x > 0, exp(x) - 1 otherwise (alpha 1, as tfjs's Elu). */
static inline v128_t elu4(v128_t x) {
  v128_t e = exp_nonpositive(wasm_f32x4_pmin(x, splat(0.0f)));
  return wasm_v128_bitselect(x, wasm_f32x4_sub(e, splat(1.0f)), wasm_f32x4_gt(x, splat(0.0f)));
}

/* tfjs's EluGrad, from the output y = elu(x): dy for y > 0, dy (y + 1) otherwise. */
static inline v128_t elu_grad4(v128_t dy, v128_t y) {
  return wasm_v128_bitselect(dy, wasm_f32x4_mul(dy, wasm_f32x4_add(y, splat(1.0f))),
                             wasm_f32x4_gt(y, splat(0.0f)));
}

/*
 * The exported loops of element-wise kernels: y[i] = f(x[i]) (UNARY) and
 * out[i] = f(a[i], b[i]) (BINARY) over n values, four lanes at a time, the tail partially.
 */
#define UNARY(name, f)                                                                   \
  EXPORT(name)                                                                           \
  void name(const float *x, float *y, int n) {                                           \
    int i = 0;                                                                           \
    _Pragma("clang loop unroll_count(4)") for (; i + 4 <= n; i += 4)                     \
        wasm_v128_store(y + i, f(wasm_v128_load(x + i)));                                \
    if (i < n) store_partial(y + i, f(load_partial(x + i, n - i)), n - i);               \
  }

#define BINARY(name, f)                                                                  \
  EXPORT(name)                                                                           \
  void name(const float *a, const float *b, float *out, int n) {                         \
    int i = 0;                                                                           \
    _Pragma("clang loop unroll_count(4)") for (; i + 4 <= n; i += 4)                     \
        wasm_v128_store(out + i, f(wasm_v128_load(a + i), wasm_v128_load(b + i)));       \
    if (i < n)                                                                           \
      store_partial(out + i, f(load_partial(a + i, n - i), load_partial(b + i, n - i)),  \
                    n - i);                                                              \
  }

UNARY(selu, selu4)
BINARY(selu_grad, selu_grad4) /* a = dy, b = y = selu(x) */
UNARY(elu, elu4)
BINARY(elu_grad, elu_grad4) /* a = dy, b = y = elu(x) */

/* relu(x) = x, or 0 where x < 0 (a NaN stays NaN, as in tfjs) */
static inline v128_t relu4(v128_t x) {
  return wasm_v128_bitselect(splat(0.0f), x, wasm_f32x4_lt(x, splat(0.0f)));
}

/* tfjs's relu gradient, dy where y = relu(x) > 0, else 0 */
static inline v128_t relu_grad4(v128_t dy, v128_t y) {
  return wasm_v128_and(dy, wasm_f32x4_gt(y, splat(0.0f)));
}

static inline v128_t linear4(v128_t x) { return x; }
static inline v128_t linear_grad4(v128_t dy, v128_t y) {
  (void)y;
  return dy;
}

/* y = f(z + b) for a rows x cols matrix z and a bias b of cols values */
#define BIAS_ACT(f)                                                                       \
  if (cols == 1) { /* one channel: a flat loop with the bias in every lane */             \
    const long n = rows;                                                                  \
    const v128_t b0 = splat(b[0]);                                                        \
    long i = 0;                                                                           \
    for (; i + 4 <= n; i += 4)                                                            \
      wasm_v128_store(y + i, f(wasm_f32x4_add(wasm_v128_load(z + i), b0)));               \
    if (i < n) store_partial(y + i, f(wasm_f32x4_add(load_partial(z + i, n - i), b0)), n - i); \
    return;                                                                               \
  }                                                                                       \
  for (int r = 0; r < rows; r++) {                                                        \
    const float *zr = z + (long)r * cols;                                                 \
    float *yr = y + (long)r * cols;                                                       \
    int j = 0;                                                                            \
    for (; j + 4 <= cols; j += 4)                                                         \
      wasm_v128_store(yr + j, f(wasm_f32x4_add(wasm_v128_load(zr + j), wasm_v128_load(b + j)))); \
    if (j < cols)                                                                         \
      store_partial(yr + j,                                                               \
                    f(wasm_f32x4_add(load_partial(zr + j, cols - j),                      \
                                     load_partial(b + j, cols - j))),                     \
                    cols - j);                                                            \
  }

/*
 * A dense or convolution layer's bias and activation in one pass: y = f(z + b), z a
 * rows x cols matrix (channels last), b one value per column. activation: 0 linear,
 * 1 relu, 2 elu, 3 selu.
 */
EXPORT(bias_activation)
void bias_activation(const float *z, const float *b, float *y, int rows, int cols,
                     int activation) {
  switch (activation) {
    case 1: { BIAS_ACT(relu4) } break;
    case 2: { BIAS_ACT(elu4) } break;
    case 3: { BIAS_ACT(selu4) } break;
    default: { BIAS_ACT(linear4) } break;
  }
}

/* dz = g(dy, y), and db = the column sums of dz, added in row order as column_sums does */
#define BIAS_ACT_GRAD(g)                                                                  \
  if (cols == 1) { /* one channel: four running sums, then theirs */                      \
    const long n = rows;                                                                  \
    v128_t sum = splat(0.0f);                                                             \
    long i = 0;                                                                           \
    for (; i + 4 <= n; i += 4) {                                                          \
      v128_t d = g(wasm_v128_load(dy + i), wasm_v128_load(y + i));                        \
      wasm_v128_store(dz + i, d);                                                         \
      sum = wasm_f32x4_add(sum, d);                                                       \
    }                                                                                     \
    if (i < n) {                                                                          \
      v128_t d = g(load_partial(dy + i, n - i), load_partial(y + i, n - i));              \
      store_partial(dz + i, d, n - i);                                                    \
      sum = wasm_f32x4_add(sum, wasm_v128_and(d, partial_mask(n - i)));                   \
    }                                                                                     \
    db[0] = (wasm_f32x4_extract_lane(sum, 0) + wasm_f32x4_extract_lane(sum, 1)) +         \
            (wasm_f32x4_extract_lane(sum, 2) + wasm_f32x4_extract_lane(sum, 3));          \
    return;                                                                               \
  }                                                                                       \
  for (int j = 0; j < cols; j++) db[j] = 0.0f;                                            \
  for (int r = 0; r < rows; r++) {                                                        \
    const long o = (long)r * cols;                                                        \
    int j = 0;                                                                            \
    for (; j + 4 <= cols; j += 4) {                                                       \
      v128_t d = g(wasm_v128_load(dy + o + j), wasm_v128_load(y + o + j));                \
      wasm_v128_store(dz + o + j, d);                                                     \
      wasm_v128_store(db + j, wasm_f32x4_add(wasm_v128_load(db + j), d));                 \
    }                                                                                     \
    if (j < cols) {                                                                       \
      v128_t d = g(load_partial(dy + o + j, cols - j), load_partial(y + o + j, cols - j)); \
      store_partial(dz + o + j, d, cols - j);                                             \
      store_partial(db + j, wasm_f32x4_add(load_partial(db + j, cols - j), d), cols - j); \
    }                                                                                     \
  }

/*
 * The gradients of bias_activation from its output y: dz = dy f'(z + b) and db, the sums of
 * dz over the rows, in one pass (tfjs: an activation gradient, then a sum).
 */
EXPORT(bias_activation_grad)
void bias_activation_grad(const float *dy, const float *y, float *dz, float *db, int rows,
                          int cols, int activation) {
  switch (activation) {
    case 1: { BIAS_ACT_GRAD(relu_grad4) } break;
    case 2: { BIAS_ACT_GRAD(elu_grad4) } break;
    case 3: { BIAS_ACT_GRAD(selu_grad4) } break;
    default: { BIAS_ACT_GRAD(linear_grad4) } break;
  }
}

/*
 * A convolution of one-channel NHWC images (the first layer of a grayscale model):
 * y[n, oh, ow, co] = bias[co] + sum over taps (kh, kw) inside the image of
 * x[n, oh*sh + kh*dh - top, ow*sw + kw*dw - left] w[kh, kw, 0, co], added in tap order;
 * bias may be 0 (none). Where the window lies inside the image and the channels come in
 * sixteens, two neighbouring positions at a time, in eight vector accumulators (the adds'
 * latency, not their number, bounds one position's four chains); elsewhere four channels
 * at a time, testing each tap.
 */
EXPORT(conv_one_channel)
void conv_one_channel(const float *x, const float *w, const float *bias, float *y, int batch,
                      int in_h, int in_w, int out_h, int out_w, int out_c, int filter_h,
                      int filter_w, int stride_h, int stride_w, int dilation_h, int dilation_w,
                      int top, int left) {
  /* output columns whose whole window is inside the image: [ow_lo, ow_hi) */
  int ow_lo = left <= 0 ? 0 : (left + stride_w - 1) / stride_w;
  const int span_w = (filter_w - 1) * dilation_w;
  int ow_hi = in_w - 1 - span_w + left < 0 ? 0 : (in_w - 1 - span_w + left) / stride_w + 1;
  if (ow_hi > out_w) ow_hi = out_w;
  if (ow_lo > ow_hi) ow_lo = ow_hi;
  for (int n = 0; n < batch; n++) {
    const float *img = x + (long)n * in_h * in_w;
    for (int oh = 0; oh < out_h; oh++) {
      const int ih0 = oh * stride_h - top;
      const int rows_inside = ih0 >= 0 && ih0 + (filter_h - 1) * dilation_h < in_h;
      for (int ow = 0; ow < out_w; ow++) {
        float *out = y + (((long)n * out_h + oh) * out_w + ow) * out_c;
        int c = 0;
        if (rows_inside && ow >= ow_lo && ow + 1 < ow_hi && out_c % 16 == 0) {
          /* two neighbouring output positions at once: eight accumulator chains */
          const int iw0 = ow * stride_w - left;
          for (; c < out_c; c += 16) {
            v128_t a0 = bias ? wasm_v128_load(bias + c) : splat(0.0f);
            v128_t a1 = bias ? wasm_v128_load(bias + c + 4) : splat(0.0f);
            v128_t a2 = bias ? wasm_v128_load(bias + c + 8) : splat(0.0f);
            v128_t a3 = bias ? wasm_v128_load(bias + c + 12) : splat(0.0f);
            v128_t b0 = a0, b1 = a1, b2 = a2, b3 = a3;
            const float *f = w + c;
            for (int kh = 0; kh < filter_h; kh++) {
              const float *row = img + (long)(ih0 + kh * dilation_h) * in_w + iw0;
              for (int kw = 0; kw < filter_w; kw++, f += out_c) {
                const v128_t u = splat(row[kw * dilation_w]);
                const v128_t v = splat(row[kw * dilation_w + stride_w]);
                const v128_t f0 = wasm_v128_load(f), f1 = wasm_v128_load(f + 4);
                const v128_t f2 = wasm_v128_load(f + 8), f3 = wasm_v128_load(f + 12);
                a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(u, f0));
                a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(u, f1));
                a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(u, f2));
                a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(u, f3));
                b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(v, f0));
                b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(v, f1));
                b2 = wasm_f32x4_add(b2, wasm_f32x4_mul(v, f2));
                b3 = wasm_f32x4_add(b3, wasm_f32x4_mul(v, f3));
              }
            }
            wasm_v128_store(out + c, a0);
            wasm_v128_store(out + c + 4, a1);
            wasm_v128_store(out + c + 8, a2);
            wasm_v128_store(out + c + 12, a3);
            wasm_v128_store(out + out_c + c, b0);
            wasm_v128_store(out + out_c + c + 4, b1);
            wasm_v128_store(out + out_c + c + 8, b2);
            wasm_v128_store(out + out_c + c + 12, b3);
          }
          ow++;
          continue;
        }
        for (; c < out_c; c += 4) { /* four channels at a time, the last group partly */
          const int k = out_c - c < 4 ? out_c - c : 4;
          v128_t a0 = !bias     ? splat(0.0f)
                      : k == 4  ? wasm_v128_load(bias + c)
                                : load_partial(bias + c, k);
          for (int kh = 0; kh < filter_h; kh++) {
            const int ih = ih0 + kh * dilation_h;
            if (ih < 0 || ih >= in_h) continue;
            for (int kw = 0; kw < filter_w; kw++) {
              const int iw = ow * stride_w + kw * dilation_w - left;
              if (iw < 0 || iw >= in_w) continue;
              const v128_t v = splat(img[(long)ih * in_w + iw]);
              const float *f = w + ((long)kh * filter_w + kw) * out_c + c;
              const v128_t g = k == 4 ? wasm_v128_load(f) : load_partial(f, k);
              a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(v, g));
            }
          }
          if (k == 4) wasm_v128_store(out + c, a0);
          else store_partial(out + c, a0, k);
        }
      }
    }
  }
}

/*
 * patches() with few channels (grayscale images): one output row (n, oh) at a time, its
 * patch rows (out_w x row_length values) staying in cache, filter tap by filter tap. For a
 * tap (kh, kw) the output columns whose input column falls inside the image form one range,
 * found once, so the copy loop moves one value per column with no bounds test: 4.7x faster
 * than patches_by_row on 128 28x28x1 images, but 2x slower with 16 channels, where each
 * column's move is a whole cache line written at a stride.
 */
static inline __attribute__((always_inline)) void patches_by_tap(
    float *image, float *cols, int batch, int in_h, int in_w, int channels, int out_h, int out_w,
    int filter_h, int filter_w, int stride_h, int stride_w, int dilation_h, int dilation_w,
    int top, int left, int gather) {
  const long row_length = (long)filter_h * filter_w * channels;
  for (int n = 0; n < batch; n++) {
    float *img = image + (long)n * in_h * in_w * channels;
    for (int oh = 0; oh < out_h; oh++) {
      float *block = cols + ((long)n * out_h + oh) * out_w * row_length;
      for (int kh = 0; kh < filter_h; kh++) {
        const int ih = oh * stride_h + kh * dilation_h - top;
        for (int kw = 0; kw < filter_w; kw++) {
          float *tap = block + ((long)kh * filter_w + kw) * channels;
          /* iw = ow * stride_w + shift is inside [0, in_w) for ow in [lo, hi) */
          const int shift = kw * dilation_w - left;
          int lo = shift >= 0 ? 0 : (-shift + stride_w - 1) / stride_w;
          int hi = in_w - 1 - shift < 0 ? 0 : (in_w - 1 - shift) / stride_w + 1;
          if (hi > out_w) hi = out_w;
          if (ih < 0 || ih >= in_h || lo > hi) lo = hi = 0;
          if (gather) {
            for (int ow = 0; ow < lo; ow++) {
              for (int c = 0; c < channels; c++) tap[ow * row_length + c] = 0.0f;
            }
            for (int ow = hi; ow < out_w; ow++) {
              for (int c = 0; c < channels; c++) tap[ow * row_length + c] = 0.0f;
            }
          }
          if (lo == hi) continue;
          float *src = img + ((long)ih * in_w + shift) * channels;
          const long step = (long)stride_w * channels;
          if (gather && channels == 1) {
            for (int ow = lo; ow < hi; ow++) tap[ow * row_length] = src[ow * step];
          } else if (gather) {
            for (int ow = lo; ow < hi; ow++) {
              for (int c = 0; c < channels; c++) tap[ow * row_length + c] = src[ow * step + c];
            }
          } else if (channels == 1) {
            for (int ow = lo; ow < hi; ow++) src[ow * step] += tap[ow * row_length];
          } else {
            for (int ow = lo; ow < hi; ow++) {
              for (int c = 0; c < channels; c++) src[ow * step + c] += tap[ow * row_length + c];
            }
          }
        }
      }
    }
  }
}

/* patches() with four channels or more: row by row, each patch row written in order. */
static inline __attribute__((always_inline)) void patches_by_row(
    float *image, float *cols, int batch, int in_h, int in_w, int channels, int out_h, int out_w,
    int filter_h, int filter_w, int stride_h, int stride_w, int dilation_h, int dilation_w,
    int top, int left, int gather) {
  const long row_length = (long)filter_h * filter_w * channels;
  long row = 0;
  for (int n = 0; n < batch; n++) {
    float *img = image + (long)n * in_h * in_w * channels;
    for (int oh = 0; oh < out_h; oh++) {
      for (int ow = 0; ow < out_w; ow++, row++) {
        float *o = cols + row * row_length;
        for (int kh = 0; kh < filter_h; kh++) {
          const int ih = oh * stride_h + kh * dilation_h - top;
          for (int kw = 0; kw < filter_w; kw++, o += channels) {
            const int iw = ow * stride_w + kw * dilation_w - left;
            if (ih < 0 || ih >= in_h || iw < 0 || iw >= in_w) {
              if (gather) {
                int c = 0;
                for (; c + 4 <= channels; c += 4) wasm_v128_store(o + c, splat(0.0f));
                for (; c < channels; c++) o[c] = 0.0f;
              }
              continue;
            }
            float *p = img + ((long)ih * in_w + iw) * channels;
            int c = 0;
            if (gather) {
              for (; c + 4 <= channels; c += 4) wasm_v128_store(o + c, wasm_v128_load(p + c));
              for (; c < channels; c++) o[c] = p[c];
            } else {
              for (; c + 4 <= channels; c += 4) {
                wasm_v128_store(p + c, wasm_f32x4_add(wasm_v128_load(p + c), wasm_v128_load(o + c)));
              }
              for (; c < channels; c++) p[c] += o[c];
            }
          }
        }
      }
    }
  }
}


/*
 * Moves values between NHWC images and their patch matrix (one row per output position of
 * a convolution, holding image[n, oh*sh + kh*dh - top, ow*sw + kw*dw - left, c] for every
 * (kh, kw, c) in that order). gather != 0: copies the images into cols, zeros outside the
 * images (im2col). gather == 0: adds every patch value back into the images (col2im, the
 * adjoint; the images must start at zero).
 */
#define PATCH_PARAMS                                                                      \
  float *image, float *cols, int batch, int in_h, int in_w, int channels, int out_h,     \
      int out_w, int filter_h, int filter_w, int stride_h, int stride_w, int dilation_h, \
      int dilation_w, int top, int left
#define PATCH_ARGS                                                                        \
  image, cols, batch, in_h, in_w, channels, out_h, out_w, filter_h, filter_w, stride_h,   \
      stride_w, dilation_h, dilation_w, top, left

/*
 * Each loop nest compiled as a function of its own, with gather fixed: together in one
 * function V8 ran the by-row loops 25% slower.
 */
__attribute__((noinline)) static void gather_by_tap(PATCH_PARAMS) {
  patches_by_tap(PATCH_ARGS, 1);
}
__attribute__((noinline)) static void scatter_by_tap(PATCH_PARAMS) {
  patches_by_tap(PATCH_ARGS, 0);
}
__attribute__((noinline)) static void gather_by_row(PATCH_PARAMS) {
  patches_by_row(PATCH_ARGS, 1);
}
__attribute__((noinline)) static void scatter_by_row(PATCH_PARAMS) {
  patches_by_row(PATCH_ARGS, 0);
}

EXPORT(patches)
void patches(PATCH_PARAMS, int gather) {
  if (channels < 4) {
    if (gather) gather_by_tap(PATCH_ARGS);
    else scatter_by_tap(PATCH_ARGS);
  } else if (gather) {
    gather_by_row(PATCH_ARGS);
  } else {
    scatter_by_row(PATCH_ARGS);
  }
}

/*
 * The gradient of a max pooling over NHWC images: dx = 0, then each output position adds its
 * gradient dy to the first largest input of its window (the cpu backend's choice). Four
 * channels at a time: a window's first value and its offset, replaced where a later value is
 * strictly larger (as the scalar rule; a NaN never wins), then four scalar additions.
 */
EXPORT(max_pool_grad)
void max_pool_grad(const float *x, const float *dy, float *dx, int batch, int in_h, int in_w,
                   int channels, int out_h, int out_w, int filter_h, int filter_w, int stride_h,
                   int stride_w, int top, int left) {
  const long size = (long)batch * in_h * in_w * channels;
  long i = 0;
  for (; i + 4 <= size; i += 4) wasm_v128_store(dx + i, wasm_f32x4_splat(0.0f));
  for (; i < size; i++) dx[i] = 0.0f;
  long k = 0;
  for (int n = 0; n < batch; n++) {
    const long image = (long)n * in_h * in_w * channels;
    for (int oh = 0; oh < out_h; oh++) {
      const int h0 = oh * stride_h - top < 0 ? 0 : oh * stride_h - top;
      const int h1 = oh * stride_h - top + filter_h > in_h ? in_h : oh * stride_h - top + filter_h;
      for (int ow = 0; ow < out_w; ow++) {
        const int w0 = ow * stride_w - left < 0 ? 0 : ow * stride_w - left;
        const int w1 = ow * stride_w - left + filter_w > in_w ? in_w : ow * stride_w - left + filter_w;
        if (h0 >= h1 || w0 >= w1) {
          k += channels;
          continue;
        }
        const long first = image + ((long)h0 * in_w + w0) * channels;
        int c = 0;
        for (; c + 4 <= channels; c += 4, k += 4) {
          v128_t max = wasm_v128_load(x + first + c);
          v128_t best = wasm_i32x4_splat((int)(first + c));
          for (int h = h0; h < h1; h++) {
            for (int w = w0; w < w1; w++) {
              const long at = image + ((long)h * in_w + w) * channels + c;
              v128_t v = wasm_v128_load(x + at);
              v128_t larger = wasm_f32x4_gt(v, max);
              max = wasm_v128_bitselect(v, max, larger);
              best = wasm_v128_bitselect(wasm_i32x4_splat((int)at), best, larger);
            }
          }
          v128_t g = wasm_v128_load(dy + k);
          dx[wasm_i32x4_extract_lane(best, 0) + 0] += wasm_f32x4_extract_lane(g, 0);
          dx[wasm_i32x4_extract_lane(best, 1) + 1] += wasm_f32x4_extract_lane(g, 1);
          dx[wasm_i32x4_extract_lane(best, 2) + 2] += wasm_f32x4_extract_lane(g, 2);
          dx[wasm_i32x4_extract_lane(best, 3) + 3] += wasm_f32x4_extract_lane(g, 3);
        }
        for (; c < channels; c++, k++) {
          long best = first + c;
          float max = x[best];
          for (int h = h0; h < h1; h++) {
            for (int w = w0; w < w1; w++) {
              const long at = image + ((long)h * in_w + w) * channels + c;
              if (x[at] > max) {
                max = x[at];
                best = at;
              }
            }
          }
          dx[best] += dy[k];
        }
      }
    }
  }
}

/*
 * Max pooling over side-by-side windows (stride = window, no padding) of NHWC images, with
 * the offset (kh * pool_w + kw) of each output's first largest input (a NaN never wins but
 * in first place, as max_pool_grad): the gradient then needs only dy and the offsets, not
 * the images. Inputs past the last whole window (odd sides) are left out, as 'valid'
 * pooling does.
 */
EXPORT(max_pool_argmax)
void max_pool_argmax(const float *x, float *y, int *arg, int batch, int in_h, int in_w,
                     int channels, int out_h, int out_w, int pool_h, int pool_w) {
  long k = 0;
  for (int n = 0; n < batch; n++) {
    const float *image = x + (long)n * in_h * in_w * channels;
    for (int oh = 0; oh < out_h; oh++) {
      for (int ow = 0; ow < out_w; ow++) {
        const float *first = image + ((long)oh * pool_h * in_w + (long)ow * pool_w) * channels;
        int c = 0;
        for (; c + 4 <= channels; c += 4, k += 4) {
          v128_t max = wasm_v128_load(first + c);
          v128_t best = wasm_i32x4_splat(0);
          for (int kh = 0; kh < pool_h; kh++) {
            for (int kw = kh == 0 ? 1 : 0; kw < pool_w; kw++) {
              v128_t v = wasm_v128_load(first + ((long)kh * in_w + kw) * channels + c);
              v128_t larger = wasm_f32x4_gt(v, max);
              max = wasm_v128_bitselect(v, max, larger);
              best = wasm_v128_bitselect(wasm_i32x4_splat(kh * pool_w + kw), best, larger);
            }
          }
          wasm_v128_store(y + k, max);
          wasm_v128_store(arg + k, best);
        }
        for (; c < channels; c++, k++) {
          float max = first[c];
          int best = 0;
          for (int kh = 0; kh < pool_h; kh++) {
            for (int kw = kh == 0 ? 1 : 0; kw < pool_w; kw++) {
              const float v = first[((long)kh * in_w + kw) * channels + c];
              if (v > max) {
                max = v;
                best = kh * pool_w + kw;
              }
            }
          }
          y[k] = max;
          arg[k] = best;
        }
      }
    }
  }
}

/*
 * The gradient of max_pool_argmax: each output's gradient goes to the input its offset names,
 * every other input gets 0. Written row by row of the images in order, each value once (no
 * zeroing pass first, and the images are not read).
 */
EXPORT(max_pool_argmax_grad)
void max_pool_argmax_grad(const float *dy, const int *arg, float *dx, int batch, int in_h,
                          int in_w, int channels, int out_h, int out_w, int pool_h, int pool_w) {
  const long row = (long)in_w * channels;
  const long covered = (long)out_w * pool_w * channels;
  for (int n = 0; n < batch; n++) {
    float *image = dx + (long)n * in_h * row;
    for (int h = 0; h < in_h; h++) {
      float *out = image + (long)h * row;
      const int oh = h / pool_h;
      long i = 0;
      if (oh < out_h) {
        const int kh = h - oh * pool_h;
        const long at = ((long)n * out_h + oh) * out_w * channels;
        for (int ow = 0; ow < out_w; ow++) {
          const float *g = dy + at + (long)ow * channels;
          const int *a = arg + at + (long)ow * channels;
          for (int kw = 0; kw < pool_w; kw++, i += channels) {
            const v128_t offset = wasm_i32x4_splat(kh * pool_w + kw);
            int c = 0;
            for (; c + 4 <= channels; c += 4) {
              v128_t hit = wasm_i32x4_eq(wasm_v128_load(a + c), offset);
              wasm_v128_store(out + i + c, wasm_v128_and(wasm_v128_load(g + c), hit));
            }
            for (; c < channels; c++) out[i + c] = a[c] == kh * pool_w + kw ? g[c] : 0.0f;
          }
        }
      }
      /* inputs past the last window: the rest of the row, or a whole row below them */
      for (i = oh < out_h ? covered : 0; i < row; i++) out[i] = 0.0f;
    }
  }
}

/*
 * C = A B for row-major float32 matrices C [m, n] and B [k, n], with A read through strides:
 * a(i, p) = a[i * a_row + p * a_col] (A as stored [m, k]: a_row = k, a_col = 1; A transposed,
 * stored [k, m]: a_row = 1, a_col = m). C is overwritten.
 *
 * Why: tfjs-backend-wasm 4.22 hands a product to XNNPACK's fully-connected operator, which it
 * creates (packing the second operand) for every new tensor, and a dense layer's weights and
 * gradients are new tensors at every step; on the 32-row products of a training step that
 * runs at about 3 GFLOP/s (Chromium, one thread). Here each block of 4 rows by 8 columns of C
 * stays in 8 registers while p runs over a block of k, and the 8 columns of B it reads stay
 * in L1 while the row blocks go by: 12 to 29 GFLOP/s on the same products. The products of
 * backpropagation need B transposed only for dx = dy W^T, which the caller gives as a
 * transposed copy of W.
 */
#define MUL_ADD(acc, x, y) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(x, y))

/* Accumulators start at 0, or at C's values when the product goes on from an earlier k block. */
#define START(acc, at) acc = more ? wasm_v128_load(at) : splat(0.0f)
#define START_PARTIAL(acc, at, w) acc = more ? load_partial(at, w) : splat(0.0f)

static inline __attribute__((always_inline)) void gemm_block(const float *a, const float *b,
                                                             float *c, int m, int n, int k,
                                                             long ar, long ac, int more) {
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    int i = 0;
    for (; i + 4 <= m; i += 4) {
      float *cp = c + (long)i * n + j;
      v128_t c00, c01, c10, c11, c20, c21, c30, c31;
      START(c00, cp);
      START(c01, cp + 4);
      START(c10, cp + n);
      START(c11, cp + n + 4);
      START(c20, cp + 2 * n);
      START(c21, cp + 2 * n + 4);
      START(c30, cp + 3 * n);
      START(c31, cp + 3 * n + 4);
      const float *ap = a + i * ar;
      const float *bp = b + j;
      for (int p = 0; p < k; p++, ap += ac, bp += n) {
        const v128_t b0 = wasm_v128_load(bp);
        const v128_t b1 = wasm_v128_load(bp + 4);
        const v128_t a0 = splat(ap[0]);
        const v128_t a1 = splat(ap[ar]);
        const v128_t a2 = splat(ap[2 * ar]);
        const v128_t a3 = splat(ap[3 * ar]);
        MUL_ADD(c00, a0, b0);
        MUL_ADD(c01, a0, b1);
        MUL_ADD(c10, a1, b0);
        MUL_ADD(c11, a1, b1);
        MUL_ADD(c20, a2, b0);
        MUL_ADD(c21, a2, b1);
        MUL_ADD(c30, a3, b0);
        MUL_ADD(c31, a3, b1);
      }
      wasm_v128_store(cp, c00);
      wasm_v128_store(cp + 4, c01);
      wasm_v128_store(cp + n, c10);
      wasm_v128_store(cp + n + 4, c11);
      wasm_v128_store(cp + 2 * n, c20);
      wasm_v128_store(cp + 2 * n + 4, c21);
      wasm_v128_store(cp + 3 * n, c30);
      wasm_v128_store(cp + 3 * n + 4, c31);
    }
    for (; i < m; i++) {
      float *cp = c + (long)i * n + j;
      v128_t c0, c1;
      START(c0, cp);
      START(c1, cp + 4);
      const float *ap = a + i * ar;
      const float *bp = b + j;
      for (int p = 0; p < k; p++, ap += ac, bp += n) {
        const v128_t a0 = splat(ap[0]);
        MUL_ADD(c0, a0, wasm_v128_load(bp));
        MUL_ADD(c1, a0, wasm_v128_load(bp + 4));
      }
      wasm_v128_store(cp, c0);
      wasm_v128_store(cp + 4, c1);
    }
  }
  /* the last columns, four (or fewer) at a time */
  for (; j < n; j += 4) {
    const int w = n - j < 4 ? n - j : 4;
    int i = 0;
    for (; i + 4 <= m; i += 4) {
      float *cp = c + (long)i * n + j;
      v128_t c0, c1, c2, c3;
      START_PARTIAL(c0, cp, w);
      START_PARTIAL(c1, cp + n, w);
      START_PARTIAL(c2, cp + 2 * n, w);
      START_PARTIAL(c3, cp + 3 * n, w);
      const float *ap = a + i * ar;
      const float *bp = b + j;
      for (int p = 0; p < k; p++, ap += ac, bp += n) {
        const v128_t b0 = w == 4 ? wasm_v128_load(bp) : load_partial(bp, w);
        MUL_ADD(c0, splat(ap[0]), b0);
        MUL_ADD(c1, splat(ap[ar]), b0);
        MUL_ADD(c2, splat(ap[2 * ar]), b0);
        MUL_ADD(c3, splat(ap[3 * ar]), b0);
      }
      store_partial(cp, c0, w);
      store_partial(cp + n, c1, w);
      store_partial(cp + 2 * n, c2, w);
      store_partial(cp + 3 * n, c3, w);
    }
    for (; i < m; i++) {
      float *cp = c + (long)i * n + j;
      v128_t c0;
      START_PARTIAL(c0, cp, w);
      const float *ap = a + i * ar;
      const float *bp = b + j;
      for (int p = 0; p < k; p++, ap += ac, bp += n) {
        MUL_ADD(c0, splat(ap[0]), w == 4 ? wasm_v128_load(bp) : load_partial(bp, w));
      }
      store_partial(cp, c0, w);
    }
  }
}

/* Rows of B per block of k: the 8 columns of B a row block reads (k x 32 bytes, 64-byte
   lines) then fit L1 while the row blocks go by. */
#define GEMM_K_BLOCK 128

EXPORT(gemm)
void gemm(const float *a, const float *b, float *c, int m, int n, int k, int a_row, int a_col) {
  for (int p = 0; p < k; p += GEMM_K_BLOCK) {
    const int kb = k - p < GEMM_K_BLOCK ? k - p : GEMM_K_BLOCK;
    gemm_block(a + (long)p * a_col, b + (long)p * n, c, m, n, kb, a_row, a_col, p > 0);
  }
}
