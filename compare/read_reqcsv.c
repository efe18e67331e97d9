/* compare/read_reqcsv.c: per-request measurement CSVs (GenZ-style chat.csv,
 * docs/formats/benchmark-results.md): one row per request with its input and output token
 * counts and measured latencies. Column spellings vary between captures, so the usual names
 * are accepted and the report says which column was taken:
 *   input:   input_tokens, prompt_tokens, input_len, num_input_tokens, prompt_len, isl
 *   output:  output_tokens, completion_tokens, output_len, num_output_tokens, osl
 *   latency: ttft / time_to_first_token / first_token_latency, tpot / time_per_output_token,
 *            decode_time / decode_latency (all output after the first token), e2e / e2el /
 *            latency / request_latency / end_to_end_latency, each with an optional unit
 *            suffix (_ms, _s, _us; none = ms)
 *   send:    arrival_time, arrival, timestamp, send_time, start_time (seconds unless _ms)
 *   run:     model, hardware / accelerator / gpu / device (one value for the whole file)
 * A missing TPOT is derived from E2E − TTFT over output − 1 tokens, a missing E2E from TTFT +
 * TPOT × (output − 1); both derivations are noted. Without send times nothing records the
 * load: `compare` needs --rate or --max-concurrency. A malformed row is "FILE:LINE: column
 * NAME: why" (keep_going: skipped and counted). */
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "compare/internal.h"

static const char *const in_names[] = {
    "input_tokens", "prompt_tokens", "input_len", "num_input_tokens", "prompt_len", "isl", NULL};
static const char *const out_names[] = {
    "output_tokens", "completion_tokens", "output_len", "num_output_tokens", "osl", NULL};
static const char *const send_names[] = {
    "arrival_time", "arrival",        "timestamp",  "send_time",       "start_time",
    "arrival_s",    "arrival_time_s", "arrival_ms", "arrival_time_ms", NULL};
static const char *const model_names[] = {"model", "model_name", NULL};
static const char *const hw_names[] = {"hardware", "accelerator", "gpu", "device", NULL};

static int
find_col(const char *const *h, const char *const *names)
{
    for (size_t k = 0; names[k] != NULL; k++)
        for (size_t i = 0; h != NULL && h[i] != NULL; i++)
            if (g_ascii_strcasecmp(h[i], names[k]) == 0)
                return (int)i;
    return -1;
}

static bool
is_decode_col(const char *name, double *to_ms)
{
    g_autofree char *s = g_ascii_strdown(name, -1);

    static const struct {
        const char *n;
        double f;
    } d[] = {{"decode_time", 1},    {"decode_time_ms", 1},    {"decode_time_s", 1e3},
             {"decode_latency", 1}, {"decode_latency_ms", 1}, {"decode_latency_s", 1e3}};

    for (size_t i = 0; i < G_N_ELEMENTS(d); i++)
        if (strcmp(s, d[i].n) == 0) {
            *to_ms = d[i].f;
            return true;
        }
    return false;
}

typedef struct rcols {
    int in, out, send, model, hw;
    double send_scale; /* to seconds */
    int lat[CMP_NLAT];
    double lat_ms[CMP_NLAT];
    int decode;
    double decode_ms;
} rcols;

static void
find_cols(const char *const *h, rcols *k)
{
    k->in = find_col(h, in_names);
    k->out = find_col(h, out_names);
    k->send = find_col(h, send_names);
    k->send_scale = k->send >= 0 && g_str_has_suffix(h[k->send], "_ms") ? 1e-3 : 1;
    k->model = find_col(h, model_names);
    k->hw = find_col(h, hw_names);
    k->decode = -1;
    for (int l = 0; l < CMP_NLAT; l++)
        k->lat[l] = -1;
    for (size_t i = 0; h != NULL && h[i] != NULL; i++) {
        cmp_lat l;
        int st;
        double f;
        if (cmp__latency_col(h[i], false, &l, &st, &f) && k->lat[l] < 0 && l != CMP_ITL) {
            k->lat[l] = (int)i;
            k->lat_ms[l] = f;
        } else if (k->decode < 0 && is_decode_col(h[i], &f)) {
            k->decode = (int)i;
            k->decode_ms = f;
        }
    }
}

static bool
reqcsv_detect(const cmp__probe *p)
{
    if (p->header == NULL)
        return false;
    rcols k;
    find_cols((const char *const *)p->header, &k);
    return k.in >= 0 && k.out >= 0 &&
           (k.lat[CMP_TTFT] >= 0 || k.lat[CMP_TPOT] >= 0 || k.lat[CMP_E2E] >= 0);
}

typedef struct row {
    double in, out, send, v[CMP_NLAT], decode;
} row;

static bool
blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

static gboolean
cell(const base_csv *c, int col, double scale, double *v, GError **error)
{
    *v = NAN;
    if (col < 0 || blank(base_csv_field(c, (size_t)col)))
        return TRUE;
    if (!base_csv_get_double(c, col, v, error))
        return FALSE;
    if (!isfinite(*v) || *v < 0) {
        base_csv_set_error(c, col, error, "expected a finite value >= 0, got %g", *v);
        return FALSE;
    }
    *v *= scale;
    return TRUE;
}

static gboolean
read_row(const base_csv *c, const rcols *k, row *r, GError **error)
{
    if (!cell(c, k->in, 1, &r->in, error) || !cell(c, k->out, 1, &r->out, error) ||
        !cell(c, k->send, k->send_scale, &r->send, error) ||
        !cell(c, k->decode, k->decode >= 0 ? k->decode_ms : 1, &r->decode, error))
        return FALSE;
    for (int l = 0; l < CMP_NLAT; l++)
        if (!cell(c, k->lat[l], k->lat[l] >= 0 ? k->lat_ms[l] : 1, &r->v[l], error))
            return FALSE;
    const int cols[2] = {k->in, k->out};
    const double vals[2] = {r->in, r->out};
    for (int i = 0; i < 2; i++)
        if (isnan(vals[i]) || vals[i] != floor(vals[i]) || vals[i] > WL_MAX_TOKENS ||
            (i == 0 && vals[i] < 1)) {
            base_csv_set_error(c, cols[i], error, "expected a token count (%s to %d)",
                               i == 0 ? "1" : "0", WL_MAX_TOKENS);
            return FALSE;
        }
    if (k->send >= 0 && isnan(r->send)) {
        base_csv_set_error(c, k->send, error, "missing send time");
        return FALSE;
    }
    return TRUE;
}

static gboolean
same_text(const base_csv *c, int col, char **kept, const char *what, GError **error)
{
    if (col < 0)
        return TRUE;
    g_autofree char *v = g_strstrip(g_strdup(base_csv_field(c, (size_t)col)));
    if (*v == '\0')
        return TRUE;
    if (*kept == NULL) {
        *kept = g_strdup(v);
        return TRUE;
    }
    if (strcmp(*kept, v) != 0) {
        base_csv_set_error(c, col, error,
                           "%s '%s' differs from the first row's '%s' (one run per file)", what, v,
                           *kept);
        return FALSE;
    }
    return TRUE;
}

static gboolean
reqcsv_read(const cmp__probe *p, const cmp_read_opts *o, GPtrArray *out, GError **error)
{
    GError *e = NULL;
    g_autoptr(base_csv) c = base_csv_open(p->file, 0, BASE_CSV_HEADER, &e);
    if (c == NULL) {
        cmp__propagate(error, e);
        return FALSE;
    }
    size_t ncol = base_csv_ncols(c);
    g_autofree const char **h = g_new0(const char *, ncol + 1);
    for (size_t i = 0; i < ncol; i++)
        h[i] = base_csv_colname(c, i);
    rcols k;
    find_cols(h, &k);
    g_autoptr(cmp_result) r = cmp_result_new(&cmp__kind_reqcsv, p->file);
    g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(row));
    int more;
    while ((more = base_csv_next(c, &e)) > 0) {
        row w;
        GError *re = NULL;
        if (read_row(c, &k, &w, &re) && same_text(c, k.model, &r->rec.model, "model", &re) &&
            same_text(c, k.hw, &r->rec.hardware, "hardware", &re)) {
            g_array_append_val(rows, w);
            continue;
        }
        if (!o->keep_going) {
            cmp__propagate(error, re);
            return FALSE;
        }
        if (o->skipped != NULL)
            (*o->skipped)++;
        if (o->warnings != NULL)
            g_ptr_array_add(o->warnings, g_strdup(re->message));
        g_error_free(re);
    }
    if (more < 0) {
        cmp__propagate(error, e);
        return FALSE;
    }
    if (rows->len == 0) {
        cmp__error(error, CMP_ERROR_INVALID, "%s: no request rows", p->file);
        return FALSE;
    }
    static const char *const what[CMP_NLAT] = {"TTFT", "TPOT", "ITL", "E2E"};
    for (int l = 0; l < CMP_NLAT; l++)
        if (k.lat[l] >= 0)
            cmp_result_note(r, "%s from column %s", what[l], h[k.lat[l]]);
    bool derive_tpot = k.lat[CMP_TPOT] < 0, derive_e2e = k.lat[CMP_E2E] < 0;
    if (derive_tpot && k.decode >= 0)
        cmp_result_note(r, "TPOT = %s / (output tokens - 1)", h[k.decode]);
    else if (derive_tpot && k.lat[CMP_E2E] >= 0 && k.lat[CMP_TTFT] >= 0)
        cmp_result_note(r, "TPOT derived: (E2E - TTFT) / (output tokens - 1)");
    if (derive_e2e && k.lat[CMP_TTFT] >= 0 && (k.lat[CMP_TPOT] >= 0 || k.decode >= 0))
        cmp_result_note(r, "E2E derived: TTFT + TPOT x (output tokens - 1)");
    bool timed = k.send >= 0;
    g_autoptr(cmp_reqs) q = cmp_reqs_new(rows->len, timed, false);
    double t0 = INFINITY;
    for (guint i = 0; timed && i < rows->len; i++)
        t0 = MIN(t0, g_array_index(rows, row, i).send);
    for (guint i = 0; i < rows->len; i++) {
        const row *w = &g_array_index(rows, row, i);
        q->input[i] = (uint32_t)w->in;
        q->output[i] = (uint32_t)w->out;
        q->ok[i] = w->out > 0;
        if (timed)
            q->send_s[i] = w->send - t0;
        double ttft = w->v[CMP_TTFT], tpot = w->v[CMP_TPOT], e2e = w->v[CMP_E2E];
        double n1 = w->out - 1;
        if (isnan(tpot) && !isnan(w->decode) && n1 > 0)
            tpot = w->decode / n1;
        if (isnan(tpot) && !isnan(e2e) && !isnan(ttft) && n1 > 0)
            tpot = (e2e - ttft) / n1;
        if (isnan(e2e) && !isnan(ttft) && !isnan(tpot))
            e2e = ttft + tpot * (n1 > 0 ? n1 : 0);
        q->ttft_ms[i] = ttft;
        q->tpot_ms[i] = n1 > 0 ? tpot : (double)NAN;
        q->e2e_ms[i] = e2e;
    }
    r->reqs = g_steal_pointer(&q);
    cmp_metrics_fill_from_reqs(&r->m, r->reqs);
    /* the workload: every request with its lengths, at its send time when recorded */
    g_autofree char *name = g_strdup_printf("%s requests", p->file);
    r->rec.requests = wl_list_new(name);
    g_autofree size_t *order = g_new(size_t, rows->len + 1);
    for (guint i = 0; i < rows->len; i++)
        order[i] = i;
    for (guint i = 1; timed && i < rows->len; i++) {
        size_t x = order[i], j = i;
        while (j > 0 && r->reqs->send_s[order[j - 1]] > r->reqs->send_s[x]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    r->rec.req_index = g_new0(size_t, rows->len + 1);
    size_t n = 0, skipped = 0;
    for (guint j = 0; j < rows->len; j++) {
        size_t i = order[j];
        if (r->reqs->output[i] == 0) {
            skipped++;
            continue;
        }
        wl_list_request w = {.arrival_ns = timed ? llround(r->reqs->send_s[i] * 1e9) : -1,
                             .prompt_tokens = r->reqs->input[i],
                             .output_tokens = r->reqs->output[i]};
        if (!wl_list_add(r->rec.requests, &w, &e)) {
            cmp__propagate(error, e);
            return FALSE;
        }
        r->rec.req_index[n++] = i;
    }
    if (skipped > 0)
        cmp_result_assume(r, "%zu requests with 0 output tokens are left out", skipped);
    cmp_result_assume(r, "output lengths are the measured ones, forced as with --ignore-eos");
    if (timed)
        cmp_result_assume(r, "each request is sent at its recorded time (column %s)", h[k.send]);
    else
        r->rec.load_unknown = true;
    g_ptr_array_add(out, g_steal_pointer(&r));
    return TRUE;
}

static gboolean
reqcsv_mirror(
    const cmp_result *m, const cmp_run *run, const cmp_sim *sim, cmp_result *out, GError **error)
{
    (void)error;
    out->reqs = cmp__sim_reqs(sim, run, m->reqs->n);
    cmp_metrics_fill_from_reqs(&out->m, out->reqs);
    return TRUE;
}

const cmp_kind cmp__kind_reqcsv = {
    .name = "request-csv",
    .what = "per-request CSV, GenZ-style (input_tokens, output_tokens and measured TTFT / TPOT "
            "/ E2E columns)",
    .detect = reqcsv_detect,
    .read = reqcsv_read,
    .mirror = reqcsv_mirror,
};
