/* traces/dsa_trace.c: the DSA observer (see dsa_trace.h). Per request it keeps the layer
 * grouping (which layers reuse which head's selection), one synthesizer state and one hot
 * buffer per head, and its prefix key. Every step advances each needed head exactly once and
 * materialises its selection once (layers of a group share it), so a record's content depends
 * only on (seed, request, layer, step) — never on sampling, layer filters or offload. Traced
 * heads are served from the tiers every decode step even when the step is not sampled, so the
 * hot buffers evolve exactly. */
#include "traces/dsa_trace.h"

#include <math.h>
#include <string.h>

#include "base/error.h"
#include "base/io.h"
#include "base/json.h"
#include "base/rng.h"
#include "dsa/record.h"
#include "dsa/select.h"
#include "dsa/summary.h"
#include "sim/kvpool.h"
#include "sim/observe.h"
#include "sim/replica.h"

/* ---- parameters ---- */

static gboolean
parse_layers(const char *spec, uint32_t nlayers, uint8_t *traced, GError **error)
{
    if (spec == NULL || strcmp(spec, "all") == 0) {
        memset(traced, 1, nlayers);
        return TRUE;
    }
    memset(traced, 0, nlayers);
    g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
    for (guint i = 0; parts[i] != NULL; i++) {
        char *s = g_strstrip(parts[i]);
        char *end = NULL;
        guint64 v = g_ascii_strtoull(s, &end, 10);
        if (*s == '\0' || end == NULL || *end != '\0' || v >= nlayers) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                        "dsa.layers: '%s' is not a layer of this model (0..%u, or all)", s,
                        nlayers - 1);
            return FALSE;
        }
        traced[v] = 1;
    }
    return TRUE;
}

gboolean
tr_dsa_params_resolve(tr_dsa_params *p,
                      const dsa_options *o,
                      const tm_model_spec *m,
                      const tm_hardware *hw,
                      tm_dtype kv,
                      const char *output_dir,
                      uint64_t seed,
                      GError **error)
{
    memset(p, 0, sizeof *p);
    if (m->index_topk <= 0) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "--%s: model '%s' has no DSA indexer (index_topk); DSA settings need "
                    "deepseek-v3.2, deepseek-v3.2-exp or a config with index_topk",
                    dsa_options_first_set(o) ? dsa_options_first_set(o) : "dsa-trace", m->name);
        return FALSE;
    }
    p->topk = (uint32_t)m->index_topk;
    p->nlayers = (uint32_t)m->layers;
    p->traced = g_new0(uint8_t, p->nlayers);
    if (!parse_layers(o->layers, p->nlayers, p->traced, error))
        return FALSE;
    if (!(o->sample_rate > 0)) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "dsa.sample_rate: must be above 0 (use --no-dsa-trace for no records)");
        return FALSE;
    }
    p->sample_rate = o->sample_rate;
    p->max_requests = o->requests == BASE_OPT_UNSET_INT ? -1 : o->requests;
    p->block_size = (uint32_t)o->block_size;
    p->prefix_key_tokens = (uint32_t)o->prefix_key_tokens;
    p->store_scores = o->store_scores;
    if (!dsa_synth_load(o->selection, &p->synth, error) ||
        !dsa_synth_check(&p->synth, p->topk, error))
        return FALSE;
    dsa_tier_defaults d = {
        .hbm_bw = hw->mem_bw,
        .pcie_bw = hw->pcie.bw,
        .network_bw = hw->network.bw,
        .token_bytes = tm_model_mla_latent_bytes(m, kv),
        .index_key_bytes =
            (double)m->index_head_dim + 4.0 * (double)((m->index_head_dim + 127) / 128),
    };
    if (!dsa_tiers_resolve(o, &d, p->block_size, &p->tiers, error))
        return FALSE;
    p->offload = o->kv_offload;
    p->seed = seed;
    if (o->trace && output_dir != NULL)
        p->trace_path = g_path_is_absolute(o->trace_file)
                            ? g_strdup(o->trace_file)
                            : g_build_filename(output_dir, o->trace_file, NULL);
    return TRUE;
}

void
tr_dsa_params_clear(tr_dsa_params *p)
{
    g_free(p->trace_path);
    g_free(p->traced);
    memset(p, 0, sizeof *p);
}

/* ---- state ---- */

typedef struct dreq {
    uint64_t id;
    uint32_t nlayers;
    bool traced;       /* records may be written for it */
    uint16_t *head_of; /* per layer */
    dsa_head *heads;   /* per layer (used at head layers only) */
    dsa_hotbuf *hb;    /* per layer (head layers) */
    uint8_t *inited;   /* per layer: heads[l] initialised */
    uint32_t shared;   /* shared prefix blocks (pool blocks) checked so far */
    uint32_t preempt_seen;
    bool have_key;
    char key[17];
} dreq;

/* What one head yields in the current step. */
typedef struct hstep {
    uint64_t stamp; /* step counter it was computed for */
    uint32_t *pos;  /* k entries (arena) */
    uint32_t n;
    bool served;
    dsa_fetch f[DSA_NTIERS];
    bool stats_done;
    dsa_sel_stats st;
    uint32_t *bids; /* k entries */
    double smin, smean, smax;
} hstep;

struct tr_dsa {
    tr_dsa_params p;
    base_out *out;
    GHashTable *reqs; /* id → dreq* */
    dsa_summary *sum;
    dsa_synth_scratch synth;
    dsa_tier_scratch tier;
    hstep *hs; /* per layer */
    uint32_t *arena;
    uint32_t *btok, *hist;
    double *scores;
    uint64_t stamp;
    GString *line;
    dsa_record rec;
    /* offload figures */
    uint64_t steps_priced, decode_tokens;
    double extra_total_s, extra_max_s;
    double tier_latency_s[DSA_NTIERS]; /* Σ over every priced (request, layer), before overlap */
};

static void
dreq_free(gpointer x)
{
    dreq *q = x;
    for (uint32_t l = 0; l < q->nlayers; l++)
        if (q->inited[l]) {
            dsa_head_clear(&q->heads[l]);
            dsa_hotbuf_clear(&q->hb[l]);
        }
    g_free(q->head_of);
    g_free(q->heads);
    g_free(q->hb);
    g_free(q->inited);
    g_free(q);
}

tr_dsa *
tr_dsa_open(const tr_dsa_params *p, GError **error)
{
    g_autoptr(tr_dsa) d = g_new0(tr_dsa, 1);
    d->p = *p;
    d->p.trace_path = g_strdup(p->trace_path);
    d->p.traced = g_memdup2(p->traced, p->nlayers);
    if (p->trace_path != NULL) {
        d->out = base_out_open(p->trace_path, error);
        if (d->out == NULL)
            return NULL;
    }
    d->reqs = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, dreq_free);
    d->sum = dsa_summary_new();
    uint32_t L = p->nlayers, k = p->topk;
    d->hs = g_new0(hstep, L);
    d->arena = g_new(uint32_t, (size_t)L * k * 2);
    for (uint32_t l = 0; l < L; l++) {
        d->hs[l].pos = d->arena + (size_t)l * k * 2;
        d->hs[l].bids = d->hs[l].pos + k;
    }
    d->btok = g_new(uint32_t, k);
    d->hist = g_new0(uint32_t, (size_t)p->block_size + 1);
    d->scores = g_new(double, k);
    d->line = g_string_sized_new(64 * 1024);
    dsa_record_reserve(&d->rec, k);
    return g_steal_pointer(&d);
}

void
tr_dsa_free(tr_dsa *d)
{
    if (d == NULL)
        return;
    base_out_free(d->out);
    if (d->reqs != NULL)
        g_hash_table_destroy(d->reqs);
    dsa_summary_free(d->sum);
    dsa_synth_scratch_clear(&d->synth);
    dsa_tier_scratch_clear(&d->tier);
    g_free(d->hs);
    g_free(d->arena);
    g_free(d->btok);
    g_free(d->hist);
    g_free(d->scores);
    if (d->line != NULL)
        g_string_free(d->line, TRUE);
    dsa_record_clear(&d->rec);
    tr_dsa_params_clear(&d->p);
    g_free(d);
}

static dreq *
get_req(tr_dsa *d, const sim_request *r, bool traced)
{
    dreq *q = g_hash_table_lookup(d->reqs, &r->id);
    if (q != NULL)
        return q;
    uint32_t L = d->p.nlayers;
    q = g_new0(dreq, 1);
    q->id = r->id;
    q->traced = traced;
    q->head_of = g_new(uint16_t, L);
    dsa_synth_layer_heads(&d->p.synth, d->p.seed, r->id, L, q->head_of);
    q->heads = g_new0(dsa_head, L);
    q->hb = g_new0(dsa_hotbuf, L);
    q->inited = g_new0(uint8_t, L);
    q->nlayers = L;
    g_hash_table_insert(d->reqs, &q->id, q);
    return q;
}

static bool
sampled(const tr_dsa *d, uint64_t id, uint64_t step)
{
    if (d->p.sample_rate >= 1.0)
        return true;
    uint64_t h = sim_mix64(d->p.seed ^ sim_mix64(id * UINT64_C(0x9E3779B97F4A7C15) +
                                                 step * UINT64_C(0xD1B54A32D192ED03) + 1));
    return (double)(h >> 11) * 0x1.0p-53 < d->p.sample_rate;
}

/* Advances head H of Q to position T and materialises its selection (once per step). */
static hstep *
head_at(tr_dsa *d, dreq *q, uint32_t h, uint32_t t)
{
    hstep *s = &d->hs[h];
    if (s->stamp == d->stamp)
        return s;
    if (!q->inited[h]) {
        dsa_head_init(&q->heads[h], d->p.seed, q->id, h);
        q->inited[h] = 1;
    }
    dsa_head_step(&q->heads[h], &d->p.synth, d->p.topk, t, &d->synth);
    s->n = dsa_head_selection(&q->heads[h], &d->p.synth, d->p.topk, s->pos);
    s->stamp = d->stamp;
    s->served = false;
    s->stats_done = false;
    return s;
}

static void
serve(tr_dsa *d, dreq *q, uint32_t h, hstep *s, uint32_t t)
{
    if (s->served)
        return;
    bool resident = d->p.tiers.hot_buffer_tokens < 0;
    dsa_tiers_serve(&d->p.tiers, resident ? NULL : &q->hb[h], s->pos, s->n, t, s->f, &d->tier);
    s->served = true;
}

static void
write_record(tr_dsa *d,
             dreq *q,
             sim_request *r,
             const sim_kvpool *kv,
             uint32_t layer,
             hstep *s,
             uint32_t t,
             uint32_t batch)
{
    if (!s->stats_done) {
        dsa_sel_summarize(s->pos, s->n, t, d->p.block_size, s->bids, d->btok, d->hist, &s->st);
        dsa_synth_scores(&d->p.synth, s->pos, s->n, t, NULL, &s->smin, &s->smean, &s->smax);
        s->stats_done = true;
    }
    dsa_record *rec = &d->rec;
    rec->request_id = r->id;
    rec->layer_id = layer;
    rec->step_idx = t - r->prompt_tokens;
    rec->seq_len_current = t + 1;
    memcpy(rec->pos, s->pos, s->n * sizeof *rec->pos);
    rec->npos = s->n;
    rec->unique_token_pos_count = s->st.count;
    rec->offset_min = s->st.offset_min;
    rec->offset_p50 = s->st.offset_p50;
    rec->offset_max = s->st.offset_max;
    rec->block_size_tokens = d->p.block_size;
    memcpy(rec->block_ids, s->bids, s->st.unique_blocks * sizeof *rec->block_ids);
    rec->nblock_ids = s->st.unique_blocks;
    rec->unique_blocks = s->st.unique_blocks;
    rec->tpb_mean = s->st.tpb_mean;
    rec->tpb_p50 = s->st.tpb_p50;
    rec->tpb_p95 = s->st.tpb_p95;
    for (int k = 0; k < DSA_NTIERS; k++) {
        rec->fetch[k] = s->f[k];
        rec->fetch[k].batch_size = batch;
    }
    /* group D from the replica's prefix cache (the KV pool's own hash chain) */
    if (!q->have_key) {
        uint32_t nk =
            d->p.prefix_key_tokens < r->prompt_tokens ? d->p.prefix_key_tokens : r->prompt_tokens;
        uint64_t key = sim_kvpool_prefix_key(kv, r, nk);
        g_snprintf(q->key, sizeof q->key, "%016" G_GINT64_MODIFIER "x", key);
        q->have_key = true;
    }
    if (r->preemptions != q->preempt_seen) {
        q->preempt_seen = r->preemptions;
        q->shared = 0;
    }
    q->shared = sim_kvpool_shared_prefix_blocks(kv, r, q->shared);
    uint64_t cached_tokens = (uint64_t)q->shared * sim_kvpool_block_size(kv);
    uint32_t cached = (uint32_t)(cached_tokens / d->p.block_size);
    rec->prefix_cache_hit = r->prefix_hit_tokens > 0;
    rec->prefix_cached_blocks = cached;
    g_strlcpy(rec->prefix_key, q->key, sizeof rec->prefix_key);
    uint32_t ni = 0;
    while (ni < rec->nblock_ids && rec->block_ids[ni] < cached) {
        rec->isect[ni] = rec->block_ids[ni];
        ni++;
    }
    rec->nisect = ni;
    rec->intersection_ratio = rec->unique_blocks > 0 ? (double)ni / rec->unique_blocks : 0;
    rec->score_min = s->smin;
    rec->score_mean = s->smean;
    rec->score_max = s->smax;
    rec->has_scores = d->p.store_scores;
    if (rec->has_scores) {
        dsa_synth_scores(&d->p.synth, s->pos, s->n, t, rec->scores, &rec->score_min,
                         &rec->score_mean, &rec->score_max);
        rec->nscores = s->n;
    }
    dsa_record_round(rec); /* the summary sees what the trace says */
    dsa_summary_add(d->sum, rec);
    if (d->out != NULL) {
        g_string_truncate(d->line, 0);
        dsa_record_format(rec, d->line);
        base_out_write(d->out, d->line->str, d->line->len);
    }
}

static bool
is_decode(const sim_request *r)
{
    return r->planned_new == 1 && r->planned_ctx >= r->prompt_tokens;
}

static void
on_planned(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    tr_dsa *d = ctx;
    sim_step_planned *sp = (sim_step_planned *)(uintptr_t)payload;
    const sim_replica *rep = sp->replica;
    uint32_t batch = 0;
    for (uint32_t i = 0; i < rep->nplanned; i++)
        batch += is_decode(rep->planned[i]);
    if (batch == 0)
        return;
    double fetch_s = 0;
    bool resident = d->p.tiers.hot_buffer_tokens < 0;
    for (uint32_t i = 0; i < rep->nplanned; i++) {
        sim_request *r = rep->planned[i];
        if (!is_decode(r))
            continue;
        bool traced = d->p.max_requests < 0 || r->id < (uint64_t)d->p.max_requests;
        if (!traced && !d->p.offload)
            continue;
        dreq *q = get_req(d, r, traced);
        uint32_t t = r->planned_ctx;
        bool keep = traced && sampled(d, r->id, t - r->prompt_tokens);
        d->stamp++;
        for (uint32_t l = 0; l < d->p.nlayers; l++) {
            bool rec_layer = traced && d->p.traced[l];
            if (!rec_layer && !d->p.offload)
                continue;
            uint32_t h = q->head_of[l];
            hstep *s = head_at(d, q, h, t);
            /* hot buffers evolve every step; resident tiers need serving only when used */
            if (d->p.offload || !resident || (rec_layer && keep))
                serve(d, q, h, s, t);
            if (d->p.offload)
                for (int k = DSA_TIER_LOCAL; k < DSA_NTIERS; k++) {
                    fetch_s += s->f[k].latency_us * 1e-6;
                    d->tier_latency_s[k] += s->f[k].latency_us * 1e-6;
                }
            if (rec_layer && keep)
                write_record(d, q, r, rep->kv, l, s, t, batch);
        }
    }
    if (d->p.offload) {
        double extra = (1.0 - d->p.tiers.overlap) * fetch_s;
        sp->extra_s += extra;
        d->steps_priced++;
        d->decode_tokens += batch;
        d->extra_total_s += extra;
        d->extra_max_s = extra > d->extra_max_s ? extra : d->extra_max_s;
    }
}

static void
on_done(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    tr_dsa *d = ctx;
    const sim_request_record *rr = payload;
    if (g_hash_table_remove(d->reqs, &rr->id))
        dsa_summary_request_done(d->sum, rr->id);
}

void
tr_dsa_subscribe(tr_dsa *d, sim_engine *e)
{
    sim_engine_subscribe(e, SIM_TOPIC_STEP_PLANNED, on_planned, d);
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, on_done, d);
}

gboolean
tr_dsa_commit(tr_dsa *d, GError **error)
{
    return d->out == NULL || base_out_commit(d->out, error);
}

uint64_t
tr_dsa_records(const tr_dsa *d)
{
    return dsa_summary_records(d->sum);
}

json_t *
tr_dsa_summary_json(const tr_dsa *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "trace_file",
                        d->p.trace_path != NULL ? json_string(d->p.trace_path) : json_null());
    json_object_set_new(o, "index_topk", json_integer(d->p.topk));
    json_object_set_new(o, "block_size_tokens", json_integer(d->p.block_size));
    json_object_set_new(o, "sample_rate", base_json_real(d->p.sample_rate));
    json_object_set_new(o, "selection", dsa_synth_to_json(&d->p.synth));
    json_object_set_new(o, "selection_note",
                        json_string("positions and scores are synthetic (docs/dsa.md): "
                                    "[assume] until fitted to a captured trace"));
    json_object_set_new(o, "tiers", dsa_tiers_to_json(&d->p.tiers));
    json_t *sum = dsa_summary_json(d->sum);
    json_object_update(o, sum);
    json_decref(sum);
    json_t *off = json_object();
    json_object_set_new(off, "enabled", json_boolean(d->p.offload));
    json_object_set_new(off, "decode_steps", json_integer((json_int_t)d->steps_priced));
    json_object_set_new(off, "decode_tokens", json_integer((json_int_t)d->decode_tokens));
    json_object_set_new(off, "added_s", base_json_real(d->extra_total_s));
    json_object_set_new(off, "added_ms_per_step",
                        d->steps_priced > 0
                            ? base_json_real(d->extra_total_s * 1e3 / (double)d->steps_priced)
                            : json_null());
    json_object_set_new(off, "added_ms_max", base_json_real(d->extra_max_s * 1e3));
    json_t *tl = json_object();
    for (int k = DSA_TIER_LOCAL; k < DSA_NTIERS; k++)
        json_object_set_new(tl, dsa_tier_names[k], base_json_real(d->tier_latency_s[k]));
    json_object_set_new(off, "fetch_s_by_tier", tl);
    json_object_set_new(off, "note",
                        json_string("decode steps only: prefill chunks read their context "
                                    "from HBM; the HBM KV capacity is not enlarged by "
                                    "offloading (set --num-gpu-blocks-override for that)"));
    json_object_set_new(o, "offload", off);
    return o;
}
