/* tools/bench_workload.c: `servesim bench workload`: rows/s of every trace reader and of the
 * synthetic generator, and peak RSS versus trace length. Inputs are generated on the fly into
 * a temporary directory (deleted afterwards unless --keep). The RSS figures come from child
 * processes (fork + wait4), one per trace length, so each number is that reader's own peak. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <zlib.h>

#include "base/csv.h"
#include "base/opts.h"
#include "tools/bench.h"
#include "tools/cli.h"
#include "workloads/workload.h"

typedef struct wb_args {
    int64_t rows;
    char **rss_rows;
    char *dir;
    bool keep;
} wb_args;

static const base_opt rows_tbl[] = {
    {"rows", "rows", BASE_OPT_INT, offsetof(wb_args, rows), "1000000", NULL, 1, 1e9,
     BASE_OPT_CLI_ONLY, "N", "rows per reader for the rows/s figures"},
    {"rss_rows", "rss-rows", BASE_OPT_STRV, offsetof(wb_args, rss_rows), "100000,10000000", NULL, 0,
     0, BASE_OPT_CLI_ONLY, "N,...", "Azure CSV lengths for the peak-RSS comparison"},
    {"dir", "dir", BASE_OPT_STRING, offsetof(wb_args, dir), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "DIR",
     "where to generate inputs (default: a temp dir)"},
    {"keep", "keep", BASE_OPT_BOOL, offsetof(wb_args, keep), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY,
     NULL, "keep the generated files"},
};
static const base_opt_table table = {"bench workload", rows_tbl, G_N_ELEMENTS(rows_tbl), 0};
static const base_opt_set set = {&table, 1};

/* A buffered writer that can gzip. */
typedef struct sink {
    FILE *fp;
    gzFile gz;
    char buf[1 << 16];
    size_t n;
} sink;

static void
sink_flush(sink *s)
{
    if (s->gz != NULL)
        gzwrite(s->gz, s->buf, (unsigned)s->n);
    else
        fwrite(s->buf, 1, s->n, s->fp);
    s->n = 0;
}

static void sink_printf(sink *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
sink_printf(sink *s, const char *fmt, ...)
{
    if (s->n > sizeof s->buf - 4096)
        sink_flush(s);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(s->buf + s->n, sizeof s->buf - s->n, fmt, ap);
    va_end(ap);
    s->n += (size_t)k;
}

typedef enum { G_AZURE, G_BURSTGPT, G_LENGTHS, G_MOONCAKE, G_JSONL } gen_kind;

/* Deterministic pseudo-random lengths (no RNG state needed). */
static unsigned
pick(uint64_t i, unsigned mod)
{
    uint64_t x = i * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return (unsigned)(x % mod);
}

static gboolean
generate(const char *path, gen_kind kind, int64_t n, bool gz)
{
    sink s = {0};
    if (gz)
        s.gz = gzopen(path, "wb1");
    else
        s.fp = fopen(path, "wb");
    if (s.gz == NULL && s.fp == NULL)
        return FALSE;
    switch (kind) {
    case G_AZURE:
        sink_printf(&s, "TIMESTAMP,ContextTokens,GeneratedTokens\n");
        break;
    case G_BURSTGPT:
        sink_printf(&s, "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n");
        break;
    case G_LENGTHS:
        sink_printf(&s, "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n");
        break;
    default:
        break;
    }
    for (int64_t i = 0; i < n; i++) {
        unsigned in = 1 + pick((uint64_t)i, 4000), out = 1 + pick((uint64_t)i + 7, 600);
        int64_t t_us = i * 997; /* ~1 ms apart */
        switch (kind) {
        case G_AZURE: {
            int64_t sec = t_us / 1000000;
            sink_printf(&s, "2023-11-%02d %02d:%02d:%02d.%07d,%u,%u\n", (int)(16 + sec / 86400),
                        (int)(sec / 3600 % 24), (int)(sec / 60 % 60), (int)(sec % 60),
                        (int)(t_us % 1000000) * 10, in, out);
            break;
        }
        case G_BURSTGPT:
            sink_printf(&s, "%.3f,%s,%u,%u,%u,%s\n", (double)t_us * 1e-6,
                        i % 4 ? "ChatGPT" : "GPT-4", in, out, in + out,
                        i % 3 ? "Conversation log" : "API log");
            break;
        case G_LENGTHS:
            sink_printf(&s, "%u,%u,%u,%.6f\n", in, out, in + out, (double)in / out);
            break;
        case G_MOONCAKE: {
            sink_printf(&s,
                        "{\"timestamp\": %" PRId64 ", \"input_length\": %u, \"output_length\": "
                        "%u, \"hash_ids\": [",
                        t_us / 1000, in, out);
            unsigned nb = (in + 511) / 512;
            for (unsigned b = 0; b < nb; b++)
                sink_printf(&s, "%s%" PRId64, b ? ", " : "", b == 0 ? 0 : i * 8 + b);
            sink_printf(&s, "]}\n");
            break;
        }
        case G_JSONL:
            sink_printf(
                &s, "{\"input_toks\": %u, \"output_toks\": %u, \"arrival_time_ns\": %" PRId64 "}\n",
                in, out, t_us * 1000);
            break;
        }
    }
    sink_flush(&s);
    if (s.gz != NULL)
        return gzclose(s.gz) == Z_OK;
    return fclose(s.fp) == 0;
}

/* Opens SOURCE (format detected) and reads it to the end. */
static gboolean
drain(const char *source, uint64_t *n, GError **error)
{
    const base_opt_set wl = {&wl_options_table, 1};
    wl_options o;
    memset(&o, 0, sizeof o);
    base_opts_defaults(&wl, &o);
    if (strcmp(source, "synthetic") == 0) {
        o.source = g_strdup("synthetic");
        o.num_requests = (int64_t)*n;
        o.rate = 100;
        o.input_len = g_strdup("lognormal:1000:800");
        o.output_len = g_strdup("uniform:1:600");
    } else {
        o.source = g_strdup(source);
    }
    wl_open_params p = {1, 0};
    wl_source *s = wl_open(&o, &p, error);
    base_opts_clear(&wl, &o);
    if (s == NULL)
        return FALSE;
    wl_request r;
    int rc;
    uint64_t k = 0, sum = 0;
    while ((rc = wl_source_next(s, &r, error)) == 1) {
        k++;
        sum += r.prompt_tokens;
    }
    wl_source_free(s);
    *n = k + (sum == 1); /* keep the loop observable */
    return rc == 0;
}

/* Peak RSS of a child process that reads PATH (reported by the child through a pipe). */
static long
child_rss(const char *path)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        uint64_t n = 0;
        long rss = drain(path, &n, NULL) ? cli_peak_rss_bytes() : -1;
        ssize_t w = write(fds[1], &rss, sizeof rss);
        _exit(w == (ssize_t)sizeof rss ? 0 : 1);
    }
    close(fds[1]);
    long rss = -1;
    if (pid > 0 && read(fds[0], &rss, sizeof rss) != (ssize_t)sizeof rss)
        rss = -1;
    close(fds[0]);
    int status = 0;
    if (pid > 0)
        waitpid(pid, &status, 0);
    return rss;
}

static long
file_size(const char *path)
{
    GStatBuf st;
    return g_stat(path, &st) == 0 ? (long)st.st_size : 0;
}

int
bench_workload(int argc, char **argv)
{
    wb_args a = {0};
    base_opts_defaults(&set, &a);
    if (cli_wants_help(argc, argv)) {
        cli_print_help("bench workload [--rows N] [--rss-rows N,...] [--dir DIR] [--keep]",
                       "Rows/s of every reader on generated inputs, and the peak RSS of reading\n"
                       "Azure CSVs of different lengths (memory must not grow with the trace).",
                       &set);
        base_opts_clear(&set, &a);
        return CLI_OK;
    }
    bool given = false;
    for (int i = 1; i < argc; i++)
        given |= g_str_has_prefix(argv[i], "--rss-rows");
    if (given)
        g_clear_pointer(&a.rss_rows, g_strfreev);
    GError *err = NULL;
    if (!base_opts_parse_args(&set, &a, argc - 1, argv + 1, NULL, &err)) {
        base_opts_clear(&set, &a);
        return cli_fail(err, CLI_USAGE);
    }
    g_autofree char *dir = NULL;
    if (a.dir != NULL)
        dir = g_strdup(a.dir);
    else if ((dir = g_dir_make_tmp("servesim-bench-XXXXXX", &err)) == NULL) {
        base_opts_clear(&set, &a);
        return cli_fail(err, CLI_RUNTIME);
    }

    static const struct {
        const char *name, *file;
        gen_kind kind;
        bool gz;
    } readers[] = {
        {"azure", "azure.csv", G_AZURE, false},
        {"azure (gzip)", "azure.csv.gz", G_AZURE, true},
        {"burstgpt", "burstgpt.csv", G_BURSTGPT, false},
        {"sharegpt csv", "lengths.csv", G_LENGTHS, false},
        {"mooncake", "mooncake.jsonl", G_MOONCAKE, false},
        {"jsonl", "requests.jsonl", G_JSONL, false},
    };

    int rc = CLI_OK;
    printf("%-14s %11s %9s %9s %12s %9s\n", "reader", "rows", "MB", "seconds", "rows/s", "MB/s");
    for (size_t i = 0; i < G_N_ELEMENTS(readers) && rc == CLI_OK; i++) {
        g_autofree char *p = g_build_filename(dir, readers[i].file, NULL);
        if (!generate(p, readers[i].kind, a.rows, readers[i].gz)) {
            rc = cli_failf(CLI_RUNTIME, "bench workload: cannot write %s", p);
            break;
        }
        uint64_t n = 0;
        double t0 = cli_now_s();
        if (!drain(p, &n, &err)) {
            rc = cli_fail(err, CLI_RUNTIME);
            break;
        }
        double dt = cli_now_s() - t0;
        double mb = (double)file_size(p) / 1e6;
        printf("%-14s %11" PRIu64 " %9.1f %9.3f %12.0f %9.1f\n", readers[i].name, n, mb, dt,
               (double)n / dt, mb / dt);
        fflush(stdout);
        if (!a.keep)
            g_unlink(p);
    }
    if (rc == CLI_OK) {
        uint64_t n = (uint64_t)a.rows;
        double t0 = cli_now_s();
        if (!drain("synthetic", &n, &err)) {
            rc = cli_fail(err, CLI_RUNTIME);
        } else {
            double dt = cli_now_s() - t0;
            printf("%-14s %11" PRIu64 " %9s %9.3f %12.0f %9s\n", "synthetic", n, "-", dt,
                   (double)n / dt, "-");
        }
    }
    if (rc == CLI_OK && a.rss_rows != NULL) {
        printf("\npeak RSS reading an Azure CSV (one child process per length):\n");
        for (size_t i = 0; a.rss_rows[i] != NULL; i++) {
            double nd;
            if (!base_parse_double(a.rss_rows[i], &nd) || nd < 1) {
                rc = cli_failf(CLI_USAGE, "bench workload: --rss-rows: bad count '%s'",
                               a.rss_rows[i]);
                break;
            }
            g_autofree char *p = g_build_filename(dir, "rss.csv", NULL);
            if (!generate(p, G_AZURE, (int64_t)nd, false)) {
                rc = cli_failf(CLI_RUNTIME, "bench workload: cannot write %s", p);
                break;
            }
            long rss = child_rss(p);
            printf("  %11.0f rows  %8.1f MB file  peak RSS %7.1f MiB\n", nd,
                   (double)file_size(p) / 1e6, (double)rss / (1024.0 * 1024.0));
            fflush(stdout);
            g_unlink(p);
        }
    }
    if (a.dir == NULL && !a.keep)
        g_rmdir(dir);
    base_opts_clear(&set, &a);
    return rc;
}
