/* workloads/dist.h: the distributions synthetic workloads draw lengths and think times from,
 * parsed from short specs ("fixed:512", "uniform:100:2000", "normal:M:SD[:MIN[:MAX]]",
 * "lognormal:M:SD[:MIN[:MAX]]", "zipf:S:MAX", "exponential:MEAN", "empirical:FILE").
 * Integer distributions (token lengths) round to the nearest integer and clamp to
 * [max(1, MIN), min(MAX, WL_MAX_TOKENS)]; real ones (seconds) clamp to [MIN, MAX] with MIN
 * defaulting to 0 and MAX to WL_MAX_TIME_S (no parameter may exceed it). Draws are deterministic
 * functions of the sim_rng stream. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>
#include <jansson.h>

#include "base/rng.h"

typedef struct wl_dist wl_dist;

typedef enum {
    WL_DIST_INT,  /* token counts */
    WL_DIST_REAL, /* seconds */
} wl_dist_domain;

/* Parses SPEC. WHAT names the setting in messages ("--input-len: ..."). "empirical:FILE"
 * reads the prompt lengths of FILE (any workload format; COLUMN 0) or its output lengths
 * (COLUMN 1). transfer full. */
wl_dist *wl_dist_parse(
    const char *spec, wl_dist_domain domain, int column, const char *what, GError **error);
/* inference-perf distribution object {min, max, mean, std_dev}: normal clipped to
 * [min, max] (std_dev 0 or absent = fixed at mean). */
wl_dist *wl_dist_from_json(json_t *j, const char *what, GError **error);
wl_dist *wl_dist_new_fixed(double v, wl_dist_domain domain);
/* Categorical over VALUES with WEIGHTS (copied; weights ≥ 0 with a positive sum). */
wl_dist *
wl_dist_new_empirical(const double *values, const double *weights, size_t n, wl_dist_domain domain);
double wl_dist_draw(const wl_dist *d, sim_rng *r);
/* True if every draw returns the same value. */
bool wl_dist_is_fixed(const wl_dist *d);
void wl_dist_free(wl_dist *d); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(wl_dist, wl_dist_free)

/* Histogram of (prompt, output) length pairs of the workload at PATH (any format, read with
 * default options): parallel arrays of distinct pairs sorted by (prompt, output) and their
 * counts. Memory is O(distinct pairs). */
typedef struct wl_length_table {
    uint32_t *prompt, *output;
    double *count;
    size_t n;
} wl_length_table;

gboolean wl_length_table_load(const char *path, wl_length_table *t, GError **error);
void wl_length_table_clear(wl_length_table *t);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(wl_length_table, wl_length_table_clear)
