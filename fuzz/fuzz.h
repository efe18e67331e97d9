/* fuzz/fuzz.h: what every libFuzzer harness shares (fuzz/fuzz.c).
 *
 * A harness feeds one input to one reader through the library's public API and checks what
 * the API promises for any input: success, or FALSE/NULL/-1 with a GError whose message is
 * one non-empty line; everything freed (LeakSanitizer runs at exit and on -runs); no GLib
 * critical or warning (they are fatal here: a g_return_if_fail reached from input is a bug).
 * Readers that take a path get a file in a private temporary directory (on /dev/shm when it
 * is writable): the file name is the harness's choice because some importers read meaning
 * into it (Vidur's model name, LLMServingSim's tpN directory and meta.yaml). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

/* fuzz.c defines LLVMFuzzerInitialize for every harness: GLib criticals and warnings are
 * fatal, messages quiet. */

/* Writes DATA[0..SIZE) to REL (a path relative to the private directory; parent directories
 * are created) and returns the absolute path (borrowed: valid until the next fz_file call). */
const char *fz_file(const char *rel, const uint8_t *data, size_t size);
/* The private directory (absolute). */
const char *fz_dir(void);
/* Removes REL from the private directory if it exists. */
void fz_remove(const char *rel);

/* Splits DATA at lines that are exactly "%%" (the separator, its own line) into at most MAX
 * parts; returns the number of parts (>= 1). Parts past MAX - 1 stay in the last one. */
size_t fz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, size_t max);

/* The error contract: FAILED means ERR must be set with a one-line, non-empty message
 * (aborts otherwise); success means ERR is NULL. Frees *ERR and clears it. WHAT names the
 * call. */
void fz_check_error(const char *what, gboolean failed, GError **err);

/* Opens PATH as a workload of FORMAT ("auto" detects) twice: with the defaults, and with the
 * transforms (--rate rescale unless FORMAT is the ServeGen generator, --over-length clip under
 * max_model_len 4096, --start, --limit, --skip-bad-rows, and --shuffle unless the source has
 * sessions); EXTRA (NULL-terminated "--flag",
 * "value" pairs, may be NULL) applies to both. Reads at most FZ_MAX_REQUESTS requests of each and
 * checks every request against workloads/workload.h's contract (non-decreasing arrivals, ids 0, 1,
 * ..., prompt = Σ segments, at least one segment, lengths within WL_MAX_TOKENS). */
#define FZ_MAX_REQUESTS 2000
void fz_workload(const char *path, const char *format, const char *const *extra);

/* The time model the simulator would build from FLAGS (NULL-terminated "--flag", "value"
 * pairs of tm_options, e.g. "--model", PATH): tm_setup_new, the memory plan, the vLLM
 * defaults, the resolved JSON and the price of a prefill step, a decode step and a mixed step.
 * Rejections must follow the error contract; prices must be finite and non-negative. */
void fz_setup(const char *const *flags);

/* Imports PATH as calibration input of FORMAT (tm_calib_format; AUTO detects from the header)
 * with FLAGS (NULL-terminated tm_options flags, may be NULL: model and hardware from the file
 * or the defaults), checks the error contract and that every sample is usable by the fit
 * (measured time > 0, finite non-negative basis terms), then fits the samples when there are
 * at most FZ_MAX_FIT of them (no bootstrap) and serialises the calibration. */
#define FZ_MAX_FIT 64
void fz_calib_import(const char *path, int format, const char *const *flags);

/* What fz_calib_import checks and does after a successful import, for harnesses that call
 * the composing importers themselves: sample sanity, then the fit when D is small. */
struct tm_calib_data;
void fz_calib_check(const struct tm_calib_data *d);
