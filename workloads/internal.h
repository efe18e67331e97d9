/* workloads/internal.h: what the files of workloads/ share and nobody else sees: the inner
 * source vtable the readers and generators implement, the per-open context (counters, bad-row
 * policy, unique content ids), row errors, content-id hashing and the arrival process.
 *
 * Pipeline (workload.c): inner source (reader / generator) -> max_model_len policy -> time
 * factor -> window -> limit -> shuffle -> ids. Inner sources emit requests in non-decreasing
 * arrival_ns (they reject or skip rows that go back in time) with at least one segment. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "base/csv.h"
#include "base/io.h"
#include "base/rng.h"
#include "workloads/dist.h"
#include "workloads/workload.h"

/* Shared by the pipeline and its inner source for one wl_open. */
typedef struct wl__ctx {
    wl_counters counters;
    bool skip_bad;
    char *first_bad; /* owned: message of the first skipped row */
    uint64_t seed;
    uint64_t uniq;     /* counter behind wl__unique_id */
    uint64_t row_line; /* input line of the request the inner source returned last; 0 when
                        * generated (messages about transformed times name it) */
} wl__ctx;

typedef struct wl__src wl__src;

struct wl__src {
    /* 1 = request in *OUT (segments borrowed until the next call), 0 = end, -1 = error. */
    int (*next)(wl__src *s, wl_request *out, GError **error);
    void (*free)(wl__src *s);
    const char *format;      /* static */
    int64_t max_concurrency; /* 0 = open loop */
    GArray *stages;          /* wl_stage, owned; NULL = none */
    bool sessions;
    bool uses_rate;     /* --rate is the source's own parameter, not a rescale of its times */
    bool uses_arrivals; /* the source takes --arrival/--stages (no timestamps of its own) */
    wl__ctx *ctx;       /* borrowed */
};

/* Calls the vtable's free; NULL is a no-op. */
void wl__src_free(wl__src *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(wl__src, wl__src_free)

/* Where an input comes from: a file, or an embedded asset (inflated, owned). */
typedef struct wl__input {
    char *name;  /* path or embedded name, for messages */
    char *path;  /* NULL for embedded */
    GBytes *mem; /* embedded content, or NULL */
} wl__input;

base_lines *wl__input_lines(const wl__input *in, GError **error);
/* Whole content (small inputs: specs, ServeGen datasets). */
GBytes *wl__input_bytes(const wl__input *in, GError **error);

/* ---- errors ---- */
void wl__row_error(
    GError **error, const char *file, uint64_t line, const char *column, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);
/* Re-labels an error from base/ (I/O, truncated gzip, CSV cell) as WL_ERROR. */
void wl__propagate(GError **dest, GError *src);
/* A malformed row: with --skip-bad-rows, counts it, remembers the first message, frees E and
 * returns TRUE (skip and go on); otherwise moves E into *ERROR and returns FALSE. */
gboolean wl__bad_row(wl__ctx *ctx, GError *e, GError **error);
/* Checks a token count from a file: 0 < V <= WL_MAX_TOKENS (0 allowed if ALLOW_ZERO). */
gboolean wl__check_tokens(int64_t v,
                          bool allow_zero,
                          const char *file,
                          uint64_t line,
                          const char *column,
                          GError **error);
/* Non-decreasing arrivals: T >= *LAST (then *LAST = T), else a row error. */
gboolean wl__check_order(
    int64_t t, int64_t *last, const char *file, uint64_t line, const char *column, GError **error);

/* ---- times ----
 * Every time read from an input (seconds, milliseconds, nanoseconds) or produced by the
 * arrival process or a transform (--time-scale and --rate rescaling) becomes nanoseconds here,
 * so no product overflows int64_t and no value wraps: the result must lie in
 * [0, WL_MAX_TIME_NS] (workloads/options.h). */

/* V × UNIT_NS nanoseconds, rounded, in *NS; FALSE (nothing stored) outside the range or NaN. */
bool wl__time_ns(double v, double unit_ns, int64_t *ns);
/* The row error for a time outside the range: "FILE:LINE: column C: time X s is out of range
 * [0, 4e+09 s]" (SECONDS is the offending time in seconds). */
void
wl__time_error(GError **error, const char *file, uint64_t line, const char *column, double seconds);

/* Fast strict integer parse for CSV cells (falls back to base_parse_int64 for blanks, "12.0"
 * and other rare forms). */
static inline bool
wl__parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    int64_t v = 0;
    if (*p >= '0' && *p <= '9') {
        int n = 0;
        while (*p >= '0' && *p <= '9' && n < 18) {
            v = v * 10 + (*p - '0');
            p++;
            n++;
        }
        if (*p == '\0') {
            *out = v;
            return true;
        }
    }
    return base_parse_int64(s, out);
}

/* ---- content ids ---- */
enum {
    WL_TAG_UNIQUE = 0x756e69, /* "uni" */
    WL_TAG_MOONCAKE = 0x6d6f6f,
    WL_TAG_TOKENS = 0x746f6b,
    WL_TAG_TEXT = 0x747874,
    WL_TAG_SYSTEM = 0x737973,
    WL_TAG_QUESTION = 0x717565,
    WL_TAG_ANSWER = 0x616e73,
    WL_TAG_PROMPT = 0x70726d,
};

/* Content ids. Every id has WL_CONTENT_PRIVATE clear unless it comes from wl__private_id:
 * the simulator keeps private content out of its shared prefix map, so the bit may only mark
 * content that no other request's prompt contains. */
static inline uint64_t
wl__shared(uint64_t id)
{
    return id & ~WL_CONTENT_PRIVATE;
}

uint64_t wl__hash3(uint64_t tag, uint64_t a, uint64_t b); /* shared (bit clear) */
/* Fresh content that a later prompt may quote (multi-turn questions and answers). */
uint64_t wl__unique_id(wl__ctx *ctx);
/* Fresh content that no other prompt contains (WL_CONTENT_PRIVATE set). */
uint64_t wl__private_id(wl__ctx *ctx);
/* Fills a single-segment request body (no content information): private prompt and output. */
void wl__unique_body(wl__ctx *ctx, wl_segment *seg, wl_request *out);

/* ---- arrival process (synthetic.c) ----
 * Without stages (vLLM bench): the first request at 0, then intervals: poisson Exp(rate),
 * gamma Gamma(shape = burstiness, scale = 1/(rate·burstiness)), constant 1/rate; rate NAN =
 * every request at 0. Unbounded.
 * With stages (inference-perf): stage k covers [S_k, S_k + D_k); constant sends at
 * S_k + j/rate_k, poisson/gamma at S_k + the cumulative intervals, while before the end. */
typedef enum { WL_ARR_POISSON, WL_ARR_GAMMA, WL_ARR_CONSTANT } wl__arr_kind;

typedef struct wl__arrivals {
    wl__arr_kind kind;
    double rate;       /* NAN = infinite */
    double burstiness; /* gamma shape */
    sim_rng rng;
    const wl_stage *stages; /* borrowed; NULL = no stages */
    uint32_t nstages, cur;
    double t_s; /* last arrival (s) */
    int64_t j;  /* index within the stage / stream */
} wl__arrivals;

void wl__arrivals_init(wl__arrivals *a,
                       wl__arr_kind kind,
                       double rate,
                       double burstiness,
                       const wl_stage *stages,
                       uint32_t nstages,
                       uint64_t seed);
/* Next arrival: 1 with *T_NS and *STAGE, 0 when the stages are over, -1 when the arrival would
 * fall past WL_MAX_TIME_S (a tiny --rate with many requests; "--rate: request N would arrive at
 * T s, past the limit of 4e+09 s"). */
int wl__arrivals_next(wl__arrivals *a, int64_t *t_ns, uint32_t *stage, GError **error);
/* Parses the arrival settings of OPTS (arrival, rate, burstiness, stages) into A; STAGES
 * receives the parsed stages (owned, NULL if none). */
gboolean wl__arrivals_from_options(
    wl__arrivals *a, GArray **stages, const wl_options *o, uint64_t seed, GError **error);
/* Parses stages given as JSON ([{rate, duration}] or "R:S,R:S"). */
GArray *wl__stages_parse(const json_t *j, const char *what, GError **error);

/* ---- openers ---- */
wl__src *wl__open_azure(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error);
wl__src *wl__open_burstgpt(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error);
wl__src *
wl__open_lengths_csv(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error);
wl__src *wl__open_mooncake(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error);
wl__src *wl__open_jsonl(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error);
wl__src *wl__open_sharegpt(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error);
wl__src *wl__open_synthetic(wl__ctx *ctx, const wl_options *o, GError **error);
/* inference-perf spec (the document with data/load sections); NAME for messages. */
wl__src *wl__open_infperf(
    wl__ctx *ctx, const json_t *spec, const char *name, const wl_options *o, GError **error);
wl__src *wl__open_servegen(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error);
/* Requests held in memory (list.c); L is borrowed for the life of the source. */
wl__src *wl__open_list(wl__ctx *ctx, const wl_list *l, const wl_options *o, GError **error);

/* Detection from the first non-blank line of IN (static format name). */
const char *wl__detect(const wl__input *in, GError **error);

/* Synthetic length distributions from options (defaults fixed:1024 / fixed:128), with the
 * joint (prompt, output) table when both are the same empirical:FILE. */
typedef struct wl__lengths {
    wl_dist *input, *output;
    sim_alias *pairs; /* joint draw, or NULL */
    wl_length_table table;
} wl__lengths;

gboolean wl__lengths_init(wl__lengths *l, const wl_options *o, GError **error);
void wl__lengths_draw(
    const wl__lengths *l, sim_rng *rin, sim_rng *rout, uint32_t *prompt, uint32_t *output);
void wl__lengths_clear(wl__lengths *l);
