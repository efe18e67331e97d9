/* sim/metrics.c: the metrics aggregator (docs/domain.md §6, vLLM bench definitions).
 *
 * Feeding appends one fixed-size record per request to an unlinked temporary file and keeps
 * only bounded state in RAM: log histograms (pooled ITL, step batch sizes), per-replica sums.
 * sim_metrics_finish reads the file back in a few sequential passes and finds the exact order
 * statistics every percentile needs by radix selection on an order-preserving 64-bit key of
 * each double: pass 1 histograms the top 12 bits, each later pass histograms the next 12 bits
 * of the values inside the bucket holding a target rank, until the bucket is small enough to
 * collect and sort (≤ 2048 values) or holds one distinct value. Memory is O(buckets), never
 * O(requests). Invariant: the active key ranges of a series are disjoint. */
#include "sim/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "base/error.h"
#include "base/match.h"
#include "base/stats.h"
#include "workloads/options.h"

#define DNAN ((double)NAN)

const double sim_metrics_pcts[SIM_METRICS_NPCT] = {0.1, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9};

/* ---------------------------------------------------------------------------------------- */
/* Log histogram of non-negative integers (HDR style): values < 128 have a bucket each, above
 * that every octave [2^e, 2^(e+1)) splits into 128 equal buckets, so a bucket's midpoint is
 * within 1/256 of any value in it. Count, sum, sum of squares, min and max are exact. */

#define H_SUB_BITS 7
#define H_SUB      (1u << H_SUB_BITS)

__extension__ typedef unsigned __int128 u128;

typedef struct hist {
    uint32_t nbuckets;
    uint64_t *counts;
    uint64_t n;
    uint64_t sum;
    u128 sumsq;
    uint64_t min, max;
} hist;

static uint32_t
hist_nbuckets(unsigned max_log2)
{
    return H_SUB + (max_log2 - H_SUB_BITS + 1) * H_SUB;
}

static void
hist_init(hist *h, unsigned max_log2)
{
    memset(h, 0, sizeof *h);
    h->nbuckets = hist_nbuckets(max_log2);
    h->counts = g_new0(uint64_t, h->nbuckets);
    h->min = UINT64_MAX;
}

static void
hist_clear(hist *h)
{
    g_clear_pointer(&h->counts, g_free);
}

static void
hist_reset(hist *h)
{
    memset(h->counts, 0, h->nbuckets * sizeof *h->counts);
    h->n = h->sum = 0;
    h->sumsq = 0;
    h->min = UINT64_MAX;
    h->max = 0;
}

static inline uint32_t
hist_index(uint64_t v)
{
    if (v < H_SUB)
        return (uint32_t)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    uint32_t sub = (uint32_t)(v >> (e - H_SUB_BITS)) & (H_SUB - 1);
    return H_SUB + (e - H_SUB_BITS) * H_SUB + sub;
}

static inline void
hist_add(hist *h, uint64_t v)
{
    uint32_t i = hist_index(v);
    if (i >= h->nbuckets)
        i = h->nbuckets - 1; /* beyond the range: counted in the last bucket, max stays exact */
    h->counts[i]++;
    h->n++;
    h->sum += v;
    h->sumsq += (u128)v * v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

static void
hist_merge(hist *dst, const hist *src)
{
    g_assert(dst->nbuckets == src->nbuckets);
    if (src->n == 0)
        return;
    for (uint32_t i = 0; i < src->nbuckets; i++)
        dst->counts[i] += src->counts[i];
    dst->n += src->n;
    dst->sum += src->sum;
    dst->sumsq += src->sumsq;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

/* Midpoint of bucket I. */
static double
hist_bucket_mid(uint32_t i)
{
    if (i < H_SUB)
        return (double)i;
    uint32_t k = i - H_SUB;
    unsigned shift = k / H_SUB;
    uint64_t lower = (uint64_t)(H_SUB + k % H_SUB) << shift;
    uint64_t width = UINT64_C(1) << shift;
    return (double)lower + (double)(width - 1) / 2.0;
}

static void
dist_nan(sim_dist *d)
{
    d->n = 0;
    d->mean = d->std = d->min = d->max = NAN;
    for (int i = 0; i < SIM_METRICS_NPCT; i++)
        d->pct[i] = NAN;
}

/* Rank R (0-based) of the sorted values, approximated by its bucket's midpoint clamped to
 * [min, max]; ranks 0 and n−1 are exact. RANKS must be ascending. */
static void
hist_ranks(const hist *h, const uint64_t *ranks, double *out, int nranks)
{
    uint64_t cum = 0;
    uint32_t b = 0;
    for (int j = 0; j < nranks; j++) {
        uint64_t r = ranks[j];
        if (r == 0) {
            out[j] = (double)h->min;
            continue;
        }
        if (r == h->n - 1) {
            out[j] = (double)h->max;
            continue;
        }
        while (cum + h->counts[b] <= r)
            cum += h->counts[b++];
        double v = hist_bucket_mid(b);
        if (v < (double)h->min)
            v = (double)h->min;
        if (v > (double)h->max)
            v = (double)h->max;
        out[j] = v;
    }
}

/* NumPy linear percentile from the values at ranks ⌊r⌋ and ⌈r⌉ (same arithmetic as
 * base_percentile_sorted). */
static void
pct_ranks(uint64_t n, double p, uint64_t *lo, uint64_t *hi, double *frac)
{
    if (p <= 0.0) {
        *lo = *hi = 0;
        *frac = 0.0;
        return;
    }
    if (p >= 100.0) {
        *lo = *hi = n - 1;
        *frac = 0.0;
        return;
    }
    double r = p / 100.0 * (double)(n - 1);
    *lo = (uint64_t)floor(r);
    *hi = *lo + 1 < n ? *lo + 1 : *lo;
    *frac = r - (double)*lo;
}

static double
pct_combine(double xlo, double xhi, double frac)
{
    return xlo + frac * (xhi - xlo);
}

static void
hist_dist(const hist *h, sim_dist *d)
{
    dist_nan(d);
    if (h->n == 0)
        return;
    d->n = h->n;
    long double n = (long double)h->n;
    long double mean = (long double)h->sum / n;
    long double var = (long double)h->sumsq / n - mean * mean;
    d->mean = (double)mean;
    d->std = var > 0 ? (double)sqrtl(var) : 0.0;
    d->min = (double)h->min;
    d->max = (double)h->max;
    uint64_t ranks[2 * SIM_METRICS_NPCT];
    double frac[SIM_METRICS_NPCT], vals[2 * SIM_METRICS_NPCT];
    for (int i = 0; i < SIM_METRICS_NPCT; i++)
        pct_ranks(h->n, sim_metrics_pcts[i], &ranks[2 * i], &ranks[2 * i + 1], &frac[i]);
    /* ranks are ascending because the percentiles are */
    hist_ranks(h, ranks, vals, 2 * SIM_METRICS_NPCT);
    for (int i = 0; i < SIM_METRICS_NPCT; i++)
        d->pct[i] = pct_combine(vals[2 * i], vals[2 * i + 1], frac[i]);
}

/* ---------------------------------------------------------------------------------------- */
/* Goodput SLOs */

gboolean
sim_slo_parse(const char *const *specs, sim_slo *out, GError **error)
{
    sim_slo s = {false, NAN, NAN, NAN};
    for (size_t i = 0; specs != NULL && specs[i] != NULL; i++) {
        g_auto(GStrv) parts = g_strsplit_set(specs[i], ", \t", -1);
        for (size_t j = 0; parts[j] != NULL; j++) {
            const char *spec = parts[j];
            if (spec[0] == '\0')
                continue;
            const char *colon = strchr(spec, ':');
            if (colon == NULL) {
                g_autofree char *shown = base_escape_text(spec, 64); /* a setting's text */
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                            "metrics.goodput: '%s': expected METRIC:MS (ttft, tpot or e2el)",
                            shown);
                return FALSE;
            }
            g_autofree char *name = g_strndup(spec, (gsize)(colon - spec));
            double *slot = NULL;
            if (strcmp(name, "ttft") == 0)
                slot = &s.ttft_ms;
            else if (strcmp(name, "tpot") == 0)
                slot = &s.tpot_ms;
            else if (strcmp(name, "e2el") == 0)
                slot = &s.e2el_ms;
            else {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                            "metrics.goodput: '%s': unknown metric '%s' (expected ttft, tpot or "
                            "e2el)",
                            spec, name);
                return FALSE;
            }
            char *end = NULL;
            errno = 0;
            double v = g_ascii_strtod(colon + 1, &end);
            if (colon[1] == '\0' || end == NULL || *end != '\0' || errno != 0 || !isfinite(v) ||
                v < 0) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                            "metrics.goodput: '%s': the bound must be a number of milliseconds "
                            ">= 0",
                            spec);
                return FALSE;
            }
            if (!isnan(*slot)) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                            "metrics.goodput: '%s': %s is given twice", spec, name);
                return FALSE;
            }
            *slot = v;
            s.any = true;
        }
    }
    *out = s;
    return TRUE;
}

/* ---------------------------------------------------------------------------------------- */
/* The aggregator */

/* One request, as spilled to the temporary file. */
typedef struct spill_rec {
    int64_t send_ns, first_sched_ns, first_token_ns, finish_ns;
    uint32_t prompt, output, stage, failed;
    uint32_t preemptions, prefix_hit;
} spill_rec;

G_STATIC_ASSERT(sizeof(spill_rec) == 56);

#define ITL_MAX_LOG2  43 /* ITL histogram range: gaps < 2^44 ns (4.9 h); max stays exact */
#define STEP_MAX_LOG2 31 /* step histograms: values < 2^32 */
#define COOL_SLABS    64 /* cool-down attribution: slabs of cooldown/64 */
#define RING          (COOL_SLABS + 8)

typedef struct replica_acc {
    bool seen;
    uint32_t replica, dp_rank;
    uint64_t steps, dummy_steps;
    int64_t busy_ns;
    int64_t last_end_ns; /* steps overlap with pipeline parallelism: busy is their union */
    hist batch, tokens;
    double kv_sum, kv_tsum, kv_max;
    uint64_t kv_steps;
    uint64_t preemptions, requests, prompt_tokens, prefix_hit_tokens;
} replica_acc;

typedef struct slab {
    int64_t id; /* send-time slab index, −1 = empty */
    hist h;
} slab;

/* A core's own budgets for the fill fractions (pools whose schedulers differ); 0: the run's. */
typedef struct core_budget {
    uint32_t max_tokens, max_seqs;
} core_budget;

struct sim_metrics {
    sim_slo slo;
    double warmup_s, cooldown_s;
    int64_t warmup_ns, cooldown_ns;
    uint32_t nstages;
    double *stage_rates;
    uint32_t max_tokens, max_seqs; /* budgets for the fill fractions (0: unknown) */
    GArray *core_budget;           /* core_budget entries per core; NULL: the two above */
    FILE *spill;
    char *spill_buf;
    bool io_failed;
    int io_errno;
    bool finished;
    bool ok; /* finish succeeded */

    uint64_t nrec;
    int64_t max_send_ns; /* M: largest send time seen (arrivals, tokens, records) */
    int64_t min_send_ns;
    int64_t max_finish_ns;
    bool any_send;

    hist itl;        /* overall pooled ITL (included requests) */
    hist *stage_itl; /* nstages, counts allocated on first use */
    /* cool-down: ITL of requests whose inclusion is not decided yet, by send-time slab */
    int64_t slab_ns;
    int64_t decided_slab; /* slabs ≤ this are surely included */
    slab *ring;

    GArray *replicas; /* replica_acc */

    sim_metrics_result result;
    sim_scope_result *stage_res;
    sim_replica_result *rep_res;
};

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

sim_metrics *
sim_metrics_new(const sim_metrics_params *p, GError **error)
{
    g_return_val_if_fail(p != NULL, NULL);
    sim_slo slo;
    if (!sim_slo_parse(p->goodput, &slo, error))
        return NULL;
    if (!(p->warmup_s >= 0 && p->warmup_s <= WL_MAX_TIME_S) ||
        !(p->cooldown_s >= 0 && p->cooldown_s <= WL_MAX_TIME_S)) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "metrics: warmup_s and cooldown_s must be between 0 and %g s (got %g, %g)",
                    WL_MAX_TIME_S, p->warmup_s, p->cooldown_s);
        return NULL;
    }
    const char *dir = p->spill_dir != NULL ? p->spill_dir : g_get_tmp_dir();
    g_autofree char *tmpl = g_build_filename(dir, "servesim-metrics-XXXXXX", NULL);
    int fd = g_mkstemp_full(tmpl, O_RDWR, 0600);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO,
                    "%s: cannot create the metrics temporary file: %s", dir, g_strerror(e));
        return NULL;
    }
    g_unlink(tmpl); /* unlinked: the space goes away with the descriptor, even on a crash */
    FILE *f = fdopen(fd, "w+b");
    if (f == NULL) {
        int e = errno;
        close(fd);
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: fdopen: %s", tmpl, g_strerror(e));
        return NULL;
    }
    sim_metrics *m = g_new0(sim_metrics, 1);
    m->spill = f;
    m->spill_buf = g_malloc(1 << 18);
    setvbuf(f, m->spill_buf, _IOFBF, 1 << 18);
    m->slo = slo;
    m->warmup_s = p->warmup_s;
    m->cooldown_s = p->cooldown_s;
    m->warmup_ns = llround(p->warmup_s * 1e9);
    m->cooldown_ns = llround(p->cooldown_s * 1e9);
    m->nstages = p->nstages;
    m->max_tokens = p->max_num_batched_tokens;
    m->max_seqs = p->max_num_seqs;
    m->stage_rates = g_new(double, p->nstages > 0 ? p->nstages : 1);
    for (uint32_t i = 0; i < p->nstages; i++)
        m->stage_rates[i] = p->stage_rates != NULL ? p->stage_rates[i] : DNAN;
    m->max_send_ns = INT64_MIN;
    m->min_send_ns = INT64_MAX;
    m->max_finish_ns = INT64_MIN;
    hist_init(&m->itl, ITL_MAX_LOG2);
    m->stage_itl = g_new0(hist, p->nstages > 0 ? p->nstages : 1);
    if (m->cooldown_ns > 0) {
        /* ceil, so the cool-down spans at most COOL_SLABS slabs and pending slabs fit RING */
        m->slab_ns = (m->cooldown_ns + COOL_SLABS - 1) / COOL_SLABS;
        m->decided_slab = INT64_MIN;
        m->ring = g_new0(slab, RING);
        for (int i = 0; i < RING; i++) {
            m->ring[i].id = -1;
            hist_init(&m->ring[i].h, ITL_MAX_LOG2);
        }
    }
    m->replicas = g_array_new(FALSE, TRUE, sizeof(replica_acc));
    return m;
}

void
sim_metrics_set_core_budget(sim_metrics *m,
                            uint32_t core,
                            uint32_t max_num_batched_tokens,
                            uint32_t max_num_seqs)
{
    if (m->core_budget == NULL)
        m->core_budget = g_array_new(FALSE, TRUE, sizeof(core_budget));
    if (core >= m->core_budget->len)
        g_array_set_size(m->core_budget, core + 1);
    g_array_index(m->core_budget, core_budget, core) =
        (core_budget){max_num_batched_tokens, max_num_seqs};
}

void
sim_metrics_free(sim_metrics *m)
{
    if (m == NULL)
        return;
    if (m->spill != NULL)
        fclose(m->spill);
    g_free(m->spill_buf);
    g_free(m->stage_rates);
    if (m->core_budget != NULL)
        g_array_free(m->core_budget, TRUE);
    hist_clear(&m->itl);
    for (uint32_t i = 0; i < m->nstages; i++)
        hist_clear(&m->stage_itl[i]);
    g_free(m->stage_itl);
    if (m->ring != NULL) {
        for (int i = 0; i < RING; i++)
            hist_clear(&m->ring[i].h);
        g_free(m->ring);
    }
    for (guint i = 0; i < m->replicas->len; i++) {
        replica_acc *r = &g_array_index(m->replicas, replica_acc, i);
        if (r->seen) {
            hist_clear(&r->batch);
            hist_clear(&r->tokens);
        }
    }
    g_array_free(m->replicas, TRUE);
    g_free(m->stage_res);
    g_free(m->rep_res);
    g_free(m);
}

static replica_acc *
replica_get(sim_metrics *m, uint32_t id)
{
    if (id >= m->replicas->len)
        g_array_set_size(m->replicas, id + 1);
    replica_acc *r = &g_array_index(m->replicas, replica_acc, id);
    if (!r->seen) {
        r->seen = true;
        hist_init(&r->batch, STEP_MAX_LOG2);
        hist_init(&r->tokens, STEP_MAX_LOG2);
    }
    return r;
}

/* Moves every pending cool-down slab that is now surely included into the main histogram:
 * a slab is included once its last send time is < M − cooldown, because the final last send
 * L ≥ M and requests are included iff send < L − cooldown. */
static void
cooldown_advance(sim_metrics *m)
{
    int64_t d = floor_div(m->max_send_ns - m->cooldown_ns, m->slab_ns) - 1;
    if (d <= m->decided_slab)
        return;
    m->decided_slab = d;
    for (int i = 0; i < RING; i++) {
        slab *s = &m->ring[i];
        if (s->id >= 0 && s->id <= d) {
            hist_merge(&m->itl, &s->h);
            hist_reset(&s->h);
            s->id = -1;
        }
    }
}

static inline void
see_send(sim_metrics *m, int64_t send_ns)
{
    if (send_ns > m->max_send_ns) {
        m->max_send_ns = send_ns;
        if (m->ring != NULL)
            cooldown_advance(m);
    }
}

void
sim_metrics_on_arrival(sim_metrics *m, const sim_arrival_event *a)
{
    g_assert(!m->finished);
    see_send(m, a->time_ns);
}

/* The per-stage and cool-down parts of a token's gap G (see sim_metrics_on_token), out of line
 * so that the common path (no stages, no cool-down) is short. */
static G_GNUC_NO_INLINE void
token_gap_slow(sim_metrics *m, const sim_token_event *t, uint64_t g)
{
    if (t->stage < m->nstages) {
        hist *h = &m->stage_itl[t->stage];
        if (h->counts == NULL)
            hist_init(h, ITL_MAX_LOG2);
        hist_add(h, g);
    }
    if (t->send_ns < m->warmup_ns)
        return;
    if (m->ring == NULL) {
        hist_add(&m->itl, g);
        return;
    }
    int64_t id = floor_div(t->send_ns, m->slab_ns);
    if (id <= m->decided_slab) {
        hist_add(&m->itl, g);
        return;
    }
    slab *s = &m->ring[((id % RING) + RING) % RING];
    /* Pending slabs lie in (decided, M / slab]: fewer than RING of them, so a slot is either
     * free or already holds this slab. */
    g_assert(s->id == -1 || s->id == id);
    s->id = id;
    hist_add(&s->h, g);
}

void
sim_metrics_on_token(sim_metrics *m, const sim_token_event *t)
{
    g_assert(!m->finished);
    if (G_UNLIKELY(t->send_ns > m->max_send_ns))
        see_send(m, t->send_ns);
    if (t->gap_ns < 0)
        return; /* first chunk: that is TTFT, not an inter-token gap */
    uint64_t g = (uint64_t)t->gap_ns;
    if (m->nstages == 0 && m->ring == NULL && t->send_ns >= m->warmup_ns)
        hist_add(&m->itl, g); /* what token_gap_slow does in this case */
    else
        token_gap_slow(m, t, g);
}

void
sim_metrics_on_step(sim_metrics *m, const sim_step_record *s)
{
    g_assert(!m->finished);
    replica_acc *r = replica_get(m, s->core);
    r->replica = s->replica;
    r->dp_rank = s->dp_rank;
    int64_t dur = s->end_ns - s->start_ns;
    int64_t from = s->start_ns > r->last_end_ns ? s->start_ns : r->last_end_ns;
    r->steps++;
    r->dummy_steps += s->dummy ? 1 : 0;
    r->busy_ns += s->end_ns > from ? s->end_ns - from : 0;
    if (s->end_ns > r->last_end_ns)
        r->last_end_ns = s->end_ns;
    if (s->spec_tokens > 0 && !s->dummy) {
        sim_spec_result *sp = &m->result.spec;
        g_assert(s->spec_tokens <= SIM_SPEC_MAX_TOKENS);
        sp->k = s->spec_tokens;
        sp->drafts += s->spec_seqs;
        sp->draft_tokens += s->spec_drafts;
        sp->accepted += s->spec_accepted;
        for (uint32_t i = 0; i < s->spec_tokens; i++)
            sp->accepted_pos[i] += s->spec_accepted_pos[i];
        sp->draft_s += s->draft_s;
        sp->step_s += s->cost.total_s;
    }
    hist_add(&r->batch, s->batch.num_seqs);
    hist_add(&r->tokens, s->batch.tokens > 0 ? (uint64_t)s->batch.tokens : 0);
    if (s->kv_total_blocks > 0) {
        double u = (double)s->kv_used_blocks / (double)s->kv_total_blocks;
        r->kv_sum += u;
        r->kv_tsum += u * (double)dur;
        if (u > r->kv_max)
            r->kv_max = u;
        r->kv_steps++;
    }
    r->preemptions += s->num_preempted;
}

void
sim_metrics_on_request(sim_metrics *m, const sim_request_record *r)
{
    g_assert(!m->finished);
    see_send(m, r->send_ns);
    if (r->send_ns < m->min_send_ns)
        m->min_send_ns = r->send_ns;
    if (r->finish_ns > m->max_finish_ns)
        m->max_finish_ns = r->finish_ns;
    m->any_send = true;
    if (r->replica != UINT32_MAX && r->core != UINT32_MAX) {
        replica_acc *ra = replica_get(m, r->core);
        ra->replica = r->replica;
        ra->dp_rank = r->dp_rank;
        ra->requests++;
        ra->prompt_tokens += r->prompt_tokens;
        ra->prefix_hit_tokens += r->prefix_hit_tokens;
    }
    spill_rec rec = {
        .send_ns = r->send_ns,
        .first_sched_ns = r->first_scheduled_ns,
        .first_token_ns = r->first_token_ns,
        .finish_ns = r->finish_ns,
        .prompt = r->prompt_tokens,
        .output = r->failed ? 0 : r->output_tokens,
        .stage = r->stage,
        .failed = r->failed ? 1 : 0,
        .preemptions = r->preemptions,
        .prefix_hit = r->prefix_hit_tokens,
    };
    m->nrec++;
    if (!m->io_failed && fwrite(&rec, sizeof rec, 1, m->spill) != 1) {
        m->io_failed = true;
        m->io_errno = errno;
    }
}

/* One observer per topic: the token one runs for every output token of the simulation. */
static void
arrival_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sim_metrics_on_arrival(ctx, payload);
}

static void
token_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sim_metrics_on_token(ctx, payload);
}

static void
step_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sim_metrics_on_step(ctx, payload);
}

static void
request_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sim_metrics_on_request(ctx, payload);
}

void
sim_metrics_subscribe(sim_metrics *m, sim_engine *e)
{
    sim_engine_subscribe(e, SIM_TOPIC_ARRIVAL, arrival_observer, m);
    sim_engine_subscribe(e, SIM_TOPIC_TOKEN, token_observer, m);
    sim_engine_subscribe(e, SIM_TOPIC_STEP_END, step_observer, m);
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, request_observer, m);
}

/* ---------------------------------------------------------------------------------------- */
/* Exact order statistics by radix selection over the spill file */

#define SEL_BITS        12
#define SEL_NB          (1u << SEL_BITS)
#define SEL_COLLECT_MAX 2048
#define SEL_MAXT        (2 * SIM_METRICS_NPCT)
#define SCOPE_GROUP     4 /* scopes selected together (bounds memory, trades passes) */

/* Order-preserving map of doubles to unsigned keys (−0 folded into +0). */
static inline uint64_t
key_of(double v)
{
    v += 0.0;
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return (b >> 63) ? ~b : (b | (UINT64_C(1) << 63));
}

static inline double
val_of(uint64_t k)
{
    uint64_t b = (k >> 63) ? (k & ~(UINT64_C(1) << 63)) : ~k;
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

typedef struct sel_active {
    uint64_t lo, hi; /* key range, inclusive */
    unsigned bits;   /* prefix length: the range is one bucket of 2^(64−bits) keys */
    bool collect;
    uint64_t count, kmin, kmax;
    uint32_t *hist; /* refine: counts of the next min(12, 64 − bits) bits */
    uint64_t *keys; /* collect: the keys in the range */
    size_t nkeys, cap;
} sel_active;

typedef struct sel_target {
    uint64_t rank;   /* 0-based rank among all values of the series */
    uint64_t within; /* rank among the values of its active range */
    int active;      /* index into actives, −1 when resolved */
    double value;
} sel_target;

typedef struct series {
    base_moments mom;
    int ntargets;
    sel_target t[SEL_MAXT];
    GArray *actives; /* sel_active, sorted by lo */
    int pending;
} series;

enum { S_TTFT, S_TPOT, S_E2EL, S_QUEUE, S_NTPOT, S_PROMPT, S_OUTPUT, S_FLAT, S_FPROMPT, NSERIES };

typedef struct scope {
    sim_scope_result *res;
    int64_t stage; /* −1: overall (exclusion window) */
    series s[NSERIES];
} scope;

static void
active_clear(sel_active *a)
{
    g_free(a->hist);
    g_free(a->keys);
}

static void
series_init(series *s)
{
    memset(s, 0, sizeof *s);
    s->actives = g_array_new(FALSE, TRUE, sizeof(sel_active));
    sel_active root = {0,    UINT64_MAX, 0, false, 0, UINT64_MAX, 0, g_new0(uint32_t, SEL_NB),
                       NULL, 0,          0};
    g_array_append_val(s->actives, root);
}

static void
series_clear(series *s)
{
    if (s->actives == NULL)
        return;
    for (guint i = 0; i < s->actives->len; i++)
        active_clear(&g_array_index(s->actives, sel_active, i));
    g_array_free(s->actives, TRUE);
    s->actives = NULL;
}

static inline void
series_feed(series *s, double v, bool first_pass)
{
    if (first_pass)
        base_moments_add(&s->mom, v);
    guint na = s->actives->len;
    if (na == 0)
        return;
    uint64_t k = key_of(v);
    sel_active *a = (sel_active *)(void *)s->actives->data;
    /* binary search the last range with lo ≤ k */
    guint lo = 0, hi = na;
    while (hi - lo > 1) {
        guint mid = (lo + hi) / 2;
        if (a[mid].lo <= k)
            lo = mid;
        else
            hi = mid;
    }
    sel_active *x = &a[lo];
    if (k < x->lo || k > x->hi)
        return;
    if (x->collect) {
        g_assert(x->nkeys < x->cap);
        x->keys[x->nkeys++] = k;
        return;
    }
    x->count++;
    if (k < x->kmin)
        x->kmin = k;
    if (k > x->kmax)
        x->kmax = k;
    unsigned nb = 64 - x->bits < SEL_BITS ? 64 - x->bits : SEL_BITS;
    x->hist[(k << x->bits) >> (64 - nb)]++;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int
cmp_active(const void *a, const void *b)
{
    uint64_t x = ((const sel_active *)a)->lo, y = ((const sel_active *)b)->lo;
    return (x > y) - (x < y);
}

/* After the first pass: the ranks the percentiles need. */
static void
series_set_targets(series *s)
{
    uint64_t n = s->mom.n;
    s->ntargets = 0;
    if (n == 0) {
        series_clear(s);
        s->actives = g_array_new(FALSE, TRUE, sizeof(sel_active));
        return;
    }
    for (int i = 0; i < SIM_METRICS_NPCT; i++) {
        uint64_t lo, hi;
        double frac;
        pct_ranks(n, sim_metrics_pcts[i], &lo, &hi, &frac);
        uint64_t r2[2] = {lo, hi};
        for (int j = 0; j < 2; j++) {
            bool dup = false;
            for (int t = 0; t < s->ntargets; t++)
                dup = dup || s->t[t].rank == r2[j];
            if (!dup)
                s->t[s->ntargets++] = (sel_target){r2[j], r2[j], 0, NAN};
        }
    }
}

/* Moves each unresolved target one level down (or resolves it) and rebuilds the actives. */
static void
series_resolve(series *s)
{
    GArray *next = g_array_new(FALSE, TRUE, sizeof(sel_active));
    sel_active *a = (sel_active *)(void *)s->actives->data;
    for (guint i = 0; i < s->actives->len; i++)
        if (a[i].collect)
            qsort(a[i].keys, a[i].nkeys, sizeof(uint64_t), cmp_u64);
    s->pending = 0;
    for (int t = 0; t < s->ntargets; t++) {
        sel_target *tg = &s->t[t];
        if (tg->active < 0)
            continue;
        sel_active *x = &a[tg->active];
        if (x->collect) {
            g_assert(tg->within < x->nkeys);
            tg->value = val_of(x->keys[tg->within]);
            tg->active = -1;
            continue;
        }
        g_assert(tg->within < x->count);
        if (x->kmin == x->kmax) {
            tg->value = val_of(x->kmin);
            tg->active = -1;
            continue;
        }
        unsigned nb = 64 - x->bits < SEL_BITS ? 64 - x->bits : SEL_BITS;
        uint64_t cum = 0;
        uint32_t j = 0;
        while (cum + x->hist[j] <= tg->within)
            cum += x->hist[j++];
        uint32_t cnt = x->hist[j];
        unsigned bits = x->bits + nb;
        uint64_t width = bits == 64 ? 1 : (UINT64_C(1) << (64 - bits));
        uint64_t lo = x->lo + (uint64_t)j * width;
        tg->within -= cum;
        if (bits == 64) {
            tg->value = val_of(lo);
            tg->active = -1;
            continue;
        }
        int found = -1;
        for (guint k = 0; k < next->len; k++)
            if (g_array_index(next, sel_active, k).lo == lo)
                found = (int)k;
        if (found < 0) {
            sel_active na = {
                lo, lo + (width - 1), bits, cnt <= SEL_COLLECT_MAX, 0, UINT64_MAX, 0, NULL, NULL, 0,
                0};
            if (na.collect) {
                na.keys = g_new(uint64_t, cnt);
                na.cap = cnt;
            } else {
                na.hist = g_new0(uint32_t, SEL_NB);
            }
            g_array_append_val(next, na);
            found = (int)next->len - 1;
        }
        tg->active = found;
        s->pending++;
    }
    /* sort the new actives by lo and remap the targets' indices */
    guint nn = next->len;
    if (nn > 1) {
        uint64_t *los = g_new(uint64_t, nn);
        for (guint k = 0; k < nn; k++)
            los[k] = g_array_index(next, sel_active, k).lo;
        g_array_sort(next, cmp_active);
        for (int t = 0; t < s->ntargets; t++) {
            if (s->t[t].active < 0)
                continue;
            uint64_t lo = los[s->t[t].active];
            for (guint k = 0; k < nn; k++)
                if (g_array_index(next, sel_active, k).lo == lo)
                    s->t[t].active = (int)k;
        }
        g_free(los);
    }
    for (guint i = 0; i < s->actives->len; i++)
        active_clear(&a[i]);
    g_array_free(s->actives, TRUE);
    s->actives = next;
}

static double
series_rank_value(const series *s, uint64_t rank)
{
    for (int t = 0; t < s->ntargets; t++)
        if (s->t[t].rank == rank)
            return s->t[t].value;
    g_assert_not_reached();
    return NAN;
}

static void
series_dist(const series *s, sim_dist *d)
{
    dist_nan(d);
    uint64_t n = s->mom.n;
    if (n == 0)
        return;
    d->n = n;
    d->mean = s->mom.mean;
    d->std = base_moments_std(&s->mom);
    d->min = s->mom.min;
    d->max = s->mom.max;
    for (int i = 0; i < SIM_METRICS_NPCT; i++) {
        uint64_t lo, hi;
        double frac;
        pct_ranks(n, sim_metrics_pcts[i], &lo, &hi, &frac);
        d->pct[i] = pct_combine(series_rank_value(s, lo), series_rank_value(s, hi), frac);
    }
}

static bool
scope_has(const sim_metrics *m, const scope *sc, const spill_rec *r)
{
    if (sc->stage >= 0)
        return r->stage == (uint64_t)sc->stage;
    return r->send_ns >= m->result.warmup_end_ns && r->send_ns < m->result.cooldown_start_ns;
}

/* Pass-1 scalars of one record. */
static void
scope_scalars(const sim_metrics *m, scope *sc, const spill_rec *r)
{
    sim_scope_result *x = sc->res;
    if (x->sent == 0) {
        x->start_ns = r->send_ns;
        x->end_ns = r->finish_ns;
        x->first_send_ns = x->last_send_ns = r->send_ns;
    }
    x->sent++;
    if (r->send_ns < x->start_ns)
        x->start_ns = r->send_ns;
    if (r->finish_ns > x->end_ns)
        x->end_ns = r->finish_ns;
    if (r->send_ns < x->first_send_ns)
        x->first_send_ns = r->send_ns;
    if (r->send_ns > x->last_send_ns)
        x->last_send_ns = r->send_ns;
    x->preemptions += r->preemptions;
    if (r->failed) {
        x->failed++;
        return;
    }
    x->completed++;
    x->input_tokens += r->prompt;
    x->output_tokens += r->output;
    x->prompt_tokens += r->prompt;
    x->prefix_hit_tokens += r->prefix_hit;
    if (m->slo.any) {
        /* vLLM: a request is good iff every given SLO ≥ its metric (TPOT 0 when n_out ≤ 1) */
        double ttft = r->first_token_ns >= 0 ? (double)(r->first_token_ns - r->send_ns) : DNAN;
        double e2el = (double)(r->finish_ns - r->send_ns);
        double tpot = r->output > 1 && r->first_token_ns >= 0
                          ? (double)(r->finish_ns - r->first_token_ns) / (double)(r->output - 1)
                          : 0.0;
        bool good = (isnan(m->slo.ttft_ms) || ttft <= m->slo.ttft_ms * 1e6) &&
                    (isnan(m->slo.tpot_ms) || tpot <= m->slo.tpot_ms * 1e6) &&
                    (isnan(m->slo.e2el_ms) || e2el <= m->slo.e2el_ms * 1e6);
        x->good += good;
    }
}

static void
scope_feed(scope *sc, const spill_rec *r, bool first)
{
    series *s = sc->s;
    if (r->failed) {
        series_feed(&s[S_FLAT], (double)(r->finish_ns - r->send_ns), first);
        series_feed(&s[S_FPROMPT], (double)r->prompt, first);
        return;
    }
    int64_t e2el = r->finish_ns - r->send_ns;
    series_feed(&s[S_E2EL], (double)e2el, first);
    if (r->first_token_ns >= 0) {
        int64_t ttft = r->first_token_ns - r->send_ns;
        series_feed(&s[S_TTFT], (double)ttft, first);
        if (r->output > 1)
            series_feed(&s[S_TPOT], (double)(e2el - ttft) / (double)(r->output - 1), first);
    }
    if (r->first_sched_ns >= 0)
        series_feed(&s[S_QUEUE], (double)(r->first_sched_ns - r->send_ns), first);
    if (r->output >= 1)
        series_feed(&s[S_NTPOT], (double)e2el / (double)r->output, first);
    series_feed(&s[S_PROMPT], (double)r->prompt, first);
    series_feed(&s[S_OUTPUT], (double)r->output, first);
}

static void
scope_finalize(const sim_metrics *m, scope *sc)
{
    sim_scope_result *x = sc->res;
    series *s = sc->s;
    series_dist(&s[S_TTFT], &x->ttft_ns);
    series_dist(&s[S_TPOT], &x->tpot_ns);
    series_dist(&s[S_E2EL], &x->e2el_ns);
    series_dist(&s[S_QUEUE], &x->queue_ns);
    series_dist(&s[S_NTPOT], &x->ntpot_ns);
    series_dist(&s[S_PROMPT], &x->prompt_len);
    series_dist(&s[S_OUTPUT], &x->output_len);
    series_dist(&s[S_FLAT], &x->fail_latency_ns);
    series_dist(&s[S_FPROMPT], &x->fail_prompt_len);
    x->duration_s = (double)(x->end_ns - x->start_ns) / 1e9;
    x->send_duration_s = (double)(x->last_send_ns - x->first_send_ns) / 1e9;
    double d = x->duration_s;
    bool ok = d > 0;
    x->request_throughput = ok ? (double)x->completed / d : DNAN;
    x->input_throughput = ok ? (double)x->input_tokens / d : DNAN;
    x->output_throughput = ok ? (double)x->output_tokens / d : DNAN;
    x->total_token_throughput = ok ? (double)(x->input_tokens + x->output_tokens) / d : DNAN;
    x->goodput = m->slo.any && ok ? (double)x->good / d : DNAN;
    x->prefix_hit_rate =
        x->prompt_tokens > 0 ? (double)x->prefix_hit_tokens / (double)x->prompt_tokens : DNAN;
    x->achieved_rate = x->send_duration_s > 0 ? (double)x->sent / x->send_duration_s : DNAN;
}

static gboolean
spill_rewind(sim_metrics *m, GError **error)
{
    if (fflush(m->spill) != 0 || fseek(m->spill, 0, SEEK_SET) != 0) {
        int e = errno;
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "metrics temporary file: cannot rewind: %s",
                    g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

static gboolean
select_group(sim_metrics *m, scope *sc, unsigned nsc, spill_rec *buf, size_t bufn, GError **error)
{
    for (unsigned i = 0; i < nsc; i++)
        for (int k = 0; k < NSERIES; k++)
            series_init(&sc[i].s[k]);
    gboolean ok = TRUE;
    for (int pass = 0; ok; pass++) {
        bool first = pass == 0;
        if (!spill_rewind(m, error)) {
            ok = FALSE;
            break;
        }
        uint64_t seen = 0;
        for (;;) {
            size_t got = fread(buf, sizeof *buf, bufn, m->spill);
            for (size_t j = 0; j < got; j++) {
                for (unsigned i = 0; i < nsc; i++) {
                    if (!scope_has(m, &sc[i], &buf[j]))
                        continue;
                    if (first)
                        scope_scalars(m, &sc[i], &buf[j]);
                    scope_feed(&sc[i], &buf[j], first);
                }
            }
            seen += got;
            if (got < bufn)
                break;
        }
        if (ferror(m->spill) || seen != m->nrec) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_IO,
                        "metrics temporary file: read %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                        " records",
                        seen, m->nrec);
            ok = FALSE;
            break;
        }
        int pending = 0;
        for (unsigned i = 0; i < nsc; i++) {
            for (int k = 0; k < NSERIES; k++) {
                series *s = &sc[i].s[k];
                if (first)
                    series_set_targets(s);
                series_resolve(s);
                pending += s->pending;
            }
        }
        if (pending == 0)
            break;
    }
    if (ok)
        for (unsigned i = 0; i < nsc; i++)
            scope_finalize(m, &sc[i]);
    for (unsigned i = 0; i < nsc; i++)
        for (int k = 0; k < NSERIES; k++)
            series_clear(&sc[i].s[k]);
    return ok;
}

/* The overload check (sim_load_check in metrics.h): one sequential pass over the records. */
static gboolean
load_check(sim_metrics *m, spill_rec *buf, size_t bufn, sim_load_check *lc, GError **error)
{
    memset(lc, 0, sizeof *lc);
    lc->window_s = lc->arrival_rate = lc->completion_rate = DNAN;
    if (m->nrec < 2 || m->max_send_ns <= m->min_send_ns)
        return TRUE;
    int64_t t0 = m->min_send_ns, t1 = m->max_send_ns, mid = t0 + (t1 - t0) / 2;
    uint64_t sent_mid = 0, fin_mid = 0, fin_end = 0, late = 0;
    if (!spill_rewind(m, error))
        return FALSE;
    uint64_t seen = 0;
    for (;;) {
        size_t got = fread(buf, sizeof *buf, bufn, m->spill);
        for (size_t j = 0; j < got; j++) {
            const spill_rec *r = &buf[j];
            sent_mid += r->send_ns <= mid;
            late += r->send_ns > mid;
            fin_mid += r->finish_ns <= mid;
            fin_end += r->finish_ns <= t1;
        }
        seen += got;
        if (got < bufn)
            break;
    }
    if (ferror(m->spill) || seen != m->nrec) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO,
                    "metrics temporary file: read %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                    " records",
                    seen, m->nrec);
        return FALSE;
    }
    lc->valid = true;
    lc->window_s = (double)(t1 - t0) / 1e9;
    lc->arrival_rate = (double)(m->nrec - 1) / lc->window_s;
    lc->completion_rate = (double)fin_end / lc->window_s;
    lc->in_system_mid = sent_mid - fin_mid;
    lc->in_system_end = m->nrec - fin_end;
    lc->arrivals_late = late;
    double growth = (double)lc->in_system_end - (double)lc->in_system_mid;
    double noise = 3.0 * sqrt((double)(late + lc->in_system_mid));
    lc->overloaded = growth > 0.05 * (double)late && growth > noise;
    return TRUE;
}

gboolean
sim_metrics_finish(sim_metrics *m, int64_t end_ns, GError **error)
{
    g_return_val_if_fail(!m->finished, FALSE);
    m->finished = true;
    if (m->io_failed) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "metrics temporary file: write failed: %s",
                    g_strerror(m->io_errno));
        return FALSE;
    }
    sim_metrics_result *res = &m->result;
    res->total_requests = m->nrec;
    res->warmup_s = m->warmup_s;
    res->cooldown_s = m->cooldown_s;
    res->warmup_end_ns = m->warmup_ns;
    res->slo = m->slo;
    res->cooldown_start_ns = INT64_MAX;
    if (m->ring != NULL && m->nrec > 0) {
        /* L = the last send; requests with send ≥ L − cooldown are excluded, b is the last
         * included send time. Flush surely-included slabs; the slab holding b counts as
         * included iff at least half of its send range is ≤ b. */
        int64_t last = m->max_send_ns;
        res->cooldown_start_ns = last - m->cooldown_ns;
        int64_t b = res->cooldown_start_ns - 1;
        res->itl_cooldown_slab_ns = (uint64_t)m->slab_ns;
        for (int i = 0; i < RING; i++) {
            slab *s = &m->ring[i];
            if (s->id < 0)
                continue;
            int64_t lo = s->id * m->slab_ns, hi = lo + m->slab_ns - 1;
            bool include = hi <= b || (lo <= b && (b - lo + 1) * 2 >= m->slab_ns);
            if (include)
                hist_merge(&m->itl, &s->h);
            hist_reset(&s->h);
            s->id = -1;
        }
    }
    res->run_start_ns = m->nrec > 0 ? m->min_send_ns : 0;
    res->run_end_ns = m->nrec > 0 && m->max_finish_ns > end_ns ? m->max_finish_ns : end_ns;

    /* scopes: overall, then each stage */
    m->stage_res = g_new0(sim_scope_result, m->nstages > 0 ? m->nstages : 1);
    unsigned nscopes = 1 + m->nstages;
    scope *scopes = g_new0(scope, nscopes);
    scopes[0].res = &res->overall;
    scopes[0].stage = -1;
    for (uint32_t i = 0; i < m->nstages; i++) {
        scopes[1 + i].res = &m->stage_res[i];
        scopes[1 + i].stage = i;
    }
    size_t bufn = 4096;
    spill_rec *buf = g_new(spill_rec, bufn);
    gboolean ok = load_check(m, buf, bufn, &res->load, error);
    for (unsigned g = 0; ok && g < nscopes; g += SCOPE_GROUP) {
        unsigned n = nscopes - g < SCOPE_GROUP ? nscopes - g : SCOPE_GROUP;
        ok = select_group(m, scopes + g, n, buf, bufn, error);
    }
    g_free(buf);
    g_free(scopes);
    if (!ok)
        return FALSE;
    res->excluded_requests = m->nrec - res->overall.sent;
    hist_dist(&m->itl, &res->overall.itl_ns);
    for (uint32_t i = 0; i < m->nstages; i++) {
        if (m->stage_itl[i].counts != NULL)
            hist_dist(&m->stage_itl[i], &m->stage_res[i].itl_ns);
        else
            dist_nan(&m->stage_res[i].itl_ns);
        m->stage_res[i].requested_rate = m->stage_rates[i];
    }
    res->overall.requested_rate = NAN;
    res->nstages = m->nstages;
    res->stages = m->stage_res;

    /* replicas */
    guint nr = m->replicas->len;
    m->rep_res = g_new0(sim_replica_result, nr > 0 ? nr : 1);
    double window = (double)(res->run_end_ns - res->run_start_ns);
    for (guint i = 0; i < nr; i++) {
        const replica_acc *a = &g_array_index(m->replicas, replica_acc, i);
        sim_replica_result *x = &m->rep_res[i];
        x->replica = a->seen ? a->replica : i;
        x->dp_rank = a->dp_rank;
        x->core = i;
        if (!a->seen) {
            dist_nan(&x->batch_size);
            dist_nan(&x->tokens_per_step);
            x->busy_fraction = window > 0 ? 0.0 : DNAN;
            x->token_budget_fill = x->seq_slots_fill = NAN;
            x->kv_usage_mean = x->kv_usage_time_mean = x->kv_usage_max = NAN;
            x->prefix_hit_rate = NAN;
            continue;
        }
        x->steps = a->steps;
        x->dummy_steps = a->dummy_steps;
        x->busy_ns = a->busy_ns;
        x->busy_fraction = window > 0 ? (double)a->busy_ns / window : DNAN;
        hist_dist(&a->batch, &x->batch_size);
        hist_dist(&a->tokens, &x->tokens_per_step);
        uint32_t max_tokens = m->max_tokens, max_seqs = m->max_seqs;
        if (m->core_budget != NULL && i < m->core_budget->len) {
            const core_budget *b = &g_array_index(m->core_budget, core_budget, i);
            if (b->max_tokens > 0)
                max_tokens = b->max_tokens;
            if (b->max_seqs > 0)
                max_seqs = b->max_seqs;
        }
        x->token_budget_fill =
            max_tokens > 0 && a->steps > 0 ? x->tokens_per_step.mean / (double)max_tokens : DNAN;
        x->seq_slots_fill =
            max_seqs > 0 && a->steps > 0 ? x->batch_size.mean / (double)max_seqs : DNAN;
        x->kv_usage_mean = a->kv_steps > 0 ? a->kv_sum / (double)a->kv_steps : DNAN;
        x->kv_usage_time_mean =
            a->busy_ns > 0 && a->kv_steps > 0 ? a->kv_tsum / (double)a->busy_ns : x->kv_usage_mean;
        x->kv_usage_max = a->kv_steps > 0 ? a->kv_max : DNAN;
        x->preemptions = a->preemptions;
        x->requests = a->requests;
        x->prompt_tokens = a->prompt_tokens;
        x->prefix_hit_tokens = a->prefix_hit_tokens;
        x->prefix_hit_rate =
            a->prompt_tokens > 0 ? (double)a->prefix_hit_tokens / (double)a->prompt_tokens : DNAN;
    }
    res->nreplicas = nr;
    res->replicas = m->rep_res;
    m->ok = true;
    return TRUE;
}

const sim_metrics_result *
sim_metrics_get_result(const sim_metrics *m)
{
    return m->ok ? &m->result : NULL;
}
