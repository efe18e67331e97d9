/* dsa/select.c: groups A/B of a record from its sorted positions in one pass: since positions
 * ascend, block ids ascend too, so unique blocks are runs of equal ids and tokens per block are
 * their lengths; the per-record percentiles of block token counts come from a histogram over
 * 1..block_size (no sort). */
#include "dsa/select.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

double
dsa_pct_sorted_u32(const uint32_t *x, uint32_t n, double p)
{
    g_assert(n > 0);
    double r = p / 100.0 * (double)(n - 1);
    uint32_t lo = (uint32_t)floor(r);
    uint32_t hi = lo + 1 < n ? lo + 1 : lo;
    double f = r - (double)lo;
    return (double)x[lo] + f * ((double)x[hi] - (double)x[lo]);
}

/* Value at 0-based rank I of the histogram's sorted values. */
static double
hist_at(const uint64_t *counts, size_t nv, uint64_t i)
{
    uint64_t seen = 0;
    for (size_t v = 0; v < nv; v++) {
        seen += counts[v];
        if (seen > i)
            return (double)v;
    }
    return (double)(nv > 0 ? nv - 1 : 0);
}

double
dsa_pct_hist(const uint64_t *counts, size_t nv, uint64_t total, double p)
{
    g_assert(total > 0);
    double r = p / 100.0 * (double)(total - 1);
    uint64_t lo = (uint64_t)floor(r);
    uint64_t hi = lo + 1 < total ? lo + 1 : lo;
    double a = hist_at(counts, nv, lo);
    double b = hi == lo ? a : hist_at(counts, nv, hi);
    return a + (r - (double)lo) * (b - a);
}

/* Percentile over HIST[1..max] (uint32 counters) of N values. */
static double
hist32_pct(const uint32_t *hist, uint32_t max, uint32_t n, double p)
{
    double r = p / 100.0 * (double)(n - 1);
    uint32_t lo = (uint32_t)floor(r), hi = lo + 1 < n ? lo + 1 : lo;
    double a = 0, b = 0;
    uint32_t seen = 0;
    bool got_a = false;
    for (uint32_t v = 1; v <= max; v++) {
        seen += hist[v];
        if (!got_a && seen > lo) {
            a = v;
            got_a = true;
        }
        if (seen > hi) {
            b = v;
            break;
        }
    }
    return a + (r - (double)lo) * (b - a);
}

void
dsa_sel_summarize(const uint32_t *pos,
                  uint32_t n,
                  uint32_t t,
                  uint32_t block_size,
                  uint32_t *block_ids,
                  uint32_t *block_tokens,
                  uint32_t *hist,
                  dsa_sel_stats *st)
{
    g_assert(block_size > 0);
    *st = (dsa_sel_stats){0};
    st->count = n;
    if (n == 0)
        return;
    st->offset_min = t - pos[n - 1];
    st->offset_max = t - pos[0];
    /* offsets ascending are t − pos[n−1−i] */
    double r = 0.5 * (double)(n - 1);
    uint32_t lo = (uint32_t)floor(r), hi = lo + 1 < n ? lo + 1 : lo;
    double olo = (double)(t - pos[n - 1 - lo]), ohi = (double)(t - pos[n - 1 - hi]);
    st->offset_p50 = olo + (r - (double)lo) * (ohi - olo);

    g_assert(pos[n - 1] <= t);
    /* one pass, no division per position: a block ends when a position reaches its end */
    uint32_t nb = 0, runs = 1, maxc = 0;
    uint32_t cur = pos[0] / block_size, c = 1;
    uint64_t end = ((uint64_t)cur + 1) * block_size;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t p = pos[i];
        runs += p != pos[i - 1] + 1;
        if (p >= end) {
            block_ids[nb] = cur;
            block_tokens[nb++] = c;
            hist[c]++;
            maxc = c > maxc ? c : maxc;
            cur = p / block_size;
            end = ((uint64_t)cur + 1) * block_size;
            c = 0;
        }
        c++;
    }
    block_ids[nb] = cur;
    block_tokens[nb++] = c;
    hist[c]++;
    maxc = c > maxc ? c : maxc;
    st->unique_blocks = nb;
    st->runs = runs;
    st->tpb_mean = (double)n / (double)nb;
    st->tpb_p50 = hist32_pct(hist, maxc, nb, 50);
    st->tpb_p95 = hist32_pct(hist, maxc, nb, 95);
    for (uint32_t i = 0; i < nb; i++)
        hist[block_tokens[i]] = 0;
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

const uint32_t *
dsa_sel_normalize(const uint32_t *pos, uint32_t n, uint32_t *scratch, uint32_t *nout)
{
    bool ascending = true;
    for (uint32_t i = 1; i < n && ascending; i++)
        ascending = pos[i] > pos[i - 1];
    *nout = n;
    if (ascending)
        return pos;
    memcpy(scratch, pos, n * sizeof *scratch);
    qsort(scratch, n, sizeof *scratch, cmp_u32);
    uint32_t w = 0;
    for (uint32_t i = 0; i < n; i++)
        if (w == 0 || scratch[i] != scratch[w - 1])
            scratch[w++] = scratch[i];
    *nout = w;
    return scratch;
}
