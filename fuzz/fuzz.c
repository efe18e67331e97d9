/* fuzz/fuzz.c: helpers shared by the harnesses (fuzz/fuzz.h): the private file directory,
 * input splitting, the error contract and the workload driver. The directory lives as long as
 * the process and is removed at exit; a crash leaves it behind (it holds only the last input). */
#include "fuzz/fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "base/opts.h"
#include "timemodel/calib_import.h"
#include "timemodel/setup.h"
#include "workloads/workload.h"

static char *dir;
static bool verbose; /* FUZZ_VERBOSE=1: print every outcome (to check seeds) */
static GString *path_buf;

static void
quiet_log(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
    (void)domain;
    (void)level;
    (void)message;
    (void)data;
}

static gboolean
remove_tree(const char *p)
{
    GDir *d = g_dir_open(p, 0, NULL);
    if (d != NULL) {
        const char *n;
        while ((n = g_dir_read_name(d)) != NULL) {
            g_autofree char *c = g_build_filename(p, n, NULL);
            if (g_file_test(c, G_FILE_TEST_IS_DIR) && !g_file_test(c, G_FILE_TEST_IS_SYMLINK))
                remove_tree(c);
            else
                g_unlink(c);
        }
        g_dir_close(d);
    }
    return g_rmdir(p) == 0;
}

static void
cleanup(void)
{
    if (dir != NULL)
        remove_tree(dir);
    g_clear_pointer(&dir, g_free);
    if (path_buf != NULL)
        g_string_free(path_buf, TRUE);
    path_buf = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Criticals and warnings (ours or GLib's) are bugs: print and abort(), which libFuzzer
 * catches and saves the input for (GLib's own fatal path raises SIGTRAP, which it does not). */
static void
fatal_log(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
    (void)level;
    (void)data;
    fprintf(stderr, "fuzz: GLib %s: %s\n", domain ? domain : "", message);
    abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    const GLogLevelFlags bad = G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING |
                               G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION;
    const GLogLevelFlags quiet = G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG;
    static const char *const domains[] = {"servesim", "GLib", "GLib-GObject", NULL};
    g_log_set_default_handler(fatal_log, NULL);
    for (const char *const *d = domains; *d != NULL; d++) {
        g_log_set_handler(*d, bad, fatal_log, NULL);
        g_log_set_handler(*d, quiet, quiet_log, NULL);
    }
    g_log_set_handler(NULL, bad, fatal_log, NULL);
    g_log_set_handler(NULL, quiet, quiet_log, NULL);
    return 0;
}

const char *
fz_dir(void)
{
    if (dir == NULL) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : g_get_tmp_dir();
        g_autofree char *tmpl = g_build_filename(base, "servesim-fuzz-XXXXXX", NULL);
        if (g_mkdtemp(tmpl) == NULL) {
            fprintf(stderr, "fuzz: cannot create %s: %s\n", tmpl, g_strerror(errno));
            abort();
        }
        dir = g_steal_pointer(&tmpl);
        path_buf = g_string_new(NULL);
        atexit(cleanup);
    }
    return dir;
}

const char *
fz_file(const char *rel, const uint8_t *data, size_t size)
{
    g_string_printf(path_buf != NULL ? path_buf : (fz_dir(), path_buf), "%s/%s", fz_dir(), rel);
    g_autofree char *parent = g_path_get_dirname(path_buf->str);
    if (g_mkdir_with_parents(parent, 0700) != 0)
        abort();
    int fd = open(path_buf->str, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        fprintf(stderr, "fuzz: cannot write %s: %s\n", path_buf->str, g_strerror(errno));
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    close(fd);
    return path_buf->str;
}

void
fz_remove(const char *rel)
{
    g_autofree char *p = g_build_filename(fz_dir(), rel, NULL);
    g_unlink(p);
}

size_t
fz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, size_t max)
{
    size_t n = 0, start = 0, i = 0;
    while (i < size && n + 1 < max) {
        /* a separator line: "%%" at the start of the input or after '\n', then '\n' or end */
        bool at_line = i == 0 || data[i - 1] == '\n';
        if (at_line && i + 2 <= size && data[i] == '%' && data[i + 1] == '%' &&
            (i + 2 == size || data[i + 2] == '\n')) {
            part[n] = data + start;
            len[n] = i - start;
            n++;
            i += 3;
            start = MIN(i, size);
            continue;
        }
        i++;
    }
    part[n] = data + start;
    len[n] = size - start;
    return n + 1;
}

void
fz_check_error(const char *what, gboolean failed, GError **errp)
{
    GError *err = *errp;
    *errp = NULL;
    if (!failed) {
        if (verbose)
            fprintf(stderr, "fuzz: %s: ok\n", what);
        if (err != NULL) {
            fprintf(stderr, "fuzz: %s succeeded but set an error: %s\n", what, err->message);
            abort();
        }
        return;
    }
    if (err == NULL) {
        fprintf(stderr, "fuzz: %s failed without an error\n", what);
        abort();
    }
    if (verbose)
        fprintf(stderr, "fuzz: %s: %s\n", what, err->message ? err->message : "(null)");
    if (err->message == NULL || err->message[0] == '\0' || strchr(err->message, '\n') != NULL) {
        fprintf(stderr, "fuzz: %s: the error is not one non-empty line: '%s'\n", what,
                err->message ? err->message : "(null)");
        abort();
    }
    g_error_free(err);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: contract violated: " __VA_ARGS__);                              \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* One pass: open with ARGV's options, read, check the contract. Returns whether the source
 * has sessions (false if it did not open); *PLANNED (if not NULL) gets the requests its stages
 * ask for (Σ rate × duration + concurrent stages' counts; 0 without stages). */
static bool
workload_pass(GPtrArray *argv, int64_t max_model_len, double *planned)
{
    if (planned != NULL)
        *planned = 0;
    const base_opt_set set = {&wl_options_table, 1};
    wl_options o;
    memset(&o, 0, sizeof o);
    base_opts_defaults(&set, &o);
    GError *err = NULL;
    gboolean ok = base_opts_parse_args(&set, &o, (int)argv->len, (char **)argv->pdata, NULL, &err);
    if (!ok) { /* the harness's own flags are valid: this is a bug in the harness */
        fprintf(stderr, "fuzz: harness flags rejected: %s\n", err->message);
        abort();
    }
    wl_open_params p = {1, max_model_len};
    wl_source *s = wl_open(&o, &p, &err);
    base_opts_clear(&set, &o);
    if (s == NULL) {
        fz_check_error("wl_open", TRUE, &err);
        return false;
    }
    const wl_source_info *info = wl_source_get_info(s);
    CHECK(info->format != NULL && info->name != NULL, "source info without format or name");
    CHECK(info->nstages == 0 || info->stages != NULL, "stages missing");
    for (uint32_t i = 0; planned != NULL && i < info->nstages; i++)
        *planned += info->stages[i].rate * info->stages[i].duration_s +
                    (double)info->stages[i].num_requests;
    wl_request r;
    int rc = 0;
    uint64_t n = 0;
    int64_t last = INT64_MIN;
    while (n < FZ_MAX_REQUESTS && (rc = wl_source_next(s, &r, &err)) == 1) {
        CHECK(r.id == n, "request id %" G_GUINT64_FORMAT " at position %" G_GUINT64_FORMAT, r.id,
              n);
        CHECK(r.arrival_ns >= last, "arrival %" G_GINT64_FORMAT " before %" G_GINT64_FORMAT,
              r.arrival_ns, last);
        CHECK(r.arrival_ns >= 0, "negative arrival %" G_GINT64_FORMAT, r.arrival_ns);
        CHECK(r.think_ns >= 0, "negative think time %" G_GINT64_FORMAT, r.think_ns);
        last = r.arrival_ns;
        CHECK(r.nsegments >= 1 && r.segments != NULL, "request without segments");
        uint64_t sum = 0;
        for (uint32_t i = 0; i < r.nsegments; i++)
            sum += r.segments[i].tokens;
        CHECK(sum == r.prompt_tokens, "prompt %u tokens but segments sum to %" G_GUINT64_FORMAT,
              r.prompt_tokens, sum);
        CHECK(r.prompt_tokens <= WL_MAX_TOKENS && r.output_tokens <= WL_MAX_TOKENS,
              "lengths %u + %u beyond WL_MAX_TOKENS", r.prompt_tokens, r.output_tokens);
        CHECK(r.output_tokens >= 1, "zero output tokens");
        CHECK(info->nstages == 0 || r.stage < info->nstages, "stage %u of %u", r.stage,
              info->nstages);
        if (max_model_len > 0)
            CHECK((int64_t)r.prompt_tokens + r.output_tokens <= max_model_len,
                  "clipped request %u + %u exceeds max_model_len %" G_GINT64_FORMAT,
                  r.prompt_tokens, r.output_tokens, max_model_len);
        n++;
    }
    if (n < FZ_MAX_REQUESTS)
        fz_check_error("wl_source_next", rc < 0, &err);
    wl_counters c = wl_source_get_counters(s);
    CHECK(c.emitted >= n, "emitted %" G_GUINT64_FORMAT " < read %" G_GUINT64_FORMAT, c.emitted, n);
    bool sessions = info->sessions;
    wl_source_free(s);
    return sessions;
}

void
fz_workload(const char *path, const char *format, const char *const *extra)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const char *base[] = {"--workload", path, "--workload-format", format};
    for (size_t i = 0; i < G_N_ELEMENTS(base); i++)
        g_ptr_array_add(argv, (gpointer)(uintptr_t)base[i]);
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        g_ptr_array_add(argv, (gpointer)(uintptr_t)extra[i]);
    double planned = 0;
    bool sessions = workload_pass(argv, 0, &planned);
    const char *more[] = {"--over-length",   "clip",    "--limit", "1000",
                          "--skip-bad-rows", "--start", "0.001"};
    for (size_t i = 0; i < G_N_ELEMENTS(more); i++)
        g_ptr_array_add(argv, (gpointer)(uintptr_t)more[i]);
    /* --rate measures a source's own rate over the whole stream first; for a generator
     * (ServeGen windows, inference-perf stages) a fuzzed rate makes that millions of requests,
     * as it would for the CLI (a stage of 4e7 req/s for 90 s is 3.6e9 requests, within
     * WL_MAX_REQUESTS): bounded only by the input's absurdity, not a finding */
    if (strcmp(format, "servegen") != 0 && planned <= 1e5) {
        g_ptr_array_add(argv, (gpointer) "--rate");
        g_ptr_array_add(argv, (gpointer) "10");
    }
    if (!sessions) { /* --shuffle refuses sources with sessions (their turns stay in order) */
        g_ptr_array_add(argv, (gpointer) "--shuffle");
        g_ptr_array_add(argv, (gpointer) "--shuffle-window");
        g_ptr_array_add(argv, (gpointer) "7");
    }
    workload_pass(argv, 4096, NULL);
}

static void
price(const tm_timemodel *tm, uint32_t topk, uint64_t q, uint64_t c, int seqs)
{
    tm_batch b;
    tm_batch_init(&b, topk);
    for (int i = 0; i < seqs; i++)
        tm_batch_add(&b, q, c, true);
    tm_step_cost d;
    double t = tm_step_s(tm, &b, &d);
    CHECK(isfinite(t) && t >= 0,
          "step of %d x (%" G_GUINT64_FORMAT " new, %" G_GUINT64_FORMAT " cached) costs %g s", seqs,
          q, c, t);
}

void
fz_setup(const char *const *flags)
{
    const base_opt_set set = {&tm_options_table, 1};
    tm_options o;
    memset(&o, 0, sizeof o);
    base_opts_defaults(&set, &o);
    int argc = 0;
    while (flags[argc] != NULL)
        argc++;
    GError *err = NULL;
    if (!base_opts_parse_args(&set, &o, argc, (char **)(uintptr_t)flags, NULL, &err)) {
        fprintf(stderr, "fuzz: harness flags rejected: %s\n", err->message);
        abort();
    }
    tm_setup *s = tm_setup_new(&o, &err);
    base_opts_clear(&set, &o);
    if (s == NULL) {
        fz_check_error("tm_setup_new", TRUE, &err);
        return;
    }
    tm_vllm_defaults d;
    tm_setup_vllm_defaults(s, &d);
    tm_memory_args args = {0};
    tm_memory_plan plan;
    gboolean fits = tm_setup_memory_plan(s, &args, &plan, &err);
    fz_check_error("tm_setup_memory_plan", !fits, &err);
    json_t *j = tm_setup_to_json(s);
    CHECK(j != NULL, "tm_setup_to_json returned NULL");
    char *text = json_dumps(j, JSON_COMPACT);
    CHECK(text != NULL, "the resolved time model does not serialise");
    free(text);
    json_decref(j);
    tm_timemodel *tm = tm_setup_timemodel(s);
    uint32_t topk = tm_setup_dsa_topk(s);
    price(tm, topk, 512, 0, 1);   /* a prefill */
    price(tm, topk, 1, 2048, 64); /* a decode step */
    price(tm, topk, 100, 900, 3); /* chunked prefill beside decodes */
    tm_timemodel_free(tm);
    tm_setup_free(s);
}

static bool
finite_nonneg(double v)
{
    return isfinite(v) && v >= 0;
}

static void
check_samples(const tm_calib_data *d)
{
    const tm_calib_op *ops = tm_calib_data_ops(d);
    for (size_t i = 0; i < tm_calib_data_size(d); i++) {
        const tm_calib_sample *x = tm_calib_data_sample(d, i);
        CHECK(isfinite(x->measured_s) && x->measured_s > 0, "sample %zu (%s): measured %g s", i,
              x->label, x->measured_s);
        bool ok = finite_nonneg(x->offset_s) && finite_nonneg(x->steps) &&
                  finite_nonneg(x->comm_s) && finite_nonneg(x->seqs);
        for (int c = 0; c < TM_OPCLASS_COUNT; c++)
            ok = ok && finite_nonneg(x->kernels[c]);
        for (uint32_t k = 0; k < x->n_ops; k++)
            ok = ok && finite_nonneg(ops[x->op_first + k].compute_s) &&
                 finite_nonneg(ops[x->op_first + k].memory_s);
        CHECK(ok, "sample %zu (%s): a basis term is negative or not finite", i, x->label);
    }
}

static void
fit(const tm_calib_data *d)
{
    tm_calib_fit_opts fo;
    tm_calib_fit_opts_defaults(&fo);
    fo.bootstrap = 0;
    fo.folds = 2;
    fo.max_rounds = 3;
    GError *err = NULL;
    tm_calib_fit *f = tm_calib_fit_run(d, &fo, &err);
    if (f == NULL) {
        /* small inputs rarely identify every term: retry with the two every sample has */
        fz_check_error("tm_calib_fit_run", TRUE, &err);
        fo.terms = (1u << TM_TERM_COMPUTE) | (1u << TM_TERM_MEMORY);
        fo.split_classes = false;
        f = tm_calib_fit_run(d, &fo, &err);
        fz_check_error("tm_calib_fit_run (compute, memory)", f == NULL, &err);
        if (f == NULL)
            return;
    }
    json_t *j = tm_calib_fit_to_json(f, d, "m", "h", NULL);
    char *text = json_dumps(j, JSON_COMPACT);
    CHECK(text != NULL, "the fitted calibration does not serialise");
    free(text);
    json_decref(j);
    tm_calib_fit_free(f);
}

void
fz_calib_check(const tm_calib_data *d)
{
    check_samples(d);
    if (tm_calib_data_size(d) > 0 && tm_calib_data_size(d) <= FZ_MAX_FIT)
        fit(d);
}

void
fz_calib_import(const char *path, int format, const char *const *flags)
{
    const base_opt_set set = {&tm_options_table, 1};
    tm_options tm;
    memset(&tm, 0, sizeof tm);
    base_opts_defaults(&set, &tm);
    g_clear_pointer(&tm.model, g_free); /* unset: from the file's metadata */
    g_clear_pointer(&tm.hardware, g_free);
    int argc = 0;
    while (flags != NULL && flags[argc] != NULL)
        argc++;
    GError *err = NULL;
    if (!base_opts_parse_args(&set, &tm, argc, (char **)(uintptr_t)flags, NULL, &err)) {
        fprintf(stderr, "fuzz: harness flags rejected: %s\n", err->message);
        abort();
    }
    tm_calib_import_opts o;
    tm_calib_import_opts_defaults(&o, &tm);
    o.format = (tm_calib_format)format;
    tm_calib_data *d = tm_calib_data_new();
    tm_calib_import_info info;
    gboolean ok = tm_calib_import(d, path, &o, &info, &err);
    fz_check_error("tm_calib_import", !ok, &err);
    if (ok) {
        CHECK(info.samples <= tm_calib_data_size(d),
              "info counts %" G_GUINT64_FORMAT " samples, the data holds %zu", info.samples,
              tm_calib_data_size(d));
        fz_calib_check(d);
        tm_calib_import_info_clear(&info);
    }
    tm_calib_data_free(d);
    base_opts_clear(&set, &tm);
}
