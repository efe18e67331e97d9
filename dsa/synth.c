/* dsa/synth.c: the selection synthesizer (see synth.h). A head keeps its far units sorted by
 * start; a step drops units (geometric skipping, so O(dropped) random draws), redraws the
 * missing positions into a scratch list (membership against kept units by binary search,
 * against fresh ones by a bitmap whose touched words are cleared afterwards), sorts the fresh
 * units (radix sort when many) and merges. A step therefore costs O(units + redrawn·log units),
 * and materialising the selection O(k). */
#include "dsa/synth.h"

#include <math.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"

const char *const dsa_synth_preset_names[] = {"clustered", "uniform", "domain", NULL};

gboolean
dsa_synth_preset(const char *name, dsa_synth_params *p)
{
    memset(p, 0, sizeof *p);
    if (strcmp(name, "clustered") == 0) {
        /* docs/domain.md §5.2's structure with its locality knobs at the clustered end: the
         * widest window of its range (1024), long clusters and no noise, so picks concentrate
         * in ≈ k/B blocks (HISA recovers DSA selections from block-level filtering with
         * IoU > 99 %, arXiv:2603.28458). [assume] until fitted to a capture. */
        *p = (dsa_synth_params){.n_sink = 4,
                                .window = 1024,
                                .alpha = 1.0,
                                .d0 = 64,
                                .cluster_mean = 1024,
                                .noise = 0.0,
                                .gamma = 0.95,
                                .lambda = 0.7,
                                .independent_layers = 3};
    } else if (strcmp(name, "uniform") == 0) {
        /* No locality at all: k uniform picks over [0, t], redrawn every step and layer. */
        *p = (dsa_synth_params){.n_sink = 0,
                                .window = 0,
                                .alpha = 0.0,
                                .d0 = 1,
                                .cluster_mean = 1,
                                .noise = 1.0,
                                .gamma = 0.0,
                                .lambda = 0.0,
                                .independent_layers = 0};
    } else if (strcmp(name, "domain") == 0) {
        /* docs/domain.md §5.2's starting values verbatim. */
        *p = (dsa_synth_params){.n_sink = 4,
                                .window = 256,
                                .alpha = 1.0,
                                .d0 = 64,
                                .cluster_mean = 16,
                                .noise = 0.05,
                                .gamma = 0.95,
                                .lambda = 0.7,
                                .independent_layers = 3};
    } else {
        return FALSE;
    }
    g_strlcpy(p->name, name, sizeof p->name);
    return TRUE;
}

gboolean
dsa_synth_check(const dsa_synth_params *p, uint32_t topk, GError **error)
{
    const char *why = NULL;
    if (!(p->alpha >= 0 && p->alpha <= 10))
        why = "alpha must be in [0, 10]";
    else if (!(p->d0 >= 1 && p->d0 <= 1e9))
        why = "d0 must be in [1, 1e9]";
    else if (!(p->cluster_mean >= 1 && p->cluster_mean <= 1e7))
        why = "cluster_mean must be in [1, 1e7]";
    else if (!(p->noise >= 0 && p->noise <= 1))
        why = "noise must be in [0, 1]";
    else if (!(p->gamma >= 0 && p->gamma <= 1))
        why = "gamma must be in [0, 1]";
    else if (!(p->lambda >= 0 && p->lambda <= 1))
        why = "lambda must be in [0, 1]";
    else if (topk > 0 && (uint64_t)p->n_sink + p->window > topk)
        why = "n_sink + window exceeds the model's index_topk";
    if (why != NULL) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: %s", p->name, why);
        return FALSE;
    }
    return TRUE;
}

json_t *
dsa_synth_to_json(const dsa_synth_params *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "n_sink", json_integer(p->n_sink));
    json_object_set_new(o, "window", json_integer(p->window));
    json_object_set_new(o, "alpha", base_json_real(p->alpha));
    json_object_set_new(o, "d0", base_json_real(p->d0));
    json_object_set_new(o, "cluster_mean", base_json_real(p->cluster_mean));
    json_object_set_new(o, "noise", base_json_real(p->noise));
    json_object_set_new(o, "gamma", base_json_real(p->gamma));
    json_object_set_new(o, "lambda", base_json_real(p->lambda));
    json_object_set_new(o, "independent_layers", json_integer(p->independent_layers));
    return o;
}

static gboolean
get_num(const json_t *j,
        const char *key,
        double lo,
        double hi,
        double *out,
        const char *file,
        GError **error)
{
    const json_t *v = json_object_get(j, key);
    if (v == NULL)
        return TRUE;
    if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi)) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: %s: expected a number in [%g, %g]",
                    file, key, lo, hi);
        return FALSE;
    }
    *out = json_number_value(v);
    return TRUE;
}

gboolean
dsa_synth_from_json(const json_t *j, const char *file, dsa_synth_params *p, GError **error)
{
    static const char *const keys[] = {"base",
                                       "name",
                                       "n_sink",
                                       "window",
                                       "alpha",
                                       "d0",
                                       "cluster_mean",
                                       "noise",
                                       "gamma",
                                       "lambda",
                                       "independent_layers",
                                       "fitted_from",
                                       NULL};
    if (!json_is_object(j)) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "%s: expected a JSON object of synthesizer parameters", file);
        return FALSE;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)j, key, v) {
        if (!g_strv_contains(keys, key)) {
            g_autofree char *list = g_strjoinv(", ", (char **)(uintptr_t)keys);
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: %s: unknown key (expected %s)",
                        file, key, list);
            return FALSE;
        }
    }
    const json_t *b = json_object_get(j, "base");
    const char *base = "clustered";
    if (b != NULL) {
        if (!json_is_string(b) || !dsa_synth_preset(json_string_value(b), p)) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                        "%s: base: expected a preset name (clustered, uniform, domain)", file);
            return FALSE;
        }
        base = json_string_value(b);
    }
    dsa_synth_preset(base, p);
    double n_sink = p->n_sink, window = p->window, indep = p->independent_layers;
    if (!get_num(j, "n_sink", 0, 1e7, &n_sink, file, error) ||
        !get_num(j, "window", 0, 1e7, &window, file, error) ||
        !get_num(j, "alpha", 0, 10, &p->alpha, file, error) ||
        !get_num(j, "d0", 1, 1e9, &p->d0, file, error) ||
        !get_num(j, "cluster_mean", 1, 1e7, &p->cluster_mean, file, error) ||
        !get_num(j, "noise", 0, 1, &p->noise, file, error) ||
        !get_num(j, "gamma", 0, 1, &p->gamma, file, error) ||
        !get_num(j, "lambda", 0, 1, &p->lambda, file, error) ||
        !get_num(j, "independent_layers", 0, 65535, &indep, file, error))
        return FALSE;
    p->n_sink = (uint32_t)llround(n_sink);
    p->window = (uint32_t)llround(window);
    p->independent_layers = (uint32_t)llround(indep);
    g_autofree char *bn = g_path_get_basename(file);
    g_strlcpy(p->name, bn, sizeof p->name);
    return TRUE;
}

gboolean
dsa_synth_load(const char *name_or_path, dsa_synth_params *p, GError **error)
{
    if (dsa_synth_preset(name_or_path, p))
        return TRUE;
    if (!g_file_test(name_or_path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO,
                    "--dsa-selection: '%s' is neither a preset (clustered, uniform, domain) nor "
                    "a file",
                    name_or_path);
        return FALSE;
    }
    json_auto_t *j = base_json_load_file(name_or_path, error);
    if (j == NULL)
        return FALSE;
    return dsa_synth_from_json(j, name_or_path, p, error);
}

/* ---- randomness ---- */

/* A stream id of its own per (request, layer): SIM_STREAM_DSA in the low bits, a hash above and
 * bit 63 set, so it never equals a fixed stream id (all < 2^16). LAYER 0xFFFF = layer grouping. */
static uint64_t
stream_of(uint64_t request_id, uint32_t layer)
{
    uint64_t h = sim_mix64(request_id * UINT64_C(0x9E3779B97F4A7C15) + layer + 1);
    return (h << 16) | (UINT64_C(1) << 63) | SIM_STREAM_DSA;
}

void
dsa_synth_layer_heads(const dsa_synth_params *p,
                      uint64_t seed,
                      uint64_t request_id,
                      uint32_t nlayers,
                      uint16_t *head_of)
{
    sim_rng r;
    sim_rng_init(&r, seed, stream_of(request_id, 0xFFFF));
    for (uint32_t l = 0; l < nlayers; l++) {
        bool reuse = l > 0 && l >= p->independent_layers && sim_rng_uniform(&r) < p->lambda;
        head_of[l] = reuse ? head_of[l - 1] : (uint16_t)l;
    }
}

void
dsa_head_init(dsa_head *h, uint64_t seed, uint64_t request_id, uint32_t layer)
{
    memset(h, 0, sizeof *h);
    sim_rng_init(&h->rng, seed, stream_of(request_id, layer));
}

void
dsa_head_clear(dsa_head *h)
{
    g_free(h->units);
    memset(h, 0, sizeof *h);
}

void
dsa_synth_scratch_clear(dsa_synth_scratch *s)
{
    g_free(s->bits);
    g_free(s->fresh);
    g_free(s->merged);
    g_free(s->touched);
    g_free(s->lost);
    memset(s, 0, sizeof *s);
}

/* ---- step ---- */

/* Index of the last unit with start ≤ P, or −1. */
static int64_t
unit_floor(const dsa_unit *u, uint32_t n, uint32_t p)
{
    int64_t lo = 0, hi = (int64_t)n - 1, ans = -1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        if (u[mid].start <= p) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return ans;
}

typedef struct stepctx {
    dsa_head *h;
    dsa_synth_scratch *s;
    uint32_t lo, hi; /* far region [lo, hi] */
    uint32_t nfresh;
    uint32_t fresh_pos; /* positions added this step */
} stepctx;

static inline bool
fresh_has(const dsa_synth_scratch *s, uint32_t p)
{
    return (s->bits[p >> 6] >> (p & 63)) & 1u;
}

static inline void
fresh_set(dsa_synth_scratch *s, uint32_t p)
{
    uint32_t w = p >> 6;
    if (s->bits[w] == 0) {
        if (s->ntouched == s->touched_cap) {
            s->touched_cap = s->touched_cap ? 2 * s->touched_cap : 256;
            s->touched = g_renew(uint32_t, s->touched, s->touched_cap);
        }
        s->touched[s->ntouched++] = w;
    }
    s->bits[w] |= UINT64_C(1) << (p & 63);
}

static bool
occupied(const stepctx *c, uint32_t p)
{
    if (fresh_has(c->s, p))
        return true;
    int64_t i = unit_floor(c->h->units, c->h->nunits, p);
    return i >= 0 && p < c->h->units[i].start + c->h->units[i].len;
}

/* First kept-unit start above P (or UINT32_MAX). */
static uint32_t
next_kept_start(const stepctx *c, uint32_t p)
{
    int64_t i = unit_floor(c->h->units, c->h->nunits, p);
    uint32_t j = (uint32_t)(i + 1);
    return j < c->h->nunits ? c->h->units[j].start : UINT32_MAX;
}

static void
add_fresh(stepctx *c, uint32_t start, uint32_t len, bool noise)
{
    dsa_synth_scratch *s = c->s;
    if (c->nfresh == s->fresh_cap) {
        s->fresh_cap = s->fresh_cap ? 2 * s->fresh_cap : 256;
        s->fresh = g_renew(dsa_unit, s->fresh, s->fresh_cap);
    }
    s->fresh[c->nfresh++] = (dsa_unit){start, len, noise};
    for (uint32_t i = 0; i < len; i++)
        fresh_set(s, start + i);
    c->fresh_pos += len;
    c->h->nfar += len;
    if (noise)
        c->h->nnoise += len;
}

/* A cluster start distance in [dlo, dhi] with p(d) ∝ (d + d0)^−α (continuous inverse CDF on
 * [dlo + d0, dhi + 1 + d0), floored). */
static uint32_t
draw_distance(sim_rng *r, const dsa_synth_params *p, uint32_t dlo, uint32_t dhi)
{
    double a = (double)dlo + p->d0, b = (double)dhi + 1.0 + p->d0, u = sim_rng_uniform(r), x;
    if (p->alpha == 0)
        x = a + u * (b - a);
    else if (fabs(p->alpha - 1.0) < 1e-12)
        x = a * exp(u * log(b / a));
    else {
        double e = 1.0 - p->alpha, ae = pow(a, e), be = pow(b, e);
        x = pow(ae + u * (be - ae), 1.0 / e);
    }
    double d = floor(x - p->d0);
    if (d < dlo)
        d = dlo;
    if (d > dhi)
        d = dhi;
    return (uint32_t)d;
}

/* Fills the missing positions by scanning the far region from a random point: the fallback
 * when random draws keep hitting taken positions (far region barely larger than the need). */
static void
fill_scan(stepctx *c, uint32_t want, bool noise)
{
    uint32_t span = c->hi - c->lo + 1;
    uint32_t p = c->lo + (uint32_t)sim_rng_below(&c->h->rng, span);
    for (uint32_t k = 0; k < span && want > 0; k++, p = p == c->hi ? c->lo : p + 1)
        if (!occupied(c, p)) {
            add_fresh(c, p, 1, noise);
            want--;
        }
}

static void
sort_units(dsa_unit *a, uint32_t n, dsa_unit *tmp)
{
    if (n < 48) {
        for (uint32_t i = 1; i < n; i++) {
            dsa_unit x = a[i];
            uint32_t j = i;
            while (j > 0 && a[j - 1].start > x.start) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
        return;
    }
    /* LSD radix sort on the start, 11 bits per pass (stable), as many passes as the largest
     * start needs. */
    uint32_t max = 0;
    for (uint32_t i = 0; i < n; i++)
        max = a[i].start > max ? a[i].start : max;
    uint32_t cnt[2048];
    dsa_unit *src = a, *dst = tmp;
    for (int shift = 0; shift < 32 && (shift == 0 || (max >> shift) != 0); shift += 11) {
        memset(cnt, 0, sizeof cnt);
        for (uint32_t i = 0; i < n; i++)
            cnt[(src[i].start >> shift) & 2047]++;
        uint32_t sum = 0;
        for (uint32_t v = 0; v < 2048; v++) {
            uint32_t k = cnt[v];
            cnt[v] = sum;
            sum += k;
        }
        for (uint32_t i = 0; i < n; i++)
            dst[cnt[(src[i].start >> shift) & 2047]++] = src[i];
        dsa_unit *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

static void
ensure_cap(dsa_unit **a, uint32_t *cap, uint32_t n)
{
    if (*cap >= n)
        return;
    uint32_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    *a = g_renew(dsa_unit, *a, c);
    *cap = c;
}

/* Drops each unit with probability Q (geometric skipping between dropped units); the lengths
 * of dropped clusters go to S->lost, to be re-placed with the same length. */
static void
drop_units(dsa_head *h, double q, dsa_synth_scratch *s)
{
    s->nlost = 0;
    if (q <= 0 || h->nunits == 0)
        return;
    uint32_t w = 0;
    uint64_t next = q >= 1 ? 0 : sim_rng_geometric(&h->rng, q) - 1; /* next dropped index */
    for (uint32_t i = 0; i < h->nunits; i++) {
        if (i == next) {
            const dsa_unit *u = &h->units[i];
            h->nfar -= u->len;
            if (u->noise) {
                h->nnoise -= u->len;
            } else {
                if (s->nlost == s->lost_cap) {
                    s->lost_cap = s->lost_cap ? 2 * s->lost_cap : 64;
                    s->lost = g_renew(uint32_t, s->lost, s->lost_cap);
                }
                s->lost[s->nlost++] = u->len;
            }
            next = q >= 1 ? i + 1 : i + sim_rng_geometric(&h->rng, q);
            continue;
        }
        h->units[w++] = h->units[i];
    }
    h->nunits = w;
}

/* Places a cluster of WANT positions: a start drawn from the power law (slid back when the
 * run would enter the window), kept only if the whole run is free, so clusters keep their
 * length. After 64 rejected starts a run may be cut short by a taken position and continue
 * from a new start; after many more the remainder is placed by scanning. */
static void
place_cluster(
    stepctx *c, const dsa_synth_params *p, uint32_t want, uint32_t dlo, uint32_t dhi, uint32_t t)
{
    uint32_t fails = 0;
    while (want > 0) {
        uint32_t start = t - draw_distance(&c->h->rng, p, dlo, dhi);
        if ((uint64_t)start + want - 1 > c->hi)
            start = c->hi - want + 1 >= c->lo && c->hi + 1 >= want ? c->hi - want + 1 : c->lo;
        if (start < c->lo || start > c->hi || occupied(c, start)) {
            if (++fails > 64 + 16 * want) {
                fill_scan(c, want, false);
                return;
            }
            continue;
        }
        uint32_t limit = next_kept_start(c, start); /* first kept position above start */
        uint32_t n = 0;
        while (n < want && start + n <= c->hi && start + n < limit && !fresh_has(c->s, start + n))
            n++;
        if (n < want && fails < 64) {
            fails++;
            continue; /* the whole run does not fit here */
        }
        add_fresh(c, start, n, false);
        want -= n;
    }
}

void
dsa_head_step(dsa_head *h, const dsa_synth_params *p, uint32_t k, uint32_t t, dsa_synth_scratch *s)
{
    uint64_t ctx = (uint64_t)t + 1;
    if (h->active && t == h->t)
        return;
    if (ctx <= k) {
        h->active = false;
        h->nunits = h->nfar = h->nnoise = 0;
        h->t = t;
        return;
    }
    uint32_t need = k - p->n_sink - p->window;
    uint32_t want_noise = (uint32_t)llround(p->noise * (double)k);
    if (want_noise > need)
        want_noise = need;
    double q = 1.0;
    if (h->active && t > h->t)
        q = 1.0 - pow(p->gamma, (double)(t - h->t));
    drop_units(h, q, s);
    h->active = true;
    h->t = t;

    stepctx c = {.h = h, .s = s, .lo = p->n_sink, .hi = t - p->window};
    uint32_t words = (uint32_t)((ctx + 63) / 64);
    if (s->nwords < words) {
        s->bits = g_renew(uint64_t, s->bits, words);
        memset(s->bits + s->nwords, 0, (size_t)(words - s->nwords) * sizeof *s->bits);
        s->nwords = words;
    }
    /* cluster starts at distance d ∈ (w, t − n_sink] (power law), runs go forward */
    uint32_t dlo = p->window + 1, dhi = t - p->n_sink;
    if (dlo > dhi)
        dlo = dhi;
    /* dropped clusters move: same length, new place */
    for (uint32_t i = 0; i < s->nlost; i++)
        place_cluster(&c, p, s->lost[i], dlo, dhi, t);
    /* noise: uniform over the far region */
    uint32_t span = c.hi - c.lo + 1; /* > need, since ctx > k */
    uint32_t fails = 0;
    while (h->nnoise < want_noise) {
        uint32_t pos = c.lo + (uint32_t)sim_rng_below(&h->rng, span);
        if (occupied(&c, pos)) {
            if (++fails > 64 + 16 * need) {
                fill_scan(&c, want_noise - h->nnoise, true);
                break;
            }
            continue;
        }
        add_fresh(&c, pos, 1, true);
    }
    /* new clusters (first step): Geometric(mean m) lengths until the far set is full */
    while (h->nfar < need) {
        uint64_t len =
            p->cluster_mean <= 1.0 ? 1 : sim_rng_geometric(&h->rng, 1.0 / p->cluster_mean);
        uint32_t left = need - h->nfar;
        place_cluster(&c, p, len < left ? (uint32_t)len : left, dlo, dhi, t);
    }
    /* merge the fresh units into the kept ones */
    if (c.nfresh > 0) {
        ensure_cap(&s->merged, &s->merged_cap, h->nunits + c.nfresh);
        sort_units(s->fresh, c.nfresh, s->merged);
        ensure_cap(&h->units, &h->cap, h->nunits + c.nfresh);
        uint32_t i = h->nunits, j = c.nfresh, w = h->nunits + c.nfresh;
        /* merge from the back, in place in h->units */
        while (j > 0) {
            if (i > 0 && h->units[i - 1].start > s->fresh[j - 1].start)
                h->units[--w] = h->units[--i];
            else
                h->units[--w] = s->fresh[--j];
        }
        h->nunits += c.nfresh;
    }
    for (uint32_t i = 0; i < s->ntouched; i++)
        s->bits[s->touched[i]] = 0;
    s->ntouched = 0;
    g_assert(h->nfar == need);
}

uint32_t
dsa_head_selection(const dsa_head *h, const dsa_synth_params *p, uint32_t k, uint32_t *out)
{
    uint32_t t = h->t;
    uint64_t ctx = (uint64_t)t + 1;
    uint32_t n = 0;
    if (ctx <= k || !h->active) {
        g_assert(ctx <= k);
        for (uint32_t i = 0; i <= t; i++)
            out[i] = i;
        return t + 1;
    }
    for (uint32_t i = 0; i < p->n_sink; i++)
        out[n++] = i;
    for (uint32_t u = 0; u < h->nunits; u++) {
        uint32_t s = h->units[u].start, e = s + h->units[u].len;
        for (uint32_t x = s; x < e; x++)
            out[n++] = x;
    }
    for (uint32_t x = t - p->window + 1; x <= t && p->window > 0; x++)
        out[n++] = x;
    g_assert(n == k);
    return n;
}

/* ψ(x) for x > 0: recurrence up to 6, then the asymptotic series (error < 1e-13). */
static double
digamma(double x)
{
    double r = 0;
    while (x < 6) {
        r -= 1 / x;
        x += 1;
    }
    double f = 1 / (x * x);
    return r + log(x) - 0.5 / x -
           f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

void
dsa_synth_scores(const dsa_synth_params *p,
                 const uint32_t *pos,
                 uint32_t n,
                 uint32_t t,
                 double *scores,
                 double *min,
                 double *mean,
                 double *max)
{
    *min = *mean = *max = 0;
    if (n == 0)
        return;
    bool one = fabs(p->alpha - 1.0) < 1e-12, flat = p->alpha == 0;
    uint32_t i0 = 0; /* sinks score 1 */
    while (i0 < n && pos[i0] < p->n_sink)
        i0++;
    double sum = (double)i0;
    if (scores != NULL || !(one || flat)) {
        for (uint32_t i = 0; i < n; i++) {
            double d = (double)(t - pos[i]);
            double s = i < i0 || flat ? 1.0
                       : one          ? p->d0 / (d + p->d0)
                                      : pow(p->d0 / (d + p->d0), p->alpha);
            if (scores != NULL)
                scores[i] = s;
            if (i >= i0)
                sum += s;
        }
    } else if (flat) {
        sum = (double)n;
    } else {
        /* α = 1: Σ over a run of distances [a, b] of d0/(d + d0) = d0·(ψ(b + d0 + 1) − ψ(a + d0));
         * short runs are summed directly */
        uint32_t i = i0;
        while (i < n) {
            uint32_t j = i + 1;
            while (j < n && pos[j] == pos[j - 1] + 1)
                j++;
            if (j - i >= 16) {
                double a = (double)(t - pos[j - 1]), b = (double)(t - pos[i]);
                sum += p->d0 * (digamma(b + p->d0 + 1) - digamma(a + p->d0));
            } else {
                for (uint32_t k = i; k < j; k++)
                    sum += p->d0 / ((double)(t - pos[k]) + p->d0);
            }
            i = j;
        }
    }
    /* a non-sink's score falls with its distance: extremes at the ends */
    double far =
        i0 < n ? (flat ? 1.0 : pow(p->d0 / ((double)(t - pos[i0]) + p->d0), p->alpha)) : 1.0;
    double near =
        i0 < n ? (flat ? 1.0 : pow(p->d0 / ((double)(t - pos[n - 1]) + p->d0), p->alpha)) : 1.0;
    *min = i0 < n ? far : 1.0;
    *max = i0 > 0 ? 1.0 : near;
    *mean = sum / (double)n;
}
