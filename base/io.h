/* base/io.h: buffered line reading from plain or gzip files (detected by magic bytes) or
 * memory, and atomic output files (written to a temporary name, renamed on commit).
 * Ownership: readers/writers own their buffers; lines returned by base_lines_next are
 * borrowed and valid until the next call. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

typedef struct base_lines base_lines;

/* Opens PATH for line reading; gzip is detected from the first two bytes, so plain and
 * compressed files are both accepted whatever their name. "-" reads standard input. */
base_lines *base_lines_open(const char *path, GError **error);
/* Reads from a copy of DATA (gzip-compressed data is inflated into memory at once: used for
 * embedded samples and standard input). NAME is used in messages. */
base_lines *
base_lines_new_from_memory(const char *name, const void *data, size_t size, GError **error);
void base_lines_free(base_lines *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(base_lines, base_lines_free)

/* Returns TRUE with *LINE (NUL-terminated, without its line end) and *LEN set, or FALSE at end
 * of input or on error (then *ERROR is set, e.g. truncated gzip). Every reader goes through
 * here, so this is where input is made uniform: a line ends at LF, at CR LF, at CR CR LF (a
 * CRLF file written again through a text-mode stream) or at a CR followed by anything else
 * (CR-only files); the last line may lack one. A UTF-8 byte-order mark at the start of the
 * input is skipped, and a NUL byte is an error ("FILE:LINE: NUL byte in the input (not a text
 * file?)"). */
gboolean base_lines_next(base_lines *r, char **line, size_t *len, GError **error);
/* 1-based number of the line last returned. */
uint64_t base_lines_lineno(const base_lines *r);
const char *base_lines_name(const base_lines *r);
/* Bytes of (decompressed) input consumed so far. */
uint64_t base_lines_bytes(const base_lines *r);

/* Inputs read whole into memory (JSON documents, specs, standard input, pipes) may be at most
 * this large, compressed and inflated alike: a larger one (or /dev/zero) is an error naming
 * the limit instead of an attempt to allocate it. */
#define BASE_READ_ALL_MAX ((size_t)2 << 30) /* 2 GiB */

/* Reads a whole file (gzip inflated) into memory, once, so FIFOs and process substitutions
 * work; "-" is standard input. Text checks as for base_lines_next: a leading UTF-8 BOM is
 * dropped, a NUL byte is an error. At most BASE_READ_ALL_MAX bytes. */
GBytes *base_file_read_all(const char *path, GError **error);
/* True when PATH can be read twice from its start (a regular file): pipes, FIFOs and
 * character devices cannot, so callers that read an input twice read them once into memory. */
bool base_file_is_rereadable(const char *path);
/* Inflates DATA if it carries the gzip magic, else copies it (at most BASE_READ_ALL_MAX). */
GBytes *base_bytes_maybe_gunzip(const char *name, const void *data, size_t size, GError **error);
bool base_is_gzip(const void *data, size_t size);

/* Atomic output file. Data goes to "PATH.tmp.XXXXXX"; base_out_commit flushes, closes and
 * renames it to PATH, base_out_free without commit deletes the temporary file, so a partial
 * output never looks complete. A ".gz" suffix on PATH selects gzip compression (mtime 0, so
 * output is byte-deterministic). */
typedef struct base_out base_out;
base_out *base_out_open(const char *path, GError **error);
void base_out_write(base_out *o, const void *data, size_t len);
void base_out_puts(base_out *o, const char *s);
void base_out_printf(base_out *o, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
gboolean base_out_commit(base_out *o, GError **error);
void base_out_free(base_out *o); /* aborts (deletes tmp) if not committed */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(base_out, base_out_free)

/* Temporaries of open base_out files are kept in a fixed-size, signal-safe registry (32 slots;
 * a path that does not fit is not registered). After this call, SIGINT, SIGTERM, SIGHUP and
 * SIGPIPE (unless ignored) unlink every registered temporary, restore the default action and
 * re-raise, so the process still dies of the signal and leaves no "*.tmp.XXXXXX" behind.
 * Called once by tools/ for commands that write outputs. */
void base_tmp_cleanup_on_signals(void);
/* Number of temporaries currently registered (tests). */
unsigned base_tmp_live(void);

/* Writes CONTENTS to PATH atomically (via base_out). */
gboolean base_file_write_atomic(const char *path, const char *contents, size_t len, GError **error);

/* Checks that directory DIR exists (creating it and parents) and is writable, by creating and
 * removing a probe file. Used before long simulations so they fail fast. */
gboolean base_dir_ensure_writable(const char *dir, GError **error);
