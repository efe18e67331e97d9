/* base/io.c: gzip-transparent buffered line reader and atomic output files.
 * Reader invariant: buf[start..end) holds unread bytes; lines are split in place (the '\n'
 * becomes '\0'), so no per-line allocation happens; chunks are 256 KiB so the per-line cost is
 * a memchr. Writers never leave a file under the final name unless base_out_commit succeeded. */
#include "base/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#define ZLIB_CONST /* const next_in */
#include <zlib.h>

#include "base/error.h"

/* clang-format off */
G_DEFINE_QUARK(base-error-quark, base_error)
/* clang-format on */

#define CHUNK (256 * 1024)

struct base_lines {
    char *name;
    gzFile gz;       /* file source (plain files pass through zlib untouched), or NULL */
    char *buf;       /* owned: the read buffer (gz), or the whole inflated input (memory) */
    size_t cap;      /* capacity of buf (gz) */
    size_t start;    /* first unread byte */
    size_t end;      /* one past last valid byte */
    gboolean eof;    /* source exhausted */
    uint64_t lineno; /* line number of the last returned line */
    uint64_t bytes;  /* bytes consumed */
};

bool
base_is_gzip(const void *data, size_t size)
{
    const unsigned char *p = data;
    return size >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

base_lines *
base_lines_open(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: cannot open: %s", path,
                    g_strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: is a directory", path);
        return NULL;
    }
    gzFile gz = gzdopen(fd, "rb");
    if (gz == NULL) {
        close(fd);
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: cannot open", path);
        return NULL;
    }
    gzbuffer(gz, CHUNK);
    base_lines *r = g_new0(base_lines, 1);
    r->name = g_strdup(path);
    r->gz = gz;
    r->cap = CHUNK;
    r->buf = g_malloc(r->cap + 1);
    return r;
}

base_lines *
base_lines_new_from_memory(const char *name, const void *data, size_t size, GError **error)
{
    GBytes *b = base_bytes_maybe_gunzip(name, data, size, error);
    if (b == NULL)
        return NULL;
    base_lines *r = g_new0(base_lines, 1);
    r->name = g_strdup(name);
    gsize n = 0;
    /* The inflated copy is ours alone (so this takes it without copying) and NUL-terminated
     * one past the end (see maybe_gunzip), so lines can be split in place. */
    r->buf = g_bytes_unref_to_data(b, &n);
    r->end = n;
    r->eof = TRUE;
    return r;
}

void
base_lines_free(base_lines *r)
{
    if (r == NULL)
        return;
    if (r->gz != NULL)
        gzclose(r->gz);
    g_free(r->buf);
    g_free(r->name);
    g_free(r);
}

static gboolean
fill(base_lines *r, GError **error)
{
    /* Move the unread tail to the front, grow if a single line fills the buffer. */
    size_t left = r->end - r->start;
    if (r->start > 0 && left > 0)
        memmove(r->buf, r->buf + r->start, left);
    r->start = 0;
    r->end = left;
    if (r->end == r->cap) {
        r->cap *= 2;
        r->buf = g_realloc(r->buf, r->cap + 1);
    }
    int n = gzread(r->gz, r->buf + r->end, (unsigned)(r->cap - r->end));
    if (n < 0) {
        int errnum = 0;
        const char *msg = gzerror(r->gz, &errnum);
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: read error: %s", r->name,
                    errnum == Z_ERRNO ? g_strerror(errno) : msg);
        return FALSE;
    }
    if (n == 0) {
        int errnum = 0;
        const char *msg = gzerror(r->gz, &errnum);
        if (errnum != Z_OK) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE, "%s: corrupt or truncated gzip: %s",
                        r->name, msg);
            return FALSE;
        }
        r->eof = TRUE;
    }
    r->end += (size_t)n;
    return TRUE;
}

gboolean
base_lines_next(base_lines *r, char **line, size_t *len, GError **error)
{
    g_return_val_if_fail(r != NULL, FALSE);
    for (;;) {
        char *p = r->buf + r->start;
        char *nl = r->end > r->start ? memchr(p, '\n', r->end - r->start) : NULL;
        if (nl != NULL || (r->eof && r->end > r->start)) {
            size_t n = nl != NULL ? (size_t)(nl - p) : r->end - r->start;
            r->start += n + (nl != NULL ? 1 : 0);
            r->bytes += n + (nl != NULL ? 1 : 0);
            if (n > 0 && p[n - 1] == '\r')
                n--;
            p[n] = '\0'; /* gz buffers have one spare byte; memory copies are NUL-padded */
            r->lineno++;
            *line = p;
            *len = n;
            return TRUE;
        }
        if (r->eof)
            return FALSE;
        if (!fill(r, error))
            return FALSE;
    }
}

uint64_t
base_lines_lineno(const base_lines *r)
{
    return r->lineno;
}

const char *
base_lines_name(const base_lines *r)
{
    return r->name;
}

uint64_t
base_lines_bytes(const base_lines *r)
{
    return r->bytes;
}

GBytes *
base_bytes_maybe_gunzip(const char *name, const void *data, size_t size, GError **error)
{
    if (!base_is_gzip(data, size)) {
        char *copy = g_malloc(size + 1);
        memcpy(copy, data, size);
        copy[size] = '\0';
        return g_bytes_new_take(copy, size);
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE, "%s: cannot inflate", name);
        return NULL;
    }
    size_t cap = size * 4 + 1024, used = 0;
    char *out = g_malloc(cap + 1);
    zs.next_in = data;
    zs.avail_in = (uInt)size;
    int rc;
    do {
        if (cap - used < 65536) {
            cap *= 2;
            out = g_realloc(out, cap + 1);
        }
        zs.next_out = (Bytef *)out + used;
        zs.avail_out = (uInt)(cap - used);
        rc = inflate(&zs, Z_NO_FLUSH);
        used = cap - zs.avail_out;
        if (rc == Z_STREAM_END && zs.avail_in > 0) /* concatenated members */
            rc = inflateReset(&zs);
    } while (rc == Z_OK);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        g_free(out);
        g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE, "%s: corrupt or truncated gzip", name);
        return NULL;
    }
    out[used] = '\0';
    return g_bytes_new_take(out, used);
}

GBytes *
base_file_read_all(const char *path, GError **error)
{
    g_autofree char *raw = NULL;
    size_t n = 0;
    GError *e = NULL;
    if (!g_file_get_contents(path, &raw, &n, &e)) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: cannot read: %s", path, e->message);
        g_error_free(e);
        return NULL;
    }
    return base_bytes_maybe_gunzip(path, raw, n, error);
}

/* ---- atomic output ---- */

struct base_out {
    char *path;
    char *tmp;
    FILE *fp;        /* plain output */
    gzFile gz;       /* gzip output */
    int err;         /* first errno seen while writing, sticky */
    gboolean closed; /* committed or aborted */
};

base_out *
base_out_open(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    char *tmp = g_strdup_printf("%s.tmp.XXXXXX", path);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: cannot create: %s", path,
                    g_strerror(errno));
        g_free(tmp);
        return NULL;
    }
    /* mkstemp creates 0600; give the final file the usual umask-derived mode. */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    base_out *o = g_new0(base_out, 1);
    o->path = g_strdup(path);
    o->tmp = tmp;
    if (g_str_has_suffix(path, ".gz")) {
        o->gz = gzdopen(fd, "wb6");
        gzbuffer(o->gz, CHUNK);
    } else {
        o->fp = fdopen(fd, "wb");
        setvbuf(o->fp, NULL, _IOFBF, CHUNK);
    }
    return o;
}

void
base_out_write(base_out *o, const void *data, size_t len)
{
    if (o->err != 0 || len == 0)
        return;
    if (o->gz != NULL) {
        if (gzwrite(o->gz, data, (unsigned)len) != (int)len)
            o->err = errno != 0 ? errno : EIO;
    } else if (fwrite(data, 1, len, o->fp) != len) {
        o->err = errno != 0 ? errno : EIO;
    }
}

void
base_out_puts(base_out *o, const char *s)
{
    base_out_write(o, s, strlen(s));
}

void
base_out_printf(base_out *o, const char *fmt, ...)
{
    char stack[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack, sizeof stack, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof stack) {
        base_out_write(o, stack, (size_t)n);
        return;
    }
    va_start(ap, fmt);
    char *big = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    base_out_write(o, big, (size_t)n);
    g_free(big);
}

static int
close_stream(base_out *o)
{
    int err = o->err;
    if (o->gz != NULL) {
        if (gzclose(o->gz) != Z_OK && err == 0)
            err = EIO;
        o->gz = NULL;
    } else if (o->fp != NULL) {
        if (fclose(o->fp) != 0 && err == 0)
            err = errno;
        o->fp = NULL;
    }
    return err;
}

gboolean
base_out_commit(base_out *o, GError **error)
{
    g_return_val_if_fail(o != NULL && !o->closed, FALSE);
    o->closed = TRUE;
    int err = close_stream(o);
    if (err == 0 && g_rename(o->tmp, o->path) != 0)
        err = errno;
    if (err != 0) {
        g_unlink(o->tmp);
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: cannot write: %s", o->path,
                    g_strerror(err));
        return FALSE;
    }
    return TRUE;
}

void
base_out_free(base_out *o)
{
    if (o == NULL)
        return;
    if (!o->closed) {
        close_stream(o);
        g_unlink(o->tmp);
    }
    g_free(o->path);
    g_free(o->tmp);
    g_free(o);
}

gboolean
base_file_write_atomic(const char *path, const char *contents, size_t len, GError **error)
{
    g_autoptr(base_out) o = base_out_open(path, error);
    if (o == NULL)
        return FALSE;
    base_out_write(o, contents, len);
    return base_out_commit(o, error);
}

gboolean
base_dir_ensure_writable(const char *dir, GError **error)
{
    if (g_mkdir_with_parents(dir, 0777) != 0) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: cannot create directory: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    g_autofree char *probe = g_build_filename(dir, ".servesim-probe.XXXXXX", NULL);
    int fd = g_mkstemp(probe);
    if (fd < 0) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: directory is not writable: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    close(fd);
    g_unlink(probe);
    return TRUE;
}
