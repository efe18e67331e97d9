/* base/opts.h: table-driven settings shared by the JSON experiment file, command-line flags,
 * help text and the serialised resolved configuration.
 *
 * Each module describes its settings struct with a const array of base_opt rows (JSON path,
 * flag, type, offset, default, range, help). A base_opt_set composes several module tables
 * into one struct (sim_config), each at its own offset. From that one description:
 *   - base_opts_defaults   fills defaults;
 *   - base_opts_load_json  applies a JSON document (unknown keys and wrong types are errors
 *                          naming the JSON path and what was expected);
 *   - base_opts_parse_args applies --flags (flags override the file);
 *   - base_opts_to_json    serialises the values back (round trip);
 *   - base_opts_help       prints the flags.
 * Storage per type: INT int64_t, DOUBLE double, BOOL bool, STRING/ENUM char * (owned),
 * JSON json_t * (owned), STRV char ** (owned, NULL-terminated). "Unset" (JSON null, flag value
 * "auto") is allowed only with BASE_OPT_NULLABLE: INT64_MIN, NAN or NULL; later code resolves
 * it (e.g. a default that depends on the GPU). */
#pragma once

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

typedef enum {
    BASE_OPT_INT,
    BASE_OPT_DOUBLE,
    BASE_OPT_BOOL,
    BASE_OPT_STRING,
    BASE_OPT_ENUM,
    BASE_OPT_JSON,
    BASE_OPT_STRV,
} base_opt_type;

enum {
    BASE_OPT_NULLABLE = 1 << 0,   /* null / "auto" allowed, meaning "resolve later" */
    BASE_OPT_NOT_IMPL = 1 << 1,   /* accepted by the schema but rejected: "not implemented yet" */
    BASE_OPT_CLI_ONLY = 1 << 2,   /* a flag with no JSON key (path is still used as its id) */
    BASE_OPT_HIDDEN = 1 << 3,     /* not listed in --help */
    BASE_OPT_NARGS_PLUS = 1 << 4, /* STRV: the arguments after the value that do not start
                                     with '-' are values too (argparse's nargs="+") */
};

#define BASE_OPT_UNSET_INT INT64_MIN

typedef struct base_opt {
    const char *path; /* JSON path, e.g. "scheduler.max_num_seqs" */
    const char *flag; /* long flag without dashes, e.g. "max-num-seqs"; NULL = none. Other
                         spellings follow after '|', written as typed: "tensor-parallel-size|-tp",
                         "num-requests|--num-prompts" (vLLM's short and bench names) */
    base_opt_type type;
    size_t offset;              /* offset of the value in the module struct */
    const char *def;            /* default, written as on the command line; NULL = unset */
    const char *const *choices; /* ENUM: NULL-terminated allowed values */
    double min, max;            /* INT/DOUBLE range, checked when min < max */
    unsigned flags;
    const char *metavar; /* e.g. "N", "FILE" */
    const char *help;
} base_opt;

typedef struct base_opt_table {
    const char *title; /* help section title */
    const base_opt *opts;
    size_t n;
    size_t base_offset; /* where the module struct sits inside the composite struct */
} base_opt_table;

typedef struct base_opt_set {
    const base_opt_table *tables;
    size_t n;
} base_opt_set;

/* Sets every field to its default. The struct must be zeroed or cleared before. */
void base_opts_defaults(const base_opt_set *set, void *obj);
/* Frees owned values and zeroes them. */
void base_opts_clear(const base_opt_set *set, void *obj);
/* Deep copy of every value from SRC into DST (DST must be cleared). */
void base_opts_copy(const base_opt_set *set, void *dst, const void *src);

/* Applies ROOT (a JSON object) on top of OBJ. FILE names the source in messages:
 * "FILE: scheduler.max_num_seqs: expected an integer, got string". */
gboolean base_opts_load_json(
    const base_opt_set *set, void *obj, json_t *root, const char *file, GError **error);

/* Applies flags from ARGV[0..ARGC) (ARGV[0] is not skipped). Accepted forms: --name VALUE,
 * --name=VALUE, and for booleans --name, --no-name, --name=true|false; an alias spelled with
 * one dash (-tp 4, -tp=4) works the same way. Non-flag arguments are
 * appended to POSITIONAL (borrowed pointers into ARGV). "--" ends flag parsing. An unknown
 * flag is an error with close matches. */
gboolean base_opts_parse_args(const base_opt_set *set,
                              void *obj,
                              int argc,
                              char **argv,
                              GPtrArray *positional,
                              GError **error);

/* Sets one value from its command-line text form (the same parser the flags use). */
gboolean base_opts_set_string(
    const base_opt_set *set, void *obj, const char *path, const char *value, GError **error);

/* Serialises every JSON-visible value as a nested object in table order. transfer full. */
json_t *base_opts_to_json(const base_opt_set *set, const void *obj);

/* Appends flag help (one line per flag, grouped by table title). */
void base_opts_help(const base_opt_set *set, GString *out);
/* The same without the flags named in SKIP (primary names without "--", NULL-terminated):
 * for a command whose own flag of that name takes precedence over the run flag. */
void base_opts_help_except(const base_opt_set *set, const char *const *skip, GString *out);

/* Finds a row by JSON path; *BASE_OFFSET receives its table's offset. */
const base_opt *base_opts_find(const base_opt_set *set, const char *path, size_t *base_offset);
/* True if the value at PATH is not unset. */
bool base_opts_is_set(const base_opt_set *set, const void *obj, const char *path);

/* Typed accessors for a row inside OBJ (for generic code). */
static inline void *
base_opt_ptr(void *obj, size_t base_offset, const base_opt *o)
{
    return (char *)obj + base_offset + o->offset;
}

static inline const void *
base_opt_cptr(const void *obj, size_t base_offset, const base_opt *o)
{
    return (const char *)obj + base_offset + o->offset;
}
