/* tools/cmd_analyze_mma.c: `servesim analyze mma`: the MMA / GMMA tile modeler
 * (timemodel/mma.h, docs/analysis.md §2). For each CTA tile M×N×K: the instruction and warp
 * tile it runs with, then per memory level (registers, shared, L2, HBM) the bytes per clock
 * per SM the tensor-core peak needs and the level supplies, the arithmetic intensity and
 * utilization, the bounding level, the fraction of the peak reachable, and the L2 hit rate at
 * which HBM stops bounding. --json / --csv. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/opts.h"
#include "timemodel/hardware.h"
#include "timemodel/mma.h"
#include "tools/analyze.h"
#include "tools/cli.h"

static const char synopsis[] =
    "analyze mma [--hardware H] [--tile MxNxK[,MxNxK...]] [--dtype D] [--operands ss|rs|rr] "
    "[--l2-hit-rate X] [--json|--csv]";

typedef struct mma_args {
    char *hardware;
    char *tile;
    char *dtype;
    char *operands;
    char *warp_tile;
    int64_t instr_n;
    int64_t stages;
    double l2_hit;
    char *cluster;
    bool json;
    bool csv;
} mma_args;

static const char *const dtypes[] = {"bf16", "fp16", "fp8", "int8", NULL};
static const char *const operand_names[] = {"auto", "ss", "rs", "rr", NULL};

#define A(f) offsetof(mma_args, f)
static const base_opt rows[] = {
    {"hardware", "hardware", BASE_OPT_STRING, A(hardware), "h100-sxm", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, "NAME|FILE", "GPU preset or hardware JSON (needs its \"sm\" figures)"},
    {"tile", "tile", BASE_OPT_STRING, A(tile), "128x256x64", NULL, 0, 0, BASE_OPT_CLI_ONLY,
     "MxNxK,...", "CTA tiles (K = depth of one shared-memory stage); a list prints one block each"},
    {"dtype", "dtype", BASE_OPT_ENUM, A(dtype), "bf16", dtypes, 0, 0, BASE_OPT_CLI_ONLY, "DTYPE",
     "A and B element type (accumulators fp32)"},
    {"operands", "operands", BASE_OPT_ENUM, A(operands), "auto", operand_names, 0, 0,
     BASE_OPT_CLI_ONLY, "FORM",
     "where the instruction reads A and B: ss shared (wgmma), rs A in registers, rr both in "
     "registers (mma.sync); auto = the GPU's native form"},
    {"warp_tile", "warp-tile", BASE_OPT_STRING, A(warp_tile), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "WMxWN",
     "tile of one warp (rr) or warpgroup (ss, rs) (default: ss/rs one instruction, rr M/2 x N/2)"},
    {"instr_n", "instr-n", BASE_OPT_INT, A(instr_n), "0", NULL, 0, 4096, BASE_OPT_CLI_ONLY, "N",
     "instruction N (0 = the widest that divides the tile's N)"},
    {"stages", "stages", BASE_OPT_INT, A(stages), "2", NULL, 1, 64, BASE_OPT_CLI_ONLY, "N",
     "shared-memory pipeline stages (capacity check)"},
    {"l2_hit_rate", "l2-hit-rate", BASE_OPT_DOUBLE, A(l2_hit), "0", NULL, 0, 1, BASE_OPT_CLI_ONLY,
     "X", "fraction of the tile fills served by L2 (the rest come from HBM)"},
    {"cluster", "cluster", BASE_OPT_STRING, A(cluster), "1x1", NULL, 0, 0, BASE_OPT_CLI_ONLY,
     "CMxCN",
     "thread-block cluster: B tiles multicast to CM CTAs, A tiles to CN (TMA, sm_90 and later)"},
    {"json", "json", BASE_OPT_BOOL, A(json), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print one JSON object"},
    {"csv", "csv", BASE_OPT_BOOL, A(csv), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print one CSV row per tile and level"},
};
static const base_opt_table table = {"MMA tile", rows, G_N_ELEMENTS(rows), 0};

typedef struct tile_result {
    tm_mma_params p;
    tm_mma_result r;
    double hit_needed; /* L2 hit rate from which HBM no longer bounds */
} tile_result;

static GArray *
analyze_tiles(const mma_args *a, const tm_hardware *hw, GError **error)
{
    tm_mma_params base;
    memset(&base, 0, sizeof base);
    if (!tm_dtype_parse(a->dtype, &base.dtype, error))
        return NULL;
    base.operands = TM_MMA_AUTO;
    if (strcmp(a->operands, "auto") != 0 &&
        !tm_mma_operands_parse(a->operands, &base.operands, error))
        return NULL;
    if (a->warp_tile != NULL) {
        int64_t w[2];
        if (!an_parse_dims("warp-tile", a->warp_tile, 2, 65536, w, error))
            return NULL;
        base.warp_m = w[0];
        base.warp_n = w[1];
    }
    int64_t cl[2];
    if (!an_parse_dims("cluster", a->cluster, 2, 16, cl, error))
        return NULL;
    base.cluster_m = cl[0];
    base.cluster_n = cl[1];
    base.instr_n = a->instr_n;
    base.stages = a->stages;
    base.l2_hit = a->l2_hit;
    g_auto(GStrv) tiles = g_strsplit(a->tile, ",", -1);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(tile_result));
    for (char **t = tiles; *t != NULL; t++) {
        tile_result x;
        memset(&x, 0, sizeof x);
        x.p = base;
        int64_t d[3];
        g_autofree char *item = g_strstrip(g_strdup(*t));
        gboolean ok = an_parse_dims("tile", item, 3, 65536, d, error);
        if (ok) {
            x.p.m = d[0];
            x.p.n = d[1];
            x.p.k = d[2];
            ok = tm_mma_analyze(hw, &x.p, &x.r, error);
        }
        if (!ok) {
            g_array_free(out, TRUE);
            return NULL;
        }
        const tm_mma_level *l2 = &x.r.level[TM_LEVEL_L2], *hbm = &x.r.level[TM_LEVEL_HBM];
        x.hit_needed = MAX(0.0, 1.0 - hbm->supply_bpc / l2->need_bpc);
        g_array_append_val(out, x);
    }
    if (out->len == 0) {
        g_array_free(out, TRUE);
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "--tile: no tile given");
        return NULL;
    }
    return out;
}

static char *
tile_name(const tm_mma_params *p)
{
    return g_strdup_printf("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, p->m,
                           p->n, p->k);
}

static const char *
bound_name(const tm_mma_result *r)
{
    return r->compute_bound ? "tensor" : tm_mem_level_name(r->bound);
}

static const an_col level_cols[] = {
    {"tile", "tile", AN_STR, 0},
    {"level", "level", AN_STR, 0},
    {"need_bytes_per_clock", "needs B/clk/SM", AN_NUM, 1},
    {"supply_bytes_per_clock", "supplies B/clk/SM", AN_NUM, 1},
    {"intensity_flop_per_byte", "FLOP/B", AN_NUM, 1},
    {"utilization", "utilization %", AN_NUM, 1},
    {"bound", "bound", AN_STR, 0},
};

static void
level_rows(an_table *t, const tile_result *x, bool with_tile)
{
    g_autofree char *tn = tile_name(&x->p);
    for (int l = 0; l < TM_LEVEL_COUNT; l++) {
        const tm_mma_level *v = &x->r.level[l];
        size_t c = 0;
        an_table_row(t);
        if (with_tile)
            an_table_str(t, c++, tn);
        an_table_str(t, c++, tm_mem_level_name((tm_mem_level)l));
        an_table_num(t, c++, v->need_bpc);
        an_table_num(t, c++, v->supply_bpc);
        an_table_num(t, c++, v->intensity);
        an_table_num(t, c++, with_tile ? v->utilization : 100.0 * v->utilization);
        bool b = !x->r.compute_bound && x->r.bound == (tm_mem_level)l;
        an_table_str(t, c, with_tile ? (b ? "yes" : "") : (b ? "<- bound" : ""));
    }
}

static json_t *
tile_json(const tile_result *x)
{
    const tm_mma_result *r = &x->r;
    json_t *o = json_object();
    json_object_set_new(o, "m", json_integer(x->p.m));
    json_object_set_new(o, "n", json_integer(x->p.n));
    json_object_set_new(o, "k", json_integer(x->p.k));
    json_object_set_new(o, "operands", json_string(tm_mma_operands_name(r->operands)));
    json_object_set_new(o, "instr_m", json_integer(r->instr_m));
    json_object_set_new(o, "instr_n", json_integer(r->instr_n));
    json_object_set_new(o, "instr_k", json_integer(r->instr_k));
    json_object_set_new(o, "warp_m", json_integer(r->warp_m));
    json_object_set_new(o, "warp_n", json_integer(r->warp_n));
    json_object_set_new(o, "stages", json_integer(x->p.stages));
    json_object_set_new(o, "cluster_m", json_integer(x->p.cluster_m));
    json_object_set_new(o, "cluster_n", json_integer(x->p.cluster_n));
    json_object_set_new(o, "smem_bytes", base_json_real(r->smem_bytes));
    json_object_set_new(o, "accumulator_bytes", base_json_real(r->accum_bytes));
    json_object_set_new(o, "flops_per_clock", base_json_real(r->flops_per_clock));
    json_object_set_new(o, "cycles_per_stage", base_json_real(r->cycles_per_stage));
    json_t *lv = json_array();
    for (int l = 0; l < TM_LEVEL_COUNT; l++) {
        const tm_mma_level *v = &r->level[l];
        json_t *e = json_object();
        json_object_set_new(e, "level", json_string(tm_mem_level_name((tm_mem_level)l)));
        json_object_set_new(e, "bytes_per_flop", base_json_real(v->bytes_per_flop));
        json_object_set_new(e, "need_bytes_per_clock", base_json_real(v->need_bpc));
        json_object_set_new(e, "supply_bytes_per_clock", base_json_real(v->supply_bpc));
        json_object_set_new(e, "intensity_flop_per_byte", base_json_real(v->intensity));
        json_object_set_new(e, "utilization", base_json_real(v->utilization));
        json_array_append_new(lv, e);
    }
    json_object_set_new(o, "levels", lv);
    json_object_set_new(o, "bound", json_string(bound_name(r)));
    json_object_set_new(o, "achievable_fraction", base_json_real(r->achievable));
    json_object_set_new(o, "achievable_tflops", base_json_real(r->achievable_flops / 1e12));
    json_object_set_new(o, "l2_hit_rate_needed", base_json_real(x->hit_needed));
    return o;
}

static void
print_text(GString *g, const mma_args *a, const tm_hardware *hw, const GArray *tiles)
{
    const tm_sm_spec *sm = &hw->sm;
    g_string_append_printf(g,
                           "mma tiles on %s (%s): %" G_GINT64_FORMAT " SMs at %.0f MHz, %s, L2 hit "
                           "rate %.2f\n",
                           hw->name, hw->display_name, sm->count, sm->clock_hz / 1e6, a->dtype,
                           a->l2_hit);
    for (guint i = 0; i < tiles->len; i++) {
        const tile_result *x = &g_array_index(tiles, tile_result, i);
        const tm_mma_result *r = &x->r;
        g_autofree char *tn = tile_name(&x->p);
        const char *form = r->operands == TM_MMA_RR ? "mma.sync" : "wgmma";
        g_string_append_printf(
            g,
            "\ntile %s: %s %s, instruction m%" G_GINT64_FORMAT "n%" G_GINT64_FORMAT
            "k%" G_GINT64_FORMAT ", %s tile %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
            ", %" G_GINT64_FORMAT
            " stages (%.0f KiB shared), %.0f KiB fp32 accumulators, cluster %" G_GINT64_FORMAT
            "x%" G_GINT64_FORMAT "\n",
            tn, form, tm_mma_operands_name(r->operands), r->instr_m, r->instr_n, r->instr_k,
            r->operands == TM_MMA_RR ? "warp" : "warpgroup", r->warp_m, r->warp_n, x->p.stages,
            r->smem_bytes / 1024.0, r->accum_bytes / 1024.0, x->p.cluster_m, x->p.cluster_n);
        g_string_append_printf(g, "  tensor peak %.0f FLOP/clock/SM; %.0f clocks per K stage\n",
                               r->flops_per_clock, r->cycles_per_stage);
        static const an_col cols[] = {
            {"level", "level", AN_STR, 0},
            {"need", "needs B/clk/SM", AN_NUM, 1},
            {"supply", "supplies B/clk/SM", AN_NUM, 1},
            {"intensity", "FLOP/B", AN_NUM, 1},
            {"utilization", "utilization %", AN_NUM, 1},
            {"bound", "", AN_STR, 0},
        };
        g_autoptr(an_table) t = an_table_new(cols, G_N_ELEMENTS(cols));
        level_rows(t, x, false);
        an_table_text(t, g, "  ");
        if (r->compute_bound)
            g_string_append_printf(
                g, "  bound: tensor cores (every level within its supply): %.1f TFLOP/s\n",
                r->achievable_flops / 1e12);
        else
            g_string_append_printf(g, "  bound: %s: %.1f%% of the tensor peak = %.1f TFLOP/s\n",
                                   tm_mem_level_name(r->bound), 100.0 * r->achievable,
                                   r->achievable_flops / 1e12);
        g_string_append_printf(g, "  HBM stops bounding at an L2 hit rate of %.1f%%\n",
                               100.0 * x->hit_needed);
    }
}

int
cmd_analyze_mma(int argc, char **argv)
{
    const base_opt_set set = {&table, 1};
    if (cli_wants_help(argc, argv)) {
        cli_print_help(
            synopsis,
            "MMA / GMMA tile modeler (docs/analysis.md §2): for a CTA tile M×N×K, the bytes\n"
            "per clock per SM the tensor-core peak needs from registers, shared memory, L2 and\n"
            "HBM against what each supplies, the arithmetic intensity at each level, and the\n"
            "level that bounds the tile.",
            &set);
        return CLI_OK;
    }
    mma_args a;
    memset(&a, 0, sizeof a);
    base_opts_defaults(&set, &a);
    GError *err = NULL;
    int rc = CLI_OK;
    g_auto(tm_hardware) hw = {0};
    g_autoptr(GArray) tiles = NULL;
    if (!base_opts_parse_args(&set, &a, argc - 2, argv + 2, NULL, &err)) {
        rc = cli_fail(err, CLI_USAGE);
    } else if (a.json && a.csv) {
        rc = cli_usage_error(synopsis, "--json and --csv are exclusive");
    } else if (!tm_hardware_load(&hw, a.hardware, &err) ||
               (tiles = analyze_tiles(&a, &hw, &err)) == NULL) {
        rc = cli_fail(err, CLI_USAGE);
    } else {
        GString *g = g_string_new(NULL);
        if (a.json) {
            json_auto_t *o = json_object();
            json_object_set_new(o, "hardware", json_string(hw.name));
            json_object_set_new(o, "dtype", json_string(a.dtype));
            json_object_set_new(o, "l2_hit_rate", base_json_real(a.l2_hit));
            json_t *arr = json_array();
            for (guint i = 0; i < tiles->len; i++)
                json_array_append_new(arr, tile_json(&g_array_index(tiles, tile_result, i)));
            json_object_set_new(o, "tiles", arr);
            g_autofree char *s = base_json_dumps(o);
            g_string_append(g, s);
        } else if (a.csv) {
            g_autoptr(an_table) t = an_table_new(level_cols, G_N_ELEMENTS(level_cols));
            for (guint i = 0; i < tiles->len; i++)
                level_rows(t, &g_array_index(tiles, tile_result, i), true);
            an_table_csv(t, g);
        } else {
            print_text(g, &a, &hw, tiles);
        }
        fputs(g->str, stdout);
        g_string_free(g, TRUE);
    }
    base_opts_clear(&set, &a);
    return rc;
}
