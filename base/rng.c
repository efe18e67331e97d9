/* base/rng.c: xoshiro256** (Blackman & Vigna, public-domain algorithm; our own code) and
 * distributions. Every draw consumes a deterministic number of 64-bit words except rejection
 * samplers (normal, gamma, zipf), whose consumption depends only on the stream itself. */
#include "base/rng.h"

#include <math.h>
#include <string.h>

uint64_t
sim_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t
sim_mix64(uint64_t x)
{
    uint64_t s = x;
    return sim_splitmix64(&s);
}

void
sim_rng_init(sim_rng *r, uint64_t seed, uint64_t stream_id)
{
    /* Mix seed and stream through two splitmix rounds so nearby (seed, stream) pairs land
     * far apart, then expand to 256 bits of state. */
    uint64_t sm =
        sim_mix64(seed) ^ sim_mix64(stream_id * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = sim_splitmix64(&sm);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1; /* the all-zero state is a fixed point */
    r->spare = 0.0;
    r->have_spare = false;
}

static inline uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t
sim_rng_u64(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double
sim_rng_uniform(sim_rng *r)
{
    return (double)(sim_rng_u64(r) >> 11) * 0x1.0p-53;
}

double
sim_rng_uniform_pos(sim_rng *r)
{
    return ((double)(sim_rng_u64(r) >> 11) + 1.0) * 0x1.0p-53;
}

uint64_t
sim_rng_below(sim_rng *r, uint64_t n)
{
    /* Reject the lowest (2^64 mod n) values so every residue is equally likely. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = sim_rng_u64(r);
        if (x >= threshold)
            return x % n;
    }
}

double
sim_rng_exponential(sim_rng *r, double rate)
{
    return -log(sim_rng_uniform_pos(r)) / rate;
}

double
sim_rng_normal(sim_rng *r, double mean, double sd)
{
    if (r->have_spare) {
        r->have_spare = false;
        return mean + sd * r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * sim_rng_uniform(r) - 1.0;
        v = 2.0 * sim_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->have_spare = true;
    return mean + sd * u * f;
}

double
sim_rng_lognormal(sim_rng *r, double mu, double sigma)
{
    return exp(sim_rng_normal(r, mu, sigma));
}

double
sim_rng_gamma(sim_rng *r, double shape, double scale)
{
    if (shape < 1.0) {
        /* Gamma(k) = Gamma(k+1) · U^(1/k) (Marsaglia & Tsang 2000, §6). */
        double u = sim_rng_uniform_pos(r);
        return sim_rng_gamma(r, shape + 1.0, scale) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = sim_rng_normal(r, 0.0, 1.0);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = sim_rng_uniform_pos(r);
        if (u < 1.0 - 0.0331 * (x * x) * (x * x))
            return d * v * scale;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v * scale;
    }
}

double
sim_rng_weibull(sim_rng *r, double shape, double scale)
{
    return scale * pow(-log(sim_rng_uniform_pos(r)), 1.0 / shape);
}

uint64_t
sim_rng_geometric(sim_rng *r, double p)
{
    if (p >= 1.0)
        return 1;
    double k = ceil(log(sim_rng_uniform_pos(r)) / log1p(-p));
    return k < 1.0 ? 1 : (uint64_t)k;
}

/* Rejection-inversion helpers (Hörmann & Derflinger, "Rejection-inversion to generate
 * variates from monotone discrete distributions", 1996). */
static double
helper_log1p_div(double x) /* log(1+x)/x, stable near 0 */
{
    return fabs(x) > 1e-8 ? log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

static double
helper_expm1_div(double x) /* (exp(x)-1)/x, stable near 0 */
{
    return fabs(x) > 1e-8 ? expm1(x) / x : 1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x));
}

static double
zipf_h(double x, double s)
{
    return exp(-s * log(x));
}

static double
zipf_hint(double x, double s) /* ∫ h */
{
    double lx = log(x);
    return helper_expm1_div((1.0 - s) * lx) * lx;
}

static double
zipf_hint_inv(double x, double s)
{
    double t = x * (1.0 - s);
    if (t < -1.0)
        t = -1.0; /* numerical guard */
    return exp(helper_log1p_div(t) * x);
}

uint64_t
sim_rng_zipf(sim_rng *r, uint64_t n, double s)
{
    if (n <= 1)
        return 1;
    double hx1 = zipf_hint(1.5, s) - 1.0;
    double hn = zipf_hint((double)n + 0.5, s);
    double sq = 2.0 - zipf_hint_inv(zipf_hint(2.5, s) - zipf_h(2.0, s), s);
    for (;;) {
        double u = hn + sim_rng_uniform(r) * (hx1 - hn);
        double x = zipf_hint_inv(u, s);
        double kd = floor(x + 0.5);
        if (kd < 1.0)
            kd = 1.0;
        else if (kd > (double)n)
            kd = (double)n;
        if (kd - x <= sq || u >= zipf_hint(kd + 0.5, s) - zipf_h(kd, s))
            return (uint64_t)kd;
    }
}

void
sim_rng_shuffle(sim_rng *r, void *base, size_t n, size_t size)
{
    if (n < 2)
        return;
    unsigned char *p = base;
    unsigned char tmp[256];
    g_assert(size <= sizeof tmp);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)sim_rng_below(r, (uint64_t)i + 1);
        if (j != i) {
            memcpy(tmp, p + i * size, size);
            memcpy(p + i * size, p + j * size, size);
            memcpy(p + j * size, tmp, size);
        }
    }
}

struct sim_alias {
    size_t n;
    double *prob; /* acceptance probability of column i */
    uint32_t *alias;
};

sim_alias *
sim_alias_new(const double *w, size_t n)
{
    if (n == 0 || n > UINT32_MAX)
        return NULL;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] >= 0.0) || !isfinite(w[i]))
            return NULL;
        sum += w[i];
    }
    if (!(sum > 0.0))
        return NULL;
    sim_alias *a = g_new0(sim_alias, 1);
    a->n = n;
    a->prob = g_new(double, n);
    a->alias = g_new(uint32_t, n);
    /* Vose's stable variant: two worklists of scaled probabilities below / above 1. */
    double *p = g_new(double, n);
    uint32_t *small = g_new(uint32_t, n), *large = g_new(uint32_t, n);
    size_t ns = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = w[i] * (double)n / sum;
        if (p[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns > 0 && nl > 0) {
        uint32_t l = small[--ns], g = large[--nl];
        a->prob[l] = p[l];
        a->alias[l] = g;
        p[g] = (p[g] + p[l]) - 1.0;
        if (p[g] < 1.0)
            small[ns++] = g;
        else
            large[nl++] = g;
    }
    while (nl > 0) {
        uint32_t g = large[--nl];
        a->prob[g] = 1.0;
        a->alias[g] = g;
    }
    while (ns > 0) { /* only from rounding */
        uint32_t l = small[--ns];
        a->prob[l] = 1.0;
        a->alias[l] = l;
    }
    g_free(p);
    g_free(small);
    g_free(large);
    return a;
}

void
sim_alias_free(sim_alias *a)
{
    if (a == NULL)
        return;
    g_free(a->prob);
    g_free(a->alias);
    g_free(a);
}

size_t
sim_alias_size(const sim_alias *a)
{
    return a->n;
}

size_t
sim_alias_draw(const sim_alias *a, sim_rng *r)
{
    size_t i = (size_t)sim_rng_below(r, a->n);
    return sim_rng_uniform(r) < a->prob[i] ? i : a->alias[i];
}
