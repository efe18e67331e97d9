/* tests/cli/test_line_ends.c: every CSV (and line-based) consumer reads CRLF, CR CR LF and
 * CR-only files, with or without a final line end, exactly as it reads the LF file: the
 * command's output must be byte-identical. "column GeneratedTokens: not an integer: '44\r'"
 * came from an Azure CSV with CR CR LF line ends (a CRLF file written again through a
 * text-mode stream); the line layer (base/io.c) now ends a line at any of them, and these
 * tests pin the behaviour for each consumer, end to end. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "clirun.h"
#include "tests/testutil.h"

TestSuite(line_ends, .timeout = 120);

/* LF_TEXT with every "\n" replaced by TERM, the last one dropped unless FINAL. (A plain loop:
 * g_strsplit is quadratic under ASan, whose strstr takes strlen of the rest each call.) */
static char *
restyle(const char *lf_text, const char *term, bool final)
{
    GString *g = g_string_sized_new(strlen(lf_text) * 2);
    for (const char *p = lf_text; *p != '\0'; p++) {
        if (*p == '\n')
            g_string_append(g, term);
        else
            g_string_append_c(g, *p);
    }
    size_t tl = strlen(term);
    if (!final && g->len >= tl && g_str_has_suffix(g->str, term))
        g_string_truncate(g, g->len - tl);
    return g_string_free(g, FALSE);
}

static const char *const styles[][2] = {{"\r\n", "CRLF"}, {"\r\r\n", "CR CR LF"}, {"\r", "CR"}};

typedef struct consumer {
    const char *name;
    const char *suffix; /* of the input file */
    const char *text;   /* LF version */
    /* argv with "@" where the input path goes and "%" where the output path goes (NULL). */
    const char *argv[14];
    bool compare_file; /* compare the file at "%" instead of stdout */
} consumer;

static const char azure[] = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                            "2023-11-16 18:15:46.6805900,374,44\n"
                            "2023-11-16 18:15:50.5705150,396,109\n"
                            "2023-11-16 18:15:51.4186790,879,44\n";

static const char measurements[] =
    "tp,dp,batch_per_gpu,seq_len,decode_tokens,measured_prefill_ms,measured_decode_ms\n"
    "1,1,1,256,16,104.8026,6.5502\n"
    "1,1,8,2048,32,240.6476,7.5202\n"
    "2,1,32,256,48,199.9372,4.1654\n"
    "1,1,4,1024,16,108.6827,6.7927\n"
    "2,1,8,512,32,121.9479,3.8109\n"
    "1,1,16,256,48,332.0865,6.9185\n";

static const consumer consumers[] = {
    {"azure", ".csv", azure, {"analyze", "workload", "@", NULL}, false},
    {"burstgpt (Log Type is the last column)",
     ".csv",
     "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
     "5,ChatGPT,10,5,15,Conversation log\n"
     "9,GPT-4,20,7,27,API log\n"
     "12,ChatGPT,30,9,39,Conversation log\n",
     {"analyze", "workload", "@", "--burstgpt-log-type", "conversation", NULL},
     false},
    {"sharegpt lengths csv",
     ".csv",
     "num_prefill_tokens,num_decode_tokens\n100,20\n200,40\n300,44\n",
     {"analyze", "workload", "@", "--rate", "2", NULL},
     false},
    {"mooncake jsonl",
     ".jsonl",
     "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 2, \"hash_ids\": [1, 2]}\n"
     "{\"timestamp\": 5, \"input_length\": 700, \"output_length\": 44, \"hash_ids\": [1, 3]}\n",
     {"analyze", "workload", "@", NULL},
     false},
    {"per-request jsonl",
     ".jsonl",
     "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 10}\n"
     "{\"input_toks\": 30, \"output_toks\": 44, \"arrival_time_ns\": 5000}\n",
     {"analyze", "workload", "@", NULL},
     false},
    {"sharegpt json",
     ".json",
     "[\n{\"id\": \"a\", \"conversations\": [\n"
     "  {\"from\": \"human\", \"value\": \"hello there\"},\n"
     "  {\"from\": \"gpt\", \"value\": \"general kenobi\"}]},\n"
     "{\"id\": \"b\", \"conversations\": [\n"
     "  {\"from\": \"human\", \"value\": \"a longer question about things\"},\n"
     "  {\"from\": \"gpt\", \"value\": \"an answer\"}]}\n]\n",
     {"analyze", "workload", "@", "--rate", "1", NULL},
     false},
    {"empirical lengths",
     ".csv",
     azure,
     {"analyze", "workload", "synthetic", "--input-len", "empirical:@", "--output-len",
      "empirical:@", "--num-requests", "50", NULL},
     false},
    {"estimate --scenarios",
     ".csv",
     "tp,dp,batch_per_gpu,seq_len,decode_tokens,grad_accum\n1,1,1,256,16,1\n2,1,8,512,44,2\n",
     {"estimate", "--scenarios", "@", "--calibration", "none", NULL},
     false},
    {"calibrate --predict (scenario reader)",
     ".csv",
     "tp,dp,batch_per_gpu,seq_len,decode_tokens\n1,1,4,512,8\n1,1,8,1024,44\n",
     {"calibrate", "--predict", "none", "@", NULL},
     false},
    {"calibrate (measurements importer)",
     ".csv",
     measurements,
     /* shared classes: 12 rows identify the 8 terms left (line ends are the point here) */
     {"calibrate", "@", "--bootstrap", "0", "--classes", "shared", "--out", "%", NULL},
     true},
};

/* Runs C on IN (output file OUT), returning what is compared; fails the test on exit != 0. */
static char *
run_consumer(const consumer *c, const char *in, const char *out, const char *what)
{
    const char *argv[16];
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    size_t n = 0;
    for (; c->argv[n] != NULL; n++) {
        const char *a = c->argv[n];
        const char *at = strchr(a, '@');
        if (at != NULL) {
            char *s = g_strdup_printf("%.*s%s%s", (int)(at - a), a, in, at + 1);
            g_ptr_array_add(owned, s);
            argv[n] = s;
        } else {
            argv[n] = strcmp(a, "%") == 0 ? out : a;
        }
    }
    argv[n] = NULL;
    clirun r = clirun_execv(argv);
    cr_expect_eq(r.code, 0, "%s: %s: %s", c->name, what, r.err);
    char *got = NULL;
    if (c->compare_file) {
        cr_expect(g_file_get_contents(out, &got, NULL, NULL), "%s: %s: no output", c->name, what);
        g_unlink(out);
    } else {
        got = g_strdup(r.out);
    }
    clirun_clear(&r);
    return got != NULL ? got : g_strdup("");
}

Test(line_ends, every_consumer_reads_every_line_end_style_like_lf)
{
    for (size_t i = 0; i < G_N_ELEMENTS(consumers); i++) {
        const consumer *c = &consumers[i];
        g_autofree char *in = tu_tmp_file(c->suffix, c->text);
        g_autofree char *out = g_strdup_printf("%s.out", in);
        g_autofree char *ref = run_consumer(c, in, out, "LF");
        cr_expect(*ref != '\0', "%s: empty reference output", c->name);
        for (size_t s = 0; s < G_N_ELEMENTS(styles); s++) {
            for (int final = 1; final >= 0; final--) {
                g_autofree char *text = restyle(c->text, styles[s][0], final);
                cr_assert(g_file_set_contents(in, text, -1, NULL));
                g_autofree char *what =
                    g_strdup_printf("%s%s", styles[s][1], final ? "" : ", no final line end");
                g_autofree char *got = run_consumer(c, in, out, what);
                cr_expect_str_eq(got, ref, "%s: %s differs from LF", c->name, what);
            }
        }
        g_unlink(in);
    }
}

/* ServeGen: the trace CSV (no header) and its sibling dataset JSON, both restyled. */
Test(line_ends, servegen_trace_and_dataset)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-test-XXXXXX", NULL);
    g_autofree char *trace = g_build_filename(dir, "chunk-0-trace.csv", NULL);
    g_autofree char *ds = g_build_filename(dir, "chunk-0-dataset.json", NULL);
    const char *trace_lf = "0,0.5,1,Exponential,0,0\n600,0.25,2,Gamma,0.25,0\n";
    const char *ds_lf = "{\n\"0\": {\"input_tokens\": \"{10: 0.5, 20: 0.5}\",\n"
                        "\"output_tokens\": \"{5: 1.0}\"}\n}\n";
    cr_assert(g_file_set_contents(trace, trace_lf, -1, NULL));
    cr_assert(g_file_set_contents(ds, ds_lf, -1, NULL));
    clirun r = clirun_exec("analyze", "workload", trace, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_autofree char *ref = g_strdup(r.out);
    clirun_clear(&r);
    for (size_t s = 0; s < G_N_ELEMENTS(styles); s++) {
        for (int final = 1; final >= 0; final--) {
            g_autofree char *t = restyle(trace_lf, styles[s][0], final);
            g_autofree char *d = restyle(ds_lf, styles[s][0], final);
            cr_assert(g_file_set_contents(trace, t, -1, NULL));
            cr_assert(g_file_set_contents(ds, d, -1, NULL));
            r = clirun_exec("analyze", "workload", trace, NULL);
            cr_expect_eq(r.code, 0, "%s: %s", styles[s][1], r.err);
            cr_expect_str_eq(r.out, ref, "%s%s", styles[s][1], final ? "" : ", no final");
            clirun_clear(&r);
        }
    }
    g_unlink(trace);
    g_unlink(ds);
    g_rmdir(dir);
}

/* Large gzip and plain inputs whose CR LF pairs straddle the reader's buffer boundaries are
 * read like their LF version (rows past 64 KiB, 256 KiB and 1 MiB). */
Test(line_ends, large_crlf_traces_across_buffer_boundaries)
{
    GString *lf = g_string_new("TIMESTAMP,ContextTokens,GeneratedTokens\n");
    for (int i = 0; lf->len < (size_t)1300000; i++)
        g_string_append_printf(lf, "2023-11-16 %02d:%02d:%02d.%07d,%d,%d\n", 10 + i / 36000,
                               (i / 600) % 60, (i / 10) % 60, (i % 10) * 1000000 + i % 997,
                               1 + i % 4093, 1 + i % 89);
    g_autofree char *in = tu_tmp_file(".csv", lf->str);
    clirun r = clirun_exec("analyze", "workload", in, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_autofree char *ref = g_strdup(r.out);
    clirun_clear(&r);
    for (size_t s = 0; s < G_N_ELEMENTS(styles); s++) {
        g_autofree char *text = restyle(lf->str, styles[s][0], true);
        cr_assert(g_file_set_contents(in, text, -1, NULL));
        r = clirun_exec("analyze", "workload", in, NULL);
        cr_expect_eq(r.code, 0, "%s: %s", styles[s][1], r.err);
        cr_expect_str_eq(r.out, ref, "%s", styles[s][1]);
        clirun_clear(&r);
        g_autofree char *gz = g_strdup_printf("%s.gz", in);
        g_autofree char *cmd = g_strdup_printf("gzip -c '%s' > '%s'", in, gz);
        cr_assert_eq(system(cmd), 0);
        r = clirun_exec("analyze", "workload", gz, NULL);
        cr_expect_eq(r.code, 0, "%s gzip: %s", styles[s][1], r.err);
        /* the first line names the file; the rest must match */
        const char *a = strchr(r.out, '\n'), *b = strchr(ref, '\n');
        cr_expect(a != NULL && b != NULL && strcmp(a, b) == 0, "%s gzip: %s", styles[s][1], r.out);
        clirun_clear(&r);
        g_unlink(gz);
    }
    g_string_free(lf, TRUE);
    g_unlink(in);
}
