/* tools/bench_dsa.c: `servesim bench dsa`: speed of the DSA pipeline (docs/dsa.md), per CPU
 * second of this process:
 *   synthesize + summarize: decode steps of many (request, layer) heads at a long context —
 *     synthesizer step, selection, block arithmetic, synthetic scores, tier service, the record
 *     filled and added to the trace summary — with no trace written, once with the default
 *     tiers (4,096-token LRU hot buffer per head, local pool) and once with everything resident;
 *     figure = selected positions per CPU-second (target ≥ 100 M);
 *   write: the same records formatted as JSONL and written to a plain file (and a .gz one);
 *     figure = MB per CPU-second (target ≥ 100 MB/s);
 *   read: `analyze dsa`'s path (streaming reader + summary) over the plain file; figure = MB per
 *     CPU-second (target ≥ 100 MB/s).
 * Benchmarks print figures; they never assert. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "base/io.h"
#include "base/opts.h"
#include "dsa/options.h"
#include "dsa/record.h"
#include "dsa/select.h"
#include "dsa/summary.h"
#include "dsa/synth.h"
#include "dsa/tiers.h"
#include "tools/bench.h"
#include "tools/cli.h"

typedef struct {
    int64_t records;
    int64_t context;
    char *selection;
    char *dir;
} dsa_bench_args;

static const base_opt rows[] = {
    {"records", "records", BASE_OPT_INT, offsetof(dsa_bench_args, records), "60000", NULL, 1, 1e10,
     BASE_OPT_CLI_ONLY, "N", "records (decode step × request × layer) per phase"},
    {"context", "context", BASE_OPT_INT, offsetof(dsa_bench_args, context), "32768", NULL, 4096,
     1e7, BASE_OPT_CLI_ONLY, "TOKENS", "context length at the first step"},
    {"selection", "selection", BASE_OPT_STRING, offsetof(dsa_bench_args, selection), "clustered",
     NULL, 0, 0, BASE_OPT_CLI_ONLY, "NAME", "synthesizer preset"},
    {"dir", "dir", BASE_OPT_STRING, offsetof(dsa_bench_args, dir), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "DIR",
     "where the trace files are written (default: a temporary directory, removed after)"},
};
static const base_opt_table table = {"bench dsa", rows, G_N_ELEMENTS(rows), 0};
static const base_opt_set set = {&table, 1};

#define K     2048
#define HEADS 64 /* (request, layer) heads stepped round-robin */

typedef struct pipe {
    dsa_synth_params p;
    dsa_tiers tiers;
    dsa_head heads[HEADS];
    dsa_hotbuf hb[HEADS];
    uint32_t t[HEADS];
    dsa_synth_scratch ss;
    dsa_tier_scratch ts;
    uint32_t *btok, hist[17];
    dsa_record rec;
    dsa_summary *sum;
} pipe;

static void
pipe_init(pipe *x, const dsa_bench_args *a, bool resident)
{
    memset(x, 0, sizeof *x);
    dsa_synth_preset(a->selection, &x->p);
    const base_opt_set ds = {&dsa_options_table, 1};
    dsa_options o;
    memset(&o, 0, sizeof o);
    base_opts_defaults(&ds, &o);
    /* H100 SXM: HBM 3.35 TB/s, PCIe Gen5 64 GB/s, 400G NIC 50 GB/s; DeepSeek-V3.2 fp8 sizes */
    dsa_tier_defaults d = {3.35e12, 64e9, 50e9, 656, 132};
    dsa_tiers_resolve(&o, &d, 16, &x->tiers, NULL);
    base_opts_clear(&ds, &o);
    if (resident)
        x->tiers.hot_buffer_tokens = -1; /* everything in HBM: no LRU to keep */
    for (int h = 0; h < HEADS; h++) {
        dsa_head_init(&x->heads[h], 1, (uint64_t)h, 0);
        x->t[h] = (uint32_t)a->context + 997u * (uint32_t)h;
    }
    x->btok = g_new(uint32_t, K);
    dsa_record_reserve(&x->rec, K);
    x->sum = dsa_summary_new();
}

static void
pipe_clear(pipe *x)
{
    for (int h = 0; h < HEADS; h++) {
        dsa_head_clear(&x->heads[h]);
        dsa_hotbuf_clear(&x->hb[h]);
    }
    dsa_synth_scratch_clear(&x->ss);
    dsa_tier_scratch_clear(&x->ts);
    g_free(x->btok);
    dsa_record_clear(&x->rec);
    dsa_summary_free(x->sum);
}

/* One record of head H at its next step, as traces/dsa_trace.c builds it. */
static void
pipe_record(pipe *x, int h, uint64_t i)
{
    uint32_t t = x->t[h]++;
    dsa_record *r = &x->rec;
    dsa_head_step(&x->heads[h], &x->p, K, t, &x->ss);
    r->npos = dsa_head_selection(&x->heads[h], &x->p, K, r->pos);
    dsa_sel_stats st;
    dsa_sel_summarize(r->pos, r->npos, t, 16, r->block_ids, x->btok, x->hist, &st);
    dsa_tiers_serve(&x->tiers, x->tiers.hot_buffer_tokens < 0 ? NULL : &x->hb[h], r->pos, r->npos,
                    t, r->fetch, &x->ts);
    dsa_synth_scores(&x->p, r->pos, r->npos, t, NULL, &r->score_min, &r->score_mean, &r->score_max);
    r->request_id = (uint64_t)h;
    r->layer_id = 0;
    r->step_idx = i / HEADS;
    r->seq_len_current = t + 1;
    r->unique_token_pos_count = st.count;
    r->offset_min = st.offset_min;
    r->offset_p50 = st.offset_p50;
    r->offset_max = st.offset_max;
    r->block_size_tokens = 16;
    r->nblock_ids = r->unique_blocks = st.unique_blocks;
    r->tpb_mean = st.tpb_mean;
    r->tpb_p50 = st.tpb_p50;
    r->tpb_p95 = st.tpb_p95;
    g_strlcpy(r->prefix_key, "0123456789abcdef", sizeof r->prefix_key);
    r->nisect = 0;
    r->intersection_ratio = 0;
    dsa_record_round(r);
    dsa_summary_add(x->sum, r);
}

int
bench_dsa(int argc, char **argv)
{
    dsa_bench_args a = {0};
    base_opts_defaults(&set, &a);
    if (cli_wants_help(argc, argv)) {
        cli_print_help("bench dsa [--records N] [--context TOKENS] [--selection NAME] [--dir DIR]",
                       "DSA pipeline speed: synthesize + summarize (selected positions per "
                       "CPU-second), JSONL write and analyze read (MB per CPU-second).",
                       &set);
        base_opts_clear(&set, &a);
        return CLI_OK;
    }
    GError *err = NULL;
    if (!base_opts_parse_args(&set, &a, argc - 1, argv + 1, NULL, &err)) {
        base_opts_clear(&set, &a);
        return cli_fail(err, CLI_USAGE);
    }
    dsa_synth_params chk;
    if (!dsa_synth_preset(a.selection, &chk)) {
        base_opts_clear(&set, &a);
        return cli_failf(CLI_USAGE, "--selection: unknown preset '%s'", a.selection);
    }
    g_autofree char *tmpdir =
        a.dir == NULL ? g_dir_make_tmp("servesim-bench-dsa-XXXXXX", NULL) : g_strdup(a.dir);
    g_autofree char *plain = g_build_filename(tmpdir, "trace_steps.jsonl", NULL);
    g_autofree char *gz = g_build_filename(tmpdir, "trace_steps.jsonl.gz", NULL);
    uint64_t n = (uint64_t)a.records;
    printf("DSA pipeline, preset %s, k = 2048, context %" PRId64 "+, %" PRIu64 " records, "
           "%d heads\n",
           a.selection, a.context, n, HEADS);

    /* 1: synthesize + summarize, nothing written: with the default tiers (4K-token LRU hot
     * buffer per head, local pool) and with everything resident in HBM */
    pipe x;
    for (int variant = 0; variant < 2; variant++) {
        pipe_init(&x, &a, variant == 1);
        double c0 = cli_cpu_s();
        uint64_t positions = 0;
        for (uint64_t i = 0; i < n; i++) {
            pipe_record(&x, (int)(i % HEADS), i);
            positions += x.rec.npos;
        }
        double c1 = cli_cpu_s() - c0;
        json_t *sj = dsa_summary_json(x.sum);
        json_t *ub = json_object_get(sj, "unique_blocks");
        printf("synthesize + summarize   %8.1f M selected positions per CPU-second  (%.2f s CPU; "
               "%s; mean unique blocks of 16: %.1f)\n",
               (double)positions / c1 / 1e6, c1,
               variant == 0 ? "4K-token LRU hot buffer" : "all resident in HBM",
               json_number_value(json_object_get(ub, "mean")));
        json_decref(sj);
        pipe_clear(&x);
    }

    /* 2: records written as JSONL, plain then gzip: a ring of synthesized records is
     * formatted and written N times, so only formatting and writing are timed */
    enum { RING = 256 };

    dsa_record *ring = g_new0(dsa_record, RING);
    pipe_init(&x, &a, false);
    for (int i = 0; i < RING; i++) {
        pipe_record(&x, i % HEADS, (uint64_t)i);
        dsa_record *d = &ring[i];
        dsa_record_reserve(d, K);
        uint32_t *pos = d->pos, *bid = d->block_ids, *is = d->isect;
        double *sc = d->scores;
        uint32_t pc = d->pos_cap, bc = d->block_ids_cap, ic = d->isect_cap, scc = d->scores_cap;
        *d = x.rec;
        d->pos = pos;
        d->block_ids = bid;
        d->isect = is;
        d->scores = sc;
        d->pos_cap = pc;
        d->block_ids_cap = bc;
        d->isect_cap = ic;
        d->scores_cap = scc;
        memcpy(d->pos, x.rec.pos, x.rec.npos * sizeof *d->pos);
        memcpy(d->block_ids, x.rec.block_ids, x.rec.nblock_ids * sizeof *d->block_ids);
    }
    pipe_clear(&x);
    int rc = CLI_OK;
    const char *paths[2] = {plain, gz};
    for (int f = 0; f < 2 && rc == CLI_OK; f++) {
        GString *line = g_string_sized_new(1 << 16);
        double t0 = cli_cpu_s();
        base_out *out = base_out_open(paths[f], &err);
        if (out == NULL) {
            rc = cli_fail(err, CLI_RUNTIME);
            g_string_free(line, TRUE);
            break;
        }
        uint64_t wbytes = 0;
        for (uint64_t i = 0; i < n; i++) {
            g_string_truncate(line, 0);
            dsa_record_format(&ring[i % RING], line);
            base_out_write(out, line->str, line->len);
            wbytes += line->len;
        }
        gboolean ok = base_out_commit(out, &err);
        double wcpu = cli_cpu_s() - t0;
        base_out_free(out);
        g_string_free(line, TRUE);
        if (!ok) {
            rc = cli_fail(err, CLI_RUNTIME);
            break;
        }
        printf("write JSONL%-4s          %8.1f MB per CPU-second  (%.1f MB, %.2f s CPU)\n",
               f == 0 ? "" : " .gz", (double)wbytes / wcpu / 1e6, (double)wbytes / 1e6, wcpu);
    }
    for (int i = 0; i < RING; i++)
        dsa_record_clear(&ring[i]);
    g_free(ring);

    /* 3: analyze dsa's read path over the plain file */
    for (int f = 0; f < 2 && rc == CLI_OK; f++) {
        double t0 = cli_cpu_s();
        g_autoptr(dsa_reader) rd = dsa_reader_open(paths[f], &err);
        if (rd == NULL) {
            rc = cli_fail(err, CLI_RUNTIME);
            break;
        }
        g_autoptr(dsa_summary) sum = dsa_summary_new();
        const dsa_record *rec;
        int got;
        uint64_t recs = 0;
        while ((got = dsa_reader_next(rd, false, &rec, &err)) == 1) {
            dsa_summary_add(sum, rec);
            recs++;
        }
        if (got < 0) {
            rc = cli_fail(err, CLI_RUNTIME);
            break;
        }
        json_decref(dsa_summary_json(sum));
        double rcpu = cli_cpu_s() - t0;
        printf("analyze dsa read%-4s     %8.1f MB per CPU-second  (%" PRIu64 " records, %.2f s "
               "CPU)\n",
               f == 0 ? "" : " .gz", (double)dsa_reader_bytes(rd) / rcpu / 1e6, recs, rcpu);
    }
    if (a.dir == NULL) {
        g_unlink(plain);
        g_unlink(gz);
        g_rmdir(tmpdir);
    }
    base_opts_clear(&set, &a);
    return rc;
}
