/* report/run_data.c: reads a run's requests.csv and steps.jsonl[.gz] (docs/outputs.md) for the
 * run view (report/run_data.h). requests.csv times are exact decimals of integer nanoseconds,
 * read back to the nanosecond, so quantiles here use the same numbers summary.json used.
 * Steps are parsed with jansson line by line (about 10 µs a line on the development VM). */
#include "report/run_data.h"

#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/io.h"

/* The columns of requests.csv in this version (tr_requests_csv, docs/outputs.md). */
static const char *const csv_cols[] = {"id",
                                       "replica",
                                       "stage",
                                       "session",
                                       "turn",
                                       "arrival_ms",
                                       "send_ms",
                                       "first_scheduled_ms",
                                       "first_token_ms",
                                       "finish_ms",
                                       "ttft_ms",
                                       "tpot_ms",
                                       "e2el_ms",
                                       "queue_ms",
                                       "prompt_tokens",
                                       "output_tokens",
                                       "prefix_hit_tokens",
                                       "preemptions",
                                       "failed",
                                       "fail_reason",
                                       NULL};

static void
vec_push(rp_vec *a, int64_t x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 4096;
        a->v = g_renew(int64_t, a->v, a->cap);
    }
    a->v[a->n++] = x;
}

/* Milliseconds as requests.csv writes them (exact decimals of integer ns, ≤ 6 decimals) to
 * ns. Empty = absent (returns 0); -1 on anything else. */
static int
parse_ms(const char *s, int64_t *ns)
{
    if (*s == '\0')
        return 0;
    bool neg = *s == '-';
    if (neg)
        s++;
    int64_t ip = 0, fp = 0;
    int nd = 0, nf = 0;
    for (; *s >= '0' && *s <= '9'; s++, nd++) {
        if (ip > (INT64_MAX / 1000000 - 10) / 10) /* (10·ip + 9)·1e6 + 999999 must fit */
            return -1;
        ip = ip * 10 + (*s - '0');
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, nf++) {
            if (nf >= 6)
                return -1;
            fp = fp * 10 + (*s - '0');
        }
    }
    if (*s != '\0' || nd == 0)
        return -1;
    for (int i = nf; i < 6; i++)
        fp *= 10;
    *ns = (ip * 1000000 + fp) * (neg ? -1 : 1);
    return 1;
}

void
rp__reqdata_init(rp_reqdata *d, int64_t t0, int64_t t1)
{
    memset(d, 0, sizeof *d);
    rp__buckets_init(&d->b, t0, t1);
    d->queued = g_new0(double, d->b.n);
    d->qdiff = g_new0(double, d->b.n + 1);
    d->serving = g_new0(double, d->b.n);
    d->sdiff = g_new0(double, d->b.n + 1);
    d->done = g_new0(uint64_t, d->b.n);
    d->failed = g_new0(uint64_t, d->b.n);
}

void
rp__reqdata_clear(rp_reqdata *d)
{
    for (int i = 0; i < RP_M_N; i++)
        g_free(d->m[i].v);
    g_free(d->queued);
    g_free(d->qdiff);
    g_free(d->serving);
    g_free(d->sdiff);
    g_free(d->done);
    g_free(d->failed);
}

gboolean
rp__read_requests(
    const char *path, int64_t warm_end, int64_t cool_start, rp_reqdata *d, GError **error)
{
    g_autoptr(base_csv) c = base_csv_open(path, ',', BASE_CSV_HEADER, error);
    if (c == NULL)
        return FALSE;

    enum {
        C_SEND,
        C_SCHED,
        C_FIN,
        C_TTFT,
        C_TPOT,
        C_E2EL,
        C_QUEUE,
        C_PROMPT,
        C_OUTPUT,
        C_FAILED,
        C_N
    };

    static const char *const need[C_N] = {
        "send_ms", "first_scheduled_ms", "finish_ms",     "ttft_ms",       "tpot_ms",
        "e2el_ms", "queue_ms",           "prompt_tokens", "output_tokens", "failed"};
    for (size_t i = 0; csv_cols[i] != NULL; i++)
        if (base_csv_require_col(c, csv_cols[i], error) < 0) {
            g_prefix_error(error, "not a requests.csv of this servesim version: ");
            (*error)->domain = RP_ERROR;
            (*error)->code = RP_ERROR_VERSION;
            return FALSE;
        }
    int col[C_N];
    for (int i = 0; i < C_N; i++)
        col[i] = base_csv_col(c, need[i]);
    int more;
    while ((more = base_csv_next(c, error)) > 0) {
        int64_t t[C_N] = {0};
        int have[C_N] = {0};
        for (int i = 0; i < C_N; i++) {
            const char *f = base_csv_field(c, (size_t)col[i]);
            if (i >= C_PROMPT) {
                if (!base_parse_int64(f, &t[i]) || t[i] < 0) {
                    base_csv_set_error(c, col[i], error, "expected a count, got '%s'", f);
                    return FALSE;
                }
                have[i] = 1;
                continue;
            }
            have[i] = parse_ms(f, &t[i]);
            if (have[i] < 0) {
                base_csv_set_error(c, col[i], error,
                                   "expected milliseconds with at most 6 decimals, got '%s'", f);
                return FALSE;
            }
        }
        if (!have[C_SEND] || !have[C_FIN]) {
            base_csv_set_error(c, col[have[C_SEND] ? C_FIN : C_SEND], error,
                               "every request has a send and a finish time");
            return FALSE;
        }
        bool failed = t[C_FAILED] != 0;
        d->rows++;
        /* load over time: every request, whatever its outcome */
        int64_t sched_end = have[C_SCHED] ? t[C_SCHED] : t[C_FIN];
        rp__buckets_spread(&d->b, t[C_SEND], sched_end, 1.0, d->queued, d->qdiff);
        if (have[C_SCHED])
            rp__buckets_spread(&d->b, t[C_SCHED], t[C_FIN], 1.0, d->serving, d->sdiff);
        if (failed)
            d->failed[rp__bucket_of(&d->b, t[C_FIN])]++;
        else
            d->done[rp__bucket_of(&d->b, t[C_FIN])]++;
        /* distributions: the set summary.json describes */
        if (failed || t[C_SEND] < warm_end || t[C_SEND] >= cool_start)
            continue;
        d->included++;
        if (have[C_TTFT])
            vec_push(&d->m[RP_M_TTFT], t[C_TTFT]);
        if (have[C_TPOT])
            vec_push(&d->m[RP_M_TPOT], t[C_TPOT]);
        if (have[C_E2EL])
            vec_push(&d->m[RP_M_E2EL], t[C_E2EL]);
        if (have[C_QUEUE])
            vec_push(&d->m[RP_M_QUEUE], t[C_QUEUE]);
        vec_push(&d->m[RP_M_PROMPT], t[C_PROMPT]);
        vec_push(&d->m[RP_M_OUTPUT], t[C_OUTPUT]);
    }
    if (more < 0)
        return FALSE;
    for (int i = 0; i < RP_M_N; i++)
        if (d->m[i].n > 0)
            rp__sort_i64(d->m[i].v, d->m[i].n);
    return TRUE;
}

/* ---- steps ------------------------------------------------------------------------------- */

void
rp__stepdata_init(rp_stepdata *s, const rp_buckets *b, size_t nrep)
{
    memset(s, 0, sizeof *s);
    s->nrep = nrep > 0 ? nrep : 1;
    s->running = g_new0(double, b->n);
    s->waiting = g_new0(double, b->n);
    s->kv = g_new0(double, b->n);
    s->busy_all = g_new0(double, b->n);
    s->busy = g_new0(double, s->nrep <= RP_MAX_REPLICA_LINES ? b->n * s->nrep : 1);
    s->prefill = g_new0(uint64_t, b->n);
    s->decode = g_new0(uint64_t, b->n);
}

void
rp__stepdata_clear(rp_stepdata *s)
{
    g_free(s->running);
    g_free(s->waiting);
    g_free(s->kv);
    g_free(s->busy);
    g_free(s->busy_all);
    g_free(s->prefill);
    g_free(s->decode);
}

gboolean
rp__read_steps(const char *path, const rp_buckets *b, rp_stepdata *s, GError **error)
{
    g_autoptr(base_lines) r = base_lines_open(path, error);
    if (r == NULL)
        return FALSE;
    size_t n = b->n;
    /* one diff array per accumulated series, folded at the end */
    g_autofree double *d_run = g_new0(double, n + 1);
    g_autofree double *d_wait = g_new0(double, n + 1);
    g_autofree double *d_kv = g_new0(double, n + 1);
    g_autofree double *d_all = g_new0(double, n + 1);
    g_autofree double *d_busy = g_new0(double, (n + 1) * (s->nrep ? s->nrep : 1));
    char *line;
    size_t len;
    while (base_lines_next(r, &line, &len, error)) {
        if (len == 0)
            continue;
        json_error_t je;
        json_auto_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
        json_int_t rep, st, en, nrun, nwait, used, total, pt, dt;
        if (j == NULL ||
            json_unpack_ex(j, &je, 0, "{s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I}, s:{s:I, s:I}}",
                           "replica", &rep, "start_ns", &st, "end_ns", &en, "num_running", &nrun,
                           "num_waiting", &nwait, "kv_blocks", "used", &used, "total", &total,
                           "batch", "prefill_tokens", &pt, "decode_tokens", &dt) != 0) {
            g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s:%" G_GUINT64_FORMAT ": %s", path,
                        base_lines_lineno(r), je.text);
            return FALSE;
        }
        if (rep < 0 || en < st || total <= 0 || (size_t)rep >= s->nrep) {
            g_set_error(error, RP_ERROR, RP_ERROR_INPUT,
                        "%s:%" G_GUINT64_FORMAT ": replica %" JSON_INTEGER_FORMAT
                        " (of %zu), start_ns %" JSON_INTEGER_FORMAT ", end_ns %" JSON_INTEGER_FORMAT
                        ", kv_blocks.total %" JSON_INTEGER_FORMAT ": not a step of this run",
                        path, base_lines_lineno(r), rep, s->nrep, st, en, total);
            return FALSE;
        }
        s->lines++;
        rp__buckets_spread(b, st, en, (double)nrun, s->running, d_run);
        rp__buckets_spread(b, st, en, (double)nwait, s->waiting, d_wait);
        rp__buckets_spread(b, st, en, (double)used / (double)total, s->kv, d_kv);
        rp__buckets_spread(b, st, en, 1.0, s->busy_all, d_all);
        if (s->nrep <= RP_MAX_REPLICA_LINES)
            rp__buckets_spread(b, st, en, 1.0, s->busy + (size_t)rep * n,
                               d_busy + (size_t)rep * (n + 1));
        size_t k = rp__bucket_of(b, en);
        s->prefill[k] += (uint64_t)pt;
        s->decode[k] += (uint64_t)dt;
    }
    if (error != NULL && *error != NULL)
        return FALSE;
    rp__buckets_finish(b, s->running, d_run);
    rp__buckets_finish(b, s->waiting, d_wait);
    rp__buckets_finish(b, s->kv, d_kv);
    rp__buckets_finish(b, s->busy_all, d_all);
    if (s->nrep <= RP_MAX_REPLICA_LINES)
        for (size_t r2 = 0; r2 < s->nrep; r2++)
            rp__buckets_finish(b, s->busy + r2 * n, d_busy + r2 * (n + 1));
    return TRUE;
}
