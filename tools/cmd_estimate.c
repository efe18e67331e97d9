/* tools/cmd_estimate.c: `servesim estimate`: roofline latency and throughput without a
 * simulation (timemodel/setup.h, roofline.h).
 *   One scenario: BATCH prompts of INPUT_LEN tokens prefilled in one step, then OUTPUT_LEN − 1
 *   decode steps (the first token comes from the prefill); component tables for the prefill
 *   step and for the decode step at the mean context, TTFT (prefill latency), TPOT, tokens/s
 *   per replica and per GPU, bottlenecks; --json / --csv.
 *   --scenarios FILE.csv: one row per scenario with columns tp, dp, batch_per_gpu, seq_len,
 *   decode_tokens, grad_accum (optional; missing ones take the flag values; pp, model,
 *   hardware, dtype, kv_cache_dtype are honoured too); every row is written back with the
 *   predicted columns appended, extra columns passed through.
 *   --speculative-config JSON (docs/speculative.md "estimate"): every decode step is a verify
 *   of 1 + k tokens per sequence plus the drafter's passes (timemodel/spec.h), yielding the
 *   expected acceptance length L tokens: ⌈(OUTPUT_LEN − 1) / L⌉ steps, the last one weighted
 *   by its fraction; TPOT = mean step / L. The memory check counts the drafter's weights, its
 *   KV and the k lookahead slots.
 * --batch is the number of sequences of one DP rank (one engine of tp×pp GPUs). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/io.h"
#include "base/json.h"
#include "base/match.h"
#include "base/opts.h"
#include "timemodel/scenario.h"
#include "timemodel/setup.h"
#include "timemodel/spec.h"
#include "tools/cli.h"
#include "tools/estimate.h"
#include "tools/runner.h"

static const char synopsis[] =
    "estimate [--model M[,M...]] [--hardware H] [--batch N] [--input-len N] "
    "[--output-len N] [--overlap X] [--speculative-config JSON] [--json|--csv] | --scenarios "
    "FILE.csv";

typedef struct estimate_args {
    tm_options tm; /* first: tm_options_table offsets apply as they are */
    int64_t batch;
    int64_t input_len;
    int64_t output_len;
    bool json;
    bool csv;
    char *scenarios;
    char *output;
    bool keep_going;
    double step_overhead_us;
    double per_seq_overhead_us;
    double gpu_memory_utilization;
    int64_t max_model_len;
    int64_t block_size;
    double overlap; /* φ of the timeline view (tools/cmd_estimate_views.c); NAN = no view */
    json_t *speculative_config; /* vLLM's --speculative-config; NULL = off */
} estimate_args;

#define A(f) offsetof(estimate_args, f)
static const base_opt rows[] = {
    {"batch", "batch", BASE_OPT_INT, A(batch), "1", NULL, 1, 1e7, BASE_OPT_CLI_ONLY, "N",
     "sequences in the batch (per DP rank)"},
    {"input_len", "input-len", BASE_OPT_INT, A(input_len), "1024", NULL, 1, 1e8, BASE_OPT_CLI_ONLY,
     "N", "prompt tokens per sequence"},
    {"output_len", "output-len", BASE_OPT_INT, A(output_len), "128", NULL, 1, 1e8,
     BASE_OPT_CLI_ONLY, "N", "output tokens per sequence (the first comes from the prefill)"},
    {"json", "json", BASE_OPT_BOOL, A(json), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print one JSON object"},
    {"csv", "csv", BASE_OPT_BOOL, A(csv), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print the component rows as CSV"},
    {"scenarios", "scenarios", BASE_OPT_STRING, A(scenarios), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "FILE.csv",
     "price every row of FILE (columns tp,dp,batch_per_gpu,seq_len,decode_tokens,grad_accum)"},
    {"output", "output", BASE_OPT_STRING, A(output), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "FILE",
     "--scenarios: write the CSV here (default stdout)"},
    {"keep_going", "keep-going", BASE_OPT_BOOL, A(keep_going), "false", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, NULL,
     "--scenarios: write a row's error in an 'error' column instead of stopping"},
    {"step_overhead_us", "step-overhead-us", BASE_OPT_DOUBLE, A(step_overhead_us), NULL, NULL, 0,
     1e9, BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "US",
     "CPU overhead per step (default: calibration, else 126)"},
    {"per_seq_overhead_us", "per-seq-overhead-us", BASE_OPT_DOUBLE, A(per_seq_overhead_us), NULL,
     NULL, 0, 1e9, BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "US",
     "CPU overhead per sequence per step (default: calibration, else 4)"},
    {"gpu_memory_utilization", "gpu-memory-utilization", BASE_OPT_DOUBLE, A(gpu_memory_utilization),
     "0.9", NULL, 0.01, 1.0, BASE_OPT_CLI_ONLY, "X",
     "fraction of GPU memory for weights + activations + KV (memory check)"},
    {"max_model_len", "max-model-len", BASE_OPT_INT, A(max_model_len), NULL, NULL, 2, 1e9,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N",
     "context the KV cache must hold per request (default: input + output length)"},
    {"block_size", "block-size", BASE_OPT_INT, A(block_size), NULL, NULL, 1, 65536,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N", "KV block size (default 16; 64 for MLA)"},
    {"overlap", "overlap", BASE_OPT_DOUBLE, A(overlap), NULL, NULL, 0, 1,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "X",
     "φ: fraction of communication hidden under compute; prices with it (as --comm-overlap) and "
     "prints the prefill/decode compute vs communication timeline"},
    {"speculative_config", "speculative-config", BASE_OPT_JSON, A(speculative_config), NULL, NULL,
     0, 0, BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "JSON",
     "speculative decoding as `run` takes it: decode steps verify 1 + k tokens and run the "
     "drafter; TPOT = step / expected acceptance length; the drafter's memory counts "
     "(docs/speculative.md)"},
};
static const base_opt_table local = {"Estimate", rows, G_N_ELEMENTS(rows), 0};

/* ---- pricing ---------------------------------------------------------------------------- */

typedef struct phase {
    tm_roofline_detail d; /* prefill step, or the decode step at the mean context */
    double time_s;        /* prefill latency, or Σ of every decode step */
    int64_t steps;
    tm_row_id bottleneck;
    double draft_s; /* speculative decoding: the drafter's passes in the step d shows */
} phase;

/* Speculative decoding of the estimate (k 0: off). */
typedef struct spec_ctx {
    tm_spec_config cfg;
    tm_timemodel *draft; /* one drafter pass; NULL without a drafter on the GPU (ngram) */
    tm_memory_args ma;   /* the drafter's weights, KV bytes per token per GPU, lookahead slots */
} spec_ctx;

static void
spec_ctx_clear(spec_ctx *sp)
{
    tm_spec_config_clear(&sp->cfg);
    g_clear_pointer(&sp->draft, tm_timemodel_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(spec_ctx, spec_ctx_clear)

typedef struct result {
    phase prefill, decode;
    double tpot_s;        /* mean decode step */
    double decode_tok_s;  /* per replica (all DP ranks) during decode */
    double e2e_s;         /* prefill + all decode steps */
    double overall_tok_s; /* output tokens / e2e, per replica */
    int64_t gpus;
    tm_memory_plan plan;
    double kv_needed_bytes; /* per GPU for the batch's full contexts */
    /* speculative decoding */
    double accept_len;  /* expected tokens per verify step L (1 without) */
    double spec_steps;  /* expected verify steps (OUTPUT_LEN − 1) / L */
    double mean_step_s; /* decode time / spec_steps: verify + drafter, mean over the steps */
} result;

/* One decode step of BATCH sequences at context CTX: plain (K = 0), or a verify of 1 + k
 * tokens each followed by the drafter's passes (its proposal pass at CTX + 1 + k); *DRAFT_S
 * (may be NULL) gets the drafter's share. DETAIL (may be NULL) gets the target's rows. */
static double
decode_step(const tm_timemodel *tm,
            uint32_t topk,
            const spec_ctx *sp,
            int64_t batch,
            int64_t ctx,
            tm_roofline_detail *detail,
            double *draft_s)
{
    uint32_t k = sp != NULL ? sp->cfg.k : 0;
    tm_batch b;
    tm_batch_init(&b, topk);
    b.decode_max_q = 1 + k; /* vLLM's decode kernels take a verify of 1 + k tokens */
    tm_batch_add_n(&b, (uint32_t)batch, 1 + k, (uint64_t)ctx, true);
    b.spec_tokens = (double)k * (double)batch;
    double t = detail != NULL ? tm_roofline_eval(tm, &b, detail) : tm_step_s(tm, &b, NULL);
    double d = 0.0;
    if (k > 0 && sp->draft != NULL) {
        tm_batch prop;
        tm_batch_init(&prop, topk);
        tm_batch_add_n(&prop, (uint32_t)batch, 1, (uint64_t)ctx + 1 + k, true);
        d = tm_spec_draft_s(sp->draft, k, &b, &prop, NULL);
    }
    if (draft_s != NULL)
        *draft_s = d;
    return t + d;
}

static void
price(const tm_setup *s,
      const tm_timemodel *tm,
      const spec_ctx *sp,
      int64_t batch,
      int64_t in,
      int64_t out,
      result *r)
{
    memset(r, 0, sizeof *r);
    uint32_t k = tm_setup_dsa_topk(s);
    uint32_t nspec = sp != NULL ? sp->cfg.k : 0;
    tm_batch b;
    tm_batch_init(&b, k);
    tm_batch_add_n(&b, (uint32_t)batch, (uint64_t)in, 0, true);
    r->prefill.time_s = tm_roofline_eval(tm, &b, &r->prefill.d);
    r->prefill.steps = 1;
    r->prefill.bottleneck = tm_roofline_bottleneck(&r->prefill.d);
    if (nspec > 0 && sp->draft != NULL) {
        /* the drafter reads the prompt and proposes the first drafts in the prefill step */
        tm_batch prop;
        tm_batch_init(&prop, k);
        tm_batch_add_n(&prop, (uint32_t)batch, 1, (uint64_t)in, true);
        r->prefill.draft_s = tm_spec_draft_s(sp->draft, nspec, &b, &prop, NULL);
        r->prefill.time_s += r->prefill.draft_s;
    }
    r->accept_len = nspec > 0 ? tm_spec_mean_acceptance_length(&sp->cfg) : 1.0;
    /* decode: OUT − 1 tokens after the prefill's, L per step on average: step j at context
     * in + j·L (rounded), the last step weighted by the fraction of L it still needs */
    double need = (double)(out - 1), L = r->accept_len;
    r->spec_steps = need / L;
    for (int64_t j = 0; (double)j * L < need; j++) {
        double w = fmin(1.0, (need - (double)j * L) / L);
        r->decode.time_s +=
            w * decode_step(tm, k, sp, batch, in + llround((double)j * L), NULL, NULL);
        r->decode.steps++;
    }
    decode_step(tm, k, sp, batch, in + (out - 1) / 2, &r->decode.d, &r->decode.draft_s);
    r->decode.bottleneck = tm_roofline_bottleneck(&r->decode.d);
    const tm_parallel *p = tm_setup_parallel(s);
    r->gpus = tm_parallel_gpus(p);
    r->mean_step_s = r->spec_steps > 0 ? r->decode.time_s / r->spec_steps : 0.0;
    r->tpot_s = out > 1 ? r->decode.time_s / (double)(out - 1) : 0.0;
    r->decode_tok_s = r->tpot_s > 0 ? (double)(p->dp * batch) / r->tpot_s : 0.0;
    r->e2e_s = r->prefill.time_s + r->decode.time_s;
    r->overall_tok_s = (double)(p->dp * batch * out) / r->e2e_s;
}

/* Memory check: the batch's full contexts must fit in the KV cache next to the weights. */
static gboolean
check_memory(const tm_setup *s,
             const estimate_args *a,
             const spec_ctx *sp,
             int64_t batch,
             int64_t in,
             int64_t out,
             result *r,
             GError **error)
{
    tm_memory_args m = {0};
    if (sp != NULL && sp->cfg.k > 0) {
        /* vLLM loads the drafter and gives its layers KV out of the same budget, and keeps
         * k lookahead slots per running request (timemodel/spec.h); the plan's
         * max_concurrent counts them too */
        m.drafter_weight_bytes = sp->ma.drafter_weight_bytes;
        m.drafter_kv_bytes_per_token = sp->ma.drafter_kv_bytes_per_token;
        m.lookahead_tokens = sp->ma.lookahead_tokens;
    }
    int64_t lookahead = m.lookahead_tokens;
    m.gpu_memory_utilization = a->gpu_memory_utilization;
    m.block_size = a->block_size != BASE_OPT_UNSET_INT ? a->block_size : 0;
    m.max_model_len = a->max_model_len != BASE_OPT_UNSET_INT ? a->max_model_len : in + out;
    m.context_len = in + out;
    if (!tm_setup_memory_plan(s, &m, &r->plan, error))
        return FALSE;
    int64_t per = (in + out + lookahead + r->plan.block_size - 1) / r->plan.block_size;
    int64_t need = per * batch;
    r->kv_needed_bytes = (double)need * (double)r->plan.block_size * r->plan.kv_bytes_per_token;
    if (need > r->plan.num_gpu_blocks - 1) {
        double short_b = (double)(need - (r->plan.num_gpu_blocks - 1)) *
                         (double)r->plan.block_size * r->plan.kv_bytes_per_token;
        g_set_error(error, TM_ERROR, TM_ERROR_NO_FIT,
                    "batch of %" G_GINT64_FORMAT " × %" G_GINT64_FORMAT
                    " tokens needs %.2f GiB of KV cache per GPU but %s on %s has %.2f GiB; short "
                    "by %.2f GB (at most %" G_GINT64_FORMAT " such sequences fit)",
                    batch, in + out + lookahead, r->kv_needed_bytes / 1073741824.0,
                    tm_setup_model(s)->name, tm_setup_hardware(s)->name,
                    r->plan.kv_bytes / 1073741824.0, short_b / 1e9, r->plan.max_concurrent);
        return FALSE;
    }
    return TRUE;
}

static tm_setup *
make_setup(const estimate_args *a, const tm_options *o, GError **error)
{
    tm_setup *s = tm_setup_new(o, error);
    if (s == NULL)
        return NULL;
    tm_roofline_params *p = tm_setup_params(s);
    if (isfinite(a->step_overhead_us))
        p->step_overhead_s = a->step_overhead_us * 1e-6;
    if (isfinite(a->per_seq_overhead_us))
        p->per_seq_overhead_s = a->per_seq_overhead_us * 1e-6;
    return s;
}

static char *
bottleneck_name(const phase *ph)
{
    const tm_row *r = &ph->d.rows[ph->bottleneck];
    return g_strdup_printf("%s (%s)", tm_row_name(ph->bottleneck), r->bound);
}

/* ---- single scenario output ---------------------------------------------------------- */

static void
print_rows(const char *title, const phase *ph)
{
    printf("%s\n", title);
    printf("  %-12s %12s %10s %11s %10s %9s %9s  %s\n", "component", "GFLOP", "GB", "compute ms",
           "memory ms", "comm ms", "time ms", "bound");
    for (int i = 0; i < TM_ROW_COUNT; i++) {
        const tm_row *r = &ph->d.rows[i];
        if (r->time_s <= 0 && r->comm_s <= 0 && r->flops <= 0)
            continue;
        printf("  %-12s %12.2f %10.4f %11.4f %10.4f %9.4f %9.4f  %s\n", tm_row_name((tm_row_id)i),
               r->flops / 1e9, r->bytes / 1e9, r->compute_s * 1e3, r->memory_s * 1e3,
               r->comm_s * 1e3, r->time_s * 1e3, r->bound);
    }
    printf("  %-12s %12s %10s %11s %10s %9s %9.4f\n\n", "total", "", "", "", "", "",
           ph->d.cost.total_s * 1e3);
}

static json_t *
rows_json(const phase *ph)
{
    json_t *arr = json_array();
    for (int i = 0; i < TM_ROW_COUNT; i++) {
        const tm_row *r = &ph->d.rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "component", json_string(tm_row_name((tm_row_id)i)));
        json_object_set_new(o, "flops", base_json_real(r->flops));
        json_object_set_new(o, "bytes", base_json_real(r->bytes));
        json_object_set_new(o, "compute_ms", base_json_real(r->compute_s * 1e3));
        json_object_set_new(o, "memory_ms", base_json_real(r->memory_s * 1e3));
        json_object_set_new(o, "comm_ms", base_json_real(r->comm_s * 1e3));
        json_object_set_new(o, "time_ms", base_json_real(r->time_s * 1e3));
        json_object_set_new(o, "bound", json_string(r->bound));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *
phase_json(const phase *ph, const char *time_key, double time_s)
{
    json_t *o = json_object();
    json_object_set_new(o, time_key, base_json_real(time_s * 1e3));
    json_object_set_new(o, "steps", json_integer(ph->steps));
    g_autofree char *bn = bottleneck_name(ph);
    json_object_set_new(o, "bottleneck", json_string(bn));
    json_object_set_new(o, "step_ms", base_json_real(ph->d.cost.total_s * 1e3));
    json_object_set_new(o, "compute_bound_ms", base_json_real(ph->d.cost.compute_s * 1e3));
    json_object_set_new(o, "memory_bound_ms", base_json_real(ph->d.cost.memory_s * 1e3));
    json_object_set_new(o, "comm_exposed_ms", base_json_real(ph->d.cost.comm_s * 1e3));
    json_object_set_new(o, "overhead_ms", base_json_real(ph->d.cost.overhead_s * 1e3));
    json_object_set_new(o, "components", rows_json(ph));
    return o;
}

/* The speculative-decoding section of --json: the resolved config (as summary.json's
 * config.resolved.speculative), the drafter's memory, and the figures TPOT comes from. */
static json_t *
spec_json(const spec_ctx *sp, const result *r)
{
    json_t *o = tm_spec_config_to_json(&sp->cfg);
    json_object_set_new(o, "drafter_weight_bytes_per_gpu",
                        base_json_number(sp->ma.drafter_weight_bytes));
    json_object_set_new(o, "drafter_kv_bytes_per_token_per_gpu",
                        base_json_number(sp->ma.drafter_kv_bytes_per_token));
    json_object_set_new(o, "prefill_drafter_ms", base_json_real(r->prefill.draft_s * 1e3));
    json_object_set_new(o, "decode_step_target_ms", base_json_real(r->decode.d.cost.total_s * 1e3));
    json_object_set_new(o, "decode_step_drafter_ms", base_json_real(r->decode.draft_s * 1e3));
    json_object_set_new(o, "expected_verify_steps", base_json_real(r->spec_steps));
    json_object_set_new(o, "mean_verify_step_ms", base_json_real(r->mean_step_s * 1e3));
    return o;
}

static void
print_spec(const spec_ctx *sp, const result *r)
{
    const tm_spec_config *c = &sp->cfg;
    printf("speculative decoding: %s, k %u, acceptance per position",
           tm_spec_method_name(c->method), c->k);
    for (uint32_t i = 0; i < c->k; i++)
        printf(" %.4g", c->accept[i]);
    printf(" (%s)\n", c->accept_source != NULL ? c->accept_source : "?");
    printf("  expected tokens per verify step L     %10.4f   1 + Σ per-position rates\n",
           r->accept_len);
    if (sp->draft != NULL) {
        printf("  drafter in the prefill step           %10.3f ms\n", r->prefill.draft_s * 1e3);
        printf("  verify step above + drafter           %10.3f ms = %.3f + %.3f ms\n",
               (r->decode.d.cost.total_s + r->decode.draft_s) * 1e3, r->decode.d.cost.total_s * 1e3,
               r->decode.draft_s * 1e3);
        printf("  drafter memory per GPU                %10.3f GiB of weights + %.0f B of KV per "
               "token (in the KV plan below)\n",
               sp->ma.drafter_weight_bytes / 1073741824.0, sp->ma.drafter_kv_bytes_per_token);
    } else {
        printf("  drafter                               none on the GPU (%s)\n",
               tm_spec_method_name(c->method));
    }
    printf("  verify steps, mean step               %10.2f steps of %.3f ms (TPOT = mean step / "
           "L)\n\n",
           r->spec_steps, r->mean_step_s * 1e3);
}

static int
single(const estimate_args *a)
{
    GError *err = NULL;
    g_autoptr(tm_setup) s = make_setup(a, &a->tm, &err);
    if (s == NULL)
        return cli_fail(err, CLI_USAGE);
    g_auto(spec_ctx) sp = {0};
    if (a->speculative_config != NULL && !json_is_null(a->speculative_config)) {
        if (!runner_spec_resolve(a->speculative_config, NULL, s, &sp.cfg, &sp.draft, &sp.ma, &err))
            return cli_fail(err, CLI_USAGE);
        runner_spec_warn(&sp.cfg);
    }
    const spec_ctx *spp = sp.cfg.k > 0 ? &sp : NULL;
    result r;
    if (!check_memory(s, a, spp, a->batch, a->input_len, a->output_len, &r, &err))
        return cli_fail(err, CLI_USAGE);
    tm_memory_plan plan = r.plan;
    double kv_need = r.kv_needed_bytes;
    g_autoptr(tm_timemodel) tm = tm_setup_timemodel(s);
    price(s, tm, spp, a->batch, a->input_len, a->output_len, &r);
    r.plan = plan;
    r.kv_needed_bytes = kv_need;
    const tm_model_spec *m = tm_setup_model(s);
    const tm_hardware *hw = tm_setup_hardware(s);
    const tm_parallel *p = tm_setup_parallel(s);
    const tm_roofline_params *kp = tm_setup_params_const(s);
    g_autofree char *bp = bottleneck_name(&r.prefill);
    g_autofree char *bd = bottleneck_name(&r.decode);
    double per_gpu = 1.0 / (double)r.gpus;
    if (a->json) {
        /* "format" first: `servesim report` recognises the document by it (docs/report.md) */
        json_auto_t *root = json_pack("{s:s}", "format", "servesim-estimate/1");
        json_auto_t *setup = tm_setup_to_json(s);
        json_object_update(root, setup);
        json_t *sc = json_object();
        json_object_set_new(sc, "batch", json_integer(a->batch));
        json_object_set_new(sc, "input_len", json_integer(a->input_len));
        json_object_set_new(sc, "output_len", json_integer(a->output_len));
        json_object_set_new(sc, "gpus_per_replica", json_integer(r.gpus));
        json_object_set_new(root, "scenario", sc);
        json_object_set_new(root, "prefill",
                            phase_json(&r.prefill, "latency_ms", r.prefill.time_s));
        json_object_set_new(root, "decode", phase_json(&r.decode, "total_ms", r.decode.time_s));
        if (isfinite(a->overlap))
            json_object_set_new(root, "overlap",
                                estimate_overlap_json(&r.prefill.d,
                                                      r.decode.steps > 0 ? &r.decode.d : NULL,
                                                      a->overlap));
        json_t *su = json_object();
        json_object_set_new(su, "ttft_ms", base_json_real(r.prefill.time_s * 1e3));
        json_object_set_new(su, "tpot_ms", base_json_real(r.tpot_s * 1e3));
        json_object_set_new(su, "e2e_ms", base_json_real(r.e2e_s * 1e3));
        json_object_set_new(su, "decode_tokens_per_s_per_replica", base_json_real(r.decode_tok_s));
        json_object_set_new(su, "decode_tokens_per_s_per_gpu",
                            base_json_real(r.decode_tok_s * per_gpu));
        json_object_set_new(su, "output_tokens_per_s_per_replica", base_json_real(r.overall_tok_s));
        json_object_set_new(su, "output_tokens_per_s_per_gpu",
                            base_json_real(r.overall_tok_s * per_gpu));
        json_object_set_new(su, "prefill_bottleneck", json_string(bp));
        json_object_set_new(su, "decode_bottleneck", json_string(bd));
        json_object_set_new(su, "kv_needed_gib", base_json_real(r.kv_needed_bytes / 1073741824.0));
        json_object_set_new(su, "kv_available_gib", base_json_real(r.plan.kv_bytes / 1073741824.0));
        json_object_set_new(su, "num_gpu_blocks", json_integer(r.plan.num_gpu_blocks));
        json_object_set_new(root, "summary", su);
        /* the memory plan of one GPU, with `servesim memory --json`'s keys */
        const double gib = 1073741824.0;
        json_t *mj = json_object();
        json_object_set_new(mj, "gpu_memory_utilization",
                            base_json_real(r.plan.gpu_memory_utilization));
        json_object_set_new(mj, "gpu_memory_gib", base_json_real(r.plan.gpu_bytes / gib));
        json_object_set_new(mj, "budget_gib", base_json_real(r.plan.budget_bytes / gib));
        json_object_set_new(mj, "weights_gib", base_json_real(r.plan.weight_bytes / gib));
        json_object_set_new(mj, "activation_gib", base_json_real(r.plan.activation_bytes / gib));
        json_object_set_new(mj, "non_torch_gib", base_json_real(r.plan.non_torch_bytes / gib));
        json_object_set_new(mj, "kv_cache_gib", base_json_real(r.plan.kv_bytes / gib));
        json_object_set_new(root, "memory", mj);
        if (spp != NULL)
            json_object_set_new(root, "speculative", spec_json(spp, &r));
        g_autofree char *txt = base_json_dumps(root);
        fputs(txt, stdout);
        return CLI_OK;
    }
    if (a->csv) {
        printf("phase,component,flops,bytes,compute_ms,memory_ms,comm_ms,time_ms,bound\n");
        const phase *ph[2] = {&r.prefill, &r.decode};
        const char *names[2] = {"prefill", "decode"};
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < TM_ROW_COUNT; i++) {
                const tm_row *w = &ph[k]->d.rows[i];
                printf("%s,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%s\n", names[k],
                       tm_row_name((tm_row_id)i), w->flops, w->bytes, w->compute_s * 1e3,
                       w->memory_s * 1e3, w->comm_s * 1e3, w->time_s * 1e3, w->bound);
            }
            if (spp != NULL) /* the drafter's passes come on top of the target's forward */
                printf("%s,drafter,,,,,,%.6g,\n", names[k], ph[k]->draft_s * 1e3);
            printf("%s,total,,,,,,%.6g,\n", names[k],
                   (ph[k]->d.cost.total_s + ph[k]->draft_s) * 1e3);
        }
        return CLI_OK;
    }
    g_autofree char *wname = tm_roofline_weights_name(kp);
    printf("%s on %s (%s): tp=%" G_GINT64_FORMAT " pp=%" G_GINT64_FORMAT " dp=%" G_GINT64_FORMAT
           " ep=%" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " GPU(s) per replica), %s weights, %s KV, "
           "%s links\n",
           m->name, hw->name, hw->display_name, p->tp, p->pp, p->dp, p->ep, r.gpus, wname,
           tm_dtype_name(kp->kv_dtype), tm_backend_name(kp->backend));
    printf(
        "knobs: compute %.2f, memory %.2f, comm %.2f of peak; overlap %.2f; overheads %.0f us/step "
        "+ %.1f us/seq; %s\n",
        kp->compute_eff, kp->memory_eff, kp->comm_eff, kp->overlap, kp->step_overhead_s * 1e6,
        kp->per_seq_overhead_s * 1e6,
        tm_setup_calibration(s) == NULL            ? "uncalibrated defaults"
        : tm_setup_calibration_use(s)->transferred ? tm_setup_calibration_desc(s)
                                                   : tm_setup_calibration(s));
    printf("scenario: %" G_GINT64_FORMAT " sequences × %" G_GINT64_FORMAT
           " prompt tokens → %" G_GINT64_FORMAT " output tokens\n\n",
           a->batch, a->input_len, a->output_len);
    g_autofree char *t1 = g_strdup_printf("prefill step (%" G_GINT64_FORMAT
                                          " prompts of %" G_GINT64_FORMAT " tokens)",
                                          a->batch, a->input_len);
    print_rows(t1, &r.prefill);
    if (r.decode.steps > 0) {
        g_autofree char *t2 =
            spp != NULL
                ? g_strdup_printf("verify step at mean context %" G_GINT64_FORMAT
                                  " (%" G_GINT64_FORMAT " sequences × %u tokens)",
                                  a->input_len + (a->output_len - 1) / 2, a->batch, 1 + spp->cfg.k)
                : g_strdup_printf("decode step at mean context %" G_GINT64_FORMAT
                                  " (%" G_GINT64_FORMAT " sequences)",
                                  a->input_len + (a->output_len - 1) / 2, a->batch);
        print_rows(t2, &r.decode);
    }
    if (spp != NULL)
        print_spec(spp, &r);
    printf("summary\n");
    printf("  prefill latency (TTFT, no queueing)  %10.3f ms   bottleneck %s\n",
           r.prefill.time_s * 1e3, bp);
    if (r.decode.steps > 0 && spp != NULL)
        printf("  time per output token (TPOT)         %10.3f ms   bottleneck %s  (mean step "
               "%.3f ms / %.4g tokens per step)\n",
               r.tpot_s * 1e3, bd, r.mean_step_s * 1e3, r.accept_len);
    else if (r.decode.steps > 0)
        printf("  time per output token (TPOT)         %10.3f ms   bottleneck %s  (mean of "
               "%" G_GINT64_FORMAT " steps)\n",
               r.tpot_s * 1e3, bd, r.decode.steps);
    printf("  end-to-end per request               %10.3f ms\n", r.e2e_s * 1e3);
    printf("  decode throughput                    %10.1f tok/s per replica, %.1f per GPU\n",
           r.decode_tok_s, r.decode_tok_s * per_gpu);
    printf("  output throughput incl. prefill      %10.1f tok/s per replica, %.1f per GPU\n",
           r.overall_tok_s, r.overall_tok_s * per_gpu);
    printf("  KV cache                             %10.2f GiB needed of %.2f GiB per GPU "
           "(%" G_GINT64_FORMAT " blocks of %" G_GINT64_FORMAT ")\n",
           r.kv_needed_bytes / 1073741824.0, r.plan.kv_bytes / 1073741824.0, r.plan.num_gpu_blocks,
           r.plan.block_size);
    if (isfinite(a->overlap)) {
        GString *g = g_string_new(NULL);
        estimate_overlap_print(g, &r.prefill.d, r.decode.steps > 0 ? &r.decode.d : NULL,
                               a->overlap);
        fputs(g->str, stdout);
        g_string_free(g, TRUE);
    }
    return CLI_OK;
}

/* ---- scenarios CSV ------------------------------------------------------------------- */

static const char *const out_cols[] = {"predicted_prefill_ms",
                                       "predicted_decode_ms",
                                       "predicted_tpot_ms",
                                       "predicted_tokens_per_s",
                                       "predicted_tokens_per_s_per_gpu",
                                       "prefill_bottleneck",
                                       "decode_bottleneck",
                                       "error",
                                       NULL};

/* Prices the current row (read by the scenario reader shared with `calibrate --predict`,
 * timemodel/scenario.h) into VALS, one string per out_cols entry but "error". Errors read
 * "FILE:LINE: ...". */
static gboolean
price_row(const estimate_args *a,
          const base_csv *c,
          const tm_scenario_layout *l,
          GPtrArray *vals,
          GError **error)
{
    tm_scenario_defaults d = {&a->tm, {a->batch, a->input_len, a->output_len, 1}};
    tm_options o;
    memset(&o, 0, sizeof o);
    base_opt_set tmset = {&tm_options_table, 1};
    tm_scenario sc;
    gboolean ok = tm_scenario_read(c, l, &d, &o, &sc, error);
    g_autoptr(tm_setup) s = ok ? make_setup(a, &o, error) : NULL;
    base_opts_clear(&tmset, &o);
    if (!ok)
        return FALSE;
    if (s != NULL && !tm_scenario_check_context(c, l, &sc, tm_setup_model(s), error))
        return FALSE;
    /* decode_tokens tokens generated after the prompt: prefill + decode_tokens decode steps */
    result r;
    if (s == NULL || !check_memory(s, a, NULL, sc.batch, sc.seq_len, sc.decode_tokens, &r, error)) {
        g_prefix_error(error, "%s:%" G_GUINT64_FORMAT ": ", base_csv_name(c), base_csv_lineno(c));
        return FALSE;
    }
    g_autoptr(tm_timemodel) tm = tm_setup_timemodel(s);
    price(s, tm, NULL, sc.batch, sc.seq_len, sc.decode_tokens + 1, &r);
    double prefill_s, decode_s; /* × grad_accum (scenario.h) */
    tm_scenario_price(tm, tm_setup_dsa_topk(s), &sc, &prefill_s, &decode_s);
    g_autofree char *bp = bottleneck_name(&r.prefill);
    g_autofree char *bd = bottleneck_name(&r.decode);
    g_ptr_array_add(vals, g_strdup_printf("%.4f", prefill_s * 1e3));
    g_ptr_array_add(vals, g_strdup_printf("%.4f", decode_s * 1e3));
    g_ptr_array_add(vals, g_strdup_printf("%.4f", r.tpot_s * 1e3));
    g_ptr_array_add(vals, g_strdup_printf("%.2f", r.decode_tok_s));
    g_ptr_array_add(vals, g_strdup_printf("%.2f", r.decode_tok_s / (double)r.gpus));
    g_ptr_array_add(vals, g_strdup(bp));
    g_ptr_array_add(vals, g_strdup(sc.decode_tokens > 0 ? bd : ""));
    g_ptr_array_add(vals, g_strdup("")); /* error */
    return TRUE;
}

static int
scenarios(const estimate_args *a)
{
    GError *err = NULL;
    g_autoptr(base_csv) c = base_csv_open(a->scenarios, 0, BASE_CSV_HEADER, &err);
    if (c == NULL)
        return cli_fail(err, CLI_USAGE);
    tm_scenario_layout layout;
    tm_scenario_layout_get(c, &layout);
    /* output header: input columns (minus predicted ones we rewrite), then ours */
    size_t n = base_csv_ncols(c);
    bool *keep = g_new0(bool, n);
    GString *g = g_string_new(NULL);
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const char *name = base_csv_colname(c, i);
        keep[i] = base_strv_index(out_cols, name) < 0;
        if (keep[i]) {
            base_csv_put_field(g, name, first);
            first = false;
        }
    }
    size_t nout = a->keep_going ? BASE_STRV_N(out_cols) : BASE_STRV_N(out_cols) - 1;
    for (size_t i = 0; i < nout; i++) {
        base_csv_put_field(g, out_cols[i], first);
        first = false;
    }
    g_string_append_c(g, '\n');
    int rc = CLI_OK, more;
    while ((more = base_csv_next(c, &err)) > 0) {
        g_autoptr(GPtrArray) vals = g_ptr_array_new_with_free_func(g_free);
        GError *rerr = NULL;
        if (!price_row(a, c, &layout, vals, &rerr)) {
            /* the message already names FILE:LINE */
            g_autofree char *msg = g_strdup(rerr->message);
            g_clear_error(&rerr);
            if (!a->keep_going) {
                rc = cli_failf(CLI_USAGE, "%s", msg);
                break;
            }
            g_ptr_array_set_size(vals, 0);
            for (size_t i = 0; i + 1 < BASE_STRV_N(out_cols); i++)
                g_ptr_array_add(vals, g_strdup(""));
            g_ptr_array_add(vals, g_strdup(msg));
        }
        first = true;
        for (size_t i = 0; i < n; i++) {
            if (keep[i]) {
                base_csv_put_field(g, base_csv_field(c, i), first);
                first = false;
            }
        }
        for (size_t i = 0; i < nout; i++) {
            base_csv_put_field(g, (const char *)vals->pdata[i], first);
            first = false;
        }
        g_string_append_c(g, '\n');
    }
    g_free(keep);
    if (rc == CLI_OK && more < 0)
        rc = cli_fail(g_steal_pointer(&err), CLI_USAGE);
    if (rc == CLI_OK) {
        if (a->output != NULL) {
            if (!base_file_write_atomic(a->output, g->str, g->len, &err))
                rc = cli_fail(err, CLI_RUNTIME);
        } else {
            fputs(g->str, stdout);
        }
    }
    g_string_free(g, TRUE);
    return rc;
}

/* Parses the flags into A and runs the mode they ask for. */
static int
run(const base_opt_set *set, estimate_args *a, int argc, char **argv, GError **err)
{
    if (!base_opts_parse_args(set, a, argc - 1, argv + 1, NULL, err))
        return cli_fail(*err, CLI_USAGE);
    if (a->json && a->csv)
        return cli_usage_error(synopsis, "--json and --csv are exclusive");
    bool list = strchr(a->tm.model, ',') != NULL;
    if (list && (a->scenarios != NULL || isfinite(a->overlap)))
        return cli_usage_error(synopsis, "--model with a list compares models; it does not "
                                         "combine with --scenarios or --overlap");
    if (a->speculative_config != NULL && !json_is_null(a->speculative_config) &&
        (list || a->scenarios != NULL || isfinite(a->overlap)))
        return cli_usage_error(synopsis,
                               "--speculative-config prices one scenario of one model; it does "
                               "not combine with --model A,B, --scenarios or --overlap (their "
                               "tables hold the target's steps only)");
    if (isfinite(a->overlap)) { /* --overlap φ is the time model's ω, with a timeline view */
        if (isfinite(a->tm.overlap) && a->tm.overlap != a->overlap)
            return cli_usage_error(synopsis, "--overlap %g and --comm-overlap %g set the same φ",
                                   a->overlap, a->tm.overlap);
        a->tm.overlap = a->overlap;
    }
    if (list) {
        estimate_view_args v = {&a->tm,
                                a->batch,
                                a->input_len,
                                a->output_len,
                                a->step_overhead_us,
                                a->per_seq_overhead_us,
                                a->json,
                                a->csv};
        return estimate_compare(&v);
    }
    return a->scenarios != NULL ? scenarios(a) : single(a);
}

int
cmd_estimate(int argc, char **argv)
{
    base_opt_table tables[2];
    base_opt_set schema_set;
    cli_tm_schema(tables, &schema_set, &local);
    const base_opt_set *set = &schema_set;
    if (cli_wants_help(argc, argv)) {
        cli_print_help(
            synopsis,
            "Roofline latency and throughput (no simulation): component tables for "
            "the prefill step and a decode step, TTFT, TPOT, tokens/s per replica and "
            "per GPU, bottlenecks. --scenarios prices every row of a CSV and writes it "
            "back with predicted_prefill_ms, predicted_decode_ms, tokens/s and "
            "bottleneck columns (docs/timemodel.md). --model A,B,C prints the models "
            "side by side; --overlap X adds the compute vs communication timeline "
            "(docs/analysis.md §5). --speculative-config prices decode as verify + drafter steps "
            "of the expected acceptance length (docs/speculative.md).",
            set);
        return CLI_OK;
    }
    estimate_args a;
    memset(&a, 0, sizeof a);
    base_opts_defaults(set, &a);
    GError *err = NULL;
    int rc = run(set, &a, argc, argv, &err);
    base_opts_clear(set, &a);
    return rc;
}
