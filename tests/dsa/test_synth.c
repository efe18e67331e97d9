/* tests/dsa/test_synth.c: the selection synthesizer against docs/domain.md §5.2's arithmetic:
 * everything selected when ctx ≤ k; at 128K context with 64-token blocks uniform picks touch
 * N_b(1 − (1 − k/ctx)^B) = 2048·(1 − (63/64)^64) ≈ 1,300.5 blocks and the clustered preset
 * ≈ k/B = 32; the domain preset's adjacent-step overlap ≈ γ; layer reuse ≈ λ; determinism and
 * independence of what else is drawn. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dsa/select.h"
#include "dsa/synth.h"

#define K 2048

TestSuite(synth, .timeout = 120);

static uint32_t sel[K], ids[K], tok[K], hist[65];

static uint32_t
blocks_of(const dsa_head *h, const dsa_synth_params *p, uint32_t B)
{
    uint32_t n = dsa_head_selection(h, p, K, sel);
    dsa_sel_stats st;
    dsa_sel_summarize(sel, n, h->t, B, ids, tok, hist, &st);
    return st.unique_blocks;
}

Test(synth, presets_are_valid)
{
    for (int i = 0; dsa_synth_preset_names[i] != NULL; i++) {
        dsa_synth_params p;
        cr_assert(dsa_synth_preset(dsa_synth_preset_names[i], &p));
        cr_expect(dsa_synth_check(&p, K, NULL), "%s", dsa_synth_preset_names[i]);
    }
    dsa_synth_params p;
    cr_expect_not(dsa_synth_preset("nope", &p));
}

Test(synth, short_context_selects_everything)
{
    dsa_synth_params p;
    dsa_synth_preset("clustered", &p);
    dsa_head h;
    dsa_head_init(&h, 1, 7, 0);
    dsa_synth_scratch s = {0};
    for (uint32_t t = 0; t < K; t += 97) {
        dsa_head_step(&h, &p, K, t, &s);
        uint32_t n = dsa_head_selection(&h, &p, K, sel);
        cr_assert_eq(n, t + 1);
        for (uint32_t i = 0; i <= t; i++)
            cr_assert_eq(sel[i], i);
    }
    dsa_head_step(&h, &p, K, K - 1, &s); /* ctx = k exactly: still everything */
    cr_expect_eq(dsa_head_selection(&h, &p, K, sel), K);
    dsa_head_clear(&h);
    dsa_synth_scratch_clear(&s);
}

/* Selections have exactly k distinct ascending positions with sinks and window present. */
Test(synth, long_context_selection_is_k_distinct_with_sinks_and_window)
{
    const char *names[] = {"clustered", "domain", "uniform"};
    for (int k = 0; k < 3; k++) {
        dsa_synth_params p;
        dsa_synth_preset(names[k], &p);
        dsa_head h;
        dsa_head_init(&h, 3, 1, 5);
        dsa_synth_scratch s = {0};
        for (uint32_t t = K; t < K + 3000; t += 37) {
            dsa_head_step(&h, &p, K, t, &s);
            uint32_t n = dsa_head_selection(&h, &p, K, sel);
            cr_assert_eq(n, K, "%s t=%u", names[k], t);
            for (uint32_t i = 1; i < n; i++)
                cr_assert_gt(sel[i], sel[i - 1], "%s: not ascending at %u", names[k], i);
            cr_assert_leq(sel[n - 1], t);
            for (uint32_t i = 0; i < p.n_sink; i++)
                cr_assert_eq(sel[i], i);
            for (uint32_t i = 0; i < p.window; i++)
                cr_assert_eq(sel[n - 1 - i], t - i);
        }
        dsa_head_clear(&h);
        dsa_synth_scratch_clear(&s);
    }
}

static double
mean_blocks(const char *preset, uint32_t ctx, uint32_t B, int steps)
{
    dsa_synth_params p;
    dsa_synth_preset(preset, &p);
    dsa_synth_scratch s = {0};
    double sum = 0;
    int n = 0;
    for (uint64_t r = 0; r < 8; r++) {
        dsa_head h;
        dsa_head_init(&h, 11, r, 4);
        for (int i = 0; i < steps; i++) {
            dsa_head_step(&h, &p, K, ctx - 1 + (uint32_t)i, &s);
            if (i >= steps / 2) { /* after the steady state settled */
                sum += blocks_of(&h, &p, B);
                n++;
            }
        }
        dsa_head_clear(&h);
    }
    dsa_synth_scratch_clear(&s);
    return sum / n;
}

Test(synth, uniform_at_128k_touches_about_1300_blocks_of_64)
{
    double expect = 2048.0 * (1.0 - pow(63.0 / 64.0, 64)); /* 1300.5 */
    double got = mean_blocks("uniform", 131072, 64, 20);
    cr_expect(fabs(got - expect) / expect < 0.02, "uniform: %.1f blocks, expected %.1f", got,
              expect);
}

Test(synth, clustered_at_128k_touches_about_k_over_b_blocks)
{
    double got = mean_blocks("clustered", 131072, 64, 400);
    cr_expect(got >= 0.9 * 32 && got <= 1.4 * 32, "clustered: %.1f blocks, k/B = 32", got);
    /* and ~40x fewer than uniform picks (docs/domain.md §5.2) */
    cr_expect_gt(1300.5 / got, 30.0);
}

/* Far-set overlap between consecutive steps of the domain preset ≈ γ = 0.95. */
Test(synth, temporal_overlap_matches_gamma)
{
    dsa_synth_params p;
    dsa_synth_preset("domain", &p);
    dsa_synth_scratch s = {0};
    static uint32_t prev[K];
    double sum = 0;
    int n = 0;
    for (uint64_t r = 0; r < 6; r++) {
        dsa_head h;
        dsa_head_init(&h, 5, r, 9);
        uint32_t np = 0;
        for (uint32_t t = 40000; t < 40300; t++) {
            dsa_head_step(&h, &p, K, t, &s);
            uint32_t nsel = dsa_head_selection(&h, &p, K, sel);
            /* far part: drop sinks and window */
            uint32_t nf = 0;
            static uint32_t far[K];
            for (uint32_t i = 0; i < nsel; i++)
                if (sel[i] >= p.n_sink && sel[i] + p.window <= t)
                    far[nf++] = sel[i];
            if (np > 0) {
                uint32_t i = 0, j = 0, both = 0;
                while (i < np && j < nf) {
                    if (prev[i] == far[j]) {
                        both++;
                        i++;
                        j++;
                    } else if (prev[i] < far[j]) {
                        i++;
                    } else {
                        j++;
                    }
                }
                sum += (double)both / np;
                n++;
            }
            memcpy(prev, far, nf * sizeof *far);
            np = nf;
        }
        dsa_head_clear(&h);
    }
    dsa_synth_scratch_clear(&s);
    double got = sum / n;
    cr_expect(fabs(got - 0.95) < 0.015, "overlap %.4f, gamma 0.95", got);
}

Test(synth, layer_reuse_fraction_matches_lambda)
{
    dsa_synth_params p;
    dsa_synth_preset("domain", &p);
    uint16_t head[61];
    int reuse = 0, n = 0;
    for (uint64_t r = 0; r < 2000; r++) {
        dsa_synth_layer_heads(&p, 9, r, 61, head);
        for (int l = 0; l < 3; l++)
            cr_assert_eq(head[l], l, "layers 0-2 draw independently");
        for (int l = 3; l < 61; l++) {
            cr_assert(head[l] == l || head[l] == head[l - 1]);
            reuse += head[l] == head[l - 1];
            n++;
        }
    }
    /* binomial sd = sqrt(0.21/116000) = 0.0013 */
    cr_expect(fabs((double)reuse / n - 0.7) < 0.01, "reuse %.4f", (double)reuse / n);
}

Test(synth, deterministic_and_independent_of_other_heads)
{
    dsa_synth_params p;
    dsa_synth_preset("domain", &p);
    dsa_synth_scratch s = {0};
    static uint32_t a[K], b[K];
    dsa_head h1, h2, other;
    dsa_head_init(&h1, 42, 3, 7);
    dsa_head_init(&h2, 42, 3, 7);
    dsa_head_init(&other, 42, 4, 7);
    for (uint32_t t = 9000; t < 9050; t++) {
        dsa_head_step(&h1, &p, K, t, &s);
        dsa_head_step(&other, &p, K, t, &s); /* interleaved use of the scratch */
    }
    for (uint32_t t = 9000; t < 9050; t++)
        dsa_head_step(&h2, &p, K, t, &s);
    uint32_t n1 = dsa_head_selection(&h1, &p, K, a), n2 = dsa_head_selection(&h2, &p, K, b);
    cr_assert_eq(n1, n2);
    cr_expect(memcmp(a, b, n1 * sizeof *a) == 0);
    dsa_head_selection(&other, &p, K, b);
    cr_expect(memcmp(a, b, n1 * sizeof *a) != 0, "another request draws differently");
    dsa_head_clear(&h1);
    dsa_head_clear(&h2);
    dsa_head_clear(&other);
    dsa_synth_scratch_clear(&s);
}

Test(synth, parameter_file_round_trip_and_errors)
{
    dsa_synth_params p, q;
    dsa_synth_preset("domain", &p);
    json_t *j = dsa_synth_to_json(&p);
    cr_assert(dsa_synth_from_json(j, "x.json", &q, NULL));
    cr_expect_eq(q.n_sink, p.n_sink);
    cr_expect_eq(q.window, p.window);
    cr_expect_float_eq(q.alpha, p.alpha, 1e-12);
    cr_expect_float_eq(q.cluster_mean, p.cluster_mean, 1e-12);
    cr_expect_float_eq(q.noise, p.noise, 1e-12);
    cr_expect_float_eq(q.gamma, p.gamma, 1e-12);
    cr_expect_float_eq(q.lambda, p.lambda, 1e-12);
    json_decref(j);
    GError *err = NULL;
    json_t *bad = json_pack("{s:f}", "gamma", 1.5);
    cr_expect_not(dsa_synth_from_json(bad, "bad.json", &q, &err));
    cr_expect(strstr(err->message, "bad.json: gamma") != NULL, "%s", err->message);
    g_clear_error(&err);
    json_decref(bad);
    bad = json_pack("{s:i}", "sinks", 4);
    cr_expect_not(dsa_synth_from_json(bad, "bad.json", &q, &err));
    cr_expect(strstr(err->message, "sinks: unknown key") != NULL, "%s", err->message);
    g_clear_error(&err);
    json_decref(bad);
    dsa_synth_preset("domain", &p);
    p.window = 2047;
    cr_expect_not(dsa_synth_check(&p, K, &err));
    cr_expect(strstr(err->message, "index_topk") != NULL);
    g_clear_error(&err);
}

Test(synth, scores_follow_the_selection_weight)
{
    dsa_synth_params p;
    dsa_synth_preset("domain", &p); /* alpha 1, d0 64 */
    const uint32_t pos[] = {0, 936, 1000};
    double sc[3], mn, mean, mx;
    dsa_synth_scores(&p, pos, 3, 1000, sc, &mn, &mean, &mx);
    cr_expect_float_eq(sc[0], 1.0, 1e-12);          /* sink */
    cr_expect_float_eq(sc[1], 64.0 / 128.0, 1e-12); /* d = 64 */
    cr_expect_float_eq(sc[2], 1.0, 1e-12);          /* d = 0 */
    cr_expect_float_eq(mn, 0.5, 1e-12);
    cr_expect_float_eq(mean, 2.5 / 3.0, 1e-12);
    cr_expect_float_eq(mx, 1.0, 1e-12);
}

/* The mean over long runs (computed through ψ differences) equals the direct sum. */
Test(synth, score_mean_of_long_runs_matches_the_direct_sum)
{
    dsa_synth_params p;
    dsa_synth_preset("domain", &p);
    static uint32_t pos[600];
    uint32_t n = 0, t = 100000;
    for (uint32_t i = 0; i < 4; i++)
        pos[n++] = i; /* sinks */
    for (uint32_t i = 5000; i < 5300; i++)
        pos[n++] = i; /* a long cluster */
    for (uint32_t i = t - 255; i <= t; i++)
        pos[n++] = i; /* the window */
    double sum = 4;
    for (uint32_t i = 4; i < n; i++)
        sum += 64.0 / ((double)(t - pos[i]) + 64.0);
    double mn, mean, mx;
    dsa_synth_scores(&p, pos, n, t, NULL, &mn, &mean, &mx);
    cr_expect_float_eq(mean, sum / n, 1e-12, "%.15f vs %.15f", mean, sum / n);
    cr_expect_float_eq(mn, 64.0 / (t - 5000 + 64.0), 1e-15);
    cr_expect_float_eq(mx, 1.0, 0);
}
