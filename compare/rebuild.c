/* compare/rebuild.c: a servesim run from what a measured result records. Layers, each on top
 * of the one before: servesim's defaults; the record (a servesim export's own configuration,
 * or the model and hardware names mapped to presets plus the settings the reader fixed); the
 * flags (run's flags: a flag wins over the record, and the override is listed). Every key
 * setting the record does not fix is listed as unrecorded, so the report can print the value
 * the simulation used. Nothing here simulates: the result borrows the record's requests, so
 * one rebuild can be simulated many times (an optimiser changes cfg.tm between runs). */
#include <stdlib.h>
#include <string.h>

#include "base/match.h"
#include "base/opts.h"
#include "compare/internal.h"

/* Settings whose value matters to the comparison; unrecorded ones are reported with their
 * simulated value. */
static const char *const key_settings[] = {"parallelism.tensor_parallel_size",
                                           "cluster.replicas",
                                           "scheduler.max_num_seqs",
                                           "scheduler.max_num_batched_tokens",
                                           "scheduler.max_model_len",
                                           "scheduler.enable_chunked_prefill",
                                           "kv.enable_prefix_caching",
                                           "kv.block_size",
                                           "kv.gpu_memory_utilization",
                                           "kv.num_gpu_blocks_override",
                                           "model.dtype",
                                           "timemodel.calibration",
                                           NULL};

/* Settings that describe the load: without a recorded load, one of them must be given. */
static const char *const load_settings[] = {"workload.rate", "workload.max_concurrency",
                                            "workload.clients", "workload.stages", NULL};

void
cmp_run_clear(cmp_run *run)
{
    if (run == NULL)
        return;
    sim_config_clear(&run->cfg);
    if (run->assumptions != NULL)
        g_ptr_array_unref(run->assumptions);
    if (run->overrides != NULL)
        g_ptr_array_unref(run->overrides);
    if (run->unrecorded != NULL)
        g_ptr_array_unref(run->unrecorded);
    g_free(run->model);
    g_free(run->hardware);
    memset(run, 0, sizeof *run);
}

/* Does FLAG (a row's flag field, possibly "name|-alias|--alias") name NAME? */
static bool
flag_matches(const char *flag, const char *name)
{
    g_auto(GStrv) parts = g_strsplit(flag, "|", -1);
    for (char **p = parts; *p != NULL; p++) {
        const char *f = *p;
        while (*f == '-')
            f++;
        if (strcmp(f, name) == 0)
            return true;
    }
    return false;
}

/* JSON paths of the settings ARGV sets explicitly (path -> the argument as given). */
static GHashTable *
explicit_paths(int argc, char **argv)
{
    GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    const base_opt_set *set = sim_config_schema();
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (a[0] != '-' || a[1] == '\0')
            continue;
        const char *n = a + (a[1] == '-' ? 2 : 1);
        g_autofree char *name = g_strdup(n);
        char *eq = strchr(name, '=');
        if (eq != NULL)
            *eq = '\0';
        const char *bare = g_str_has_prefix(name, "no-") ? name + 3 : name;
        for (size_t t = 0; t < set->n; t++)
            for (size_t k = 0; k < set->tables[t].n; k++) {
                const base_opt *o = &set->tables[t].opts[k];
                if (o->flag == NULL ||
                    !(flag_matches(o->flag, name) || flag_matches(o->flag, bare)))
                    continue;
                bool takes_value = o->type != BASE_OPT_BOOL && eq == NULL && i + 1 < argc;
                g_autofree char *shown =
                    takes_value ? g_strdup_printf("%s %s", a, argv[i + 1]) : g_strdup(a);
                g_hash_table_replace(h, g_strdup(o->path), base_escape_text(shown, 80));
            }
    }
    return h;
}

static char *
compact(const json_t *v)
{
    if (json_is_string(v))
        return g_strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
}

static gboolean
load_settings_json(sim_config *cfg, const json_t *settings, const char *where, GError **error)
{
    json_auto_t *copy = json_deep_copy(settings);
    GError *e = NULL;
    if (!base_opts_load_json(sim_config_schema(), cfg, copy, where, &e)) {
        cmp__propagate(error, e);
        return FALSE;
    }
    return TRUE;
}

/* The engine profile a recorded vLLM version ran as (sim/profile.c, docs/design.md §5b): releases
 * before 0.14 schedule synchronously (vllm-0.11), 0.14 and later overlap scheduling with the
 * forward pass (vllm-0.15). NULL when no "0.N" version can be read. static */
static const char *
engine_profile_for(const char *recorded)
{
    for (const char *c = recorded; c != NULL && *c != '\0'; c++) {
        if (c[0] != '0' || c[1] != '.' || !g_ascii_isdigit(c[2]) ||
            (c > recorded && g_ascii_isdigit(c[-1])))
            continue;
        long minor = strtol(c + 2, NULL, 10);
        return minor < 14 ? "vllm-0.11" : "vllm-0.15";
    }
    return NULL;
}

/* Model or hardware: the flag, else the recorded name mapped to a preset, else the default. */
static gboolean
pick_name(cmp_run *out,
          GHashTable *explicit,
          const char *path,
          const char *recorded,
          char *(*map)(const char *),
          char **slot,
          const char *what,
          const char *flag,
          const char *where,
          GError **error)
{
    if (g_hash_table_contains(explicit, path))
        return TRUE; /* the flag, applied below */
    if (recorded == NULL) {
        g_ptr_array_add(out->assumptions,
                        g_strdup_printf("%s not recorded: %s (servesim's default; pass %s)", what,
                                        *slot, flag));
        return TRUE;
    }
    char *preset = map(recorded);
    if (preset == NULL) {
        g_autofree char *shown = base_escape_text(recorded, 80);
        cmp__error(error, CMP_ERROR_INVALID,
                   "%s: %s '%s' is not a servesim preset (pass %s; `servesim presets` lists "
                   "them)",
                   where, what, shown, flag);
        return FALSE;
    }
    if (strcmp(preset, recorded) != 0) {
        g_autofree char *shown = base_escape_text(recorded, 80);
        g_ptr_array_add(out->assumptions,
                        g_strdup_printf("%s '%s' simulated as the preset %s", what, shown, preset));
    }
    g_free(*slot);
    *slot = preset;
    return TRUE;
}

static gboolean
rebuild(const cmp_result *m, int argc, char **argv, cmp_run *out, GError **error)
{
    g_autoptr(GHashTable) explicit = explicit_paths(argc, argv);
    const cmp_record *rec = &m->rec;
    const json_t *recorded = rec->servesim != NULL ? rec->servesim : rec->settings;
    if (rec->servesim != NULL) {
        if (!load_settings_json(&out->cfg, rec->servesim, m->where, error))
            return FALSE;
        /* a relative workload path was relative to where servesim ran: try next to the file */
        char *src = out->cfg.wl.source;
        if (src != NULL && !g_path_is_absolute(src) && !g_file_test(src, G_FILE_TEST_EXISTS)) {
            g_autofree char *dir = g_file_test(m->where, G_FILE_TEST_IS_DIR)
                                       ? g_strdup(m->where)
                                       : g_path_get_dirname(m->where);
            char *rel = cmp__find_file(src, dir);
            if (rel != NULL) {
                g_free(out->cfg.wl.source);
                out->cfg.wl.source = rel;
            }
        }
        g_ptr_array_add(out->assumptions,
                        g_strdup("every setting from the servesim configuration in the result"));
    } else {
        if (!pick_name(out, explicit, "model.name", rec->model, cmp__model_preset,
                       &out->cfg.tm.model, "model", "--model", m->where, error) ||
            !pick_name(out, explicit, "hardware.name", rec->hardware, cmp__hardware_preset,
                       &out->cfg.tm.hardware, "hardware", "--hardware", m->where, error))
            return FALSE;
        if (!load_settings_json(&out->cfg, rec->settings, m->where, error))
            return FALSE;
        const char *profile = engine_profile_for(rec->engine);
        if (profile != NULL && !g_hash_table_contains(explicit, "engine.profile")) {
            if (!base_opts_set_string(sim_config_schema(), &out->cfg, "engine.profile", profile,
                                      error))
                return FALSE;
            g_autofree char *shown = base_escape_text(rec->engine, 80);
            g_ptr_array_add(out->assumptions,
                            g_strdup_printf("engine '%s' simulated with the engine profile %s "
                                            "(--engine)",
                                            shown, profile));
        } else if (rec->engine != NULL && profile == NULL &&
                   !g_hash_table_contains(explicit, "engine.profile")) {
            g_autofree char *shown = base_escape_text(rec->engine, 80);
            g_ptr_array_add(out->assumptions,
                            g_strdup_printf("engine '%s' has no vLLM version: the default engine "
                                            "profile (pass --engine)",
                                            shown));
        }
        if (rec->load_unknown) {
            bool given = false;
            for (size_t i = 0; load_settings[i] != NULL; i++)
                given |= g_hash_table_contains(explicit, load_settings[i]);
            if (!given) {
                cmp__error(error, CMP_ERROR_INVALID,
                           "%s: nothing records how the requests were sent (no send times, rate "
                           "or concurrency): give --rate R or --max-concurrency N",
                           m->where);
                return FALSE;
            }
        }
        for (size_t i = 0; key_settings[i] != NULL; i++)
            if (cmp__path(rec->settings, key_settings[i]) == NULL &&
                !g_hash_table_contains(explicit, key_settings[i]))
                g_ptr_array_add(out->unrecorded, g_strdup(key_settings[i]));
    }
    if (rec->unmodeled != NULL && !(rec->unmodeled_unless != NULL &&
                                    g_hash_table_contains(explicit, rec->unmodeled_unless))) {
        cmp__error(error, CMP_ERROR_UNMODELED, "%s: %s", m->where, rec->unmodeled);
        return FALSE;
    }
    GError *e = NULL;
    if (!sim_config_parse_args(&out->cfg, NULL, argc, argv, NULL, &e)) {
        cmp__propagate(error, e);
        return FALSE;
    }
    /* overrides, in a fixed order */
    g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(explicit), (GCompareFunc)strcmp);
    for (GList *k = keys; k != NULL; k = k->next) {
        const char *path = k->data;
        const json_t *v = cmp__path(recorded, path);
        g_autofree char *was = NULL;
        if (rec->unmodeled != NULL && rec->unmodeled_unless != NULL &&
            strcmp(path, rec->unmodeled_unless) == 0)
            was = g_strdup(rec->unmodeled);
        else if (v != NULL)
            was = json_is_null(v) ? g_strdup("unset (auto)") : compact(v);
        if (was == NULL && strcmp(path, "model.name") == 0 && rec->model != NULL)
            was = g_strdup(rec->model);
        if (was == NULL && strcmp(path, "hardware.name") == 0 && rec->hardware != NULL)
            was = g_strdup(rec->hardware);
        if (was != NULL) {
            g_autofree char *shown = base_escape_text(was, 80);
            g_ptr_array_add(out->overrides,
                            g_strdup_printf("%s replaces the recorded %s",
                                            (char *)g_hash_table_lookup(explicit, path), shown));
        }
    }
    for (guint i = 0; i < rec->assumed->len; i++)
        g_ptr_array_add(out->assumptions, g_strdup(g_ptr_array_index(rec->assumed, i)));
    if (rec->requests != NULL && rec->servesim == NULL) {
        out->requests = rec->requests;
        out->req_index = rec->req_index;
    }
    out->model = g_strdup(out->cfg.tm.model);
    out->hardware = g_strdup(out->cfg.tm.hardware);
    return TRUE;
}

gboolean
cmp_rebuild(const cmp_result *m, int argc, char **argv, cmp_run *out, GError **error)
{
    g_return_val_if_fail(m != NULL && out != NULL, FALSE);
    memset(out, 0, sizeof *out);
    sim_config_init(&out->cfg);
    out->assumptions = g_ptr_array_new_with_free_func(g_free);
    out->overrides = g_ptr_array_new_with_free_func(g_free);
    out->unrecorded = g_ptr_array_new_with_free_func(g_free);
    if (!rebuild(m, argc, argv, out, error)) {
        cmp_run_clear(out);
        return FALSE;
    }
    return TRUE;
}
