/* report/report.h: `servesim report`: one self-contained HTML page with the charts that fit its
 * inputs (docs/report.md). Inputs are servesim outputs: a run's output directory (summary.json,
 * requests.csv, steps, lifecycle report; a DSA section when present), `estimate --json`,
 * `estimate --scenarios` CSV, sweep and search outputs, `analyze dsa --json` summaries,
 * `compare --output-dir` directories (compare.json and its per-request CSV). Each
 * kind of input is one row of the kind table in report/inputs.c (detect, view builder).
 *
 * The page inlines the chart library (Vega-Lite + vega-embed, report/vendor/), a small page
 * script and one JSON document holding every chart spec (generated with jansson) and the data
 * they draw, so it opens without network access. The data are bounded whatever the size of
 * the run: distributions are quantile points and histograms, time series are bucketed
 * (docs/report.md states the bound).
 *
 * Ownership: inputs are borrowed; returned GStrings are transfer full. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#define RP_ERROR (rp_error_quark())

typedef enum {
    RP_ERROR_INPUT,   /* not a servesim output, or a malformed one: "FILE[:LINE]: why" */
    RP_ERROR_VERSION, /* a servesim output of a version this report cannot read */
    RP_ERROR_ASSET,   /* an embedded asset is missing or unusable (a build problem) */
} rp_error_code;

GQuark rp_error_quark(void);

typedef struct rp_params {
    const char *title; /* page title; NULL = "servesim report" */
} rp_params;

/* Reads every input (files or directories) and returns the page. On bad input returns NULL
 * with ERROR naming the file and why; nothing is half-built. */
GString *rp_report_render(const char *const *inputs, size_t n, const rp_params *p, GError **error);

/* rp_report_render, then writes PATH atomically (temporary + rename): a failure leaves no
 * file at PATH. */
gboolean rp_report_write(
    const char *const *inputs, size_t n, const rp_params *p, const char *path, GError **error);

/* One line per kind of input the report reads ("run: ...\n"), for --help. transfer full. */
char *rp_report_kinds_help(void);
