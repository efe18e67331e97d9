/* tests/workloads/wlt.c: see wlt.h. */
#include "wlt.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "base/opts.h"

wl_source *
wlt_openv(uint64_t seed, int64_t max_model_len, const char *const *argv, GError **error)
{
    const base_opt_set set = {&wl_options_table, 1};
    wl_options o;
    memset(&o, 0, sizeof o);
    base_opts_defaults(&set, &o);
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    wl_source *s = NULL;
    g_autoptr(GPtrArray) copy =
        g_ptr_array_new_with_free_func(g_free); /* parse_args wants char ** */
    for (int i = 0; i < argc; i++)
        g_ptr_array_add(copy, g_strdup(argv[i]));
    if (base_opts_parse_args(&set, &o, argc, (char **)copy->pdata, NULL, error)) {
        wl_open_params p = {seed, max_model_len};
        s = wl_open(&o, &p, error);
    }
    base_opts_clear(&set, &o);
    return s;
}

wl_source *
wlt_open(uint64_t seed, int64_t max_model_len, GError **error, ...)
{
    va_list ap;
    va_start(ap, error);
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    const char *s;
    while ((s = va_arg(ap, const char *)) != NULL)
        g_ptr_array_add(a, g_strdup(s));
    va_end(ap);
    g_ptr_array_add(a, NULL);
    wl_source *src = wlt_openv(seed, max_model_len, (const char *const *)a->pdata, error);
    g_ptr_array_free(a, TRUE);
    return src;
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

int
wlt_drain(wl_source *s, wlt_stats *st, GError **error)
{
    memset(st, 0, sizeof *st);
    st->sorted = st->consistent = true;
    wl_request r;
    int rc;
    int64_t prev = INT64_MIN;
    while ((rc = wl_source_next(s, &r, error)) == 1) {
        if (st->n == 0)
            st->first_ns = r.arrival_ns;
        st->last_ns = r.arrival_ns;
        if (r.arrival_ns < prev)
            st->sorted = false;
        prev = r.arrival_ns;
        uint64_t sum = 0;
        uint64_t h = st->digest;
        for (uint32_t i = 0; i < r.nsegments; i++) {
            sum += r.segments[i].tokens;
            h = mix(mix(h, r.segments[i].content_id), r.segments[i].tokens);
        }
        if (sum != r.prompt_tokens || r.nsegments == 0 || r.id != st->n || r.output_tokens == 0)
            st->consistent = false;
        h = mix(h, (uint64_t)r.arrival_ns);
        h = mix(h, r.prompt_tokens);
        h = mix(h, r.output_tokens);
        h = mix(h, r.session_id);
        h = mix(h, r.turn);
        h = mix(h, (uint64_t)r.think_ns);
        h = mix(h, r.stage);
        h = mix(h, r.output_content_id);
        st->digest = h;
        st->n++;
        st->prompt += r.prompt_tokens;
        st->output += r.output_tokens;
        st->segments += r.nsegments;
    }
    return rc;
}

char *
wlt_tmp(const char *suffix, const char *contents, bool gz)
{
    g_autofree char *tmpl = g_strdup_printf("servesim-wl-XXXXXX%s", suffix);
    char *path = NULL;
    int fd = g_file_open_tmp(tmpl, &path, NULL);
    g_assert(fd >= 0);
    if (gz) {
        gzFile z = gzdopen(fd, "wb");
        gzwrite(z, contents, (unsigned)strlen(contents));
        gzclose(z);
    } else {
        size_t n = strlen(contents);
        g_assert(write(fd, contents, n) == (ssize_t)n);
        close(fd);
    }
    return path;
}
