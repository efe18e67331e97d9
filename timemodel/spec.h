/* timemodel/spec.h: speculative decoding (docs/speculative.md): vLLM's --speculative-config
 * (method, num_speculative_tokens, model, draft_tensor_parallel_size) plus servesim's acceptance
 * model, and the price of the drafter's forward passes.
 *
 * Acceptance is per position: accept[i] = P(draft token i+1 is accepted), i.e. vLLM's
 * "per-position acceptance rate" (accepted_per_pos[i] / num_drafts). A draft token counts only
 * if every earlier one was accepted, so the rates never increase with the position. They come
 * from a preset (published figures, cited in the table), a list, one per-token rate α applied
 * independently (accept[i] = α^(i+1), the i.i.d. model of Leviathan et al. 2023) or a file.
 *
 * Cost of one engine step with k drafts (vLLM V1 gpu_model_runner: target forward, rejection
 * sampling, then the drafter proposes the next step's drafts):
 *   verify   the target forward itself (the scheduler gave each decoding sequence 1 + k tokens;
 *            logits for all of them);
 *   draft    eagle / eagle3 / mtp / draft_model: one drafter pass over the step's tokens, then
 *            k − 1 passes of one token per sampling sequence; ngram: nothing on the GPU.
 * Ownership: a tm_spec_config owns its strings (tm_spec_config_clear). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "timemodel/batch.h"
#include "timemodel/model.h"
#include "timemodel/timemodel.h"

/* Most draft tokens per step servesim accepts (vLLM has no bound; deployments use 1–8). */
#define TM_SPEC_MAX_TOKENS 16

typedef enum {
    TM_SPEC_OFF = 0,
    TM_SPEC_DRAFT_MODEL, /* a separate small model */
    TM_SPEC_EAGLE,       /* EAGLE head: one decoder layer on the target's hidden states */
    TM_SPEC_EAGLE3,      /* EAGLE-3 head: one layer, fused low/mid/high features, small vocab */
    TM_SPEC_MTP,         /* the model's own multi-token-prediction modules (DeepSeek-V3) */
    TM_SPEC_NGRAM,       /* prompt lookup on the CPU: no draft model */
} tm_spec_method;

typedef struct tm_spec_config {
    tm_spec_method method;
    uint32_t k;         /* num_speculative_tokens */
    char *model;        /* draft model: a preset or config.json (draft_model: required;
                           eagle/eagle3: optional, else a head derived from the target) */
    int64_t draft_tp;   /* draft_tensor_parallel_size; 0 = the target's */
    int64_t lookup_min; /* ngram prompt_lookup_min / max (recorded; 0 = unset) */
    int64_t lookup_max;
    double accept[TM_SPEC_MAX_TOKENS]; /* P(draft i+1 accepted), non-increasing, in [0, 1] */
    char *accept_source;               /* "preset NAME", "acceptance_rate", "file PATH" */
} tm_spec_config;

/* vLLM's method name ("draft_model", "eagle", "eagle3", "mtp", "ngram"). */
const char *tm_spec_method_name(tm_spec_method m);

/* Parses the speculative config J (vLLM's keys plus servesim's acceptance_rate /
 * acceptance_file / acceptance_preset; unknown keys are errors). TARGET is the served model:
 * mtp needs its MTP modules (num_nextn_predict_layers > 0) and takes k from them when
 * num_speculative_tokens is absent. Every message is one line starting with
 * "speculative_config". On failure C is cleared. */
gboolean
tm_spec_config_parse(tm_spec_config *c, json_t *j, const tm_model_spec *target, GError **error);
void tm_spec_config_clear(tm_spec_config *c);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(tm_spec_config, tm_spec_config_clear)

/* Whether vLLM reserves k lookahead KV slots per running request for this method
 * (scheduler.py: use_eagle() or uses_draft_model()): all but ngram. */
bool tm_spec_uses_lookahead(const tm_spec_config *c);
/* Whether the drafter runs on the GPU (all but ngram). */
bool tm_spec_has_drafter(const tm_spec_config *c);
/* Expected tokens per verify step: 1 + Σ accept[i] (vLLM's mean acceptance length). */
double tm_spec_mean_acceptance_length(const tm_spec_config *c);

/* The drafter as a model spec (docs/speculative.md "drafter"): draft_model loads c->model;
 * eagle/eagle3 load c->model if given, else one dense decoder layer with the target's attention
 * and hidden size (EAGLE-3: a 32,000-token draft vocabulary); mtp: one of the target's own
 * layers (MoE, MLA) with its vocabulary. OUT is cleared by tm_model_spec_clear. */
gboolean tm_spec_drafter_spec(const tm_spec_config *c,
                              const tm_model_spec *target,
                              tm_model_spec *out,
                              GError **error);

/* Weight bytes per GPU the drafter DRAFTER (from tm_spec_drafter_spec) adds, under parallel
 * layout P: its layers, minus what it shares with the target (mtp and eagle: embedding and
 * output head; eagle3: the embedding; draft_model: nothing). */
double tm_spec_drafter_weight_bytes_gpu(const tm_spec_config *c,
                                        const tm_model_spec *drafter,
                                        tm_dtype weights,
                                        const tm_parallel *p);

/* Time of the drafter's passes in one step: one pass over STEP (the target's batch, logits at
 * one position per sampling sequence) and k − 1 passes over PROPOSE (one token per sampling
 * sequence). DRAFT prices one pass; NULL (ngram) costs 0. */
double tm_spec_draft_s(const tm_timemodel *draft,
                       uint32_t k,
                       const tm_batch *step,
                       const tm_batch *propose,
                       tm_step_cost *detail);

/* The resolved config (method, k, model, acceptance per position and its source,
 * mean acceptance length) for summary.json. transfer full */
json_t *tm_spec_config_to_json(const tm_spec_config *c);

/* Acceptance presets: published figures (the source is in each row). A preset holds either
 * per-position rates (accept[0..k)) or one per-token rate alpha > 0 under the i.i.d. model
 * (position i accepted with alpha^i; k = TM_SPEC_MAX_TOKENS: any num_speculative_tokens). */
typedef struct tm_spec_preset {
    const char *name;
    tm_spec_method method;
    uint32_t k; /* positions the figure covers */
    double accept[TM_SPEC_MAX_TOKENS];
    double alpha; /* > 0: per-token rate (accept is unused) */
    const char *source;
} tm_spec_preset;

size_t tm_spec_preset_count(void);
const tm_spec_preset *tm_spec_preset_at(size_t i);
const tm_spec_preset *tm_spec_preset_find(const char *name); /* NULL if unknown */
/* The preset's per-position rates (0 past its k). */
void tm_spec_preset_rates(const tm_spec_preset *p, double out[TM_SPEC_MAX_TOKENS]);
