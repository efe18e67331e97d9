/* dsa/options.c: the DSA rows of the settings schema. Defaults of the tier cost model are
 * docs/domain.md §5.4's figures (each row's help names its source); bandwidths left null take
 * the hardware preset's own (HBM, PCIe, network), so one set of defaults fits every GPU. */
#include "dsa/options.h"

#include <stddef.h>
#include <string.h>

#include "base/error.h"

static const char *const granularities[] = {"token", "block", NULL};

#define O(field) offsetof(dsa_options, field)

static const base_opt rows[] = {
    {"dsa.trace", "dsa-trace", BASE_OPT_BOOL, O(trace), "false", NULL, 0, 0, 0, NULL,
     "write trace_steps.jsonl: one dsa_topk record per (decode step, request, layer) "
     "(DSA models only; docs/dsa.md)"},
    {"dsa.trace_file", "dsa-trace-file", BASE_OPT_STRING, O(trace_file), "trace_steps.jsonl", NULL,
     0, 0, 0, "NAME", "name of the DSA trace inside the output dir (.gz = gzip)"},
    {"dsa.sample_rate", "dsa-trace-sample-rate", BASE_OPT_DOUBLE, O(sample_rate), "1", NULL, 0, 1,
     0, "X", "fraction of (request, decode step) pairs recorded (all layers of a kept step)"},
    {"dsa.layers", "dsa-trace-layers", BASE_OPT_STRING, O(layers), "all", NULL, 0, 0, 0,
     "all|L,L,...", "layers recorded, e.g. 0,30,60"},
    {"dsa.requests", "dsa-trace-requests", BASE_OPT_INT, O(requests), NULL, NULL, 0, 1e15,
     BASE_OPT_NULLABLE, "N", "record only the first N requests of the workload (ids < N)"},
    {"dsa.block_size", "dsa-block-size", BASE_OPT_INT, O(block_size), "16", NULL, 1, 65536, 0, "N",
     "logical block of the trace in tokens (block_id = pos / N)"},
    {"dsa.prefix_key_tokens", "dsa-prefix-key-tokens", BASE_OPT_INT, O(prefix_key_tokens), "256",
     NULL, 1, 1e9, 0, "N", "prompt tokens hashed into prefix_key"},
    {"dsa.store_scores", "dsa-store-scores", BASE_OPT_BOOL, O(store_scores), "false", NULL, 0, 0, 0,
     NULL, "add scores_topk (synthetic indexer scores) to every record"},
    {"dsa.selection", "dsa-selection", BASE_OPT_STRING, O(selection), "clustered", NULL, 0, 0, 0,
     "clustered|uniform|domain|FILE",
     "selection synthesizer preset or parameter file (`analyze dsa --fit` writes one)"},
    {"dsa.kv_offload", "dsa-kv-offload", BASE_OPT_BOOL, O(kv_offload), "false", NULL, 0, 0, 0, NULL,
     "add each decode step's exposed KV fetch latency (tier model below) to its time"},
    /* the flag names docs/formats/dsa-trace.md uses, as hidden aliases of the rows above (same
     * field and default, no JSON key) */
    {"dsa.alias.trace_sample_rate", "trace-sample-rate", BASE_OPT_DOUBLE, O(sample_rate), "1", NULL,
     0, 1, BASE_OPT_CLI_ONLY | BASE_OPT_HIDDEN, "X", "= --dsa-trace-sample-rate"},
    {"dsa.alias.trace_prefix_key_tokens", "trace-prefix-key-tokens", BASE_OPT_INT,
     O(prefix_key_tokens), "256", NULL, 1, 1e9, BASE_OPT_CLI_ONLY | BASE_OPT_HIDDEN, "N",
     "= --dsa-prefix-key-tokens"},
    {"dsa.alias.trace_store_scores", "trace-store-scores", BASE_OPT_BOOL, O(store_scores), "false",
     NULL, 0, 0, BASE_OPT_CLI_ONLY | BASE_OPT_HIDDEN, NULL, "= --dsa-store-scores"},
    {"dsa.tiers_file", "dsa-tiers", BASE_OPT_STRING, O(tiers_file), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "FILE",
     "tier JSON (the dsa.tiers object), applied like --config: later flags override it"},
    {"dsa.tiers.hot_buffer_tokens", "dsa-hot-buffer-tokens", BASE_OPT_JSON, O(hot_buffer), "4096",
     NULL, 0, 0, 0, "N|all",
     "per-request, per-layer HBM hot buffer (LRU); SGLang HiSparse uses 4096; all = every token "
     "resident in HBM"},
    {"dsa.tiers.local_pool_tokens", "dsa-local-pool-tokens", BASE_OPT_JSON, O(local_pool), "all",
     NULL, 0, 0, 0, "N|all",
     "most recent tokens of a request held in the local pool (host DRAM); older ones are in the "
     "remote pool; 0 = everything outside HBM is remote"},
    {"dsa.tiers.granularity", "dsa-fetch-granularity", BASE_OPT_ENUM, O(granularity), "token",
     granularities, 0, 0, 0, "G",
     "token: gather selected tokens, read_ops = contiguous runs; block: fetch whole blocks"},
    {"dsa.tiers.index_keys_offloaded", "dsa-index-keys-offloaded", BASE_OPT_BOOL,
     O(index_keys_offloaded), "false", NULL, 0, 0, 0, NULL,
     "fetched tokens also bring their indexer keys (HiSparse keeps them on the GPU)"},
    {"dsa.tiers.token_bytes", "dsa-token-bytes", BASE_OPT_DOUBLE, O(token_bytes), NULL, NULL, 1,
     1e9, BASE_OPT_NULLABLE, "B",
     "KV bytes per token per layer (default: the model's; 656 for DeepSeek-V3.2 fp8_ds_mla)"},
    {"dsa.tiers.index_key_bytes", "dsa-index-key-bytes", BASE_OPT_DOUBLE, O(index_key_bytes), NULL,
     NULL, 0, 1e9, BASE_OPT_NULLABLE, "B",
     "indexer key bytes per token per layer (default: the model's; 132 for DeepSeek-V3.2)"},
    {"dsa.tiers.overlap", "dsa-fetch-overlap", BASE_OPT_DOUBLE, O(overlap), "0", NULL, 0, 1, 0, "X",
     "fraction of the fetch latency hidden behind compute with --dsa-kv-offload [assume 0]"},
    {"dsa.tiers.hbm.bandwidth_gbps", "dsa-hbm-bandwidth", BASE_OPT_DOUBLE, O(hbm.bandwidth_gbps),
     NULL, NULL, 1e-6, 1e9, BASE_OPT_NULLABLE, "GB/s", "HBM bandwidth (default: the hardware's)"},
    {"dsa.tiers.hbm.efficiency", "dsa-hbm-efficiency", BASE_OPT_DOUBLE, O(hbm.efficiency), "0.8",
     NULL, 1e-6, 1, 0, "X", "HBM gather efficiency (docs/domain.md §5.4: ×0.8)"},
    {"dsa.tiers.hbm.latency_us", "dsa-hbm-latency-us", BASE_OPT_DOUBLE, O(hbm.latency_us), "0",
     NULL, 0, 1e9, 0, "US", "per-operation latency (in-kernel gather: ~0)"},
    {"dsa.tiers.hbm.queue_depth", "dsa-hbm-queue-depth", BASE_OPT_DOUBLE, O(hbm.queue_depth), "1",
     NULL, 1, 1e9, 0, "Q", "operations in flight"},
    {"dsa.tiers.local_pool.bandwidth_gbps", "dsa-local-bandwidth", BASE_OPT_DOUBLE,
     O(local.bandwidth_gbps), NULL, NULL, 1e-6, 1e9, BASE_OPT_NULLABLE, "GB/s",
     "host link bandwidth per direction (default: the hardware's PCIe, 64 GB/s for Gen5 x16)"},
    {"dsa.tiers.local_pool.efficiency", "dsa-local-efficiency", BASE_OPT_DOUBLE,
     O(local.efficiency), "0.25", NULL, 1e-6, 1, 0, "X",
     "achieved fraction for 656-byte gathers (docs/domain.md §5.4: 10-25 GB/s of 64 [assume])"},
    {"dsa.tiers.local_pool.latency_us", "dsa-local-latency-us", BASE_OPT_DOUBLE,
     O(local.latency_us), "1", NULL, 0, 1e9, 0, "US",
     "per-operation latency (GPU-initiated UVA gather: <1 us per row [assume])"},
    {"dsa.tiers.local_pool.queue_depth", "dsa-local-queue-depth", BASE_OPT_DOUBLE,
     O(local.queue_depth), "64", NULL, 1, 1e9, 0, "Q", "gather operations in flight [assume]"},
    {"dsa.tiers.remote_pool.bandwidth_gbps", "dsa-remote-bandwidth", BASE_OPT_DOUBLE,
     O(remote.bandwidth_gbps), NULL, NULL, 1e-6, 1e9, BASE_OPT_NULLABLE, "GB/s",
     "RDMA bandwidth (default: the hardware's network, 50 GB/s = one 400G NIC)"},
    {"dsa.tiers.remote_pool.efficiency", "dsa-remote-efficiency", BASE_OPT_DOUBLE,
     O(remote.efficiency), "0.25", NULL, 1e-6, 1, 0, "X",
     "achieved fraction for 656-byte reads [assume: the PCIe gathers' derating; docs/domain.md "
     "§2.2's 60-80% is for bulk transfers]"},
    {"dsa.tiers.remote_pool.latency_us", "dsa-remote-latency-us", BASE_OPT_DOUBLE,
     O(remote.latency_us), "3", NULL, 0, 1e9, 0, "US",
     "per RDMA verb (docs/domain.md §5.4: 2-5 us; <3 us for 64-128 B on 400G)"},
    {"dsa.tiers.remote_pool.queue_depth", "dsa-remote-queue-depth", BASE_OPT_DOUBLE,
     O(remote.queue_depth), "32", NULL, 1, 1e9, 0, "Q", "RDMA reads in flight [assume]"},
};

const base_opt_table dsa_options_table = {"DeepSeek-V3.2 DSA trace and KV tiers (docs/dsa.md)",
                                          rows, G_N_ELEMENTS(rows), 0};

static const base_opt_set own_set = {&dsa_options_table, 1};

const char *
dsa_options_first_set(const dsa_options *o)
{
    dsa_options d;
    memset(&d, 0, sizeof d);
    base_opts_defaults(&own_set, &d);
    const char *which = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(rows) && which == NULL; i++) {
        const base_opt *r = &rows[i];
        if (r->flags & BASE_OPT_HIDDEN)
            continue; /* aliases: their row proper sees the value */
        json_t *a = NULL, *b = NULL;
        /* Compare through JSON: one code path for every type, NAN and NULL included. */
        {
            const base_opt_table t = {NULL, r, 1, 0};
            const base_opt_set s = {&t, 1};
            a = base_opts_to_json(&s, o);
            b = base_opts_to_json(&s, &d);
        }
        bool cli = (r->flags & BASE_OPT_CLI_ONLY) != 0;
        bool differs = cli ? *(char *const *)base_opt_cptr(o, 0, r) != NULL : !json_equal(a, b);
        if (differs)
            which = r->flag != NULL ? r->flag : r->path;
        json_decref(a);
        json_decref(b);
    }
    base_opts_clear(&own_set, &d);
    return which;
}

bool
dsa_options_in_use(const dsa_options *o)
{
    return dsa_options_first_set(o) != NULL;
}

gboolean
dsa_options_load_tiers(dsa_options *o, const json_t *root, const char *file, GError **error)
{
    if (!json_is_object(root)) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "%s: expected a JSON object (the dsa.tiers settings)", file);
        return FALSE;
    }
    const json_t *tiers = root;
    const json_t *dsa = json_object_get(root, "dsa");
    if (dsa != NULL) {
        tiers = json_object_get(dsa, "tiers");
        if (tiers == NULL) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: dsa: no \"tiers\" object",
                        file);
            return FALSE;
        }
    }
    json_auto_t *wrapped = json_pack("{s:{s:O}}", "dsa", "tiers", tiers);
    return base_opts_load_json(&own_set, o, wrapped, file, error);
}
