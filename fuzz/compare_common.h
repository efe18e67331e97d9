/* fuzz/compare_common.h: what the compare harnesses (fuzz/fuzz_cmp_*.c) share, header-only so
 * fuzz/CMakeLists.txt's glob of fuzz_*.c needs no new library: read PATH as a measured result
 * (KIND forced, or NULL = detected) with and without keep_going, and for every result read,
 * rebuild its run with no flags, mirror nothing (no simulation: a harness must stay fast) and
 * compare it with itself as a version regression. Each call obeys the error contract of
 * fuzz/fuzz.h (fz_check_error). The harnesses link the compare library (libyaml included). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "compare/compare.h"
#include "fuzz/fuzz.h"

static inline void
fzc_results(GPtrArray *rs)
{
    for (guint i = 0; i < rs->len; i++) {
        const cmp_result *r = g_ptr_array_index(rs, i);
        g_assert(cmp_metrics_any(&r->m));
        cmp_run run;
        GError *e = NULL;
        gboolean ok = cmp_rebuild(r, 0, NULL, &run, &e);
        fz_check_error("cmp_rebuild", !ok, &e);
        if (ok) {
            g_assert(run.requests == NULL || run.req_index != NULL);
            cmp_run_clear(&run);
        }
        cmp_regression *g = cmp_regress(r, r, 1, 20);
        g_autoptr(GString) t = g_string_new(NULL);
        cmp_regress_text(t, g);
        json_t *j = cmp_regress_json(g);
        json_decref(j);
        cmp_regression_free(g);
    }
}

static inline void
fzc_read(const char *path, const char *kind)
{
    for (int keep = 0; keep < 2; keep++) {
        g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
        uint64_t skipped = 0;
        cmp_read_opts o = {
            .kind = kind, .keep_going = keep, .seed = 1, .skipped = &skipped, .warnings = warnings};
        GError *e = NULL;
        gboolean ok = cmp_read(path, &o, rs, &e);
        fz_check_error("cmp_read", !ok, &e);
        g_assert(ok || rs->len == 0);
        g_assert(skipped == warnings->len);
        if (ok)
            fzc_results(rs);
    }
}
