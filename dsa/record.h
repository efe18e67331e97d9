/* dsa/record.h: one `dsa_topk` record of trace_steps.jsonl (docs/formats/dsa-trace.md): its
 * in-memory form, the JSONL writer and the strict streaming reader.
 *
 * Writer: keys in the format's order, integers exact, reals rounded to 6 decimals (trailing
 * zeros dropped), no spaces; hand-formatted (one record can hold 4,000+ numbers).
 *
 * Reader: a dedicated parser for this schema rather than a generic JSON DOM (jansson allocates
 * one node per number, ~10× slower on these lines). It accepts any JSON spelling of the same
 * values (whitespace, key order, escapes, exponents) and rejects everything else with a
 * message naming the field: unknown keys, missing keys, duplicate keys, wrong types,
 * out-of-range numbers, positions not below seq_len_current. Memory per record is bounded by
 * the longest array seen (arrays longer than DSA_RECORD_MAX_ARRAY are rejected).
 *
 * Ownership: a dsa_record owns its arrays (dsa_record_clear frees them); the reader owns its
 * line buffer; records returned by the reader are borrowed until the next call. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "base/io.h"
#include "dsa/tiers.h"

#define DSA_RECORD_MAX_ARRAY (1u << 24) /* 16 M entries per array */
#define DSA_PREFIX_KEY_MAX   256        /* bytes of prefix_key */
#define DSA_MAX_SEQ_LEN      (1u << 24) /* seq_len_current accepted (16 M tokens) */
#define DSA_MAX_BLOCK_SIZE   (1u << 20) /* block_size_tokens accepted */

typedef struct dsa_record {
    /* identity */
    uint64_t request_id;
    uint32_t layer_id;
    uint64_t step_idx;
    uint32_t seq_len_current;
    /* A: selection */
    uint32_t *pos; /* selected_token_pos */
    uint32_t npos, pos_cap;
    uint32_t unique_token_pos_count;
    uint32_t offset_min, offset_max;
    double offset_p50;
    /* B: token → block */
    uint32_t block_size_tokens;
    uint32_t *block_ids; /* selected_block_ids */
    uint32_t nblock_ids, block_ids_cap;
    uint32_t unique_blocks;
    double tpb_mean, tpb_p50, tpb_p95;
    /* C: KV fetch */
    dsa_fetch fetch[DSA_NTIERS];
    /* D: prefix cache */
    bool prefix_cache_hit;
    uint32_t prefix_cached_blocks;
    char prefix_key[DSA_PREFIX_KEY_MAX + 1];
    double intersection_ratio;
    uint32_t *isect; /* intersection_blocks */
    uint32_t nisect, isect_cap;
    /* scores */
    double score_min, score_mean, score_max;
    double *scores; /* scores_topk (only if has_scores) */
    uint32_t nscores, scores_cap;
    bool has_scores;
} dsa_record;

void dsa_record_clear(dsa_record *r);
/* Makes sure the arrays hold at least N entries each (contents kept). */
void dsa_record_reserve(dsa_record *r, uint32_t n);

/* Rounds R's real fields to what dsa_record_format prints (6 decimals), so figures computed
 * from R in memory equal those computed from its written line. */
void dsa_record_round(dsa_record *r);

/* Appends R as one JSON line (with "\n") to OUT. */
void dsa_record_format(const dsa_record *r, GString *out);

/* Streaming reader over a plain or gzip trace_steps.jsonl. */
typedef struct dsa_reader dsa_reader;

dsa_reader *dsa_reader_open(const char *path, GError **error);
/* Over a copy of DATA (NAME in messages): tests and fuzzing. */
dsa_reader *
dsa_reader_new_from_memory(const char *name, const void *data, size_t size, GError **error);
void dsa_reader_free(dsa_reader *r); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(dsa_reader, dsa_reader_free)

/* 1 with *REC set (borrowed), 0 at end, −1 on error ("FILE:LINE: field: what"). With
 * SKIP_BAD, malformed records are counted and skipped instead (I/O errors still fail). Blank
 * lines are skipped. */
int dsa_reader_next(dsa_reader *r, bool skip_bad, const dsa_record **rec, GError **error);
uint64_t dsa_reader_skipped(const dsa_reader *r);
/* Message of the first skipped record (NULL if none). */
const char *dsa_reader_first_skipped(const dsa_reader *r);
uint64_t dsa_reader_bytes(const dsa_reader *r); /* decompressed bytes consumed */
uint64_t dsa_reader_lineno(const dsa_reader *r);

/* Parses one line (no newline) into REC; FALSE with a message (no file/line prefix). Exposed for
 * tests and fuzzing. */
gboolean dsa_record_parse(const char *line, size_t len, dsa_record *rec, GError **error);
