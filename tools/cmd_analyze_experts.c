/* tools/cmd_analyze_experts.c: `servesim analyze experts`: the inverse of host-bandwidth
 * (timemodel/hostbw.h, docs/analysis.md §4): given the host bandwidths and a load budget per
 * refill window, how many MoE experts fit in HBM, how many can be loaded per window and how
 * long the window's misses take; the time per output token against an SLA, pass or fail, and
 * the fewest resident experts that pass. --json / --csv. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "tools/analyze.h"
#include "tools/cli.h"
#include "tools/offload.h"

static const char synopsis[] =
    "analyze experts [--model M] [--hardware H] [--budget-ms X] [--tpot-sla-ms X] "
    "[--windows LIST] [--resident-experts N] [--json|--csv]";

static const an_col cols[] = {
    {"window_steps", "window", AN_NUM, 0},
    {"tokens", "tokens", AN_NUM, 0},
    {"misses_per_layer", "misses/layer", AN_NUM, 2},
    {"load_ms", "load ms", AN_NUM, 2},
    {"budget_ms", "budget ms", AN_NUM, 2},
    {"loadable_experts", "loadable", AN_NUM, 0},
    {"loadable_per_layer", "per layer", AN_NUM, 2},
    {"tpot_ms", "TPOT ms", AN_NUM, 2},
    {"min_resident", "min resident", AN_NUM, 0},
    {"bottleneck", "bottleneck", AN_STR, 0},
    {"result", "result", AN_STR, 0},
};

static int
run(const offload_args *a, const offload_ctx *c)
{
    g_autoptr(an_table) t = an_table_new(cols, G_N_ELEMENTS(cols));
    double sla = a->tpot_sla_ms * 1e-3,
           budget = isnan(a->budget_ms) ? (double)NAN : a->budget_ms * 1e-3;
    int passes = 0;
    for (guint i = 0; i < c->windows->len; i++) {
        tm_experts_answer x;
        tm_experts_answer_eval(&c->e, &c->path, &c->p, g_array_index(c->windows, int64_t, i),
                               budget, sla, &x);
        bool ok = x.pass_budget && x.pass_sla;
        passes += ok;
        an_table_row(t);
        an_table_num(t, 0, (double)x.w.steps);
        an_table_num(t, 1, x.w.tokens);
        an_table_num(t, 2, x.w.misses_per_layer);
        an_table_num(t, 3, x.w.xfer.time_s * 1e3);
        an_table_num(t, 4, x.budget_s * 1e3);
        an_table_num(t, 5, x.loadable);
        an_table_num(t, 6, x.loadable_per_layer);
        an_table_num(t, 7, x.tpot_s * 1e3);
        if (x.min_resident >= 0)
            an_table_num(t, 8, (double)x.min_resident);
        an_table_str(t, 9, x.w.xfer.time_s > 0 ? tm_channel_name(x.w.xfer.bottleneck) : "-");
        an_table_str(t, 10,
                     ok               ? "PASS"
                     : !x.pass_budget ? "FAIL (load over budget)"
                                      : "FAIL (TPOT over SLA)");
    }
    tm_transfer one;
    tm_host_transfer(&c->path, c->e.expert_bytes, 0.0, &one);
    GString *g = g_string_new(NULL);
    if (a->json) {
        json_auto_t *o = json_object();
        offload_describe_json(o, a, c);
        json_object_set_new(o, "tpot_sla_ms", base_json_real(a->tpot_sla_ms));
        json_object_set_new(o, "budget_ms",
                            isnan(a->budget_ms) ? json_null() : base_json_real(a->budget_ms));
        json_object_set_new(o, "one_expert_load_ms", base_json_real(one.time_s * 1e3));
        json_object_set_new(o, "windows", an_table_json(t));
        json_object_set_new(o, "windows_passing", json_integer(passes));
        g_autofree char *s = base_json_dumps(o);
        g_string_append(g, s);
    } else if (a->csv) {
        an_table_csv(t, g);
    } else {
        g_string_append(g, "experts: ");
        offload_describe(g, a, c);
        g_string_append_printf(g, "  one expert   %.1f MB of one layer loads in %.3f ms (%s)\n",
                               c->e.expert_bytes / 1e6, one.time_s * 1e3,
                               tm_channel_name(one.bottleneck));
        if (isnan(a->budget_ms))
            g_string_append_printf(g,
                                   "  SLA          TPOT ≤ %g ms; load budget per window = window "
                                   "steps × %g ms (loads overlap compute)\n",
                                   a->tpot_sla_ms, a->tpot_sla_ms);
        else
            g_string_append_printf(g, "  SLA          TPOT ≤ %g ms; load budget %g ms per window\n",
                                   a->tpot_sla_ms, a->budget_ms);
        g_string_append(g, "\n");
        an_table_text(t, g, "  ");
        g_string_append_printf(
            g, "\n%d of %u windows pass with %" G_GINT64_FORMAT " resident experts per layer\n",
            passes, c->windows->len, c->p.resident);
    }
    fputs(g->str, stdout);
    g_string_free(g, TRUE);
    return CLI_OK;
}

int
cmd_analyze_experts(int argc, char **argv)
{
    return offload_main(
        argc, argv, true, synopsis,
        "How many MoE experts fit and can be loaded (docs/analysis.md §4): experts of each\n"
        "layer that fit in HBM next to the other weights and the KV cache; experts loadable\n"
        "over the host path within a load budget per refill window; the load time of the\n"
        "window's misses; the time per output token against --tpot-sla-ms (PASS/FAIL); and\n"
        "the fewest resident experts per layer that pass. Model default: mixtral-8x7b.",
        run);
}
