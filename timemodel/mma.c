/* timemodel/mma.c: the MMA / GMMA tile modeler (mma.h; docs/analysis.md §2).
 * Bytes per tensor FLOP at each level, with b bytes per element, CTA tile M×N, warp(group)
 * tile Wm×Wn, instruction m×n:
 *   fill (global → shared, per stage (M+N)·K·b for 2·M·N·K FLOP)  b·(M+N)/(2·M·N)
 *   L2      = b·(M/Cn + N/Cm)/(2·M·N)  (TMA / cp.async.cg loads bypass L1; a Cm×Cn cluster
 *             multicasts each B tile to its Cm CTAs and each A tile to its Cn: = fill at 1×1)
 *   HBM     = (1 − l2_hit)·L2
 *   shared  = fill (the writes) + operand reads: an A element serves the N columns of the
 *             tile that reads it, a B element the M rows: b/(2·Nr) + b/(2·Mr), where (Mr, Nr)
 *             is the instruction (ss: wgmma reads both operands itself), the instruction's m
 *             and the warpgroup tile's N (rs), or the warp tile (rr: ldmatrix once per warp tile)
 *   registers = operands the instruction reads from registers: rs A b/(2·n); rr A and B
 *             b/(2·n) + b/(2·m); ss none. fp32 accumulators are not counted: how the tensor
 *             core stages them is not public, so the level compares operand fetch only.
 * Every formula is monotone: a larger M or N never raises bytes per FLOP (tested). */
#include "timemodel/mma.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

static const char *const op_names[] = {"ss", "rs", "rr", "auto"};
static const char *const level_names[TM_LEVEL_COUNT] = {"registers", "shared", "l2", "hbm"};

const char *
tm_mma_operands_name(tm_mma_operands o)
{
    g_return_val_if_fail(o <= TM_MMA_AUTO, "?");
    return op_names[o];
}

gboolean
tm_mma_operands_parse(const char *s, tm_mma_operands *out, GError **error)
{
    for (int i = 0; i <= TM_MMA_AUTO; i++)
        if (s != NULL && strcmp(s, op_names[i]) == 0) {
            *out = (tm_mma_operands)i;
            return TRUE;
        }
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "--operands %s: expected ss, rs, rr or auto",
                s ? s : "(null)");
    return FALSE;
}

const char *
tm_mem_level_name(tm_mem_level l)
{
    g_return_val_if_fail(l < TM_LEVEL_COUNT, "?");
    return level_names[l];
}

/* mma.sync.m16n8k16: the register-operand instruction every GPU since Ampere has. */
#define RR_INSTR_M 16
#define RR_INSTR_N 8

static gboolean fail(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
fail(GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, TM_ERROR, TM_ERROR_INVALID, msg);
    g_free(msg);
    return FALSE;
}

#define I64 "%" G_GINT64_FORMAT

gboolean
tm_mma_analyze(const tm_hardware *hw, const tm_mma_params *p, tm_mma_result *r, GError **error)
{
    g_return_val_if_fail(hw != NULL && p != NULL && r != NULL, FALSE);
    memset(r, 0, sizeof *r);
    if (!tm_hardware_require_sm(hw, "analyze mma", error))
        return FALSE;
    const tm_sm_spec *sm = &hw->sm;
    const char *hn = hw->name;
    double b = tm_dtype_bytes(p->dtype);
    r->flops_per_clock = sm->tensor_flops_per_clock[p->dtype];
    if (r->flops_per_clock <= 0)
        return fail(error, "--dtype %s: %s has no %s tensor-core rate", tm_dtype_name(p->dtype), hn,
                    tm_dtype_name(p->dtype));
    if (p->m < 1 || p->n < 1 || p->k < 1)
        return fail(error, "--tile " I64 "x" I64 "x" I64 ": sizes must be ≥ 1", p->m, p->n, p->k);
    if (p->stages < 1)
        return fail(error, "--stages " I64 ": must be ≥ 1", p->stages);
    if (!(p->l2_hit >= 0 && p->l2_hit <= 1))
        return fail(error, "--l2-hit-rate %g: must be in [0, 1]", p->l2_hit);
    const int64_t cm = MAX(p->cluster_m, 1), cn = MAX(p->cluster_n, 1);
    if (p->cluster_m < 0 || p->cluster_n < 0 || cm * cn > 16)
        return fail(error, "--cluster " I64 "x" I64 ": a cluster holds 1 to 16 CTAs", p->cluster_m,
                    p->cluster_n);
    if (cm * cn > 1 && !sm->mma.operands_in_smem)
        return fail(error,
                    "--cluster " I64 "x" I64 ": %s has no thread-block clusters with TMA "
                    "multicast (sm_90 and later)",
                    cm, cn, hn);
    tm_mma_operands ops = p->operands;
    if (ops == TM_MMA_AUTO)
        ops = sm->mma.operands_in_smem ? TM_MMA_SS : TM_MMA_RR;
    if (ops != TM_MMA_RR && !sm->mma.operands_in_smem)
        return fail(
            error,
            "--operands %s: %s has no shared-memory-operand MMA (wgmma is sm_90 and later); "
            "use rr",
            op_names[ops], hn);
    r->operands = ops;
    r->instr_k = (int64_t)((double)sm->mma.k_bytes / b);
    g_autofree char *tile = g_strdup_printf(I64 "x" I64 "x" I64, p->m, p->n, p->k);
    if (ops == TM_MMA_RR) {
        r->instr_m = RR_INSTR_M;
        r->instr_n = p->instr_n > 0 ? p->instr_n : RR_INSTR_N;
        if (r->instr_n != RR_INSTR_N)
            return fail(error, "--instr-n " I64 ": mma.sync has n = %d", r->instr_n, RR_INSTR_N);
        r->warp_m = p->warp_m > 0 ? p->warp_m : MAX(p->m / 2, RR_INSTR_M);
        r->warp_n = p->warp_n > 0 ? p->warp_n : MAX(p->n / 2, RR_INSTR_N);
    } else {
        r->instr_m = sm->mma.m;
        if (p->instr_n > 0) {
            r->instr_n = p->instr_n;
        } else { /* the widest instruction that tiles N */
            for (int64_t x = MIN(p->n, sm->mma.n_max) / sm->mma.n * sm->mma.n; x >= sm->mma.n;
                 x -= sm->mma.n)
                if (p->n % x == 0) {
                    r->instr_n = x;
                    break;
                }
            if (r->instr_n == 0)
                return fail(error,
                            "--tile %s: N = " I64 " is not a multiple of " I64
                            " (the MMA instruction's N granule on %s)",
                            tile, p->n, sm->mma.n, hn);
        }
        if (r->instr_n % sm->mma.n != 0 || r->instr_n > sm->mma.n_max)
            return fail(error,
                        "--instr-n " I64 ": must be a multiple of " I64 " up to " I64 " on %s",
                        r->instr_n, sm->mma.n, sm->mma.n_max, hn);
        /* a warpgroup computes instr_m rows per instruction; its tile spans instr_n columns */
        r->warp_m = p->warp_m > 0 ? p->warp_m : r->instr_m;
        r->warp_n = p->warp_n > 0 ? p->warp_n : r->instr_n;
    }
    if (p->m % r->warp_m != 0 || p->n % r->warp_n != 0)
        return fail(error,
                    "--tile %s: the tile is not a whole number of " I64 "x" I64
                    " warp tiles (--warp-tile)",
                    tile, r->warp_m, r->warp_n);
    if (r->warp_m % r->instr_m != 0 || r->warp_n % r->instr_n != 0)
        return fail(error,
                    "--warp-tile " I64 "x" I64 ": not a whole number of " I64 "x" I64
                    " instructions (%s on %s)",
                    r->warp_m, r->warp_n, r->instr_m, r->instr_n, op_names[ops], hn);
    if (p->k % r->instr_k != 0)
        return fail(error,
                    "--tile %s: K = " I64 " is not a multiple of " I64
                    " (the MMA instruction's depth for %s on %s)",
                    tile, p->k, r->instr_k, tm_dtype_name(p->dtype), hn);
    double M = (double)p->m, N = (double)p->n, K = (double)p->k;
    r->smem_bytes = (double)p->stages * (M + N) * K * b;
    if (r->smem_bytes > sm->smem_bytes)
        return fail(error,
                    "--tile %s: " I64 " stages of A and B tiles need %.0f KiB of shared memory; %s "
                    "has %.0f KiB per SM",
                    tile, p->stages, r->smem_bytes / 1024.0, hn, sm->smem_bytes / 1024.0);
    r->accum_bytes = M * N * 4.0;
    if (sm->regfile_bytes > 0 && r->accum_bytes > sm->regfile_bytes)
        return fail(error,
                    "--tile %s: fp32 accumulators need %.0f KiB of registers; %s has %.0f KiB "
                    "per SM",
                    tile, r->accum_bytes / 1024.0, hn, sm->regfile_bytes / 1024.0);
    r->cycles_per_stage = 2.0 * M * N * K / r->flops_per_clock;

    const double im = (double)r->instr_m, in = (double)r->instr_n;
    const double wm = (double)r->warp_m, wn = (double)r->warp_n;
    const double fill = b * (M + N) / (2.0 * M * N);
    double bpf[TM_LEVEL_COUNT];
    switch (ops) {
    case TM_MMA_SS:
        bpf[TM_LEVEL_REGISTERS] = 0.0;
        bpf[TM_LEVEL_SHARED] = fill + b / (2.0 * in) + b / (2.0 * im);
        break;
    case TM_MMA_RS:
        bpf[TM_LEVEL_REGISTERS] = b / (2.0 * in);
        bpf[TM_LEVEL_SHARED] = fill + b / (2.0 * wn) + b / (2.0 * im);
        break;
    default:
        bpf[TM_LEVEL_REGISTERS] = b / (2.0 * in) + b / (2.0 * im);
        bpf[TM_LEVEL_SHARED] = fill + b / (2.0 * wn) + b / (2.0 * wm);
        break;
    }
    bpf[TM_LEVEL_L2] = b * (M / (double)cn + N / (double)cm) / (2.0 * M * N);
    bpf[TM_LEVEL_HBM] = (1.0 - p->l2_hit) * bpf[TM_LEVEL_L2];
    const double per_sm_clock = (double)sm->count * sm->clock_hz;
    const double supply[TM_LEVEL_COUNT] = {
        sm->regfile_bytes_per_clock,
        sm->smem_bytes_per_clock,
        hw->l2_bw / per_sm_clock,
        hw->mem_bw / per_sm_clock,
    };
    double worst = 0.0;
    r->bound = TM_LEVEL_REGISTERS;
    for (int l = 0; l < TM_LEVEL_COUNT; l++) {
        tm_mma_level *v = &r->level[l];
        v->bytes_per_flop = bpf[l];
        v->need_bpc = bpf[l] * r->flops_per_clock;
        v->supply_bpc = supply[l];
        v->intensity = bpf[l] > 0 ? 1.0 / bpf[l] : (double)INFINITY;
        v->utilization = v->need_bpc / supply[l];
        if (v->utilization > worst) {
            worst = v->utilization;
            r->bound = (tm_mem_level)l;
        }
    }
    r->compute_bound = worst <= 1.0;
    r->achievable = worst > 1.0 ? 1.0 / worst : 1.0;
    r->achievable_flops = r->achievable * r->flops_per_clock * per_sm_clock;
    return TRUE;
}
