/* tools/offload.c: flags and resolution shared by `analyze host-bandwidth` and
 * `analyze experts` (tools/offload.h). The model defaults to mixtral-8x7b here (a dense model
 * has no experts to offload), through a copy of the time model's flag table whose model row
 * has that default, so --help shows the default these commands use. */
#include "tools/offload.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/opts.h"
#include "tools/analyze.h"
#include "tools/cli.h"

#define DEFAULT_MODEL "mixtral-8x7b"

static const char *const links[] = {"auto", "pcie", "c2c", NULL};

#define A(f) offsetof(offload_args, f)
static const base_opt common_rows[] = {
    {"batch", "batch", BASE_OPT_INT, A(batch), "64", NULL, 1, 1e6, BASE_OPT_CLI_ONLY, "N",
     "sequences decoding together (tokens per step)"},
    {"context_len", "context-len", BASE_OPT_INT, A(context_len), "2048", NULL, 1, 1e8,
     BASE_OPT_CLI_ONLY, "N", "context per sequence (decode step time, KV kept in HBM)"},
    {"resident_experts", "resident-experts", BASE_OPT_INT, A(resident), NULL, NULL, 0, 65536,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N",
     "experts of each MoE layer held in HBM (default: as many as fit)"},
    {"expert_skew", "expert-skew", BASE_OPT_DOUBLE, A(skew), "0", NULL, 0, 10, BASE_OPT_CLI_ONLY,
     "S", "Zipf exponent of expert popularity (0 = uniform routing)"},
    {"windows", "windows", BASE_OPT_STRING, A(windows), "1,2,4,8,16,32,64,128,256,512,1024", NULL,
     0, 0, BASE_OPT_CLI_ONLY, "LIST", "refill windows in decode steps, one row each"},
    {"step_ms", "step-ms", BASE_OPT_DOUBLE, A(step_ms), NULL, NULL, 1e-6, 1e7,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "MS",
     "decode step without transfers (default: the roofline's, batch at context-len)"},
    {"kv_writeback", "kv-writeback", BASE_OPT_DOUBLE, A(kv_writeback), "0", NULL, 0, 1,
     BASE_OPT_CLI_ONLY, "X", "fraction of new tokens' KV written back to host memory"},
    {"kv_reload_tokens", "kv-reload-tokens", BASE_OPT_DOUBLE, A(kv_reload_tokens), "0", NULL, 0,
     1e9, BASE_OPT_CLI_ONLY, "N", "tokens of offloaded KV read back from host memory per step"},
    {"host_link", "host-link", BASE_OPT_ENUM, A(host_link), "auto", links, 0, 0, BASE_OPT_CLI_ONLY,
     "LINK", "GPU-host link (auto: NVLink-C2C when the GPU has it, else PCIe)"},
    {"pcie_gbps", "pcie-gbps", BASE_OPT_DOUBLE, A(pcie_gbps), NULL, NULL, 1e-3, 1e7,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "GB/S",
     "PCIe bandwidth per direction (default: hardware)"},
    {"c2c_gbps", "c2c-gbps", BASE_OPT_DOUBLE, A(c2c_gbps), NULL, NULL, 1e-3, 1e7,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "GB/S",
     "NVLink-C2C bandwidth per direction (default: hardware)"},
    {"ddr_gbps", "ddr-gbps", BASE_OPT_DOUBLE, A(ddr_gbps), NULL, NULL, 1e-3, 1e7,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "GB/S",
     "host memory bandwidth shared by the host's GPUs (default: hardware)"},
    {"gpus_per_host", "gpus-per-host", BASE_OPT_INT, A(gpus_per_host), NULL, NULL, 1, 1024,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N",
     "GPUs transferring through that host memory at once (default: hardware)"},
    {"host_efficiency", "host-efficiency", BASE_OPT_DOUBLE, A(host_efficiency), "1", NULL, 1e-3, 1,
     BASE_OPT_CLI_ONLY, "X", "fraction of the peak link and DDR bandwidth reached"},
    {"gpu_memory_utilization", "gpu-memory-utilization", BASE_OPT_DOUBLE, A(gpu_memory_utilization),
     "0.9", NULL, 0.01, 1.0, BASE_OPT_CLI_ONLY, "X",
     "fraction of GPU memory for weights, activations and KV (how many experts fit)"},
    {"json", "json", BASE_OPT_BOOL, A(json), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print one JSON object"},
    {"csv", "csv", BASE_OPT_BOOL, A(csv), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print the window table as CSV"},
};
static const base_opt expert_rows[] = {
    {"budget_ms", "budget-ms", BASE_OPT_DOUBLE, A(budget_ms), NULL, NULL, 1e-6, 1e9,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "MS",
     "load time allowed per window (default: window steps × --tpot-sla-ms)"},
    {"tpot_sla_ms", "tpot-sla-ms", BASE_OPT_DOUBLE, A(tpot_sla_ms), "200", NULL, 1e-6, 1e9,
     BASE_OPT_CLI_ONLY, "MS",
     "time-per-output-token SLA (default: MLPerf Inference mixtral-8x7b server p99, 200 ms)"},
};

/* tm_options_table with DEFAULT_MODEL as the model's default. */
static base_opt tm_rows[64];
static base_opt_table tm_table;

static void
init_tm_table(void)
{
    g_assert(tm_options_table.n <= G_N_ELEMENTS(tm_rows));
    memcpy(tm_rows, tm_options_table.opts, tm_options_table.n * sizeof tm_rows[0]);
    for (size_t i = 0; i < tm_options_table.n; i++)
        if (strcmp(tm_rows[i].path, "model.name") == 0)
            tm_rows[i].def = DEFAULT_MODEL;
    tm_table = tm_options_table;
    tm_table.opts = tm_rows;
}

void
offload_ctx_clear(offload_ctx *c)
{
    tm_setup_free(c->setup);
    if (c->windows != NULL)
        g_array_free(c->windows, TRUE);
    memset(c, 0, sizeof *c);
}

static gboolean
resolve(const offload_args *a, offload_ctx *c, GError **error)
{
    if ((c->setup = tm_setup_new_offload(&a->tm, error)) == NULL)
        return FALSE;
    const tm_model_spec *m = tm_setup_model(c->setup);
    const tm_hardware *hw = tm_setup_hardware(c->setup);
    const tm_parallel *par = tm_setup_parallel(c->setup);
    const tm_roofline_params *kp = tm_setup_params_const(c->setup);
    if (!tm_moe_offload_init(&c->e, m, kp->weight_dtype, par, error))
        return FALSE;
    if ((c->windows = an_parse_int_list("windows", a->windows, 1, 100000000, error)) == NULL)
        return FALSE;
    if (!tm_host_path_init(&c->path, hw, a->host_link, a->pcie_gbps, a->c2c_gbps, a->ddr_gbps,
                           a->gpus_per_host == BASE_OPT_UNSET_INT ? 0 : a->gpus_per_host,
                           a->host_efficiency, error))
        return FALSE;
    double kv_tok = tm_model_kv_bytes_per_token_gpu(m, kp->kv_dtype, par);
    c->kv_reserve_bytes = (double)a->batch * (double)a->context_len * kv_tok;
    c->free_bytes = tm_experts_free_bytes(m, hw, par, kp->weight_dtype, a->gpu_memory_utilization,
                                          c->kv_reserve_bytes, a->batch);
    c->resident_fit = tm_experts_fit(&c->e, c->free_bytes);
    tm_offload_params *p = &c->p;
    p->batch = a->batch;
    p->resident = a->resident == BASE_OPT_UNSET_INT ? c->resident_fit : a->resident;
    p->skew = a->skew;
    p->kv_bytes_per_token = kv_tok;
    p->kv_writeback = a->kv_writeback;
    p->kv_reload_tokens = a->kv_reload_tokens;
    c->step_from_roofline = isnan(a->step_ms);
    if (c->step_from_roofline) {
        g_autoptr(tm_timemodel) tm = tm_setup_timemodel(c->setup);
        tm_batch b;
        tm_batch_init(&b, tm_setup_dsa_topk(c->setup));
        tm_batch_add_n(&b, (uint32_t)a->batch, 1, (uint64_t)a->context_len, true);
        p->step_s = tm_step_s(tm, &b, NULL);
    } else {
        p->step_s = a->step_ms * 1e-3;
    }
    return tm_offload_params_check(&c->e, p, error);
}

int
offload_main(int argc,
             char **argv,
             bool experts,
             const char *synopsis,
             const char *description,
             int (*run)(const offload_args *a, const offload_ctx *c))
{
    init_tm_table();
    const base_opt_table tables[3] = {
        tm_table,
        {"Offload", common_rows, G_N_ELEMENTS(common_rows), 0},
        {"Budget and SLA", expert_rows, G_N_ELEMENTS(expert_rows), 0},
    };
    const base_opt_set set = {tables, experts ? 3 : 2};
    if (cli_wants_help(argc, argv)) {
        cli_print_help(synopsis, description, &set);
        return CLI_OK;
    }
    offload_args a;
    memset(&a, 0, sizeof a);
    base_opts_defaults(&set, &a);
    if (!experts) {
        a.budget_ms = NAN;
        a.tpot_sla_ms = NAN;
    }
    GError *err = NULL;
    int rc;
    offload_ctx c;
    memset(&c, 0, sizeof c);
    if (!base_opts_parse_args(&set, &a, argc - 2, argv + 2, NULL, &err))
        rc = cli_fail(err, CLI_USAGE);
    else if (a.json && a.csv)
        rc = cli_usage_error(synopsis, "--json and --csv are exclusive");
    else if (!resolve(&a, &c, &err))
        rc = cli_fail(err, CLI_USAGE);
    else
        rc = run(&a, &c);
    offload_ctx_clear(&c);
    base_opts_clear(&set, &a);
    return rc;
}

void
offload_describe(GString *g, const offload_args *a, const offload_ctx *c)
{
    const tm_model_spec *m = tm_setup_model(c->setup);
    const tm_hardware *hw = tm_setup_hardware(c->setup);
    const tm_parallel *par = tm_setup_parallel(c->setup);
    const tm_roofline_params *kp = tm_setup_params_const(c->setup);
    const tm_moe_offload *e = &c->e;
    const tm_host_path *h = &c->path;
    g_string_append_printf(g,
                           "%s on %s, tp=%" G_GINT64_FORMAT " pp=%" G_GINT64_FORMAT
                           " dp=%" G_GINT64_FORMAT ", %s weights; per GPU:\n",
                           m->name, hw->name, par->tp, par->pp, par->dp,
                           tm_dtype_name(kp->weight_dtype));
    g_string_append_printf(
        g,
        "  experts      %" G_GINT64_FORMAT " per layer, top-%" G_GINT64_FORMAT
        ", %g MoE layers, %.1f MB per expert per layer (%.2f GB across layers)\n",
        e->experts, e->topk, e->moe_layers, e->expert_bytes / 1e6,
        e->expert_bytes * e->moe_layers / 1e9);
    g_string_append_printf(
        g,
        "  resident     %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " per layer%s; %" G_GINT64_FORMAT
        " fit in %.2f GB of HBM left after the "
        "other weights, %.2f GB of KV (%" G_GINT64_FORMAT " × %" G_GINT64_FORMAT
        " tokens) and the activation reserve at utilization %.2f\n",
        c->p.resident, e->experts, a->resident == BASE_OPT_UNSET_INT ? " (as many as fit)" : "",
        c->resident_fit, MAX(c->free_bytes, 0.0) / 1e9, c->kv_reserve_bytes / 1e9, a->batch,
        a->context_len, a->gpu_memory_utilization);
    if (a->skew == 0)
        g_string_append(g, "  routing      uniform (expert skew 0)\n");
    else
        g_string_append_printf(g, "  routing      Zipf, exponent %g (expert i has weight 1/i^%g)\n",
                               a->skew, a->skew);
    g_string_append_printf(
        g,
        "  host path    %s %.1f GB/s per direction; DDR %.1f GB/s shared by %" G_GINT64_FORMAT
        " GPU(s); efficiency %.2f\n",
        h->link == TM_CHANNEL_C2C ? "NVLink-C2C" : "PCIe", h->link_bw / 1e9, h->ddr_bw / 1e9,
        h->gpus_per_host, h->efficiency);
    if (c->step_from_roofline)
        g_string_append_printf(g,
                               "  decode step  %.3f ms (roofline: %" G_GINT64_FORMAT
                               " sequences at context %" G_GINT64_FORMAT ")\n",
                               c->p.step_s * 1e3, a->batch, a->context_len);
    else
        g_string_append_printf(g, "  decode step  %.3f ms (--step-ms)\n", c->p.step_s * 1e3);
    if (a->kv_writeback > 0 || a->kv_reload_tokens > 0)
        g_string_append_printf(g,
                               "  KV           %.0f B per token per GPU; write-back %.2f of new "
                               "tokens, reload %g tokens per step\n",
                               c->p.kv_bytes_per_token, a->kv_writeback, a->kv_reload_tokens);
}

void
offload_describe_json(json_t *o, const offload_args *a, const offload_ctx *c)
{
    const tm_model_spec *m = tm_setup_model(c->setup);
    const tm_hardware *hw = tm_setup_hardware(c->setup);
    const tm_parallel *par = tm_setup_parallel(c->setup);
    json_object_set_new(o, "model", json_string(m->name));
    json_object_set_new(o, "hardware", json_string(hw->name));
    json_object_set_new(o, "tensor_parallel_size", json_integer(par->tp));
    json_object_set_new(o, "pipeline_parallel_size", json_integer(par->pp));
    json_object_set_new(o, "data_parallel_size", json_integer(par->dp));
    json_object_set_new(o, "experts_per_layer", json_integer(c->e.experts));
    json_object_set_new(o, "topk", json_integer(c->e.topk));
    json_object_set_new(o, "moe_layers_per_gpu", base_json_real(c->e.moe_layers));
    json_object_set_new(o, "expert_bytes", base_json_real(c->e.expert_bytes));
    json_object_set_new(o, "resident_experts", json_integer(c->p.resident));
    json_object_set_new(o, "resident_experts_fit", json_integer(c->resident_fit));
    json_object_set_new(o, "free_hbm_bytes", base_json_real(c->free_bytes));
    json_object_set_new(o, "kv_reserve_bytes", base_json_real(c->kv_reserve_bytes));
    json_object_set_new(o, "expert_skew", base_json_real(a->skew));
    json_object_set_new(o, "batch", json_integer(a->batch));
    json_object_set_new(o, "context_len", json_integer(a->context_len));
    json_object_set_new(o, "step_ms", base_json_real(c->p.step_s * 1e3));
    json_object_set_new(o, "step_source", json_string(c->step_from_roofline ? "roofline" : "flag"));
    json_object_set_new(o, "kv_bytes_per_token", base_json_real(c->p.kv_bytes_per_token));
    json_object_set_new(o, "kv_writeback", base_json_real(a->kv_writeback));
    json_object_set_new(o, "kv_reload_tokens_per_step", base_json_real(a->kv_reload_tokens));
    json_t *path = json_object();
    json_object_set_new(path, "link", json_string(tm_channel_name(c->path.link)));
    json_object_set_new(path, "link_gbps", base_json_real(c->path.link_bw / 1e9));
    json_object_set_new(path, "ddr_gbps", base_json_real(c->path.ddr_bw / 1e9));
    json_object_set_new(path, "gpus_per_host", json_integer(c->path.gpus_per_host));
    json_object_set_new(path, "efficiency", base_json_real(c->path.efficiency));
    json_object_set_new(o, "host_path", path);
}
