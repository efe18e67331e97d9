/* tests/base/test_io.c: line reading from plain, gzip, truncated gzip and memory; atomic
 * outputs never appear under their final name unless committed. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#define ZLIB_CONST /* const next_in */
#include <zlib.h>

#include "base/error.h"
#include "base/io.h"

static char *tmpdir;

static void
setup(void)
{
    tmpdir = g_dir_make_tmp("servesim-io-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    (void)!system(cmd);
    g_free(tmpdir);
}

TestSuite(io, .init = setup, .fini = teardown, .timeout = 30);

static char *
write_file(const char *name, const char *data, size_t len)
{
    char *p = g_build_filename(tmpdir, name, NULL);
    g_file_set_contents(p, data, (gssize)len, NULL);
    return p;
}

static char *
write_gz(const char *name, const char *data, size_t len)
{
    char *p = g_build_filename(tmpdir, name, NULL);
    gzFile g = gzopen(p, "wb");
    gzwrite(g, data, (unsigned)len);
    gzclose(g);
    return p;
}

static int
count_lines(base_lines *r, GError **err, char last[64])
{
    char *l;
    size_t n;
    int c = 0;
    while (base_lines_next(r, &l, &n, err)) {
        c++;
        g_strlcpy(last, l, 64);
    }
    return c;
}

Test(io, reads_plain_lines_with_crlf_and_no_final_newline)
{
    g_autofree char *p = write_file("a.txt", "a,b\r\n1,2\n\n3,4", 13);
    GError *err = NULL;
    g_autoptr(base_lines) r = base_lines_open(p, &err);
    cr_assert_not_null(r);
    char *l;
    size_t n;
    cr_assert(base_lines_next(r, &l, &n, &err));
    cr_expect_str_eq(l, "a,b");
    cr_expect_eq(n, 3);
    cr_assert(base_lines_next(r, &l, &n, &err));
    cr_expect_str_eq(l, "1,2");
    cr_assert(base_lines_next(r, &l, &n, &err));
    cr_expect_str_eq(l, "");
    cr_assert(base_lines_next(r, &l, &n, &err));
    cr_expect_str_eq(l, "3,4");
    cr_expect_eq(base_lines_lineno(r), 4);
    cr_expect(!base_lines_next(r, &l, &n, &err));
    cr_expect_null(err);
}

/* Lines of ~1.2 MiB ending in TERM, the first terminator byte of some line placed exactly at
 * offset B - 1 for B = 64 KiB, 256 KiB (the reader's first buffer boundary) and 1 MiB, so
 * that "\r" and "\n" (or a run of "\r") straddle the boundaries. Returns the line count;
 * line i reads "r<i>,x...x" (i·7 mod 53 x's unless padded). */
static int
make_lines(GString *g, const char *term, bool final_term)
{
    static const size_t bounds[] = {65536, 262144, 1048576};
    size_t tl = strlen(term), next = 0;
    int n = 0;
    while (g->len < 1200000) {
        g_autofree char *head = g_strdup_printf("r%d,", n);
        size_t pad = (size_t)(n * 7 % 53);
        size_t end = g->len + strlen(head) + pad; /* offset of the terminator */
        if (next < G_N_ELEMENTS(bounds) && end + tl >= bounds[next]) {
            if (g->len + strlen(head) < bounds[next] - 1) {
                pad = bounds[next] - 1 - g->len - strlen(head);
                next++;
            } else if (g->len + strlen(head) >= bounds[next]) {
                next++;
            }
        }
        g_string_append(g, head);
        for (size_t k = 0; k < pad; k++)
            g_string_append_c(g, 'x');
        g_string_append(g, term);
        n++;
    }
    if (!final_term)
        g_string_truncate(g, g->len - tl);
    return n;
}

static void
expect_lines(base_lines *r, int n, const char *what)
{
    GError *err = NULL;
    char *l;
    size_t len;
    for (int i = 0; i < n; i++) {
        cr_assert(base_lines_next(r, &l, &len, &err), "%s: line %d: %s", what, i + 1,
                  err ? err->message : "early end");
        g_autofree char *head = g_strdup_printf("r%d,", i);
        cr_assert(g_str_has_prefix(l, head), "%s: line %d is '%.40s'", what, i + 1, l);
        cr_assert_eq(strlen(l), len, "%s: line %d", what, i + 1);
        for (size_t k = strlen(head); k < len; k++)
            cr_assert_eq(l[k], 'x', "%s: line %d has byte 0x%02x at %zu", what, i + 1,
                         (unsigned char)l[k], k);
        cr_assert_eq(base_lines_lineno(r), (uint64_t)i + 1, "%s", what);
    }
    cr_expect(!base_lines_next(r, &l, &len, &err), "%s: extra line '%.40s'", what, l);
    cr_expect_null(err, "%s", what);
}

/* Every line end the wild produces is one line end: LF, CRLF, CR alone (classic Mac, Excel's
 * "CSV (Macintosh)"), CR CR LF (a CRLF file written again through a text-mode stream: it used
 * to leave "44\r" in the last field), with or without a final terminator, across the
 * reader's buffer boundaries, plain, gzip and in memory. */
Test(io, every_line_end_style_across_buffer_boundaries)
{
    const char *terms[][2] = {{"\n", "LF"}, {"\r\n", "CRLF"}, {"\r", "CR"}, {"\r\r\n", "CRCRLF"}};
    for (size_t t = 0; t < G_N_ELEMENTS(terms); t++) {
        for (int final = 0; final < 2; final++) {
            GString *g = g_string_new(NULL);
            int n = make_lines(g, terms[t][0], final);
            g_autofree char *what = g_strdup_printf("%s%s", terms[t][1], final ? "" : " no final");
            g_autofree char *p = write_file("t.csv", g->str, g->len);
            g_autoptr(base_lines) a = base_lines_open(p, NULL);
            g_autofree char *w1 = g_strdup_printf("%s plain", what);
            expect_lines(a, n, w1);
            g_autofree char *z = write_gz("t.csv.gz", g->str, g->len);
            g_autoptr(base_lines) b = base_lines_open(z, NULL);
            g_autofree char *w2 = g_strdup_printf("%s gzip", what);
            expect_lines(b, n, w2);
            g_autoptr(base_lines) c = base_lines_new_from_memory("mem", g->str, g->len, NULL);
            g_autofree char *w3 = g_strdup_printf("%s memory", what);
            expect_lines(c, n, w3);
            g_string_free(g, TRUE);
        }
    }
    /* Blank lines stay lines (CR CR alone is two line ends), and a CR LF split by a buffer
     * boundary is one. */
    const char *text = "a\r\rb\r\n\r\nc";
    g_autofree char *p = write_file("b.txt", text, strlen(text));
    g_autoptr(base_lines) r = base_lines_open(p, NULL);
    const char *want[] = {"a", "", "b", "", "c"};
    char *l;
    size_t len;
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        cr_assert(base_lines_next(r, &l, &len, NULL));
        cr_expect_str_eq(l, want[i], "line %zu", i + 1);
    }
    cr_expect(!base_lines_next(r, &l, &len, NULL));
}

Test(io, gzip_detected_by_magic_not_name_and_long_lines_grow_buffer)
{
    GString *g = g_string_new(NULL);
    for (int i = 0; i < 20000; i++)
        g_string_append_printf(g, "line %d\n", i);
    /* one line longer than the 256 KiB chunk */
    for (int i = 0; i < 300000; i++)
        g_string_append_c(g, 'x');
    g_string_append(g, "\nend\n");
    g_autofree char *p = write_gz("trace.csv", g->str, g->len); /* no .gz suffix */
    GError *err = NULL;
    g_autoptr(base_lines) r = base_lines_open(p, &err);
    char last[64];
    cr_expect_eq(count_lines(r, &err, last), 20002);
    cr_expect_null(err);
    cr_expect_str_eq(last, "end");
    g_string_free(g, TRUE);
}

Test(io, truncated_gzip_is_an_error_not_silent_end)
{
    GString *g = g_string_new(NULL);
    for (int i = 0; i < 50000; i++)
        g_string_append_printf(g, "%d,%d\n", i, i * 7);
    g_autofree char *full = write_gz("t.gz", g->str, g->len);
    g_autofree char *data = NULL;
    size_t len = 0;
    g_file_get_contents(full, &data, &len, NULL);
    g_autofree char *cut = write_file("cut.gz", data, len / 2);
    GError *err = NULL;
    g_autoptr(base_lines) r = base_lines_open(cut, &err);
    cr_assert_not_null(r);
    char last[64];
    count_lines(r, &err, last);
    cr_assert_not_null(err, "truncated gzip must be reported");
    cr_expect(strstr(err->message, "cut.gz") != NULL, "%s", err->message);
    g_error_free(err);
    /* The same through the memory path. */
    GError *e2 = NULL;
    base_lines *m = base_lines_new_from_memory("mem.gz", data, len / 2, &e2);
    cr_expect_null(m);
    cr_expect_not_null(e2);
    g_clear_error(&e2);
    g_string_free(g, TRUE);
}

Test(io, memory_reader_handles_gzip)
{
    const char *text = "x\ny\n";
    uLongf cap = 256;
    unsigned char buf[256];
    /* Build a gzip member with deflateInit2 (windowBits 31 = gzip header). */
    z_stream zs = {0};
    deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (const Bytef *)text;
    zs.avail_in = 4;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    GError *err = NULL;
    g_autoptr(base_lines) r = base_lines_new_from_memory("m", buf, n, &err);
    cr_assert_not_null(r);
    char last[64];
    cr_expect_eq(count_lines(r, &err, last), 2);
    cr_expect_str_eq(last, "y");
}

Test(io, missing_file_reports_path)
{
    GError *err = NULL;
    base_lines *r = base_lines_open("/nonexistent/x.csv", &err);
    cr_expect_null(r);
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "/nonexistent/x.csv") != NULL);
    g_error_free(err);
}

Test(io, atomic_output_appears_only_on_commit)
{
    g_autofree char *p = g_build_filename(tmpdir, "out.json", NULL);
    GError *err = NULL;
    base_out *o = base_out_open(p, &err);
    base_out_printf(o, "{\"a\": %d}\n", 1);
    cr_expect(!g_file_test(p, G_FILE_TEST_EXISTS), "not visible before commit");
    cr_assert(base_out_commit(o, &err));
    base_out_free(o);
    g_autofree char *got = NULL;
    g_file_get_contents(p, &got, NULL, NULL);
    cr_expect_str_eq(got, "{\"a\": 1}\n");

    /* aborted: no final file, no temporary left behind */
    g_autofree char *q = g_build_filename(tmpdir, "aborted.csv", NULL);
    base_out *a = base_out_open(q, &err);
    base_out_puts(a, "partial");
    base_out_free(a);
    cr_expect(!g_file_test(q, G_FILE_TEST_EXISTS));
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL)
        cr_expect(strstr(name, ".tmp.") == NULL, "leftover %s", name);
    g_dir_close(d);
}

/* Every open output's temporary is in the signal registry until committed or freed; a fatal
 * signal unlinks it and the process still dies of that signal. */
Test(io, temporaries_are_registered_and_removed_on_a_fatal_signal)
{
    GError *err = NULL;
    g_autofree char *p = g_build_filename(tmpdir, "a.csv", NULL);
    g_autofree char *q = g_build_filename(tmpdir, "b.csv.gz", NULL);
    cr_assert_eq(base_tmp_live(), 0);
    base_out *a = base_out_open(p, &err);
    base_out *b = base_out_open(q, &err);
    cr_expect_eq(base_tmp_live(), 2);
    cr_assert(base_out_commit(a, &err));
    cr_expect_eq(base_tmp_live(), 1, "released on commit");
    base_out_free(a);
    base_out_free(b);
    cr_expect_eq(base_tmp_live(), 0, "released on abort");

    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        base_tmp_cleanup_on_signals();
        base_out *c = base_out_open(p, NULL);
        base_out_puts(c, "partial");
        raise(SIGTERM);
        _exit(0); /* not reached */
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status 0x%x", status);
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL)
        cr_expect(strstr(name, ".tmp.") == NULL, "leftover %s", name);
    g_dir_close(d);
}

Test(io, gz_output_is_deterministic_and_readable)
{
    g_autofree char *p1 = g_build_filename(tmpdir, "a.jsonl.gz", NULL);
    g_autofree char *p2 = g_build_filename(tmpdir, "b.jsonl.gz", NULL);
    for (int k = 0; k < 2; k++) {
        base_out *o = base_out_open(k ? p2 : p1, NULL);
        for (int i = 0; i < 1000; i++)
            base_out_printf(o, "{\"i\":%d}\n", i);
        cr_assert(base_out_commit(o, NULL));
        base_out_free(o);
        if (k == 0)
            g_usleep(1100000); /* a different mtime must not change the bytes */
    }
    g_autofree char *a = NULL, *b = NULL;
    size_t la, lb;
    g_file_get_contents(p1, &a, &la, NULL);
    g_file_get_contents(p2, &b, &lb, NULL);
    cr_assert_eq(la, lb);
    cr_expect(memcmp(a, b, la) == 0);
    g_autoptr(base_lines) r = base_lines_open(p1, NULL);
    char last[64];
    cr_expect_eq(count_lines(r, NULL, last), 1000);
    cr_expect_str_eq(last, "{\"i\":999}");
}

Test(io, unwritable_directory_fails_fast)
{
    GError *err = NULL;
    cr_expect(!base_dir_ensure_writable("/proc/servesim-cannot-exist", &err));
    cr_expect_not_null(err);
    g_clear_error(&err);
    g_autofree char *d = g_build_filename(tmpdir, "x", "y", NULL);
    cr_expect(base_dir_ensure_writable(d, &err));
}

/* The line layer skips a UTF-8 BOM once (first line only) and rejects a NUL byte with the
 * line number. */
Test(io, bom_skipped_once_and_nul_rejected)
{
    static const char text[] = "\xEF\xBB\xBFh\n\xEF\xBB\xBFx\nok\nbad\0y\n";
    g_autofree char *p = write_file("b.txt", text, sizeof text - 1);
    GError *err = NULL;
    g_autoptr(base_lines) r = base_lines_open(p, &err);
    cr_assert_not_null(r);
    char *l;
    size_t n;
    cr_assert(base_lines_next(r, &l, &n, &err));
    cr_expect_str_eq(l, "h");
    cr_assert(base_lines_next(r, &l, &n, &err));
    cr_expect_eq(n, 4, "a BOM past the first line is data");
    cr_assert(base_lines_next(r, &l, &n, &err));
    cr_expect_str_eq(l, "ok");
    cr_expect(!base_lines_next(r, &l, &n, &err));
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, ":4: NUL byte") != NULL, "%s", err->message);
    g_error_free(err);
}

/* Found by every fuzz harness whose reader reads a file whole (JSON configs, specs): an empty
 * file left the read buffer without storage, and memcpy(copy, NULL, 0) is undefined. */
Test(io, empty_file_reads_whole_as_empty_bytes)
{
    g_autofree char *p = g_build_filename(tmpdir, "empty.json", NULL);
    cr_assert(g_file_set_contents(p, "", 0, NULL));
    GError *err = NULL;
    g_autoptr(GBytes) b = base_file_read_all(p, &err);
    cr_assert_not_null(b, "%s", err ? err->message : "");
    size_t n = 1;
    const char *s = g_bytes_get_data(b, &n);
    cr_expect_eq(n, 0);
    cr_assert_not_null(s); /* NUL-terminated, as for any file */
    cr_expect_eq(s[0], '\0');
    g_autoptr(GBytes) m = base_bytes_maybe_gunzip("empty", NULL, 0, &err);
    cr_assert_not_null(m, "%s", err ? err->message : "");
    cr_expect_eq(g_bytes_get_size(m), 0);
}
