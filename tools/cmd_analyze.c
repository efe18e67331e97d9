/* tools/cmd_analyze.c: `servesim analyze workload [FILE|NAME] [FLAGS]`: a first look at a
 * workload (any format, any workload flag: transforms apply) in one streaming pass: requests,
 * rate over time, length distributions, burstiness, sessions and prefix sharing
 * (workloads/analyze.h). --json prints the same figures as one JSON object. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/match.h"
#include "base/opts.h"
#include "tools/cli.h"
#include "workloads/analyze.h"
#include "workloads/workload.h"

static const char synopsis[] = "analyze workload [FILE|NAME] [FLAGS]";

typedef struct analyze_args {
    wl_options wl; /* first: wl_options_table offsets apply as they are */
    bool json;
    double bucket_s;
    int64_t block_tokens;
    int64_t max_blocks;
    int64_t max_model_len;
    int64_t seed;
} analyze_args;

#define A(f) offsetof(analyze_args, f)
static const base_opt rows[] = {
    {"json", "json", BASE_OPT_BOOL, A(json), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print one JSON object instead of text"},
    {"bucket", "bucket", BASE_OPT_DOUBLE, A(bucket_s), "60", NULL, 1e-3, 1e9, BASE_OPT_CLI_ONLY,
     "S", "rate-over-time bucket width in seconds"},
    {"block_size", "block-size", BASE_OPT_INT, A(block_tokens), "16", NULL, 1, 65536,
     BASE_OPT_CLI_ONLY, "N", "KV block size (tokens) for the prefix-sharing statistics"},
    {"max_blocks", "max-blocks", BASE_OPT_INT, A(max_blocks), "4000000", NULL, 2, 1e10,
     BASE_OPT_CLI_ONLY, "N", "bound on remembered block hashes (memory ~16 B each)"},
    {"max_model_len", "max-model-len", BASE_OPT_INT, A(max_model_len), "0", NULL, 0, 1e9,
     BASE_OPT_CLI_ONLY, "N", "max prompt+output tokens for --over-length (0 = unknown)"},
    {"seed", "seed", BASE_OPT_INT, A(seed), "0", NULL, 0, 9.2e18, BASE_OPT_CLI_ONLY, "N",
     "random seed (synthetic workloads, shuffles)"},
};
static const base_opt_table local = {"Analyze", rows, G_N_ELEMENTS(rows), 0};

static json_t *
length_json(const wl_length_stats *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "total", json_integer((json_int_t)s->total));
    json_object_set_new(o, "mean", base_json_real(s->mean));
    json_object_set_new(o, "min", base_json_number(s->min));
    json_object_set_new(o, "p50", base_json_number(s->p50));
    json_object_set_new(o, "p90", base_json_number(s->p90));
    json_object_set_new(o, "p99", base_json_number(s->p99));
    json_object_set_new(o, "max", base_json_number(s->max));
    return o;
}

static json_t *
to_json(const wl_source_info *info,
        const wl_counters *c,
        const char *first_bad,
        const wl_analysis_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "workload", json_string(info->name));
    json_object_set_new(o, "format", json_string(info->format));
    json_t *cj = json_object();
    json_object_set_new(cj, "rows", json_integer((json_int_t)c->rows));
    json_object_set_new(cj, "emitted", json_integer((json_int_t)c->emitted));
    json_object_set_new(cj, "skipped_bad_rows", json_integer((json_int_t)c->skipped_bad));
    json_object_set_new(cj, "filtered", json_integer((json_int_t)c->filtered));
    json_object_set_new(cj, "clipped", json_integer((json_int_t)c->clipped));
    json_object_set_new(cj, "rejected", json_integer((json_int_t)c->rejected));
    json_object_set_new(cj, "first_skipped", first_bad ? json_string(first_bad) : json_null());
    json_object_set_new(o, "counters", cj);
    json_object_set_new(o, "requests", json_integer((json_int_t)r->requests));
    json_object_set_new(o, "first_arrival_s", base_json_real((double)r->first_ns * 1e-9));
    json_object_set_new(o, "last_arrival_s", base_json_real((double)r->last_ns * 1e-9));
    json_object_set_new(o, "span_s", base_json_real(r->span_s));
    json_object_set_new(o, "mean_rate", base_json_real(r->mean_rate));
    json_t *ia = json_object();
    json_object_set_new(ia, "mean_s", base_json_real(r->ia_mean_s));
    json_object_set_new(ia, "cv", base_json_real(r->ia_cv));
    json_object_set_new(o, "interarrival", ia);
    json_object_set_new(o, "prompt_tokens", length_json(&r->prompt));
    json_object_set_new(o, "output_tokens", length_json(&r->output));
    json_t *se = json_object();
    json_object_set_new(se, "sessions", json_integer((json_int_t)r->sessions));
    json_object_set_new(se, "max_turn", json_integer(r->max_turn));
    json_object_set_new(o, "sessions", se);
    json_t *ps = json_object();
    json_object_set_new(ps, "block_tokens", json_integer(r->block_tokens));
    json_object_set_new(ps, "prompt_blocks", json_integer((json_int_t)r->prompt_blocks));
    json_object_set_new(ps, "shared_blocks", json_integer((json_int_t)r->shared_blocks));
    json_object_set_new(ps, "shared_token_fraction", base_json_real(r->shared_token_frac));
    json_object_set_new(ps, "requests_with_hit", json_integer((json_int_t)r->requests_with_hit));
    json_object_set_new(ps, "blocks_forgotten", json_integer((json_int_t)r->blocks_forgotten));
    json_object_set_new(o, "prefix_sharing", ps);
    json_object_set_new(o, "max_concurrency", json_integer(info->max_concurrency));
    json_t *st = json_array();
    for (uint32_t i = 0; i < info->nstages; i++) {
        const wl_stage *s = &info->stages[i];
        json_t *e = json_object();
        json_object_set_new(e, "rate", base_json_real(s->rate));
        json_object_set_new(e, "duration_s", base_json_real(s->duration_s));
        json_object_set_new(e, "concurrency", json_integer(s->concurrency));
        json_object_set_new(e, "num_requests", json_integer(s->num_requests));
        json_array_append_new(st, e);
    }
    json_object_set_new(o, "stages", st);
    json_t *rt = json_object();
    json_object_set_new(rt, "bucket_s", base_json_real(r->bucket_s));
    json_t *counts = json_array();
    for (size_t i = 0; i < r->nbuckets; i++)
        json_array_append_new(counts, json_integer((json_int_t)r->buckets[i]));
    json_object_set_new(rt, "counts", counts);
    json_object_set_new(o, "rate_over_time", rt);
    return o;
}

static void
print_lengths(const char *what, const wl_length_stats *s)
{
    printf("%-14s mean %9.1f  p50 %8.0f  p90 %8.0f  p99 %8.0f  min %6.0f  max %8.0f  total %" PRIu64
           "\n",
           what, s->mean, s->p50, s->p90, s->p99, s->min, s->max, s->total);
}

static void
print_text(const wl_source_info *info, const wl_counters *c, const wl_analysis_result *r)
{
    printf("workload       %s (format %s)\n", info->name, info->format);
    printf("requests       %" PRIu64 "  (rows %" PRIu64 ", skipped bad %" PRIu64
           ", filtered %" PRIu64 ", clipped %" PRIu64 ", rejected %" PRIu64 ")\n",
           r->requests, c->rows, c->skipped_bad, c->filtered, c->clipped, c->rejected);
    if (r->requests == 0)
        return;
    /* One arrival has no rate and no inter-arrival time: n/a, never nan. */
    char rate[BASE_FIXED_LEN], ia[BASE_FIXED_LEN], cv[BASE_FIXED_LEN];
    printf("arrivals       %.3f s .. %.3f s  (span %.3f s, mean rate %s req/s)\n",
           (double)r->first_ns * 1e-9, (double)r->last_ns * 1e-9, r->span_s,
           base_fixed(rate, r->mean_rate, 3));
    printf("inter-arrival  mean %s s  CV %s  (1 = Poisson, > 1 burstier)\n",
           base_fixed(ia, r->ia_mean_s, 4), base_fixed(cv, r->ia_cv, 3));
    print_lengths("prompt tokens", &r->prompt);
    print_lengths("output tokens", &r->output);
    if (r->sessions > 0)
        printf("sessions       %" PRIu64 "  (max turn %u)\n", r->sessions, r->max_turn);
    if (info->max_concurrency > 0)
        printf("concurrency    at most %" PRId64 " in flight\n", info->max_concurrency);
    for (uint32_t i = 0; i < info->nstages; i++) {
        const wl_stage *s = &info->stages[i];
        if (s->concurrency > 0)
            printf("stage %-8u concurrency %" PRId64 ", %" PRId64 " requests\n", i, s->concurrency,
                   s->num_requests);
        else
            printf("stage %-8u %.3f req/s for %.1f s from %.1f s\n", i, s->rate, s->duration_s,
                   (double)s->start_ns * 1e-9);
    }
    printf("prefix sharing %.1f%% of prompt tokens in %u-token blocks seen before; %" PRIu64
           " of %" PRIu64 " requests hit%s\n",
           100.0 * (isnan(r->shared_token_frac) ? 0 : r->shared_token_frac), r->block_tokens,
           r->requests_with_hit, r->requests,
           r->blocks_forgotten > 0 ? " (memory bound reached: older blocks forgotten)" : "");
    /* Rate over time, at most 24 rows (consecutive buckets merged). */
    size_t per = (r->nbuckets + 23) / 24;
    if (per == 0)
        return;
    double w = r->bucket_s * (double)per;
    printf("rate over time (%.0f s buckets):\n", w);
    uint64_t peak = 0;
    for (size_t i = 0; i < r->nbuckets; i += per) {
        uint64_t n = 0;
        for (size_t k = i; k < i + per && k < r->nbuckets; k++)
            n += r->buckets[k];
        peak = MAX(peak, n);
    }
    for (size_t i = 0; i < r->nbuckets; i += per) {
        uint64_t n = 0;
        for (size_t k = i; k < i + per && k < r->nbuckets; k++)
            n += r->buckets[k];
        int bar = peak > 0 ? (int)(40.0 * (double)n / (double)peak + 0.5) : 0;
        printf("  %10.0f s %8" PRIu64 " %9.3f req/s  %.*s\n", (double)i * r->bucket_s, n,
               (double)n / w, bar, "########################################");
    }
}

int
cmd_analyze(int argc, char **argv)
{
    /* wl_options sits at offset 0 of analyze_args, so both tables apply as they are. */
    const base_opt_table tables[2] = {wl_options_table, local};
    const base_opt_set schema = {tables, 2};
    const base_opt_set *set = &schema;
    if (cli_wants_help(argc, argv)) {
        cli_print_help(
            synopsis,
            "A first look at a workload: requests, rate over time, prompt/output length\n"
            "distributions (mean, p50/p90/p99), burstiness (CV of inter-arrival times),\n"
            "sessions and prefix sharing. FILE is any supported trace or spec (format\n"
            "detected from the content), an embedded name, or 'synthetic'; without FILE,\n"
            "the embedded default. Workload flags (transforms, generators) apply.",
            set);
        return CLI_OK;
    }
    if (argc < 2 || strcmp(argv[1], "workload") != 0)
        return cli_usage_error(synopsis, "analyze: expected 'workload'");
    analyze_args a;
    memset(&a, 0, sizeof a);
    base_opts_defaults(set, &a);
    g_autoptr(GPtrArray) pos = g_ptr_array_new();
    GError *err = NULL;
    if (!base_opts_parse_args(set, &a, argc - 2, argv + 2, pos, &err)) {
        base_opts_clear(set, &a);
        return cli_fail(err, CLI_USAGE);
    }
    if (pos->len > 1 || (pos->len == 1 && a.wl.source != NULL)) {
        base_opts_clear(set, &a);
        return cli_usage_error(synopsis, "analyze workload: give one FILE");
    }
    if (pos->len == 1)
        a.wl.source = g_strdup(g_ptr_array_index(pos, 0));
    wl_open_params params = {(uint64_t)a.seed, a.max_model_len};
    int rc = CLI_OK;
    wl_source *src = wl_open(&a.wl, &params, &err);
    if (src == NULL) {
        base_opts_clear(set, &a);
        return cli_fail(err, CLI_USAGE);
    }
    wl_analysis_params ap = {a.bucket_s, (uint32_t)a.block_tokens, (size_t)a.max_blocks};
    wl_analysis *an = wl_analysis_new(&ap);
    wl_request r;
    int got;
    while ((got = wl_source_next(src, &r, &err)) == 1)
        wl_analysis_add(an, &r);
    if (got < 0) {
        rc = cli_fail(err, CLI_USAGE);
    } else {
        wl_analysis_result res;
        wl_analysis_result_get(an, &res);
        wl_counters c = wl_source_get_counters(src);
        const char *first_bad = wl_source_first_skipped(src);
        const wl_source_info *info = wl_source_get_info(src);
        if (a.json) {
            json_auto_t *j = to_json(info, &c, first_bad, &res);
            g_autofree char *s = base_json_dumps(j);
            fputs(s, stdout);
        } else {
            print_text(info, &c, &res);
        }
        if (c.skipped_bad > 0)
            fprintf(stderr, "servesim: skipped %" PRIu64 " malformed rows (first: %s)\n",
                    c.skipped_bad, first_bad);
    }
    wl_analysis_free(an);
    wl_source_free(src);
    base_opts_clear(set, &a);
    return rc;
}
