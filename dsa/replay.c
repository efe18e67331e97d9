/* dsa/replay.c: tier replay over a record stream (see replay.h). Hot buffers are keyed by
 * (request, layer); the eviction of idle pairs is by last use, so a long capture streams in
 * bounded memory. */
#include "dsa/replay.h"

#include <stdlib.h>
#include <string.h>

#include "dsa/select.h"

typedef struct pair {
    uint64_t key[2];
    uint64_t last_step;
    uint64_t last_use; /* record counter */
    dsa_hotbuf hb;
} pair;

struct dsa_replay {
    dsa_tiers t;
    GHashTable *pairs; /* key → pair* */
    dsa_tier_scratch scratch;
    uint32_t *sorted;
    uint32_t cap;
    uint64_t records, gaps, restarted;
};

static guint
key_hash(gconstpointer k)
{
    const uint64_t *x = k;
    return (guint)((x[0] * UINT64_C(0x9E3779B97F4A7C15)) ^ x[1]);
}

static gboolean
key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, 2 * sizeof(uint64_t)) == 0;
}

static void
pair_free(gpointer p)
{
    pair *x = p;
    dsa_hotbuf_clear(&x->hb);
    g_free(x);
}

dsa_replay *
dsa_replay_new(const dsa_tiers *t)
{
    dsa_replay *r = g_new0(dsa_replay, 1);
    r->t = *t;
    r->pairs = g_hash_table_new_full(key_hash, key_equal, NULL, pair_free);
    return r;
}

void
dsa_replay_free(dsa_replay *r)
{
    if (r == NULL)
        return;
    g_hash_table_destroy(r->pairs);
    dsa_tier_scratch_clear(&r->scratch);
    g_free(r->sorted);
    g_free(r);
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Drops the older half of the pairs (by last use). */
static void
shrink(dsa_replay *r)
{
    guint n = g_hash_table_size(r->pairs);
    uint64_t *uses = g_new(uint64_t, n);
    GHashTableIter it;
    gpointer k, v;
    guint i = 0;
    g_hash_table_iter_init(&it, r->pairs);
    while (g_hash_table_iter_next(&it, &k, &v))
        uses[i++] = ((pair *)v)->last_use;
    qsort(uses, n, sizeof *uses, cmp_u64);
    uint64_t cut = uses[n / 2];
    g_free(uses);
    g_hash_table_iter_init(&it, r->pairs);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (((pair *)v)->last_use < cut) {
            g_hash_table_iter_remove(&it);
            r->restarted++;
        }
}

void
dsa_replay_record(dsa_replay *r, dsa_record *rec)
{
    r->records++;
    uint64_t key[2] = {rec->request_id, rec->layer_id};
    pair *p = g_hash_table_lookup(r->pairs, key);
    if (p != NULL && rec->step_idx <= p->last_step) {
        /* a repeat or an earlier step (a new request reusing an id): start cold */
        g_hash_table_remove(r->pairs, key);
        p = NULL;
    }
    if (p == NULL) {
        if (g_hash_table_size(r->pairs) >= DSA_REPLAY_MAX_PAIRS)
            shrink(r);
        p = g_new0(pair, 1);
        p->key[0] = key[0];
        p->key[1] = key[1];
        g_hash_table_insert(r->pairs, p->key, p);
    } else if (rec->step_idx > p->last_step + 1) {
        r->gaps++;
    }
    p->last_step = rec->step_idx;
    p->last_use = r->records;
    if (r->cap < rec->npos) {
        r->cap = rec->npos;
        r->sorted = g_renew(uint32_t, r->sorted, r->cap);
    }
    uint32_t n;
    const uint32_t *pos = dsa_sel_normalize(rec->pos, rec->npos, r->sorted, &n);
    r->t.block_size = rec->block_size_tokens;
    bool resident = r->t.hot_buffer_tokens < 0;
    dsa_fetch f[DSA_NTIERS];
    dsa_tiers_serve(&r->t, resident ? NULL : &p->hb, pos, n, rec->seq_len_current - 1, f,
                    &r->scratch);
    for (int k = 0; k < DSA_NTIERS; k++) {
        f[k].batch_size = rec->fetch[k].batch_size;
        rec->fetch[k] = f[k];
    }
}

json_t *
dsa_replay_json(const dsa_replay *r)
{
    json_t *o = json_object();
    dsa_tiers t = r->t;
    json_t *tj = dsa_tiers_to_json(&t);
    json_object_del(tj, "block_size_tokens"); /* each record's own */
    json_object_set_new(o, "tiers", tj);
    json_object_set_new(o, "records", json_integer((json_int_t)r->records));
    json_object_set_new(o, "step_gaps", json_integer((json_int_t)r->gaps));
    json_object_set_new(o, "restarted_pairs", json_integer((json_int_t)r->restarted));
    if (r->gaps > 0)
        json_object_set_new(o, "note",
                            json_string("the trace skips steps (sampled): hot buffers saw only "
                                        "the recorded steps, so hits are approximate"));
    return o;
}
