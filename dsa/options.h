/* dsa/options.h: the settings of DeepSeek-V3.2 DSA tracing, the selection synthesizer and the
 * KV-tier cost model (`dsa.*` in the experiment file, `--dsa-*` flags), described once as a
 * base_opt table (base/opts.h) that sim_config composes, so the JSON file, the flags, --help,
 * --print-config and summary.json's configuration cannot drift. docs/dsa.md explains every row.
 *
 * The `dsa.tiers.*` rows are also what a tier JSON file holds (`--dsa-tiers FILE`,
 * `analyze dsa --replay-tiers FILE`): either the bare tiers object or a whole experiment file.
 * Strings and JSON values are owned (freed by base_opts_clear). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "base/opts.h"

/* One memory tier's cost knobs (docs/domain.md §5.4). NAN bandwidth = from the hardware. */
typedef struct dsa_tier_options {
    double bandwidth_gbps; /* GB/s per direction; NAN = hardware's (HBM, PCIe, network) */
    double efficiency;     /* η: achieved fraction of the bandwidth for these gathers */
    double latency_us;     /* α: per read operation */
    double queue_depth;    /* Q: operations in flight */
} dsa_tier_options;

typedef struct dsa_options {
    bool trace;         /* write trace_steps.jsonl */
    char *trace_file;   /* its name inside the output directory (".gz" = gzip) */
    double sample_rate; /* fraction of (request, decode step) pairs recorded */
    char *layers;       /* "all" or "0,30,60" */
    int64_t requests;   /* trace requests with id < N; unset = all */
    int64_t block_size; /* logical block of the trace (tokens) */
    int64_t prefix_key_tokens;
    bool store_scores;  /* add scores_topk to every record */
    char *selection;    /* preset name or parameter file */
    bool kv_offload;    /* add the exposed fetch latency to step times */
    char *tiers_file;   /* CLI only: applied like --config (see sim_config_parse_args) */
    json_t *hot_buffer; /* tokens per request and layer, or "all" (everything in HBM) */
    json_t *local_pool; /* tokens per request held by the local pool, or "all" */
    char *granularity;  /* token | block */
    bool index_keys_offloaded;
    double token_bytes;     /* NAN = the model's latent bytes per token per layer */
    double index_key_bytes; /* NAN = the model's indexer key bytes per token per layer */
    double overlap;         /* fraction of the fetch hidden behind compute */
    dsa_tier_options hbm, local, remote;
} dsa_options;

extern const base_opt_table dsa_options_table; /* base_offset 0; compose with an offset */

/* True if any setting differs from its default (a DSA flag was given). */
bool dsa_options_in_use(const dsa_options *o);
/* Name of the first non-default setting's flag ("dsa-trace", ...), for error messages. */
const char *dsa_options_first_set(const dsa_options *o);

/* Applies a tier JSON document ROOT on top of O: either a bare tiers object
 * ({"hot_buffer_tokens": ..., "local_pool": {...}}) or an experiment file holding
 * dsa.tiers. FILE names the source in messages. */
gboolean
dsa_options_load_tiers(dsa_options *o, const json_t *root, const char *file, GError **error);
