/* traces/outputs.c: opens, feeds and commits every output file of a run. Streaming writers
 * are opened (under temporary names) before the simulation so a bad directory fails fast;
 * reports are rendered at the end, and every file is renamed into place only after all of
 * them were written, summary.json last. */
#include "traces/outputs.h"

#include <string.h>

#include "base/error.h"
#include "base/io.h"
#include "base/json.h"
#include "traces/writers.h"

struct tr_outputs {
    char *dir;
    tr_outputs_params p; /* strings point into the owned copies below */
    char *steps_file, *perfetto, *model_id;
    tr_requests_csv *csv;
    tr_steps *steps;
    tr_perfetto *perf;
    json_t *sections; /* extra summary.json sections (owned) */
    bool finished;
};

void
tr_outputs_params_init(tr_outputs_params *p)
{
    memset(p, 0, sizeof *p);
    p->requests_csv = true;
    p->summary = true;
    p->lifecycle = true;
    p->vllm_result = true;
    tr_report_info_init(&p->info);
}

static char *
resolve(const char *dir, const char *name)
{
    return g_path_is_absolute(name) ? g_strdup(name) : g_build_filename(dir, name, NULL);
}

void
tr_outputs_set_simulated(tr_outputs *o, const tr_simulated *sim)
{
    g_return_if_fail(o != NULL && !o->finished);
    o->p.info.simulated = sim;
}

void
tr_outputs_set_section(tr_outputs *o, const char *name, json_t *section)
{
    g_return_if_fail(o != NULL && !o->finished);
    if (o->sections == NULL)
        o->sections = json_object();
    json_object_set_new(o->sections, name, section);
}

uint64_t
tr_outputs_perfetto_dropped(const tr_outputs *o)
{
    return o->perf != NULL ? tr_perfetto_dropped(o->perf) : 0;
}

char *
tr_outputs_path(const tr_outputs *o, const char *name)
{
    return resolve(o->dir, name);
}

tr_outputs *
tr_outputs_open(sim_engine *e, const tr_outputs_params *p, GError **error)
{
    g_return_val_if_fail(e != NULL && p != NULL, NULL);
    if (p->dir == NULL || p->dir[0] == '\0') {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "outputs.dir: empty output directory");
        return NULL;
    }
    if (!base_dir_ensure_writable(p->dir, error))
        return NULL;
    g_autoptr(tr_outputs) o = g_new0(tr_outputs, 1);
    o->dir = g_strdup(p->dir);
    o->p = *p;
    o->p.dir = o->dir;
    o->steps_file = g_strdup(p->steps_file);
    o->perfetto = g_strdup(p->perfetto);
    o->model_id = g_strdup(p->info.model_id);
    o->p.steps_file = o->steps_file;
    o->p.perfetto = o->perfetto;
    o->p.info.model_id = o->model_id;
    if (p->requests_csv) {
        g_autofree char *path = resolve(o->dir, "requests.csv");
        o->csv = tr_requests_csv_open_pd(path, p->pd, p->spec, error);
        if (o->csv == NULL)
            return NULL;
    }
    if (p->steps_file != NULL) {
        g_autofree char *path = resolve(o->dir, p->steps_file);
        o->steps = tr_steps_open(path, error);
        if (o->steps == NULL)
            return NULL;
    }
    if (p->perfetto != NULL) {
        g_autofree char *path = resolve(o->dir, p->perfetto);
        o->perf = tr_perfetto_open(path, p->perfetto_max_steps, error);
        if (o->perf == NULL)
            return NULL;
    }
    if (o->csv != NULL)
        tr_requests_csv_subscribe(o->csv, e);
    if (o->steps != NULL)
        tr_steps_subscribe(o->steps, e);
    if (o->perf != NULL)
        tr_perfetto_subscribe(o->perf, e);
    return g_steal_pointer(&o);
}

/* Renders J into a new uncommitted file NAME of the output directory, appended to OUTS. */
static gboolean
prepare_json(tr_outputs *o, GPtrArray *outs, const char *name, json_t *j, GError **error)
{
    g_autofree char *path = resolve(o->dir, name);
    base_out *out = base_out_open(path, error);
    if (out == NULL) {
        json_decref(j);
        return FALSE;
    }
    g_autofree char *s = base_json_dumps(j);
    json_decref(j);
    base_out_puts(out, s);
    g_ptr_array_add(outs, out);
    return TRUE;
}

/* serving.latency_ms {p50, p95, p99, max}: request latency (E2E, ms), as DSA capture summaries
 * report it (docs/formats/dsa-trace.md). */
static json_t *
serving_json(const sim_scope_result *s)
{
    const sim_dist *e = &s->e2el_ns;
    json_t *l = json_object();
    json_object_set_new(l, "p50",
                        e->n > 0 ? base_json_real(e->pct[SIM_PCT_50] / 1e6) : json_null());
    json_object_set_new(l, "p95",
                        e->n > 0 ? base_json_real(e->pct[SIM_PCT_95] / 1e6) : json_null());
    json_object_set_new(l, "p99",
                        e->n > 0 ? base_json_real(e->pct[SIM_PCT_99] / 1e6) : json_null());
    json_object_set_new(l, "max", e->n > 0 ? base_json_real(e->max / 1e6) : json_null());
    json_t *o = json_object();
    json_object_set_new(o, "latency_ms", l);
    return o;
}

gboolean
tr_outputs_finish(tr_outputs *o, const sim_metrics_result *result, json_t *config, GError **error)
{
    g_return_val_if_fail(o != NULL && result != NULL && !o->finished, FALSE);
    o->finished = true;
    g_autoptr(GPtrArray) outs = g_ptr_array_new_with_free_func((GDestroyNotify)base_out_free);
    if (o->p.lifecycle) {
        for (uint32_t i = 0; i < result->nstages; i++) {
            char name[64];
            g_snprintf(name, sizeof name, "stage_%" G_GUINT32_FORMAT "_lifecycle_metrics.json", i);
            if (!prepare_json(o, outs, name, tr_lifecycle_json(&result->stages[i], true), error))
                return FALSE;
        }
        if (!prepare_json(o, outs, "summary_lifecycle_metrics.json",
                          tr_lifecycle_json(&result->overall, false), error))
            return FALSE;
    }
    if (o->p.vllm_result) {
        /* The settings that rebuild the run (docs/outputs.md): the configuration without what
         * the run resolved and without where its outputs went. */
        json_auto_t *settings = json_is_object(config) ? json_deep_copy(config) : NULL;
        if (settings != NULL) {
            json_object_del(settings, "resolved");
            json_object_del(settings, "outputs");
        }
        tr_report_info info = o->p.info;
        info.config = settings;
        if (!prepare_json(o, outs, "vllm_bench_result.json", tr_vllm_result_json(result, &info),
                          error))
            return FALSE;
    }
    if (o->p.summary) {
        json_t *sj = tr_summary_json(result, o->p.info.simulated, config);
        if (o->p.dsa != NULL) {
            json_object_set_new(sj, "dsa", tr_dsa_summary_json(o->p.dsa));
            json_object_set_new(sj, "serving", serving_json(&result->overall));
        }
        if (o->sections != NULL)
            json_object_update(sj, o->sections);
        if (!prepare_json(o, outs, "summary.json", sj, error))
            return FALSE;
    }
    /* everything is rendered: rename into place, streams first, summary.json last */
    if (o->csv != NULL && !tr_requests_csv_commit(o->csv, error))
        return FALSE;
    if (o->steps != NULL && !tr_steps_commit(o->steps, error))
        return FALSE;
    if (o->perf != NULL && !tr_perfetto_commit(o->perf, error))
        return FALSE;
    if (o->p.dsa != NULL && !tr_dsa_commit(o->p.dsa, error))
        return FALSE;
    for (guint i = 0; i < outs->len; i++)
        if (!base_out_commit(g_ptr_array_index(outs, i), error))
            return FALSE;
    return TRUE;
}

void
tr_outputs_free(tr_outputs *o)
{
    if (o == NULL)
        return;
    tr_requests_csv_free(o->csv);
    tr_steps_free(o->steps);
    tr_perfetto_free(o->perf);
    json_decref(o->sections);
    g_free(o->dir);
    g_free(o->steps_file);
    g_free(o->perfetto);
    g_free(o->model_id);
    g_free(o);
}
