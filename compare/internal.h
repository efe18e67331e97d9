/* compare/internal.h: what the files of compare/ share and nobody else sees: the kinds table
 * row, the probe detection looks at, the readers and mirrors, the YAML loader, name mapping
 * and small helpers. Modelled on workloads/internal.h. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "compare/compare.h"

/* What detection sees of an input: a directory's listing, or a file's first non-blank line
 * (and the whole document when it is JSON). */
typedef struct cmp__probe {
    const char *path; /* as given */
    char *dir;        /* the directory (PATH itself, or the directory of the file) */
    bool is_dir;
    char *file;         /* the file to read (for a directory: the one detection picked) */
    char *first_line;   /* first non-blank line of FILE, NULL for a directory */
    json_t *json;       /* FILE parsed as one JSON document, or NULL */
    json_t *first_json; /* FIRST_LINE parsed as JSON, or NULL */
    char **header;      /* FIRST_LINE split as a CSV header (trimmed), NULL-terminated */
} cmp__probe;

struct cmp_kind {
    const char *name;
    const char *what; /* one line: what the input is */
    bool (*detect)(const cmp__probe *p);
    gboolean (*read)(const cmp__probe *p, const cmp_read_opts *o, GPtrArray *out, GError **error);
    /* The simulated counterpart (see cmp_mirror); OUT is a fresh result of the same kind. */
    gboolean (*mirror)(const cmp_result *measured,
                       const cmp_run *run,
                       const cmp_sim *sim,
                       cmp_result *out,
                       GError **error);
};

/* ---- the kinds (one file each) ---- */
extern const cmp_kind cmp__kind_vllm;
extern const cmp_kind cmp__kind_infperf;
extern const cmp_kind cmp__kind_dashboard;
extern const cmp_kind cmp__kind_reqcsv;
extern const cmp_kind cmp__kind_lss;

/* ---- errors ---- */
void cmp__error(GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Moves SRC into *DEST as a CMP_ERROR (keeping its message). */
void cmp__propagate(GError **dest, GError *src);

/* ---- documents ---- */
/* PATH read whole (gzip inflated) and parsed: JSON, or YAML (libyaml, YAML 1.1 scalars as
 * PyYAML reads them: plain true/false/yes/no/on/off, null/~, integers, finite floats (.inf and
 * .nan stay text);
 * quoted scalars are strings; anchors and aliases are refused). Errors name FILE:LINE. */
json_t *cmp__load_json(const char *path, GError **error);
json_t *cmp__load_yaml(const char *path, GError **error);
json_t *cmp__yaml_parse(const char *name, const char *text, size_t len, GError **error);

/* Numbers of a JSON value: integer or real (NAN otherwise). */
double cmp__num(const json_t *j);
/* Key K of object O as a number / string (NAN / NULL when absent or of another type). */
double cmp__get_num(const json_t *o, const char *k);
const char *cmp__get_str(const json_t *o, const char *k);
/* Object at dotted PATH of O ("a.b.c"), NULL when absent. */
const json_t *cmp__path(const json_t *o, const char *path);
/* Sets the settings value at dotted PATH (creating objects) of SETTINGS; steals V. */
void cmp__set(json_t *settings, const char *path, json_t *v);

/* ---- results ---- */
/* Figure setters that keep NAN for "not recorded" and check finiteness / sign: a negative or
 * non-finite latency is an error naming WHERE and WHAT. */
gboolean
cmp__set_lat(cmp_result *r, cmp_lat l, cmp_stat s, double ms, const char *what, GError **error);
/* A relative path of the input (LLMServingSim dataset, workload of a servesim export):
 * as given, else relative to DIR. NULL if neither exists. g_free it. */
char *cmp__find_file(const char *name, const char *dir);

/* ---- per-request figures ---- */
/* NumPy linear percentile of the finite values of X (copied and sorted); NAN when none. */
double cmp__percentile(const double *x, size_t n, double p);
double cmp__mean(const double *x, size_t n); /* of the finite values; NAN when none */

/* ---- names ---- */
/* The model preset a recorded name stands for (Hugging Face id, preset name, "Meta-" prefix
 * variants), NULL if none. g_free it. */
char *cmp__model_preset(const char *recorded);
/* The hardware preset of a device or accelerator name ("NVIDIA GeForce RTX 4090", "H100",
 * "A100-SXM4-80GB", "MI300X"), NULL if none. g_free it. */
char *cmp__hardware_preset(const char *recorded);
/* vLLM's dtype spellings (bfloat16, float16, half, auto) as servesim's (bf16, fp16, NULL). */
const char *cmp__dtype(const char *vllm);
/* Applies vLLM engine arguments given as "key: value; key: value" or "--key value --flag"
 * (dashboard runtime_args) to SETTINGS; names of arguments servesim does not model are
 * appended to IGNORED. Malformed text is an error. */
gboolean cmp__engine_args(json_t *settings, const char *args, GPtrArray *ignored, GError **error);
/* Applies one vLLM engine argument (name with '-' or '_', value as text; NULL = a bare flag). */
bool cmp__engine_arg(json_t *settings, const char *name, const char *value, GError **error);

/* A latency column name ("ttft_median", "request_latency_p95_s", "tpot_ms", "e2e"): its metric,
 * statistic (WITH_STAT: a _mean/_median/_pNN suffix is required; else *STAT = -1) and the
 * factor to milliseconds (suffix _ms, _s/_sec/_seconds, _us; none = ms). Case and blanks are
 * ignored. False when NAME is not one. */
bool cmp__latency_col(const char *name, bool with_stat, cmp_lat *lat, int *stat, double *to_ms);

/* ---- what the simulation did (collect.c) ---- */
/* The simulated vLLM result dictionary and lifecycle reports of the finished run. */
const json_t *cmp__sim_vllm(const cmp_sim *s);
const json_t *cmp__sim_lifecycle(const cmp_sim *s);
/* Per simulated request (index = simulated request id), NULL-safe getters. */
size_t cmp__sim_n(const cmp_sim *s);

typedef struct cmp__sim_req {
    bool seen;
    bool failed;
    int64_t send_ns, first_token_ns, finish_ns;
    uint32_t prompt, output;
    GArray *chunks; /* int64_t token chunk times (ns), NULL unless asked */
} cmp__sim_req;

const cmp__sim_req *cmp__sim_req_at(const cmp_sim *s, size_t i);
/* Per-request figures of the simulation in measured order (RUN's req_index; requests without
 * a simulated counterpart are failed), with send times, and ITL gaps when chunks were kept. */
cmp_reqs *cmp__sim_reqs(const cmp_sim *s, const cmp_run *run, size_t n_measured);
