/* report/internal.h: what the report's files share (the rp__ layer): inputs and the kind table,
 * the section document the page script renders, Vega-Lite spec helpers, and the bounded
 * summaries of large data (quantile points, histograms, time buckets).
 *
 * A section is one JSON object per view:
 *   {"kind", "title", "source", "notes": [..],
 *    "data":   {NAME: {"fields": [..], "rows": [[..], ..]}},   columnar, bounded in size
 *    "tables": [{"title", "columns": [..], "rows": [[..], ..]}],
 *    "charts": [{"title", "note", "spec": <Vega-Lite spec reading data NAME>}]}
 * Numbers taken from a source file are copied as they are (json_deep_copy), so the page shows
 * exactly what the file says; derived numbers (quantiles, bins, buckets) say how they were
 * derived in the section's notes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "report/report.h"

/* ---- inputs ------------------------------------------------------------------------------ */

typedef struct rp_input {
    char *path;    /* the file (for a directory: the file that identified it) */
    char *dir;     /* directory holding PATH */
    json_t *json;  /* the whole file as one JSON document, or NULL */
    json_t *first; /* JSON Lines: the first line (an object), or NULL */
    char **header; /* CSV: header fields (NULL-terminated), or NULL */
    const struct rp_kind *kind;
} rp_input;

typedef struct rp_ctx rp_ctx;

/* One row per kind of input. detect returns 1 (this kind), 0 (not this kind) or -1 (this kind
 * but unusable: incompatible version, a companion file missing; ERROR says why). build appends
 * sections to the report (rp__ctx_add_section). */
typedef struct rp_kind {
    const char *name;     /* "run", "estimate", ... */
    const char *dir_file; /* a directory holding this file is this kind (NULL: files only) */
    const char *what;     /* what it reads, for help and "not a servesim output" messages */
    int (*detect)(const rp_input *in, GError **error);
    gboolean (*build)(rp_ctx *ctx, const rp_input *in, GError **error);
} rp_kind;

/* The inputs of this report, in command-line order (views may look at each other: a plain
 * sweep draws the limit of a find-max sweep over the same load). */
size_t rp__ctx_ninputs(const rp_ctx *ctx);
const rp_input *rp__ctx_input(const rp_ctx *ctx, size_t i);
void rp__ctx_add_section(rp_ctx *ctx, json_t *section /* transfer full */);

/* ---- views (one file each) --------------------------------------------------------------- */

int rp__detect_run(const rp_input *in, GError **error);
gboolean rp__build_run(rp_ctx *ctx, const rp_input *in, GError **error);
int rp__detect_estimate(const rp_input *in, GError **error);
gboolean rp__build_estimate(rp_ctx *ctx, const rp_input *in, GError **error);
int rp__detect_scenarios(const rp_input *in, GError **error);
gboolean rp__build_scenarios(rp_ctx *ctx, const rp_input *in, GError **error);
int rp__detect_sweep(const rp_input *in, GError **error);
gboolean rp__build_sweep(rp_ctx *ctx, const rp_input *in, GError **error);
int rp__detect_search(const rp_input *in, GError **error);
gboolean rp__build_search(rp_ctx *ctx, const rp_input *in, GError **error);
int rp__detect_compare(const rp_input *in, GError **error);
gboolean rp__build_compare(rp_ctx *ctx, const rp_input *in, GError **error);
int rp__detect_dsa(const rp_input *in, GError **error);
gboolean rp__build_dsa(rp_ctx *ctx, const rp_input *in, GError **error);
/* The DSA section of a run's summary.json (its "dsa" object), titled after PATH. */
json_t *rp__dsa_section(const json_t *dsa, const char *path, GError **error);

/* The HTML page of the report document DOC ({"format", "title", "inputs", "sections"}):
 * libraries, style, script and DOC inlined (report/page.c). transfer full. */
GString *rp__page_render(const json_t *doc, GError **error);

/* ---- sections ---------------------------------------------------------------------------- */

json_t *rp__section_new(const char *kind, const char *title, const char *source);
void rp__section_note(json_t *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Adds dataset NAME with FIELDS (NULL-terminated); returns its rows array (borrowed), to which
 * rows (arrays of the same length) are appended. */
json_t *rp__section_data(json_t *s, const char *name, const char *const *fields);
/* Adds a table; COLUMNS are labels, ROWS arrays of values (both transfer full). */
void rp__section_table(json_t *s, const char *title, json_t *columns, json_t *rows);
/* Adds a chart (SPEC transfer full). NOTE may be NULL. */
void rp__section_chart(json_t *s, const char *title, const char *note, json_t *spec);

/* ---- JSON helpers ------------------------------------------------------------------------ */

/* Value at a dotted PATH ("metrics.latency_ms.ttft") or NULL. */
json_t *rp__get(const json_t *root, const char *path);
/* A copy of the value at PATH, or null when absent. transfer full. */
json_t *rp__copy(const json_t *root, const char *path);
/* Sets ERROR "FILE: PATH: expected TYPE" unless the value at PATH is an object / a number. */
gboolean rp__need_object(const json_t *root, const char *path, const char *file, GError **error);
gboolean rp__need_number(const json_t *root, const char *path, const char *file, GError **error);
/* Number at PATH (integer or real), NAN when absent or null. */
double rp__num(const json_t *root, const char *path);
const char *rp__str(const json_t *root, const char *path); /* NULL when not a string */
/* A real rounded to 10 significant digits, as the page prints it (json real; null if not
 * finite). Derived values go through this so that what the page holds is what was counted. */
json_t *rp__real(double v);
double rp__round10(double v);

/* ---- Vega-Lite specs (report/spec.c) ----------------------------------------------------- */

/* {"$schema", "title"?, "width", "height", "data": {"name": DATA}} ready for mark/encoding.
 * WIDTH/HEIGHT 0 = defaults. */
json_t *rp__vl_new(const char *data, int width, int height);
/* {"field", "type", "title"} from "NAME:T" (T = Q quantitative, the default, N nominal, O ordinal,
 * T temporal); TITLE may be NULL. The name is escaped for Vega-Lite. */
json_t *rp__vl_field(const char *shorthand, const char *title);
/* Axis scale helpers: sets "scale": {"type": "log"} on the channel definition. */
void rp__vl_log(json_t *channel);
/* {"type": MARK, "tooltip": true} (+ "point": true when POINTS). */
json_t *rp__vl_mark(const char *mark, bool points);
/* Tooltip list: [{"field", "type", "title"}...] from NULL-terminated shorthand/title pairs. */
json_t *rp__vl_tooltip(const char *const *pairs);
/* A layer spec: {"$schema", "width", "height", "layer": [LAYERS...]} (layers transfer full). */
json_t *rp__vl_layers(int width, int height, json_t *layers);

/* ---- bounded summaries (report/dist.c) --------------------------------------------------- */

/* NumPy's linear percentile of sorted V (same ranks and arithmetic as sim/metrics.c). */
double rp__quantile_i64(const int64_t *v, size_t n, double p);
int rp__cmp_i64(const void *a, const void *b);
/* Sorts V ascending (radix sort: linear in N). */
void rp__sort_i64(int64_t *v, size_t n);
/* The probabilities (in %) at which CDFs are sampled: every 0.5 %, the summary's percentiles
 * (0.1, 99.9) and a finer tail; ascending, from 0 to 100. */
size_t rp__cdf_npcts(void);
double rp__cdf_pct(size_t i);

/* Histogram of sorted V / SCALE. Bins are [lo, hi), the last one [lo, hi]; edges are printable
 * exactly (rp__round10). INTEGER data get integer-width bins; ratio-spread positive data get
 * log bins (10 per decade), others linear bins of a 1-2-5 width. At most RP_HIST_MAX_BINS. */
#define RP_HIST_BINS     40
#define RP_HIST_MAX_BINS 64

typedef struct rp_bin {
    double lo, hi;
    uint64_t count;
} rp_bin;

size_t
rp__histogram(const int64_t *v, size_t n, double scale, bool integer, rp_bin *out, bool *log_bins);

/* Time buckets over [t0, t1) ns: RP_BUCKETS equal integer widths (the last may be cut). */
#define RP_BUCKETS 240

typedef struct rp_buckets {
    int64_t t0, span, width; /* ns */
    size_t n;
} rp_buckets;

void rp__buckets_init(rp_buckets *b, int64_t t0, int64_t t1);
/* Bucket of time T, clamped to [0, n). */
size_t rp__bucket_of(const rp_buckets *b, int64_t t);
/* Adds W × (overlap of [A, B) with each bucket, in ns) to SUM (length n). Buckets covered
 * whole go through DIFF (length n + 1) so one interval costs O(1) whatever its length;
 * rp__buckets_finish folds DIFF into SUM. */
void
rp__buckets_spread(const rp_buckets *b, int64_t a, int64_t bb, double w, double *sum, double *diff);
void rp__buckets_finish(const rp_buckets *b, double *sum, const double *diff);
/* Width of bucket I in ns (the last one may be shorter than b->width). */
int64_t rp__bucket_width(const rp_buckets *b, size_t i);
