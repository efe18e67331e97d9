/* sweep/axes.h: the axes of a sweep or search grid. Any setting of the settings schema
 * (base/opts.h tables: sim_config's for `sweep` and `search`) can be an axis, named by its JSON
 * path (workload.rate), its flag (max-num-seqs), its last path component (max_num_seqs) or a
 * short alias (tp, pp, dp, ep). Settings that cannot vary per point are refused: outputs.*,
 * lists and JSON values, "not implemented" rows, command-line-only rows.
 *
 * Value syntax (one axis: NAME=VALUES):
 *   a,b,c            a list (any type; each value in the flag's text form, "auto" allowed
 *                    where the flag allows it)
 *   START:STOP:STEP  an arithmetic range, STOP included when it falls on the grid (numbers)
 *   START:STOP:xF    a geometric range (×F each step, F > 1)
 *   a,b,...,z        the progression a,b (arithmetic) continued up to z; with three or more
 *                    values before "..." they must be arithmetic or geometric (1,2,4,...,256)
 * Values are validated as the flag would validate them (range, enum choices) and must be
 * distinct.
 *
 * A grid is the Cartesian product of its axes, in the order they were given: point i has
 * coordinates in row-major order (the last axis varies fastest), so the point list and its
 * numbering depend only on the definition.
 * Ownership: a grid owns its axes and their value strings; rows (base_opt) are borrowed from
 * the schema, which must outlive the grid. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "base/opts.h"

#define SW_ERROR (sw_error_quark())
GQuark sw_error_quark(void);

typedef enum {
    SW_ERROR_INVALID, /* a bad definition: unknown axis, bad values, bad SLO, bad shard */
    SW_ERROR_MERGE,   /* shard files that do not belong together */
    SW_ERROR_IO,
} sw_error_code;

typedef struct sw_axis {
    char *name;          /* as written by the user */
    char *path;          /* the setting's JSON path (or a virtual dimension's name) */
    const base_opt *opt; /* borrowed; NULL for a virtual dimension (see sw_grid_add_virtual) */
    char **values;       /* text forms, NULL-terminated */
    guint nvalues;       /* ≥ 1 */
} sw_axis;

typedef struct sw_grid sw_grid;

sw_grid *sw_grid_new(void);
void sw_grid_free(sw_grid *g); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sw_grid, sw_grid_free)

/* Resolves NAME to a row of SET that may be an axis; *PATH receives its JSON path. An unknown
 * name is an error with close matches; a setting that cannot be an axis says why. */
const base_opt *
sw_axis_resolve(const base_opt_set *set, const char *name, const char **path, GError **error);

/* Adds the axis "NAME=VALUES" (syntax above). SCRATCH is a configuration of SET's struct that
 * each value is applied to once to validate it (its contents are clobbered). An axis given
 * twice is an error. */
gboolean
sw_grid_add(sw_grid *g, const base_opt_set *set, void *scratch, const char *spec, GError **error);
/* Adds the axis SETTING=VALUES shown (in outputs and messages) as NAME. */
gboolean sw_grid_add_as(sw_grid *g,
                        const base_opt_set *set,
                        void *scratch,
                        const char *name,
                        const char *setting,
                        const char *values,
                        GError **error);
/* Adds an axis that is no setting (yet): NAME with VALUES as given (e.g. search's PD split). */
gboolean
sw_grid_add_virtual(sw_grid *g, const char *name, const char *const *values, GError **error);

guint sw_grid_naxes(const sw_grid *g);
const sw_axis *sw_grid_axis(const sw_grid *g, guint i);
/* The axis whose path is PATH, or NULL. */
const sw_axis *sw_grid_find(const sw_grid *g, const char *path);
/* Number of points (1 for a grid with no axes). Adding axes whose product exceeds 10^7
 * points is an error. */
uint64_t sw_grid_npoints(const sw_grid *g);
/* Value of axis A at point I (borrowed). */
const char *sw_grid_value(const sw_grid *g, uint64_t i, guint a);
/* Sets every (non-virtual) axis value of point I on OBJ (a configuration of SET). */
gboolean
sw_grid_apply(const sw_grid *g, const base_opt_set *set, void *obj, uint64_t i, GError **error);
/* [{"axis": PATH, "values": [...]}, ...] in axis order. transfer full. */
json_t *sw_grid_to_json(const sw_grid *g);

/* Expands the VALUES part of an axis for row O (exposed for tests). Returns a NULL-terminated
 * list of text forms, or NULL with ERROR. WHERE names the axis in messages. */
char **sw_values_expand(const base_opt *o, const char *where, const char *values, GError **error);

/* The value of setting PATH in OBJ in the canonical text form axes use ("auto" when unset).
 * transfer full; NULL if PATH is not in SET. */
char *sw_setting_text(const base_opt_set *set, const void *obj, const char *path);

/* "K/N" with 1 ≤ K ≤ N: this process runs the points i with i mod N = K − 1. */
gboolean sw_shard_parse(const char *spec, uint32_t *k, uint32_t *n, GError **error);
