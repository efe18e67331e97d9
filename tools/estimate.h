/* tools/estimate.h: the views `servesim estimate` adds to its single-scenario output
 * (tools/cmd_estimate_views.c, docs/analysis.md §5): the multi-model comparison
 * (`--model A,B,C`) and the compute/communication overlap timeline (`--overlap φ`). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "timemodel/options.h"
#include "timemodel/roofline.h"

typedef struct estimate_view_args {
    const tm_options *tm; /* tm->model is the comma-separated list */
    int64_t batch, input_len, output_len;
    double step_overhead_us, per_seq_overhead_us; /* NAN = calibration / default */
    bool json, csv;
} estimate_view_args;

/* `estimate --model A,B,C`: one row per model, same hardware and scenario. Prints and returns
 * the exit code (unknown models and bad parallelism: one line, exit 2; a model whose weights
 * do not fit gets a row saying so). */
int estimate_compare(const estimate_view_args *a);

/* The timeline of the prefill step and (DECODE may be NULL) a decode step at overlap PHI. */
void estimate_overlap_print(GString *g,
                            const tm_roofline_detail *prefill,
                            const tm_roofline_detail *decode,
                            double phi);
json_t *estimate_overlap_json(const tm_roofline_detail *prefill,
                              const tm_roofline_detail *decode,
                              double phi);
