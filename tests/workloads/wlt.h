/* tests/workloads/wlt.h: helpers for the workload tests: open a source from flag strings,
 * drain it into summary figures and a digest, write temporary inputs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "workloads/workload.h"

#define WLT_DATA    SERVESIM_DATA_DIR
#define WLT_SAMPLES SERVESIM_SOURCE_DIR "/workloads/samples"

/* Opens a source from command-line style flags (NULL-terminated), e.g.
 * wlt_open(0, 0, &err, "--workload", path, "--rate", "5", NULL). */
wl_source *
wlt_open(uint64_t seed, int64_t max_model_len, GError **error, ...) G_GNUC_NULL_TERMINATED;
wl_source *wlt_openv(uint64_t seed, int64_t max_model_len, const char *const *argv, GError **error);

typedef struct wlt_stats {
    uint64_t n;
    int64_t first_ns, last_ns;
    uint64_t prompt, output; /* Σ tokens */
    uint64_t segments;       /* Σ nsegments */
    uint64_t digest;         /* hash of every field of every request, in order */
    bool sorted;             /* arrivals non-decreasing */
    bool consistent;         /* Σ segment tokens == prompt_tokens, ids 0.. in order */
} wlt_stats;

/* Reads S to the end; returns the last wl_source_next code (0 = clean end, -1 = error). */
int wlt_drain(wl_source *s, wlt_stats *st, GError **error);

/* Writes CONTENTS to a new temporary file named servesim-wl-XXXXXX<SUFFIX>; gzip-compressed
 * if GZ. Returns the path (g_free it after unlinking). */
char *wlt_tmp(const char *suffix, const char *contents, bool gz);
