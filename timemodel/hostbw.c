/* timemodel/hostbw.c: MoE expert offload and KV write-back over the host path (hostbw.h;
 * formulas and sources in docs/analysis.md §3–4). The GPU holds the `resident` most popular
 * experts of each layer (the best static choice), so the misses of a window are the experts
 * ranked resident..E−1 that the window touches. Invariants: misses are non-increasing in the
 * resident count and non-decreasing in the window; transfer times are non-increasing in every
 * bandwidth (tested). */
#include "timemodel/hostbw.h"

#include <math.h>
#include <string.h>

#include "timemodel/memory.h"

static const char *const channel_names[TM_CHANNEL_COUNT] = {"pcie", "c2c", "ddr"};

const char *
tm_channel_name(tm_channel c)
{
    g_return_val_if_fail(c < TM_CHANNEL_COUNT, "?");
    return channel_names[c];
}

gboolean
tm_moe_offload_init(tm_moe_offload *e,
                    const tm_model_spec *m,
                    tm_dtype weights,
                    const tm_parallel *p,
                    GError **error)
{
    memset(e, 0, sizeof *e);
    if (m->experts <= 0 || m->moe_layers <= 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--model %s: a dense model has no experts to offload (try mixtral-8x7b, "
                    "qwen3-30b-a3b, deepseek-v3)",
                    m->name);
        return FALSE;
    }
    e->experts = m->experts;
    e->topk = m->topk;
    e->moe_layers = (double)m->moe_layers / (double)p->pp;
    e->expert_bytes = 3.0 * (double)m->hidden * (double)m->expert_ffn * tm_dtype_bytes(weights) /
                      ((double)p->tp * (double)p->dp);
    return TRUE;
}

/* Zipf weight of the expert ranked I (0 = most popular). */
static double
zipf(double skew, int64_t i)
{
    return skew == 0.0 ? 1.0 : pow((double)(i + 1), -skew);
}

double
tm_expert_touched(const tm_moe_offload *e, double skew, int64_t from, double tokens)
{
    double norm = 0.0;
    for (int64_t i = 0; i < e->experts; i++)
        norm += zipf(skew, i);
    double k = (double)e->topk, sum = 0.0;
    for (int64_t i = MAX(from, 0); i < e->experts; i++) {
        double q = MIN(1.0, k * zipf(skew, i) / norm);
        /* 1 − (1 − q)^T without cancellation for small q */
        sum += q >= 1.0 ? 1.0 : -expm1(tokens * log1p(-q));
    }
    return sum;
}

gboolean
tm_host_path_init(tm_host_path *path,
                  const tm_hardware *hw,
                  const char *link,
                  double pcie_gbps,
                  double c2c_gbps,
                  double ddr_gbps,
                  int64_t gpus_per_host,
                  double efficiency,
                  GError **error)
{
    memset(path, 0, sizeof *path);
    double pcie = isnan(pcie_gbps) ? hw->pcie.bw : pcie_gbps * 1e9;
    double c2c = isnan(c2c_gbps) ? hw->host.c2c_bw : c2c_gbps * 1e9;
    double ddr = isnan(ddr_gbps) ? hw->host.ddr_bw : ddr_gbps * 1e9;
    const char *l = link != NULL ? link : "auto";
    if (strcmp(l, "auto") == 0)
        path->link = c2c > 0 ? TM_CHANNEL_C2C : TM_CHANNEL_PCIE;
    else if (strcmp(l, "pcie") == 0)
        path->link = TM_CHANNEL_PCIE;
    else if (strcmp(l, "c2c") == 0)
        path->link = TM_CHANNEL_C2C;
    else {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "--host-link %s: expected auto, pcie or c2c",
                    l);
        return FALSE;
    }
    path->link_bw = path->link == TM_CHANNEL_C2C ? c2c : pcie;
    if (!(path->link_bw > 0) || !isfinite(path->link_bw)) {
        const char *flag = path->link == TM_CHANNEL_C2C ? "--c2c-gbps" : "--pcie-gbps";
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: %s has no positive %s bandwidth (pass %s)", flag, hw->name,
                    path->link == TM_CHANNEL_C2C ? "NVLink-C2C" : "PCIe", flag);
        return FALSE;
    }
    if (!(ddr > 0) || !isfinite(ddr)) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--ddr-gbps: %s has no positive host-memory bandwidth (host.ddr_gbps; pass "
                    "--ddr-gbps)",
                    hw->name);
        return FALSE;
    }
    path->ddr_bw = ddr;
    path->gpus_per_host = gpus_per_host > 0 ? gpus_per_host : hw->host.gpus_per_host;
    if (path->gpus_per_host < 1)
        path->gpus_per_host = 1;
    if (!(efficiency > 0 && efficiency <= 1)) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "--host-efficiency %g: must be in (0, 1]",
                    efficiency);
        return FALSE;
    }
    path->efficiency = efficiency;
    return TRUE;
}

void
tm_host_transfer(const tm_host_path *path, double h2d, double d2h, tm_transfer *t)
{
    memset(t, 0, sizeof *t);
    t->h2d_bytes = h2d;
    t->d2h_bytes = d2h;
    t->link_s = MAX(h2d, d2h) / (path->link_bw * path->efficiency);
    t->ddr_s = (h2d + d2h) * (double)path->gpus_per_host / (path->ddr_bw * path->efficiency);
    t->bottleneck = t->ddr_s > t->link_s ? TM_CHANNEL_DDR : path->link;
    t->time_s = MAX(t->link_s, t->ddr_s);
}

gboolean
tm_offload_params_check(const tm_moe_offload *e, const tm_offload_params *p, GError **error)
{
    const char *bad = NULL;
    if (p->batch < 1)
        bad = "--batch: must be ≥ 1";
    else if (p->resident < 0 || p->resident > e->experts)
        bad = "--resident-experts: must be in [0, experts per layer]";
    else if (!(p->skew >= 0 && p->skew <= 10))
        bad = "--expert-skew: must be in [0, 10]";
    else if (!(p->step_s > 0) || !isfinite(p->step_s))
        bad = "--step-ms: must be > 0";
    else if (!(p->kv_writeback >= 0 && p->kv_writeback <= 1))
        bad = "--kv-writeback: must be in [0, 1]";
    else if (!(p->kv_reload_tokens >= 0) || !isfinite(p->kv_reload_tokens))
        bad = "--kv-reload-tokens: must be ≥ 0";
    if (bad == NULL)
        return TRUE;
    if (p->resident > e->experts)
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--resident-experts %" G_GINT64_FORMAT ": the model has %" G_GINT64_FORMAT
                    " experts per layer",
                    p->resident, e->experts);
    else
        g_set_error_literal(error, TM_ERROR, TM_ERROR_INVALID, bad);
    return FALSE;
}

void
tm_offload_window_eval(const tm_moe_offload *e,
                       const tm_host_path *path,
                       const tm_offload_params *p,
                       int64_t steps,
                       tm_offload_window *w)
{
    memset(w, 0, sizeof *w);
    w->steps = steps;
    w->tokens = (double)p->batch * (double)steps;
    w->misses_per_layer = tm_expert_touched(e, p->skew, p->resident, w->tokens);
    w->expert_bytes = w->misses_per_layer * e->moe_layers * e->expert_bytes;
    w->kv_write_bytes = p->kv_writeback * w->tokens * p->kv_bytes_per_token;
    w->kv_read_bytes = p->kv_reload_tokens * (double)steps * p->kv_bytes_per_token;
    tm_host_transfer(path, w->expert_bytes + w->kv_read_bytes, w->kv_write_bytes, &w->xfer);
    w->compute_s = (double)steps * p->step_s;
    w->window_s = MAX(w->compute_s, w->xfer.time_s);
    w->serial_s = w->compute_s + w->xfer.time_s;
    w->tokens_per_s = w->tokens / w->window_s;
    w->transfer_bound = w->xfer.time_s > w->compute_s;
}

void
tm_offload_cold(const tm_moe_offload *e, const tm_host_path *path, int64_t resident, tm_transfer *t)
{
    tm_host_transfer(path, (double)resident * e->moe_layers * e->expert_bytes, 0.0, t);
}

static void
answer_at(const tm_moe_offload *e,
          const tm_host_path *path,
          const tm_offload_params *p,
          int64_t steps,
          int64_t resident,
          double budget_s,
          double sla_s,
          tm_experts_answer *a)
{
    tm_offload_params q = *p;
    q.resident = resident;
    a->resident = resident;
    tm_offload_window_eval(e, path, &q, steps, &a->w);
    a->tpot_s = a->w.window_s / (double)steps;
    a->pass_budget = a->w.xfer.time_s <= budget_s;
    a->pass_sla = a->tpot_s <= sla_s;
}

void
tm_experts_answer_eval(const tm_moe_offload *e,
                       const tm_host_path *path,
                       const tm_offload_params *p,
                       int64_t steps,
                       double budget_s,
                       double tpot_sla_s,
                       tm_experts_answer *a)
{
    memset(a, 0, sizeof *a);
    double budget = isnan(budget_s) ? (double)steps * tpot_sla_s : budget_s;
    answer_at(e, path, p, steps, p->resident, budget, tpot_sla_s, a);
    a->budget_s = budget;
    /* experts moved in the budget when the link and DDR carry nothing else (one expert-layer
     * each): the time of one is the transfer of its bytes */
    tm_transfer one;
    tm_host_transfer(path, e->expert_bytes, 0.0, &one);
    a->loadable = floor(budget / one.time_s * (1.0 + 1e-12));
    a->loadable_per_layer = a->loadable / e->moe_layers;
    /* misses never rise with residency, so passing is monotone in it: bisect for the first
     * resident count that passes */
    tm_experts_answer t;
    answer_at(e, path, p, steps, e->experts, budget, tpot_sla_s, &t);
    a->min_resident = -1;
    if (t.pass_budget && t.pass_sla) {
        int64_t lo = 0, hi = e->experts; /* hi passes */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            answer_at(e, path, p, steps, mid, budget, tpot_sla_s, &t);
            if (t.pass_budget && t.pass_sla)
                hi = mid;
            else
                lo = mid + 1;
        }
        a->min_resident = hi;
    }
}

int64_t
tm_experts_fit(const tm_moe_offload *e, double free_bytes)
{
    double per = e->moe_layers * e->expert_bytes;
    if (!(free_bytes > 0) || !(per > 0))
        return 0;
    double n = floor(free_bytes / per);
    return n >= (double)e->experts ? e->experts : (int64_t)n;
}

double
tm_experts_free_bytes(const tm_model_spec *m,
                      const tm_hardware *hw,
                      const tm_parallel *p,
                      tm_dtype weights,
                      double utilization,
                      double kv_bytes,
                      int64_t batch)
{
    tm_moe_offload e;
    double all_experts = 0.0;
    if (tm_moe_offload_init(&e, m, weights, p, NULL))
        all_experts = (double)e.experts * e.moe_layers * e.expert_bytes;
    double others = tm_model_weight_bytes_gpu(m, weights, p) - all_experts;
    return hw->memory_bytes * utilization - others - kv_bytes -
           tm_memory_activation_bytes(m, p, batch, batch) - TM_NON_TORCH_BYTES;
}
