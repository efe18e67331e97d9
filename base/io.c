/* base/io.c: gzip-transparent buffered line reader and atomic output files.
 * Reader invariant: buf[start..end) holds unread bytes and buf[end] is '\0'; lines are split in
 * place (the line end becomes '\0'), so no per-line allocation happens; chunks are 256 KiB so
 * the per-line cost is one strcspn (line end or NUL byte). Writers never leave a file under the
 * final name unless base_out_commit succeeded. */
#include "base/io.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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

/* Read buffer and initial line buffer. The fuzzing build shrinks it (CMakeLists.txt:
 * SERVESIM_FUZZ) so that small inputs go through the refill, line-growth and CR-at-the-end
 * paths, and opening a file is cheap under the sanitizers. */
#ifndef BASE_IO_CHUNK
#define BASE_IO_CHUNK (256 * 1024)
#endif
#define CHUNK BASE_IO_CHUNK

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

/* zlib names descriptors opened with gzdopen "<fd:N>"; messages name the file instead. */
static const char *
gz_message(const char *msg)
{
    if (msg != NULL && g_str_has_prefix(msg, "<fd:")) {
        const char *colon = strstr(msg, ": ");
        if (colon != NULL)
            return colon + 2;
    }
    return msg != NULL ? msg : "unknown error";
}

static size_t
bom_len(const char *p, size_t n)
{
    return n >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
                   (unsigned char)p[2] == 0xBF
               ? 3
               : 0;
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
                    errnum == Z_ERRNO ? g_strerror(errno) : gz_message(msg));
        return FALSE;
    }
    if (n == 0) {
        int errnum = 0;
        const char *msg = gzerror(r->gz, &errnum);
        if (errnum != Z_OK) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE, "%s: corrupt or truncated gzip: %s",
                        r->name, gz_message(msg));
            return FALSE;
        }
        r->eof = TRUE;
    }
    r->end += (size_t)n;
    r->buf[r->end] = '\0'; /* the sentinel base_lines_next scans up to */
    return TRUE;
}

gboolean
base_lines_next(base_lines *r, char **line, size_t *len, GError **error)
{
    g_return_val_if_fail(r != NULL, FALSE);
    for (;;) {
        char *p = r->buf + r->start;
        size_t avail = r->end - r->start;
        /* buf[end] is always '\0', so one strcspn finds the line end or a NUL byte. */
        size_t k = avail > 0 ? strcspn(p, "\r\n") : 0;
        if (k < avail && p[k] == '\0') {
            g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE,
                        "%s:%" G_GUINT64_FORMAT ": NUL byte in the input (not a text file?)",
                        r->name, r->lineno + 1);
            r->start = r->end = 0;
            r->eof = TRUE;
            return FALSE;
        }
        /* Line ends: LF; CR... LF (CRLF, and CR CR LF from a CRLF file rewritten in text
         * mode) as one; a CR followed by anything else (CR-only files). A CR at the end of
         * the buffer needs the next byte to tell, unless the input is over. */
        size_t term = 0;
        if (k < avail) {
            if (p[k] == '\n') {
                term = 1;
            } else {
                size_t j = k;
                while (j < avail && p[j] == '\r')
                    j++;
                if (j < avail)
                    term = p[j] == '\n' ? j + 1 - k : 1;
                else if (r->eof)
                    term = 1;
            }
        }
        if (term > 0 || (r->eof && avail > 0)) {
            size_t n = term > 0 ? k : avail, used = term > 0 ? k + term : avail;
            r->start += used;
            r->bytes += used;
            p[n] = '\0';
            r->lineno++;
            if (r->lineno == 1) {
                size_t b = bom_len(p, n); /* spreadsheet exports start with one */
                p += b;
                n -= b;
            }
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
        if (size > 0) /* an empty file's buffer may have no storage: memcpy(_, NULL, 0) is UB */
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
    size_t cap = MIN(size * 4 + 1024, BASE_READ_ALL_MAX), used = 0;
    char *out = g_malloc(cap + 1);
    zs.next_in = data;
    zs.avail_in = (uInt)size;
    int rc;
    do {
        if (cap - used < 65536) {
            if (cap >= BASE_READ_ALL_MAX) {
                inflateEnd(&zs);
                g_free(out);
                g_set_error(error, BASE_ERROR, BASE_ERROR_IO,
                            "%s: inflates to more than %zu MiB, the limit for inputs read whole",
                            name, BASE_READ_ALL_MAX >> 20);
                return NULL;
            }
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

bool
base_file_is_rereadable(const char *path)
{
    struct stat st;
    return strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

GBytes *
base_file_read_all(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    bool in = strcmp(path, "-") == 0;
    int fd = in ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
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
    /* One pass over the descriptor (a FIFO cannot be read twice), in chunks, so the size
     * limit and the NUL check stop /dev/zero at its first chunk instead of at 32 GiB. */
    GByteArray *buf = g_byte_array_new();
    guint8 chunk[65536];
    const char *why = NULL;
    int err = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = errno;
            break;
        }
        if (n == 0)
            break;
        if (buf->len + (size_t)n > BASE_READ_ALL_MAX) {
            why = "larger than the limit for inputs read whole";
            break;
        }
        /* plain text holds no NUL; gzip data does, and is checked once inflated */
        if (!base_is_gzip(buf->len > 0 ? buf->data : chunk, buf->len > 0 ? buf->len : (size_t)n) &&
            memchr(chunk, '\0', (size_t)n) != NULL) {
            why = "NUL byte in the input (not a text file?)";
            break;
        }
        g_byte_array_append(buf, chunk, (guint)n);
    }
    close(fd);
    if (err != 0 || why != NULL) {
        g_byte_array_free(buf, TRUE);
        if (err != 0)
            g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: cannot read: %s", path,
                        g_strerror(err));
        else if (why[0] == 'l')
            g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: %s (%zu MiB)", path, why,
                        BASE_READ_ALL_MAX >> 20);
        else
            g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE, "%s: %s", path, why);
        return NULL;
    }
    g_autoptr(GBytes) raw = g_byte_array_free_to_bytes(buf);
    gsize n = 0;
    const char *data = g_bytes_get_data(raw, &n);
    bool gz = base_is_gzip(data, n);
    GBytes *b = base_bytes_maybe_gunzip(path, data, n, error);
    if (b == NULL)
        return NULL;
    const char *p = g_bytes_get_data(b, &n);
    if (gz && memchr(p, '\0', n) != NULL) {
        g_bytes_unref(b);
        g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE,
                    "%s: NUL byte in the input (not a text file?)", path);
        return NULL;
    }
    size_t bom = bom_len(p, n);
    if (bom == 0)
        return b;
    GBytes *rest = g_bytes_new_from_bytes(b, bom, n - bom);
    g_bytes_unref(b);
    return rest;
}

/* ---- temporaries removed on a fatal signal ----
 * The handler may only use async-signal-safe calls, so the registry is a fixed array of
 * fixed-size paths: a slot's path is written before its sig_atomic_t flag is raised (with a
 * signal fence between), and the handler reads only raised flags and their paths. Claiming and
 * releasing slots takes a mutex (threads), never held by the handler. */

#define TMP_SLOTS    32
#define TMP_PATH_MAX 4096

static struct {
    volatile sig_atomic_t used;
    char path[TMP_PATH_MAX];
} tmp_slots[TMP_SLOTS];

static GMutex tmp_lock;

/* Returns the slot holding PATH, or -1 if the registry is full or PATH too long. */
static int
tmp_register(const char *path)
{
    size_t n = strlen(path);
    if (n >= TMP_PATH_MAX)
        return -1;
    int slot = -1;
    g_mutex_lock(&tmp_lock);
    for (int i = 0; i < TMP_SLOTS && slot < 0; i++) {
        if (!tmp_slots[i].used) {
            memcpy(tmp_slots[i].path, path, n + 1);
            atomic_signal_fence(memory_order_seq_cst);
            tmp_slots[i].used = 1;
            slot = i;
        }
    }
    g_mutex_unlock(&tmp_lock);
    return slot;
}

static void
tmp_unregister(int slot)
{
    if (slot < 0)
        return;
    g_mutex_lock(&tmp_lock);
    tmp_slots[slot].used = 0;
    g_mutex_unlock(&tmp_lock);
}

unsigned
base_tmp_live(void)
{
    unsigned n = 0;
    for (int i = 0; i < TMP_SLOTS; i++)
        n += tmp_slots[i].used != 0;
    return n;
}

static void
on_fatal_signal(int sig)
{
    int saved = errno;
    for (int i = 0; i < TMP_SLOTS; i++)
        if (tmp_slots[i].used)
            unlink(tmp_slots[i].path);
    errno = saved;
    /* Die of the same signal (the parent sees it in the exit status): default action, then
     * raise; it is delivered when this handler returns, as the signal is blocked in it. */
    signal(sig, SIG_DFL);
    raise(sig);
}

void
base_tmp_cleanup_on_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
        struct sigaction old;
        /* A signal the caller ignores (nohup, background jobs) stays ignored. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t k = 0; k < G_N_ELEMENTS(sigs); k++)
            sigaddset(&sa.sa_mask, sigs[k]); /* one cleanup at a time */
        sigaction(sigs[i], &sa, NULL);
    }
}

/* ---- atomic output ---- */

struct base_out {
    char *path;
    char *tmp;
    int slot;        /* registry slot of tmp (-1: not registered) */
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
    o->slot = tmp_register(tmp);
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
    if (err != 0)
        g_unlink(o->tmp);
    /* After the rename or unlink: a signal in between unlinks a name that is gone. */
    tmp_unregister(o->slot);
    o->slot = -1;
    if (err != 0) {
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
        tmp_unregister(o->slot);
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
