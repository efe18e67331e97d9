/* tools/cmd_analyze_hostbw.c: `servesim analyze host-bandwidth`: bytes and time over the
 * GPU's host link (PCIe or NVLink-C2C) and the host's DDR for MoE expert refill — cold (the
 * resident set, and every expert, loaded from nothing) and hot (per refill window, the experts
 * the window touches that are not resident) — and KV write-back / reload; per window the time
 * on each channel, the bottleneck channel, and the throughput as the window varies
 * (timemodel/hostbw.h, docs/analysis.md §3). --json / --csv. */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "tools/analyze.h"
#include "tools/cli.h"
#include "tools/offload.h"

static const char synopsis[] =
    "analyze host-bandwidth [--model M] [--hardware H] [--batch N] [--resident-experts N] "
    "[--expert-skew S] [--windows LIST] [--kv-writeback X] [--json|--csv]";

static const an_col cols[] = {
    {"window_steps", "window", AN_NUM, 0},
    {"tokens", "tokens", AN_NUM, 0},
    {"misses_per_layer", "misses/layer", AN_NUM, 2},
    {"refill_gb", "refill GB", AN_NUM, 3},
    {"kv_write_gb", "KV write GB", AN_NUM, 3},
    {"kv_read_gb", "KV read GB", AN_NUM, 3},
    {"link_ms", "link ms", AN_NUM, 2},
    {"ddr_ms", "DDR ms", AN_NUM, 2},
    {"compute_ms", "compute ms", AN_NUM, 2},
    {"window_ms", "window ms", AN_NUM, 2},
    {"tokens_per_s", "tok/s", AN_NUM, 0},
    {"serial_tokens_per_s", "tok/s serial", AN_NUM, 0},
    {"bottleneck", "bottleneck", AN_STR, 0},
    {"bound", "bound", AN_STR, 0},
};

static void
fill(an_table *t, const offload_ctx *c)
{
    for (guint i = 0; i < c->windows->len; i++) {
        tm_offload_window w;
        tm_offload_window_eval(&c->e, &c->path, &c->p, g_array_index(c->windows, int64_t, i), &w);
        an_table_row(t);
        an_table_num(t, 0, (double)w.steps);
        an_table_num(t, 1, w.tokens);
        an_table_num(t, 2, w.misses_per_layer);
        an_table_num(t, 3, w.expert_bytes / 1e9);
        an_table_num(t, 4, w.kv_write_bytes / 1e9);
        an_table_num(t, 5, w.kv_read_bytes / 1e9);
        an_table_num(t, 6, w.xfer.link_s * 1e3);
        an_table_num(t, 7, w.xfer.ddr_s * 1e3);
        an_table_num(t, 8, w.compute_s * 1e3);
        an_table_num(t, 9, w.window_s * 1e3);
        an_table_num(t, 10, w.tokens_per_s);
        an_table_num(t, 11, w.tokens / w.serial_s);
        an_table_str(t, 12, w.xfer.time_s > 0 ? tm_channel_name(w.xfer.bottleneck) : "-");
        an_table_str(t, 13, w.transfer_bound ? "transfer" : "compute");
    }
}

static json_t *
transfer_json(const tm_transfer *x)
{
    json_t *o = json_object();
    json_object_set_new(o, "h2d_bytes", base_json_real(x->h2d_bytes));
    json_object_set_new(o, "d2h_bytes", base_json_real(x->d2h_bytes));
    json_object_set_new(o, "link_ms", base_json_real(x->link_s * 1e3));
    json_object_set_new(o, "ddr_ms", base_json_real(x->ddr_s * 1e3));
    json_object_set_new(o, "time_ms", base_json_real(x->time_s * 1e3));
    json_object_set_new(o, "bottleneck", json_string(tm_channel_name(x->bottleneck)));
    return o;
}

static void
print_cold(GString *g, const char *what, const tm_transfer *x)
{
    g_string_append_printf(g, "  %-30s %9.2f GB  link %9.1f ms  DDR %9.1f ms  → %9.1f ms (%s)\n",
                           what, x->h2d_bytes / 1e9, x->link_s * 1e3, x->ddr_s * 1e3,
                           x->time_s * 1e3, tm_channel_name(x->bottleneck));
}

static int
run(const offload_args *a, const offload_ctx *c)
{
    tm_transfer cold_res, cold_all;
    tm_offload_cold(&c->e, &c->path, c->p.resident, &cold_res);
    tm_offload_cold(&c->e, &c->path, c->e.experts, &cold_all);
    g_autoptr(an_table) t = an_table_new(cols, G_N_ELEMENTS(cols));
    fill(t, c);
    GString *g = g_string_new(NULL);
    if (a->json) {
        json_auto_t *o = json_object();
        offload_describe_json(o, a, c);
        json_t *cold = json_object();
        json_object_set_new(cold, "resident", transfer_json(&cold_res));
        json_object_set_new(cold, "all_experts", transfer_json(&cold_all));
        json_object_set_new(o, "cold_refill", cold);
        json_object_set_new(o, "windows", an_table_json(t));
        g_autofree char *s = base_json_dumps(o);
        g_string_append(g, s);
    } else if (a->csv) {
        an_table_csv(t, g);
    } else {
        g_string_append(g, "host bandwidth: ");
        offload_describe(g, a, c);
        g_string_append(g, "\ncold refill (from nothing):\n");
        g_autofree char *w1 =
            g_strdup_printf("resident set (%" G_GINT64_FORMAT " per layer)", c->p.resident);
        g_autofree char *w2 =
            g_strdup_printf("every expert (%" G_GINT64_FORMAT " per layer)", c->e.experts);
        print_cold(g, w1, &cold_res);
        print_cold(g, w2, &cold_all);
        g_string_append(g, "\nhot refill per window (misses fetched once per window; transfers "
                           "overlap compute, 'serial' if they do not):\n");
        an_table_text(t, g, "  ");
    }
    fputs(g->str, stdout);
    g_string_free(g, TRUE);
    return CLI_OK;
}

int
cmd_analyze_hostbw(int argc, char **argv)
{
    return offload_main(
        argc, argv, false, synopsis,
        "Host-memory traffic of MoE expert offload (docs/analysis.md §3): the GPU holds the\n"
        "most popular --resident-experts of each MoE layer; the rest live in host memory and\n"
        "are fetched when a refill window of decode steps touches them. Per window: experts\n"
        "fetched, bytes, time on the host link (PCIe or NVLink-C2C) and on the host's DDR\n"
        "(shared by its GPUs), the bottleneck channel and the decode throughput; plus the\n"
        "cold refill and optional KV write-back / reload. Model default: mixtral-8x7b.",
        run);
}
