/* tests/dsa/test_record.c: the dsa_topk writer and reader (exact field set of
 * docs/formats/dsa-trace.md, checked with jansson independently of our parser; write → read
 * round trip; one-line errors naming the line and field; skip-and-count), the trace summary
 * against hand-counted distributions, and the fit round trip on synthesized selections. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "dsa/fit.h"
#include "dsa/record.h"
#include "dsa/select.h"
#include "dsa/summary.h"
#include "dsa/synth.h"

TestSuite(record, .timeout = 300);

static void
sample(dsa_record *r)
{
    memset(r, 0, sizeof *r);
    static const uint32_t p[] = {0, 1, 2, 15, 16, 17, 40};
    dsa_record_reserve(r, 8);
    memcpy(r->pos, p, sizeof p);
    r->npos = 7;
    r->request_id = 12;
    r->layer_id = 30;
    r->step_idx = 4;
    r->seq_len_current = 51;
    r->unique_token_pos_count = 7;
    r->offset_min = 10;
    r->offset_p50 = 35;
    r->offset_max = 50;
    r->block_size_tokens = 16;
    r->block_ids[0] = 0;
    r->block_ids[1] = 1;
    r->block_ids[2] = 2;
    r->nblock_ids = 3;
    r->unique_blocks = 3;
    r->tpb_mean = 7.0 / 3.0;
    r->tpb_p50 = 2;
    r->tpb_p95 = 3.8;
    for (int k = 0; k < DSA_NTIERS; k++)
        r->fetch[k] =
            (dsa_fetch){(uint64_t)k + 1, 656 * ((uint64_t)k + 1), (uint64_t)k, 0.25 * (k + 1), 5};
    r->prefix_cache_hit = true;
    r->prefix_cached_blocks = 2;
    g_strlcpy(r->prefix_key, "00ff00ff00ff00ff", sizeof r->prefix_key);
    r->intersection_ratio = 2.0 / 3.0;
    r->isect[0] = 0;
    r->isect[1] = 1;
    r->nisect = 2;
    r->score_min = 0.125;
    r->score_mean = 0.5;
    r->score_max = 1;
}

/* The exact field set and JSON types of docs/formats/dsa-trace.md, checked with jansson. */
static void
check_schema(const char *line, bool scores)
{
    json_error_t je;
    json_auto_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &je);
    cr_assert_not_null(j, "%s", je.text);
    static const char *const top[] = {"event",
                                      "request_id",
                                      "layer_id",
                                      "step_idx",
                                      "seq_len_current",
                                      "selected_token_pos",
                                      "unique_token_pos_count",
                                      "offset_min",
                                      "offset_p50",
                                      "offset_max",
                                      "block_size_tokens",
                                      "selected_block_ids",
                                      "unique_blocks",
                                      "tokens_per_touched_block",
                                      "kv_fetch",
                                      "prefix",
                                      "scores_stats"};
    cr_expect_eq(json_object_size(j), G_N_ELEMENTS(top) + (scores ? 1 : 0));
    for (size_t i = 0; i < G_N_ELEMENTS(top); i++)
        cr_expect_not_null(json_object_get(j, top[i]), "missing %s", top[i]);
    cr_expect_str_eq(json_string_value(json_object_get(j, "event")), "dsa_topk");
    const char *ints[] = {"request_id",
                          "layer_id",
                          "step_idx",
                          "seq_len_current",
                          "unique_token_pos_count",
                          "offset_min",
                          "offset_max",
                          "block_size_tokens",
                          "unique_blocks"};
    for (size_t i = 0; i < G_N_ELEMENTS(ints); i++)
        cr_expect(json_is_integer(json_object_get(j, ints[i])), "%s", ints[i]);
    cr_expect(json_is_number(json_object_get(j, "offset_p50")));
    cr_expect(json_is_array(json_object_get(j, "selected_token_pos")));
    cr_expect(json_is_array(json_object_get(j, "selected_block_ids")));
    json_t *tpb = json_object_get(j, "tokens_per_touched_block");
    cr_expect_eq(json_object_size(tpb), 3);
    cr_expect(json_is_number(json_object_get(tpb, "mean")) &&
              json_is_number(json_object_get(tpb, "p50")) &&
              json_is_number(json_object_get(tpb, "p95")));
    json_t *kv = json_object_get(j, "kv_fetch");
    cr_expect_eq(json_object_size(kv), 3);
    const char *tiers[] = {"hbm", "local_pool", "remote_pool"};
    for (int k = 0; k < 3; k++) {
        json_t *t = json_object_get(kv, tiers[k]);
        cr_assert_not_null(t, "%s", tiers[k]);
        cr_expect_eq(json_object_size(t), 5);
        cr_expect(json_is_integer(json_object_get(t, "hit_blocks")));
        cr_expect(json_is_integer(json_object_get(t, "bytes_read")));
        cr_expect(json_is_integer(json_object_get(t, "read_ops")));
        cr_expect(json_is_number(json_object_get(t, "latency_us")));
        cr_expect(json_is_integer(json_object_get(t, "batch_size")));
    }
    json_t *px = json_object_get(j, "prefix");
    cr_expect_eq(json_object_size(px), 5);
    cr_expect(json_is_boolean(json_object_get(px, "prefix_cache_hit")));
    cr_expect(json_is_integer(json_object_get(px, "prefix_cached_blocks")));
    cr_expect(json_is_string(json_object_get(px, "prefix_key")));
    cr_expect(json_is_number(json_object_get(px, "intersection_ratio")));
    cr_expect(json_is_array(json_object_get(px, "intersection_blocks")));
    json_t *ss = json_object_get(j, "scores_stats");
    cr_expect_eq(json_object_size(ss), 3);
    if (scores)
        cr_expect(json_is_array(json_object_get(j, "scores_topk")));
}

Test(record, written_line_has_the_format_fields_and_reads_back_equal)
{
    dsa_record r, back = {0};
    sample(&r);
    g_autoptr(GString) s = g_string_new(NULL);
    dsa_record_format(&r, s);
    cr_assert(g_str_has_suffix(s->str, "}\n"));
    cr_assert_null(strchr(s->str, ' '), "compact JSON");
    g_string_truncate(s, s->len - 1);
    check_schema(s->str, false);
    GError *err = NULL;
    cr_assert(dsa_record_parse(s->str, s->len, &back, &err), "%s", err ? err->message : "");
    cr_expect_eq(back.request_id, 12);
    cr_expect_eq(back.layer_id, 30);
    cr_expect_eq(back.step_idx, 4);
    cr_expect_eq(back.seq_len_current, 51);
    cr_assert_eq(back.npos, 7);
    cr_expect(memcmp(back.pos, r.pos, 7 * sizeof *r.pos) == 0);
    cr_expect_float_eq(back.offset_p50, 35, 1e-12);
    cr_expect_float_eq(back.tpb_mean, 2.333333, 1e-9, "6 decimals");
    cr_expect_float_eq(back.tpb_p95, 3.8, 1e-12);
    for (int k = 0; k < DSA_NTIERS; k++) {
        cr_expect_eq(back.fetch[k].hit_blocks, r.fetch[k].hit_blocks);
        cr_expect_eq(back.fetch[k].bytes_read, r.fetch[k].bytes_read);
        cr_expect_eq(back.fetch[k].read_ops, r.fetch[k].read_ops);
        cr_expect_float_eq(back.fetch[k].latency_us, r.fetch[k].latency_us, 1e-12);
        cr_expect_eq(back.fetch[k].batch_size, 5);
    }
    cr_expect(back.prefix_cache_hit);
    cr_expect_str_eq(back.prefix_key, "00ff00ff00ff00ff");
    cr_expect_float_eq(back.intersection_ratio, 0.666667, 1e-9);
    cr_expect_eq(back.nisect, 2);
    cr_expect_not(back.has_scores);
    /* writing what was read gives the same bytes */
    g_autoptr(GString) s2 = g_string_new(NULL);
    dsa_record_format(&back, s2);
    g_string_truncate(s2, s2->len - 1);
    cr_expect_str_eq(s2->str, s->str);
    dsa_record_clear(&r);
    dsa_record_clear(&back);
}

Test(record, scores_topk_only_when_stored)
{
    dsa_record r, back = {0};
    sample(&r);
    r.has_scores = true;
    r.nscores = 7;
    for (int i = 0; i < 7; i++)
        r.scores[i] = 1.0 / (i + 1);
    g_autoptr(GString) s = g_string_new(NULL);
    dsa_record_format(&r, s);
    g_string_truncate(s, s->len - 1);
    check_schema(s->str, true);
    cr_assert(dsa_record_parse(s->str, s->len, &back, NULL));
    cr_assert(back.has_scores);
    cr_assert_eq(back.nscores, 7);
    cr_expect_float_eq(back.scores[2], 0.333333, 1e-9);
    dsa_record_clear(&r);
    dsa_record_clear(&back);
}

/* A bad record: the error names the field; the reader prefixes FILE:LINE. */
static void
expect_bad(const char *from, const char *to, const char *want)
{
    dsa_record r;
    sample(&r);
    g_autoptr(GString) s = g_string_new(NULL);
    dsa_record_format(&r, s);
    dsa_record_clear(&r);
    g_autofree char *line = g_strndup(s->str, s->len - 1);
    char *at = strstr(line, from);
    cr_assert_not_null(at, "%s", from);
    g_autofree char *bad =
        g_strdup_printf("%.*s%s%s", (int)(at - line), line, to, at + strlen(from));
    g_autofree char *text = g_strdup_printf("%s\n%s\n", line, bad);
    GError *err = NULL;
    g_autoptr(dsa_reader) rd = dsa_reader_new_from_memory("t.jsonl", text, strlen(text), NULL);
    const dsa_record *rec;
    cr_assert_eq(dsa_reader_next(rd, false, &rec, &err), 1);
    cr_assert_eq(dsa_reader_next(rd, false, &rec, &err), -1, "accepted: %s", bad);
    cr_expect(g_str_has_prefix(err->message, "t.jsonl:2: "), "%s", err->message);
    cr_expect(strstr(err->message, want) != NULL, "'%s' not in '%s'", want, err->message);
    cr_expect_null(strchr(err->message, '\n'));
    g_clear_error(&err);
}

Test(record, bad_records_name_line_and_field)
{
    expect_bad("\"layer_id\":30", "\"layer_idx\":30", "unknown field 'layer_idx'");
    /* a decoded newline in a key is quoted escaped (found by fuzz/fuzz_dsa_trace.c) */
    expect_bad("\"layer_id\":30", "\"lay\\ner_id\":30", "unknown field 'lay\\ner_id'");
    expect_bad(",\"layer_id\":30", "", "missing field 'layer_id'");
    expect_bad("\"step_idx\":4", "\"step_idx\":4,\"step_idx\":4", "duplicate field 'step_idx'");
    expect_bad("\"step_idx\":4", "\"step_idx\":\"4\"", "step_idx: expected a number");
    expect_bad("\"step_idx\":4", "\"step_idx\":-4", "step_idx: expected an integer");
    expect_bad("\"read_ops\":1", "\"read_ops\":1.5", "kv_fetch.local_pool.read_ops");
    expect_bad("\"hit_blocks\":1,", "", "kv_fetch.hbm: missing field 'hit_blocks'");
    expect_bad("[0,1,2,15", "[0,1,99,15", "selected_token_pos: entry 2 (99) is not below");
    expect_bad("\"dsa_topk\"", "\"dsa_other\"", "event: expected \"dsa_topk\"");
    expect_bad("\"intersection_ratio\":0.666667", "\"intersection_ratio\":1.5",
               "prefix.intersection_ratio: 1.5 is out of range");
    expect_bad("\"prefix_cache_hit\":true", "\"prefix_cache_hit\":1",
               "prefix.prefix_cache_hit: expected true or false");
    expect_bad("\"max\":1}}", "\"max\":1}} x", "unexpected text after the record");
    expect_bad("[0,1,2,15", "[0,1,,15", "selected_token_pos: expected a number");
    expect_bad("\"seq_len_current\":51", "\"seq_len_current\":99999999999",
               "seq_len_current: expected an integer");
}

Test(record, truncated_line_and_skip_and_count)
{
    dsa_record r;
    sample(&r);
    g_autoptr(GString) s = g_string_new(NULL);
    dsa_record_format(&r, s);
    dsa_record_format(&r, s);
    dsa_record_clear(&r);
    g_string_append(s, "\n   \n{\"event\":\"dsa_topk\",\"request_id\":1");
    g_autoptr(dsa_reader) rd = dsa_reader_new_from_memory("c.jsonl", s->str, s->len, NULL);
    const dsa_record *rec;
    GError *err = NULL;
    cr_expect_eq(dsa_reader_next(rd, true, &rec, &err), 1);
    cr_expect_eq(dsa_reader_next(rd, true, &rec, &err), 1);
    cr_expect_eq(dsa_reader_next(rd, true, &rec, &err), 0, "blank lines skipped, bad one too");
    cr_expect_eq(dsa_reader_skipped(rd), 1);
    cr_expect(g_str_has_prefix(dsa_reader_first_skipped(rd), "c.jsonl:5: "), "%s",
              dsa_reader_first_skipped(rd));
}

Test(record, accepts_any_json_spelling_of_the_same_values)
{
    dsa_record r, back = {0};
    sample(&r);
    g_autoptr(GString) s = g_string_new(NULL);
    dsa_record_format(&r, s);
    dsa_record_clear(&r);
    /* spaces, an exponent, an escaped key character, integer prefix_key, reordered keys */
    g_auto(GStrv) parts = g_strsplit(s->str, ",", -1);
    g_autofree char *a = g_strjoinv(" , ", parts);
    GError *err = NULL;
    cr_assert(dsa_record_parse(a, strlen(a) - 1, &back, &err), "%s", err ? err->message : "");
    char *b = g_strdup("{\"request_\\u0069d\":1,\"event\":\"dsa_topk\",\"layer_id\":0,"
                       "\"step_idx\":0,\"seq_len_current\":2,\"selected_token_pos\":[0,1],"
                       "\"unique_token_pos_count\":2,\"offset_min\":0,\"offset_p50\":5e-1,"
                       "\"offset_max\":1,\"block_size_tokens\":16,\"selected_block_ids\":[0],"
                       "\"unique_blocks\":1,\"tokens_per_touched_block\":{\"mean\":2,\"p50\":2,"
                       "\"p95\":2},\"kv_fetch\":{\"hbm\":{\"hit_blocks\":1,\"bytes_read\":1312,"
                       "\"read_ops\":1,\"latency_us\":0,\"batch_size\":1},\"local_pool\":{"
                       "\"hit_blocks\":0,\"bytes_read\":0,\"read_ops\":0,\"latency_us\":0,"
                       "\"batch_size\":1},\"remote_pool\":{\"hit_blocks\":0,\"bytes_read\":0,"
                       "\"read_ops\":0,\"latency_us\":0,\"batch_size\":1}},\"prefix\":{"
                       "\"prefix_cache_hit\":false,\"prefix_cached_blocks\":0,\"prefix_key\":"
                       "123456,\"intersection_ratio\":0,\"intersection_blocks\":[]},"
                       "\"scores_stats\":{\"min\":1,\"mean\":1,\"max\":1}}");
    cr_assert(dsa_record_parse(b, strlen(b), &back, &err), "%s", err ? err->message : "");
    cr_expect_eq(back.request_id, 1);
    cr_expect_float_eq(back.offset_p50, 0.5, 1e-12);
    cr_expect_str_eq(back.prefix_key, "123456");
    cr_expect_eq(back.nisect, 0);
    g_free(b);
    dsa_record_clear(&back);
}

/* Two records, distributions counted by hand:
 *   A: t = 50, {0,1,2,15,16,17,40}, B 16: unique_blocks 3, block tokens 4,2,1,
 *      offsets 50,49,48,35,34,33,10, ratio 2/3, intersection blocks {0, 1}
 *   B: t = 9, {8, 9}, B 16: unique_blocks 1, block tokens 2, offsets 1, 0, ratio 0, none
 *   unique_blocks {3, 1}: min 1, p50 2, p95 1 + 0.95·2 = 2.9, max 3, mean 2
 *   tokens per block {4,2,1,2}: sorted 1,2,2,4: p50 2, p95 = 2 + 0.85·2 = 3.7, mean 2.25
 *   offsets {0,1,10,33,34,35,48,49,50} (9 values): p50 = 34, p95 = 49 + 0.6·1 = 49.6,
 *   mean 260/9 */
Test(record, summary_distributions_by_hand)
{
    g_autoptr(dsa_summary) s = dsa_summary_new();
    dsa_record a;
    sample(&a);
    a.intersection_ratio = 2.0 / 3.0;
    dsa_summary_add(s, &a);
    dsa_summary_add(s, &a); /* counted twice for hot blocks, then removed below */
    g_autoptr(dsa_summary) s2 = dsa_summary_new();
    dsa_summary_add(s2, &a);
    dsa_record b;
    sample(&b);
    b.request_id = 13;
    b.pos[0] = 9; /* unsorted on purpose: {9, 8} */
    b.pos[1] = 8;
    b.npos = 2;
    b.seq_len_current = 10;
    b.unique_blocks = 1;
    b.intersection_ratio = 0;
    b.nisect = 0;
    b.prefix_cache_hit = false;
    dsa_summary_add(s2, &b);
    json_auto_t *j = dsa_summary_json(s2);
    cr_expect_eq(json_integer_value(json_object_get(j, "records")), 2);
    cr_expect_eq(json_integer_value(json_object_get(j, "requests")), 2);
    json_t *u = json_object_get(j, "unique_blocks");
    cr_expect_eq(json_integer_value(json_object_get(u, "min")), 1);
    cr_expect_float_eq(json_number_value(json_object_get(u, "p50")), 2.0, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(u, "p95")), 2.9, 1e-9);
    cr_expect_eq(json_integer_value(json_object_get(u, "max")), 3);
    cr_expect_float_eq(json_number_value(json_object_get(u, "mean")), 2.0, 1e-9);
    json_t *tp = json_object_get(j, "tokens_per_touched_block");
    cr_expect_float_eq(json_number_value(json_object_get(tp, "p50")), 2.0, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(tp, "p95")), 3.7, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(tp, "mean")), 2.25, 1e-9);
    json_t *of = json_object_get(j, "offsets");
    cr_expect_eq(json_integer_value(json_object_get(of, "min")), 0);
    cr_expect_float_eq(json_number_value(json_object_get(of, "p50")), 34.0, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(of, "p95")), 49.6, 1e-9);
    cr_expect_eq(json_integer_value(json_object_get(of, "max")), 50);
    cr_expect_float_eq(json_number_value(json_object_get(of, "mean")), 260.0 / 9, 1e-9);
    json_t *ir = json_object_get(j, "prefix_intersection_ratio");
    cr_expect_float_eq(json_number_value(json_object_get(ir, "p50")), 1.0 / 3.0, 1e-6);
    cr_expect_float_eq(json_number_value(json_object_get(ir, "max")), 2.0 / 3.0, 1e-6);
    json_t *hot = json_object_get(j, "prefix_hot_blocks");
    cr_assert_eq(json_array_size(hot), 1, "request 13 touched no cached block");
    json_t *h0 = json_array_get(hot, 0);
    cr_expect_eq(json_integer_value(json_object_get(h0, "request_id")), 12);
    cr_expect_eq(json_array_size(json_object_get(h0, "blocks")), 2);
    /* touches: s saw request 12 twice → blocks 0 and 1 touched twice each */
    dsa_summary_request_done(s, 12);
    json_auto_t *j1 = dsa_summary_json(s);
    json_t *bl =
        json_object_get(json_array_get(json_object_get(j1, "prefix_hot_blocks"), 0), "blocks");
    cr_expect_eq(json_integer_value(json_array_get(json_array_get(bl, 0), 0)), 0);
    cr_expect_eq(json_integer_value(json_array_get(json_array_get(bl, 0), 1)), 2);
    dsa_record_clear(&a);
    dsa_record_clear(&b);
}

/* Fit round trip: selections synthesized with known parameters (the domain preset, a few
 * changed) for 48 requests × 40 steps × 24 layers, fitted back. Tolerances: sinks and window
 * exact; α ± 0.15; cluster length ± 20 %; noise ± 0.02; γ ± 0.02; λ ± 0.1. */
Test(record, fit_recovers_known_parameters)
{
    dsa_synth_params truth;
    dsa_synth_preset("domain", &truth);
    truth.n_sink = 8;
    truth.window = 200;
    truth.alpha = 1.3;
    truth.cluster_mean = 12;
    truth.noise = 0.06;
    truth.gamma = 0.9;
    truth.lambda = 0.6;
    const uint32_t K = 2048, L = 24, STEPS = 40;
    dsa_synth_scratch sc = {0};
    g_autoptr(dsa_fit) f = dsa_fit_new(3);
    dsa_record r = {0};
    dsa_record_reserve(&r, K);
    for (int pass = 1; pass <= 2; pass++) {
        for (uint64_t q = 0; q < 48; q++) {
            uint16_t head[24];
            dsa_synth_layer_heads(&truth, 77, q, L, head);
            dsa_head *h = g_new0(dsa_head, L);
            for (uint32_t l = 0; l < L; l++)
                dsa_head_init(&h[l], 77, q, l);
            uint32_t t0 = 20000 + 1000 * (uint32_t)q;
            for (uint32_t st = 0; st < STEPS; st++)
                for (uint32_t l = 0; l < L; l++) {
                    dsa_head *hh = &h[head[l]];
                    dsa_head_step(hh, &truth, K, t0 + st, &sc);
                    r.npos = dsa_head_selection(hh, &truth, K, r.pos);
                    r.request_id = q;
                    r.layer_id = l;
                    r.step_idx = st;
                    r.seq_len_current = t0 + st + 1;
                    if (pass == 1)
                        dsa_fit_pass1(f, &r);
                    else
                        dsa_fit_pass2(f, &r);
                }
            for (uint32_t l = 0; l < L; l++)
                dsa_head_clear(&h[l]);
            g_free(h);
        }
        if (pass == 1)
            cr_assert(dsa_fit_end_pass1(f, NULL));
    }
    dsa_synth_params got;
    json_t *report = NULL;
    dsa_fit_finish(f, &got, &report);
    g_autofree char *rep = json_dumps(report, JSON_COMPACT);
    cr_log_info("fit: n_sink %u window %u alpha %.3f d0 %.0f m %.2f noise %.4f gamma %.4f "
                "lambda %.4f; %s",
                got.n_sink, got.window, got.alpha, got.d0, got.cluster_mean, got.noise, got.gamma,
                got.lambda, rep);
    cr_expect_eq(got.n_sink, 8, "%s", rep);
    cr_expect_eq(got.window, 200, "%s", rep);
    cr_expect(fabs(got.alpha - 1.3) < 0.15, "alpha %.3f d0 %.0f", got.alpha, got.d0);
    cr_expect(fabs(got.cluster_mean - 12) / 12 < 0.2, "m %.2f", got.cluster_mean);
    cr_expect(fabs(got.noise - 0.06) < 0.02, "noise %.4f", got.noise);
    cr_expect(fabs(got.gamma - 0.9) < 0.02, "gamma %.4f", got.gamma);
    cr_expect(fabs(got.lambda - 0.6) < 0.1, "lambda %.4f", got.lambda);
    json_decref(report);
    dsa_record_clear(&r);
    dsa_synth_scratch_clear(&sc);
}
