/* workloads/workload.h: every request source (trace reader, inference-perf spec, synthetic
 * generator) is a streaming iterator of requests in non-decreasing nominal send time, so
 * memory does not grow with trace length (docs/design.md §2). Sources are pure: they never learn
 * about completions. Closed-loop behaviour is expressed as gating the simulator applies:
 *   - session_id != 0: a request is sent no earlier than think_ns after the completion of the
 *     previous request of the same session (multi-turn chats, inference-perf multi-turn);
 *   - wl_source_info.max_concurrency: a global cap on requests in flight (vLLM bench
 *     --max-concurrency, inference-perf `concurrent` load); the next request waits for a slot.
 *
 * Content model (docs/design.md §4): a request's prompt is a list of segments {content_id, tokens};
 * two prompts share a KV block iff every token up to the end of that block comes from the same
 * segments at the same offsets. Tokens the request generates belong to segment
 * output_content_id, so a later turn whose prompt includes that answer (same id) hits the
 * blocks filled during decoding. A request without content information gets one segment with
 * a unique id (no accidental sharing).
 *
 * Ordering: requests come in non-decreasing arrival_ns. Requests of one session come in turn
 * order, and several of them may be pulled before the first completes (they all carry the
 * session's nominal time); a simulator keeps a per-session FIFO of pulled-but-gated requests
 * (bounded by the turns of the sessions in flight) and keeps pulling past a gated request.
 *
 * Ownership: wl_request.segments is borrowed and valid until the next wl_source_next call;
 * the strings and stages in wl_source_info live as long as the source.
 * docs/workloads.md describes every format, option and transform. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "workloads/options.h"

#define WL_ERROR (wl_error_quark())
GQuark wl_error_quark(void);

typedef enum {
    WL_ERROR_PARSE,   /* malformed row: "FILE:LINE: column NAME: why" */
    WL_ERROR_INVALID, /* bad option / spec */
    WL_ERROR_IO,
} wl_error_code;

typedef struct wl_segment {
    uint64_t content_id; /* identity of the text; equal ids = equal tokens */
    uint32_t tokens;
} wl_segment;

/* Content id bit: content that no other request's prompt contains (a trace without content
 * information, a private question, an answer no later turn quotes). The simulator then knows
 * such KV blocks can only be hit by their own request (after a preemption) and keeps them out
 * of the shared prefix-cache map: same hits as vLLM, far cheaper. Setting it on content that IS
 * shared would hide real prefix hits. */
#define WL_CONTENT_PRIVATE (UINT64_C(1) << 63)

typedef struct wl_request {
    uint64_t id;            /* 0, 1, 2, ... in stream order */
    int64_t arrival_ns;     /* nominal send time from the start of the run */
    uint32_t prompt_tokens; /* = Σ segment tokens */
    uint32_t output_tokens; /* forced output length (ignore_eos) */
    uint64_t session_id;    /* 0 = independent request */
    uint32_t turn;          /* round within the session, 0-based */
    int64_t think_ns;       /* min gap after the previous turn completes (sessions) */
    uint32_t stage;         /* load stage index (0 when the source has no stages) */
    int32_t priority;       /* lower = more urgent (vLLM priority scheduling) */
    uint32_t nsegments;
    const wl_segment *segments; /* borrowed */
    uint64_t output_content_id; /* content id of the generated tokens */
} wl_request;

typedef struct wl_stage {
    double rate;          /* configured request rate (req/s); 0 for concurrent stages */
    double duration_s;    /* configured duration; 0 for concurrent stages */
    int64_t start_ns;     /* when the stage starts (nominal; 0 for concurrent stages) */
    int64_t concurrency;  /* inference-perf `concurrent` stage: in-flight cap; 0 = open loop */
    int64_t num_requests; /* requests of a concurrent stage; 0 for rate stages */
} wl_stage;

typedef struct wl_source wl_source;

typedef struct wl_source_info {
    const char *format;      /* detected or forced format name */
    const char *name;        /* file path or embedded sample name */
    int64_t max_concurrency; /* 0 = open loop; for staged concurrent loads, the largest stage
                              * cap (stages[k].concurrency is the cap of requests with
                              * stage == k; stage k+1 starts when stage k has completed) */
    uint32_t nstages;
    const wl_stage *stages; /* borrowed; NULL when nstages == 0 */
    bool sessions;          /* requests may carry session_id != 0 (closed-loop gating) */
    double time_factor;     /* multiplier applied to the source's times (--time-scale and
                             * --rate rescaling); 1 = as the source says */
    double source_rate;     /* mean request rate measured on the source before rescaling
                             * (req/s; NAN unless --rate asked for it) */
} wl_source_info;

typedef struct wl_counters {
    uint64_t rows;        /* input rows read */
    uint64_t emitted;     /* requests returned */
    uint64_t skipped_bad; /* malformed rows skipped (--skip-bad-rows) */
    uint64_t filtered;    /* dropped by filters / time window */
    uint64_t clipped;     /* lengths clipped to max_model_len */
    uint64_t rejected;    /* dropped for exceeding max_model_len */
} wl_counters;

/* Parameters the source needs from outside workload options. */
typedef struct wl_open_params {
    uint64_t seed;
    int64_t max_model_len; /* 0 = unknown */
} wl_open_params;

/* Opens the source described by OPTS (path or embedded sample name, format detected from the
 * content unless forced, transforms applied). */
wl_source *wl_open(const wl_options *opts, const wl_open_params *params, GError **error);
/* 1: *OUT holds the next request; 0: end of stream; -1: error (*ERROR set). A stream that ends
 * before its first request is an error, "NAME: no requests (why)" (header-only file, --limit 0,
 * a window or filters that keep nothing, stages of rate 0): every figure would be 0/0. */
int wl_source_next(wl_source *s, wl_request *out, GError **error);
const wl_source_info *wl_source_get_info(const wl_source *s);
wl_counters wl_source_get_counters(const wl_source *s);
/* Message ("FILE:LINE: column NAME: why") of the first malformed row skipped under
 * --skip-bad-rows, or NULL if none was skipped. Borrowed. */
const char *wl_source_first_skipped(const wl_source *s);
void wl_source_free(wl_source *s); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(wl_source, wl_source_free)

/* The embedded workload used when wl_options.source is NULL. */
#define WL_DEFAULT_WORKLOAD "azure-conv-10min"
/* Short names of the embedded workloads (usable as --workload NAME), sorted. g_strfreev. */
char **wl_embedded_names(void);
/* Detects the format of PATH (file or embedded name) from its content, as wl_open does with
 * format "auto". Returns a static format name (one of the workload.format choices). */
const char *wl_detect_format(const char *path, GError **error);

/* ---- requests held in memory (workloads/list.c) ----
 * A measured run's requests rebuilt by `servesim compare`: either every request has an arrival
 * time (non-decreasing) or none has (then the options' arrival process times them, as for a
 * length table). Segments are copied; none = private content (no prefix sharing). */
typedef struct wl_list wl_list;

typedef struct wl_list_request {
    int64_t arrival_ns;         /* from the start of the run; < 0 = from the arrival process */
    uint32_t prompt_tokens;     /* 1 .. WL_MAX_TOKENS */
    uint32_t output_tokens;     /* forced output length */
    uint32_t nsegments;         /* 0 = private content */
    const wl_segment *segments; /* borrowed, copied by wl_list_add; Σ tokens = prompt_tokens */
    uint64_t output_content_id; /* 0 = private */
} wl_list_request;

wl_list *wl_list_new(const char *name); /* NAME: for messages and wl_source_info.name */
void wl_list_free(wl_list *l);          /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(wl_list, wl_list_free)
/* Appends R; FALSE with an error naming the list and request index when R breaks the rules
 * above (lengths out of range, timed and untimed mixed, arrivals going back, segments that do
 * not add up). */
gboolean wl_list_add(wl_list *l, const wl_list_request *r, GError **error);
size_t wl_list_len(const wl_list *l);
const char *wl_list_name(const wl_list *l);
bool wl_list_timed(const wl_list *l); /* the requests carry arrival times */
/* Opens LIST (borrowed: it must outlive the source) through the pipeline of wl_open, with the
 * transforms and arrival settings of OPTS (its source and format are ignored). Request ids are
 * the list's indices unless a transform (--start, --limit, --shuffle, rejections) drops or
 * reorders requests. */
wl_source *wl_open_list(const wl_list *list,
                        const wl_options *opts,
                        const wl_open_params *params,
                        GError **error);

/* Sanity limit on any token count read from a file: larger values are malformed rows. */
#define WL_MAX_TOKENS 10000000
