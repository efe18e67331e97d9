/* tools/sweeprun.c: sweep/search execution (see sweeprun.h): tasks on -j worker threads, the
 * find-max probes (the same seed at every load: common random numbers), keeping the metrics of
 * the largest load that met the SLOs and of the smallest that broke them, the early stop of
 * probes that provably break an SLO, progress, and the outcome columns of a row. */
#include "tools/sweeprun.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "base/json.h"
#include "tools/cli.h"
#include "tools/runner.h"

/* ---- tasks ---------------------------------------------------------------------------- */

typedef struct task {
    const sr_params *p;
    sr_point *pt;
    int seed_offset;
    double scale;    /* step-time scale (1 = as modelled) */
    bool keep;       /* write the run outputs (--keep-runs) */
    bool skip;       /* a band task of a point without a band */
    sr_outcome *out; /* the point's slot for this task */
    GError *error;   /* set on failure */
    int code;        /* exit code on failure */
} task;

static void
set_load(sim_config *c, sr_mode mode, double load)
{
    if (mode == SR_FIND_RATE)
        c->wl.rate = load;
    else if (mode == SR_FIND_CONCURRENCY)
        c->wl.max_concurrency = (int64_t)load;
}

typedef struct watch watch;
static void watch_attach(void *ctx, sim_engine *e);

/* One simulation of T's point at LOAD (ignored in plain mode); OUTPUT_DIR non-NULL writes the
 * run's outputs there. */
static int
simulate(task *t, double load, const char *output_dir, watch *w, sw_metrics *m, GError **error)
{
    sim_config c;
    sim_config_copy(&c, &t->pt->cfg);
    c.sim.seed += t->seed_offset;
    set_load(&c, t->p->mode, load);
    runner_flags fl = {.no_outputs = output_dir == NULL,
                       .quiet = true,
                       .step_time_scale = t->scale,
                       .on_engine = w != NULL ? watch_attach : NULL,
                       .on_engine_ctx = w};
    if (output_dir != NULL) {
        g_free(c.sim.output_dir);
        c.sim.output_dir = g_strdup(output_dir);
    }
    runner_result rr;
    int code = runner_run_e(&c, &fl, &rr, error);
    sim_config_clear(&c);
    if (code != CLI_OK) {
        t->code = code;
        return -1;
    }
    sw_metrics_from_result(m, &rr.metrics, rr.utilization, rr.kv_peak);
    return 0;
}

/* Early stop of a probe that provably breaks an SLO (see sr_points_prepare). */
struct watch {
    const sw_slo *slo;
    sim_engine *e;
    uint64_t n;                /* requests of the workload */
    uint64_t need[SW_SLO_MAX]; /* values over the bound that break a percentile term */
    uint64_t over[SW_SLO_MAX]; /* values seen over the bound */
    double sum[SW_SLO_MAX];    /* Σ values seen (mean terms), ns */
    int stopped_term;          /* the term that stopped the run, −1 */
};

/* The latency (SW_LAT_*) a term bounds from above and a probe can watch, or −1. */
static int
term_lat(const sw_slo_term *t)
{
    int m = t->metric;
    if (m >= SW_LAT_COUNT * SW_STAT_COUNT || m / SW_STAT_COUNT == SW_LAT_ITL)
        return -1;
    return m / SW_STAT_COUNT;
}

static void
watch_value(watch *w, int lat, double v_ns)
{
    for (guint i = 0; i < w->slo->n && w->stopped_term < 0; i++) {
        const sw_slo_term *t = &w->slo->t[i];
        if (term_lat(t) != lat)
            continue;
        /* strictly over, with a margin for the metrics module's own rounding */
        double bound_ns = t->bound * 1e6 * (1 + 1e-12);
        if (t->metric % SW_STAT_COUNT == SW_STAT_MEAN) {
            w->sum[i] += v_ns;
            if (w->sum[i] > bound_ns * (double)w->n)
                w->stopped_term = (int)i;
        } else if (v_ns > bound_ns && ++w->over[i] >= w->need[i]) {
            w->stopped_term = (int)i;
        }
    }
    if (w->stopped_term >= 0)
        sim_engine_stop(w->e);
}

static void
watch_token(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    const sim_token_event *t = payload;
    if (t->gap_ns < 0)
        watch_value(ctx, SW_LAT_TTFT, (double)(t->time_ns - t->send_ns));
}

static void
watch_done(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    const sim_request_record *r = payload;
    if (r->failed)
        return;
    watch_value(ctx, SW_LAT_E2EL, (double)(r->finish_ns - r->send_ns));
    if (r->output_tokens > 1 && r->first_token_ns >= 0)
        watch_value(ctx, SW_LAT_TPOT,
                    (double)(r->finish_ns - r->first_token_ns) / (double)(r->output_tokens - 1));
}

static void
watch_attach(void *ctx, sim_engine *e)
{
    watch *w = ctx;
    w->e = e;
    sim_engine_subscribe(e, SIM_TOPIC_TOKEN, watch_token, w);
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, watch_done, w);
}

static void
watch_init(watch *w, const sw_slo *slo, uint64_t n)
{
    memset(w, 0, sizeof *w);
    w->slo = slo;
    w->n = n;
    w->stopped_term = -1;
    static const uint64_t pct[SW_STAT_COUNT] = {0, 50, 90, 95, 99};
    for (guint i = 0; i < slo->n; i++) {
        int stat = slo->t[i].metric % SW_STAT_COUNT;
        /* N − ⌊p·(N − 1)/100⌋, in integers */
        w->need[i] = stat == SW_STAT_MEAN || n == 0 ? 0 : n - (pct[stat] * (n - 1)) / 100;
    }
}

static int
probe(void *ctx, double load, GError **error)
{
    task *t = ctx;
    sw_metrics m;
    watch w;
    watch_init(&w, &t->p->slo, t->pt->nreq);
    if (simulate(t, load, NULL, t->pt->nreq > 0 ? &w : NULL, &m, error) < 0)
        return -1;
    int binding = -1;
    bool ok = w.stopped_term < 0 && sw_slo_check(&t->p->slo, &m, &binding);
    if (w.stopped_term >= 0)
        binding = w.stopped_term;
    sr_outcome *o = t->out;
    if (ok && (!o->have_lo || load > o->fm.lo)) {
        o->lo = m;
        o->have_lo = true;
        o->fm.lo = load;
    } else if (!ok && (!o->have_hi || load < o->fm.hi)) {
        o->hi = m;
        o->have_hi = true;
        o->fm.hi = load;
        o->hi_binding = binding;
        o->hi_stopped = w.stopped_term >= 0;
    }
    /* a concurrency cap at or above the requests sent changes nothing any more */
    if (ok && t->p->mode == SR_FIND_CONCURRENCY && load >= (double)m.sent)
        return 2;
    return ok ? 1 : 0;
}

static char *
keep_dir(const task *t)
{
    g_autofree char *name = g_strdup_printf("point-%06" PRIu64, t->pt->index);
    return g_build_filename(t->p->keep_runs, name, NULL);
}

static void
run_task(task *t)
{
    sr_outcome *o = t->out;
    o->ran = true;
    o->hi_binding = -1;
    o->binding = -1;
    if (t->p->mode == SR_PLAIN) {
        g_autofree char *dir = t->keep ? keep_dir(t) : NULL;
        if (simulate(t, 0, dir, NULL, &o->m, &t->error) < 0)
            return;
        o->slo_ok = sw_slo_check(&t->p->slo, &o->m, &o->binding);
        return;
    }
    sw_findmax_result r;
    o->fm.lo = 0;
    o->fm.hi = (double)NAN;
    sw_findmax_params fm = t->p->fm;
    if (!isnan(t->pt->start))
        fm.start = t->pt->start;
    if (!sw_findmax_run(&fm, probe, t, &r, &t->error))
        return;
    o->fm = r;
    if (t->keep && r.lo > 0) {
        g_autofree char *dir = keep_dir(t);
        sw_metrics m;
        simulate(t, r.lo, dir, NULL, &m, &t->error);
    }
}

typedef struct pool {
    task *tasks;
    guint n;
    gint next; /* next task to claim (atomic) */
    gint done; /* tasks finished (atomic) */
} pool;

static gpointer
worker(gpointer data)
{
    pool *pl = data;
    for (;;) {
        gint i = g_atomic_int_add(&pl->next, 1);
        if (i >= (gint)pl->n)
            return NULL;
        task *t = &pl->tasks[i];
        if (!t->skip)
            run_task(t);
        g_atomic_int_inc(&pl->done);
    }
}

static void
progress_line(const sr_params *p, gint done, guint total, double t0)
{
    double el = cli_now_s() - t0;
    double eta = done > 0 ? el / done * (double)(total - (guint)done) : 0.0;
    fprintf(stderr, "\rservesim %s: %d/%u simulations done, %.0f s elapsed, ETA %.0f s   ", p->what,
            done, total, el, eta);
    fflush(stderr);
}

int
sr_run(const sr_params *p, sr_point *points, guint n, GError **error)
{
    guint per = (guint)p->replicates + (p->mode == SR_PLAIN ? 0u : 2u);
    if (p->mode == SR_PLAIN)
        per = 1;
    g_autofree task *tasks = g_new0(task, (gsize)n * per + 1);
    guint nt = 0;
    for (guint i = 0; i < n; i++) {
        sr_point *pt = &points[i];
        g_free(pt->out);
        pt->out = g_new0(sr_outcome, per);
        for (guint k = 0; k < per; k++) {
            task *t = &tasks[nt++];
            t->p = p;
            t->pt = pt;
            t->out = &pt->out[k];
            t->scale = 1.0;
            bool band_task = p->mode != SR_PLAIN && k >= (guint)p->replicates;
            if (band_task) {
                t->skip = isnan(pt->band);
                /* k = R: slower steps (the pessimistic limit); k = R + 1: faster */
                if (!t->skip)
                    t->scale = k == (guint)p->replicates ? 1.0 + pt->band : 1.0 - pt->band;
            } else {
                t->seed_offset = (int)k;
            }
            t->keep = k == 0 && p->keep_runs != NULL;
        }
    }
    /* GLib state initialised lazily under its own futex-based locks, which ThreadSanitizer
     * cannot see: touch it here, before the workers exist (thread creation orders it) */
    (void)g_get_tmp_dir();
    pool pl = {tasks, nt, 0, 0};
    guint nthreads = (guint)MAX(1, MIN(p->jobs, (int)MAX(nt, 1u)));
    g_autoptr(GPtrArray) threads = g_ptr_array_new();
    double t0 = cli_now_s();
    for (guint i = 0; i < nthreads; i++)
        g_ptr_array_add(threads, g_thread_new("servesim-sweep", worker, &pl));
    if (p->progress) {
        gint last = -1;
        for (;;) {
            gint done = g_atomic_int_get(&pl.done);
            if (done != last) {
                progress_line(p, done, nt, t0);
                last = done;
            }
            if (done >= (gint)nt)
                break;
            g_usleep(200000);
        }
        fputs("\r\033[K", stderr);
    }
    for (guint i = 0; i < threads->len; i++)
        g_thread_join(threads->pdata[i]);
    int code = CLI_OK;
    for (guint i = 0; i < nt; i++) {
        task *t = &tasks[i];
        if (t->error != NULL && code == CLI_OK) {
            code = t->code != CLI_OK ? t->code : CLI_RUNTIME;
            g_propagate_prefixed_error(error, t->error, "point %" PRIu64 " (%s): ", t->pt->index,
                                       t->pt->label != NULL ? t->pt->label : "base");
            t->error = NULL;
        }
        g_clear_error(&t->error);
    }
    return code;
}

/* ---- rows ------------------------------------------------------------------------------ */

json_t *
sr_axis_value_json(const sw_axis *a, const char *v)
{
    if (a->opt != NULL && strcmp(v, "auto") != 0) {
        int64_t i;
        double d;
        if (a->opt->type == BASE_OPT_INT && base_parse_int64(v, &i))
            return json_integer(i);
        if (a->opt->type == BASE_OPT_DOUBLE && base_parse_double(v, &d))
            return base_json_real(d);
        if (a->opt->type == BASE_OPT_BOOL)
            return json_boolean(strcmp(v, "true") == 0);
    }
    return json_string(v);
}

static const char *
status_name(sw_findmax_status s)
{
    switch (s) {
    case SW_FINDMAX_FOUND:
        return "found";
    case SW_FINDMAX_NOT_REACHED:
        return "not reached";
    case SW_FINDMAX_NONE:
        return "none";
    }
    return "?";
}

double
sr_limit(const sr_point *pt, const sw_metrics **at)
{
    const sr_outcome *o = &pt->out[0];
    if (at != NULL)
        *at = o->have_lo ? &o->lo : NULL;
    return o->fm.lo;
}

static json_t *
opt_real(bool have, double v)
{
    return have ? base_json_real(v) : json_null();
}

/* A load: a real rate or an integer concurrency. */
static json_t *
load_json(const sr_params *p, bool have, double v)
{
    if (!have)
        return json_null();
    return p->mode == SR_FIND_CONCURRENCY ? json_integer((json_int_t)v) : base_json_real(v);
}

void
sr_outcome_to_json(const sr_params *p, const sr_point *pt, json_t *row)
{
    const sr_outcome *o = &pt->out[0];
    if (p->mode == SR_PLAIN) {
        bool slo = p->slo.n > 0;
        json_object_set_new(row, "slo_met", slo ? json_boolean(o->slo_ok) : json_null());
        json_object_set_new(row, "binding",
                            slo && o->binding >= 0
                                ? json_string(sw_slo_metric_name(p->slo.t[o->binding].metric))
                                : json_null());
        sw_metrics_to_json(&o->m, row, "");
        return;
    }
    json_object_set_new(row, "limit_of",
                        json_string(p->mode == SR_FIND_RATE ? "rate" : "concurrency"));
    json_object_set_new(row, "limit", load_json(p, true, o->fm.lo));
    json_object_set_new(row, "limit_status", json_string(status_name(o->fm.status)));
    json_object_set_new(row, "start",
                        load_json(p, true, isnan(pt->start) ? p->fm.start : pt->start));
    const char *bind = o->have_hi && o->hi_binding >= 0
                           ? sw_slo_metric_name(p->slo.t[o->hi_binding].metric)
                           : NULL;
    json_object_set_new(row, "binding", bind ? json_string(bind) : json_null());
    json_object_set_new(row, "binding_bound",
                        bind ? base_json_real(p->slo.t[o->hi_binding].bound) : json_null());
    /* a probe stopped early has partial metrics: its value is not reported */
    json_object_set_new(row, "binding_value_at_hi",
                        bind && !o->hi_stopped
                            ? base_json_real(sw_slo_value(p->slo.t[o->hi_binding].metric, &o->hi))
                            : json_null());
    json_object_set_new(row, "hi_stopped_early",
                        o->have_hi ? json_boolean(o->hi_stopped) : json_null());
    json_object_set_new(row, "bracket_hi", load_json(p, o->have_hi, o->fm.hi));
    json_object_set_new(row, "probes", json_integer(o->fm.probes));
    /* error band: calibration error (step times × 1 ± band) and seeds */
    bool band = !isnan(pt->band);
    const sr_outcome *slow = &pt->out[p->replicates], *fast = &pt->out[p->replicates + 1];
    json_object_set_new(row, "band", opt_real(band, pt->band));
    json_object_set_new(row, "limit_slow_steps", load_json(p, band && slow->ran, slow->fm.lo));
    json_object_set_new(row, "limit_fast_steps", load_json(p, band && fast->ran, fast->fm.lo));
    double smin = o->fm.lo, smax = o->fm.lo;
    for (int r = 1; r < p->replicates; r++) {
        smin = fmin(smin, pt->out[r].fm.lo);
        smax = fmax(smax, pt->out[r].fm.lo);
    }
    json_object_set_new(row, "replicates", json_integer(p->replicates));
    json_object_set_new(row, "limit_seed_min", load_json(p, true, smin));
    json_object_set_new(row, "limit_seed_max", load_json(p, true, smax));
    sw_metrics none;
    memset(&none, 0, sizeof none);
    for (int l = 0; l < SW_LAT_COUNT; l++)
        for (int s = 0; s < SW_STAT_COUNT; s++)
            none.lat_ms[l][s] = (double)NAN;
    none.duration_s = none.request_throughput = none.output_throughput = (double)NAN;
    none.total_token_throughput = none.goodput = none.good_fraction = none.fail_fraction =
        (double)NAN;
    none.utilization = none.kv_peak = (double)NAN;
    sw_metrics_to_json(o->have_lo ? &o->lo : &none, row, "");
}

void
sr_null_outcome_to_json(const sr_params *p, json_t *row)
{
    sr_point pt;
    memset(&pt, 0, sizeof pt);
    pt.band = NAN;
    pt.out = g_new0(sr_outcome, (gsize)p->replicates + 2);
    json_auto_t *tmp = json_object();
    sr_outcome_to_json(p, &pt, tmp);
    g_free(pt.out);
    const char *key;
    json_t *v;
    json_object_foreach(tmp, key, v) {
        (void)v;
        json_object_set_new(row, key, json_null());
    }
}
