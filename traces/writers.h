/* traces/writers.h: streaming output writers fed by the observer bus (sim/observe.h): one row
 * per request (requests.csv), one JSON line per engine step (steps.jsonl[.gz]), and a
 * Chrome/Perfetto trace of steps. Each writes through base_out, so data goes to a temporary
 * name and appears under its final name only on commit (a ".gz" suffix selects gzip); freeing
 * an uncommitted writer deletes its temporary file. Column and key definitions:
 * docs/outputs.md.
 *
 * Ownership: a writer owns its base_out; payloads are borrowed for the call. Writers must
 * outlive the runs of the engine they subscribe to. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "sim/engine.h"
#include "sim/observe.h"

/* ---- requests.csv ---- */
typedef struct tr_requests_csv tr_requests_csv;

/* The header row (no trailing newline), for documentation and tests. */
extern const char tr_requests_csv_header[];

/* The columns speculative decoding adds after those of the header (no leading comma). */
extern const char tr_requests_csv_spec_header[];
/* SPEC: add the speculative-decoding columns (docs/speculative.md). */
tr_requests_csv *tr_requests_csv_open(const char *path, bool spec, GError **error);
/* With PD, the header and rows gain prefill_replica, xfer_start_ms, xfer_end_ms, xfer_bytes
 * (prefill/decode runs; "replica" is then the decode replica), before the SPEC columns. */
extern const char tr_requests_csv_pd_columns[];
tr_requests_csv *tr_requests_csv_open_pd(const char *path, bool pd, bool spec, GError **error);
void tr_requests_csv_subscribe(tr_requests_csv *w, sim_engine *e); /* SIM_TOPIC_REQUEST_DONE */
void tr_requests_csv_write(tr_requests_csv *w, const sim_request_record *r);
uint64_t tr_requests_csv_rows(const tr_requests_csv *w);
gboolean tr_requests_csv_commit(tr_requests_csv *w, GError **error);
void tr_requests_csv_free(tr_requests_csv *w); /* NULL is a no-op; aborts if not committed */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tr_requests_csv, tr_requests_csv_free)

/* ---- steps.jsonl[.gz] ---- */
typedef struct tr_steps tr_steps;

tr_steps *tr_steps_open(const char *path, GError **error);
void tr_steps_subscribe(tr_steps *w, sim_engine *e); /* SIM_TOPIC_STEP_END */
void tr_steps_write(tr_steps *w, const sim_step_record *s);
/* A KV transfer line {"transfer": {...}} (prefill/decode runs; subscribed with the steps). */
void tr_steps_write_transfer(tr_steps *w, const sim_transfer_record *t);
gboolean tr_steps_commit(tr_steps *w, GError **error);
void tr_steps_free(tr_steps *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tr_steps, tr_steps_free)

/* ---- Chrome/Perfetto trace (JSON object format) ---- */
/* Default cap on the steps written (each step is one "X" event plus one counter event);
 * about 350 bytes per step, so ~70 MB at the cap, which Perfetto UI and chrome://tracing
 * still load. Later steps are counted in otherData.dropped_steps. */
#define TR_PERFETTO_DEFAULT_MAX_STEPS 200000

typedef struct tr_perfetto tr_perfetto;

/* MAX_STEPS 0 = TR_PERFETTO_DEFAULT_MAX_STEPS. */
tr_perfetto *tr_perfetto_open(const char *path, uint64_t max_steps, GError **error);
void tr_perfetto_subscribe(tr_perfetto *w, sim_engine *e); /* SIM_TOPIC_STEP_END */
void tr_perfetto_write(tr_perfetto *w, const sim_step_record *s);
/* The Perfetto process holding KV transfers (prefill/decode runs). */
#define TR_PERFETTO_TRANSFER_PID 1000000
void tr_perfetto_write_transfer(tr_perfetto *w, const sim_transfer_record *t);
uint64_t tr_perfetto_dropped(const tr_perfetto *w);
/* Writes the closing part of the JSON document and commits. */
gboolean tr_perfetto_commit(tr_perfetto *w, GError **error);
void tr_perfetto_free(tr_perfetto *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tr_perfetto, tr_perfetto_free)
