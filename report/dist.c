/* report/dist.c: bounded summaries of data that grow with the run: exact quantile points for
 * CDFs, histograms with printable edges, and time buckets with time-weighted sums. Whatever
 * the number of requests or steps, a CDF has rp__cdf_npcts points, a histogram at most
 * RP_HIST_MAX_BINS bins and a time series RP_BUCKETS buckets.
 *
 * Histogram edges are rounded to what the page prints (10 significant digits) before values
 * are counted, so a reader of the page who counts the source values between the printed
 * edges gets the printed counts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/internal.h"

/* Same ranks and arithmetic as sim/metrics.c (pct_ranks, pct_combine): the report's quantile
 * of a metric equals summary.json's wherever both exist. */
double
rp__quantile_i64(const int64_t *v, size_t n, double p)
{
    g_return_val_if_fail(n > 0, NAN);
    if (p <= 0.0)
        return (double)v[0];
    if (p >= 100.0)
        return (double)v[n - 1];
    double r = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(r);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double frac = r - (double)lo;
    double xlo = (double)v[lo], xhi = (double)v[hi];
    return xlo + frac * (xhi - xlo);
}

int
rp__cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* LSD radix sort, 16 bits a pass over the order-preserving unsigned key (sign bit flipped);
 * passes whose digit is the same for every value are skipped. A 2M-request run sorts six
 * such arrays: qsort took two of the report's three seconds, this a few tens of ms. */
void
rp__sort_i64(int64_t *v, size_t n)
{
    if (n < 256) {
        qsort(v, n, sizeof *v, rp__cmp_i64);
        return;
    }
    uint64_t *a = g_new(uint64_t, n), *b = g_new(uint64_t, n);
    for (size_t i = 0; i < n; i++)
        a[i] = (uint64_t)v[i] ^ (UINT64_C(1) << 63);
    size_t *count = g_new(size_t, 65536);
    for (int shift = 0; shift < 64; shift += 16) {
        memset(count, 0, 65536 * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(a[i] >> shift) & 0xffff]++;
        if (count[(a[0] >> shift) & 0xffff] == n)
            continue; /* every value has this digit */
        size_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            b[count[(a[i] >> shift) & 0xffff]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (int64_t)(a[i] ^ (UINT64_C(1) << 63));
    g_free(a);
    g_free(b);
    g_free(count);
}

/* 0, 0.1, 0.5, 1, ..., 99.5 every 0.5; then 99.6 .. 99.9, 99.95, 99.99, 100. */
#define NPCTS (2 + 199 + 4 + 3)

size_t
rp__cdf_npcts(void)
{
    return NPCTS;
}

double
rp__cdf_pct(size_t i)
{
    g_return_val_if_fail(i < NPCTS, NAN);
    if (i == 0)
        return 0.0;
    if (i == 1)
        return 0.1;
    if (i < 201)
        return 0.5 * (double)(i - 1);
    if (i < 205)
        return (double)(996 + (i - 201)) / 10.0;
    static const double tail[3] = {99.95, 99.99, 100.0};
    return tail[i - 205];
}

double
rp__round10(double v)
{
    if (!isfinite(v))
        return v;
    char buf[32];
    snprintf(buf, sizeof buf, "%.10g", v);
    return strtod(buf, NULL);
}

json_t *
rp__real(double v)
{
    if (!isfinite(v))
        return json_null();
    return json_real(rp__round10(v));
}

/* The 1-2-5 step ≥ X. */
static double
nice_step(double x)
{
    double e = pow(10.0, floor(log10(x)));
    double m = x / e;
    double s = m <= 1.0 ? 1.0 : m <= 2.0 ? 2.0 : m <= 5.0 ? 5.0 : 10.0;
    return s * e;
}

/* 10^(k/10) to 3 significant digits: the E-series-like edges of log bins, exact in print. */
static double
log_edge(int k)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.3g", pow(10.0, (double)k / 10.0));
    return strtod(buf, NULL);
}

/* Fills EDGES (≤ RP_HIST_MAX_BINS + 1) covering [lo, hi]; returns the number of bins. */
static size_t
make_edges(double lo, double hi, bool integer, double *edges, bool *log_bins)
{
    *log_bins = false;
    if (integer) {
        /* integer values: bins of an integer 1-2-5 width, [k·w, (k+1)·w) */
        double span = hi - lo + 1.0;
        double w = span <= RP_HIST_BINS ? 1.0 : nice_step(ceil(span / RP_HIST_BINS));
        double start = floor(lo / w) * w;
        size_t nb = 0;
        while (nb < RP_HIST_MAX_BINS && (nb == 0 || edges[nb] <= hi)) {
            edges[nb] = start + (double)nb * w;
            edges[nb + 1] = start + (double)(nb + 1) * w;
            nb++;
        }
        return nb;
    }
    if (lo > 0 && hi / lo >= 20.0) {
        /* ten bins per decade: latencies spread over orders of magnitude */
        int k0 = (int)floor(10.0 * log10(lo)), k1 = (int)ceil(10.0 * log10(hi));
        while (log_edge(k0) > lo)
            k0--;
        while (log_edge(k1) < hi)
            k1++;
        if (k1 - k0 <= RP_HIST_MAX_BINS) {
            *log_bins = true;
            for (int k = k0; k <= k1; k++)
                edges[k - k0] = log_edge(k);
            return (size_t)(k1 - k0);
        }
    }
    if (hi <= lo) {
        /* one value: one bin around it */
        double w = lo != 0 ? nice_step(fabs(lo) / 10.0) : 1.0;
        edges[0] = rp__round10(floor(lo / w) * w);
        edges[1] = rp__round10(edges[0] + w);
        if (edges[1] <= lo) /* the value sits on the rounded edge */
            edges[1] = rp__round10(edges[1] + w);
        return 1;
    }
    double w = nice_step((hi - lo) / RP_HIST_BINS);
    double start = floor(lo / w) * w;
    size_t nb = 0;
    edges[0] = rp__round10(start);
    while (edges[0] > lo) { /* rounding moved it above the minimum */
        start -= w;
        edges[0] = rp__round10(start);
    }
    while (nb < RP_HIST_MAX_BINS && edges[nb] <= hi) {
        edges[nb + 1] = rp__round10(start + (double)(nb + 1) * w);
        nb++;
    }
    return nb;
}

size_t
rp__histogram(const int64_t *v, size_t n, double scale, bool integer, rp_bin *out, bool *log_bins)
{
    *log_bins = false;
    if (n == 0)
        return 0;
    double edges[RP_HIST_MAX_BINS + 2];
    double lo = (double)v[0] / scale, hi = (double)v[n - 1] / scale;
    size_t nb = make_edges(lo, hi, integer, edges, log_bins);
    for (size_t i = 0; i < nb; i++)
        out[i] = (rp_bin){edges[i], edges[i + 1], 0};
    /* sorted input: one pass; the last bin is closed so the maximum always lands */
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)v[i] / scale;
        while (b + 1 < nb && x >= out[b].hi)
            b++;
        out[b].count++;
    }
    return nb;
}

void
rp__buckets_init(rp_buckets *b, int64_t t0, int64_t t1)
{
    int64_t span = t1 > t0 ? t1 - t0 : 1;
    b->t0 = t0;
    b->width = (span + RP_BUCKETS - 1) / RP_BUCKETS;
    if (b->width < 1)
        b->width = 1;
    b->n = (size_t)((span + b->width - 1) / b->width);
    if (b->n < 1)
        b->n = 1;
    b->span = span;
}

size_t
rp__bucket_of(const rp_buckets *b, int64_t t)
{
    if (t <= b->t0)
        return 0;
    int64_t i = (t - b->t0) / b->width;
    return i >= (int64_t)b->n ? b->n - 1 : (size_t)i;
}

int64_t
rp__bucket_width(const rp_buckets *b, size_t i)
{
    if (i + 1 < b->n)
        return b->width;
    return b->span - (int64_t)(b->n - 1) * b->width;
}

void
rp__buckets_spread(const rp_buckets *b, int64_t a, int64_t bb, double w, double *sum, double *diff)
{
    int64_t end = b->t0 + b->span;
    if (a < b->t0)
        a = b->t0;
    if (bb > end)
        bb = end;
    if (bb <= a)
        return;
    size_t i0 = rp__bucket_of(b, a), i1 = rp__bucket_of(b, bb - 1);
    if (i0 == i1) {
        sum[i0] += w * (double)(bb - a);
        return;
    }
    int64_t e0 = b->t0 + (int64_t)(i0 + 1) * b->width; /* end of the first bucket */
    int64_t s1 = b->t0 + (int64_t)i1 * b->width;       /* start of the last one */
    sum[i0] += w * (double)(e0 - a);
    sum[i1] += w * (double)(bb - s1);
    if (i1 > i0 + 1) { /* buckets i0+1 .. i1-1 are covered whole */
        diff[i0 + 1] += w;
        diff[i1] -= w;
    }
}

void
rp__buckets_finish(const rp_buckets *b, double *sum, const double *diff)
{
    double run = 0;
    for (size_t i = 0; i < b->n; i++) {
        run += diff[i];
        sum[i] += run * (double)rp__bucket_width(b, i);
    }
}
