/* sweep/search.c: search dimensions and their modelling gaps, the GPU price table, and the
 * final ranking / Pareto marking of a search table (see search.h). */
#include "sweep/search.h"

#include <math.h>
#include <string.h>

#include "base/asset.h"
#include "base/csv.h"
#include "base/json.h"
#include "sweep/axes.h"
#include "sweep/pareto.h"

const sw_search_dim sw_search_dims[] = {
    {"hardware", "hardware.name", NULL, NULL},
    {"tp", "parallelism.tensor_parallel_size", "1", NULL},
    {"pp", "parallelism.pipeline_parallel_size", "1", NULL}, /* stages in flight (§5b) */
    {"dp", "parallelism.data_parallel_size", "1", NULL},     /* engine cores per replica */
    {"ep", "parallelism.enable_expert_parallel", "false", NULL},
    {"replicas", "cluster.replicas", "1", NULL},
    {"max_num_seqs", "scheduler.max_num_seqs", NULL, NULL},
    {"max_num_batched_tokens", "scheduler.max_num_batched_tokens", NULL, NULL},
    {"chunked_prefill", "scheduler.enable_chunked_prefill", "true", NULL},
    /* virtual: `search` applies a split itself (tools/cmd_search.c), as it also sets the
     * replica counts and the GPUs of both pools */
    {"pd", NULL, "none", NULL},
};
const size_t sw_search_ndims = G_N_ELEMENTS(sw_search_dims);

const sw_search_dim *
sw_search_dim_find(const char *name)
{
    for (size_t i = 0; i < sw_search_ndims; i++)
        if (strcmp(sw_search_dims[i].name, name) == 0 ||
            (sw_search_dims[i].path != NULL && strcmp(sw_search_dims[i].path, name) == 0))
            return &sw_search_dims[i];
    return NULL;
}

/* ---- prices ---------------------------------------------------------------------------- */

#define PRICES_FORMAT "servesim-prices/1"
#define PRICES_ASSET  "prices/gpu-prices.json"

struct sw_prices {
    GHashTable *usd; /* name → double * (lookups only) */
    json_t *date;    /* as in the file */
    json_t *sources;
};

void
sw_prices_free(sw_prices *p)
{
    if (p == NULL)
        return;
    g_hash_table_unref(p->usd);
    json_decref(p->date);
    json_decref(p->sources);
    g_free(p);
}

static gboolean
put_price(sw_prices *p, const char *name, double usd, const char *where, GError **error)
{
    if (!isfinite(usd) || usd < 0) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "%s: the price of %s must be a number of USD ≥ 0", where, name);
        return FALSE;
    }
    double *v = g_new(double, 1);
    *v = usd;
    g_hash_table_replace(p->usd, g_strdup(name), v);
    return TRUE;
}

sw_prices *
sw_prices_load(const char *path, GError **error)
{
    json_auto_t *j = NULL;
    const char *name = path != NULL ? path : PRICES_ASSET;
    if (path != NULL) {
        j = base_json_load_file(path, error);
    } else {
        g_autoptr(GBytes) b = base_asset_bytes(PRICES_ASSET, error);
        if (b != NULL) {
            size_t n;
            const void *d = g_bytes_get_data(b, &n);
            j = base_json_load_bytes(name, d, n, error);
        }
    }
    if (j == NULL)
        return NULL;
    const char *fmt = json_string_value(json_object_get(j, "format"));
    json_t *prices = json_object_get(j, "prices");
    if (fmt == NULL || strcmp(fmt, PRICES_FORMAT) != 0 || !json_is_object(prices)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "%s: expected {\"format\": \"%s\", \"prices\": {NAME: {\"usd_per_gpu_hour\": "
                    "X}, ...}}",
                    name, PRICES_FORMAT);
        return NULL;
    }
    g_autoptr(sw_prices) p = g_new0(sw_prices, 1);
    p->usd = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    p->date = json_incref(json_object_get(j, "date") ? json_object_get(j, "date") : json_null());
    p->sources =
        json_incref(json_object_get(j, "sources") ? json_object_get(j, "sources") : json_null());
    const char *key;
    json_t *v;
    json_object_foreach(prices, key, v) {
        g_autofree char *where = g_strdup_printf("%s: prices.%s", name, key);
        const json_t *x = json_is_object(v) ? json_object_get(v, "usd_per_gpu_hour") : v;
        if (!json_is_number(x)) {
            g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: expected {\"usd_per_gpu_hour\": X}",
                        where);
            return NULL;
        }
        if (!put_price(p, key, json_number_value(x), where, error))
            return NULL;
    }
    return g_steal_pointer(&p);
}

gboolean
sw_prices_set(sw_prices *p, const char *spec, GError **error)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "--price %s: expected HARDWARE=USD per GPU-hour, e.g. h100-sxm=2.99/h", spec);
        return FALSE;
    }
    g_autofree char *name = g_strndup(spec, (size_t)(eq - spec));
    g_autofree char *num = g_strdup(eq + 1);
    char *slash = strchr(num, '/');
    if (slash != NULL) {
        if (strcmp(slash, "/h") != 0 && strcmp(slash, "/hr") != 0 && strcmp(slash, "/hour") != 0) {
            g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                        "--price %s: prices are per GPU-hour (write USD or USD/h)", spec);
            return FALSE;
        }
        *slash = '\0';
    }
    double usd;
    if (!base_parse_double(num, &usd)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "--price %s: '%s' is not a number", spec,
                    num);
        return FALSE;
    }
    g_autofree char *where = g_strdup_printf("--price %s", spec);
    return put_price(p, name, usd, where, error);
}

double
sw_prices_get(const sw_prices *p, const char *hardware)
{
    const double *v = hardware != NULL ? g_hash_table_lookup(p->usd, hardware) : NULL;
    return v != NULL ? *v : (double)NAN;
}

static gint
by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *
sw_prices_to_json(const sw_prices *p)
{
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, p->usd);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(keys, k);
    g_ptr_array_sort(keys, by_name); /* hash order is undefined: sort before output */
    json_t *pr = json_object();
    for (guint i = 0; i < keys->len; i++)
        json_object_set_new(pr, keys->pdata[i], base_json_real(sw_prices_get(p, keys->pdata[i])));
    json_t *o = json_object();
    json_object_set(o, "date", p->date);
    json_object_set(o, "sources", p->sources);
    json_object_set_new(o, "usd_per_gpu_hour", pr);
    return o;
}

/* ---- final table --------------------------------------------------------------------- */

static double
num(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

static json_int_t
point_of(const json_t *row)
{
    return json_integer_value(json_object_get(row, "point"));
}

static gint
by_rank(gconstpointer a, gconstpointer b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    bool okx = json_is_integer(json_object_get(x, "rank"));
    bool oky = json_is_integer(json_object_get(y, "rank"));
    if (okx != oky)
        return okx ? -1 : 1;
    json_int_t kx = okx ? json_integer_value(json_object_get(x, "rank")) : point_of(x);
    json_int_t ky = oky ? json_integer_value(json_object_get(y, "rank")) : point_of(y);
    return (kx > ky) - (kx < ky);
}

static gint
by_tput(gconstpointer a, gconstpointer b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    double tx = num(x, "output_throughput_per_gpu"), ty = num(y, "output_throughput_per_gpu");
    if (isnan(tx) != isnan(ty))
        return isnan(tx) ? 1 : -1;
    if (!isnan(tx) && tx != ty)
        return tx > ty ? -1 : 1;
    return (point_of(x) > point_of(y)) - (point_of(x) < point_of(y));
}

gboolean
sw_search_finalize(const json_t *meta, GPtrArray *rows, GError **error)
{
    (void)meta;
    (void)error;
    size_t n = rows->len;
    g_autofree bool *ok = g_new0(bool, n + 1);
    g_autofree double *tput = g_new0(double, n + 1);
    g_autofree double *ttft = g_new0(double, n + 1);
    g_autofree double *tpot = g_new0(double, n + 1);
    g_autofree double *cost = g_new0(double, n + 1);
    g_autofree double *e2el = g_new0(double, n + 1);
    for (size_t i = 0; i < n; i++) {
        const json_t *r = rows->pdata[i];
        const char *st = json_string_value(json_object_get(r, "status"));
        ok[i] = st != NULL && strcmp(st, "ok") == 0;
        tput[i] = num(r, "output_throughput_per_gpu");
        ttft[i] = num(r, "ttft_p99_ms");
        tpot[i] = num(r, "tpot_p99_ms");
        cost[i] = num(r, "usd_per_m_output_tokens");
        e2el[i] = num(r, "e2el_p99_ms");
    }
    static const char *const marks[3] = {"pareto_tput_ttft", "pareto_tput_tpot",
                                         "pareto_cost_e2el"};
    g_autofree bool *front = g_new0(bool, 3 * n + 1);
    sw_pareto_front(n, (sw_objective){tput, true}, (sw_objective){ttft, false}, ok, front);
    sw_pareto_front(n, (sw_objective){tput, true}, (sw_objective){tpot, false}, ok, front + n);
    sw_pareto_front(n, (sw_objective){cost, false}, (sw_objective){e2el, false}, ok, front + 2 * n);
    g_autoptr(GPtrArray) ranked = g_ptr_array_new();
    for (size_t i = 0; i < n; i++) {
        json_t *r = rows->pdata[i];
        for (int m = 0; m < 3; m++)
            json_object_set_new(r, marks[m], ok[i] ? json_boolean(front[m * n + i]) : json_null());
        json_object_set_new(r, "rank", json_null());
        if (ok[i])
            g_ptr_array_add(ranked, r);
    }
    g_ptr_array_sort(ranked, by_tput);
    for (guint i = 0; i < ranked->len; i++)
        json_object_set_new(ranked->pdata[i], "rank", json_integer((json_int_t)i + 1));
    g_ptr_array_sort(rows, by_rank);
    return TRUE;
}
