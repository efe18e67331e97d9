/* base/rng.h: the simulation's random streams (`sim_rng`): xoshiro256** seeded by splitmix64
 * from (seed, stream_id), plus the distributions servesim draws from.
 *
 * It lives in base/ rather than sim/ because workloads/ (which must not know sim/) generates
 * arrivals with it; the type keeps the `sim_rng` name the design uses. Never use g_random_* or
 * GRand (their sequences change with G_RANDOM_VERSION).
 *
 * Each consumer owns a stream with a fixed id (below), so adding a consumer shifts nothing:
 * the sequence of stream k depends only on (seed, k). A sim_rng is a plain value (32 bytes of
 * state plus a cached normal deviate); copy it to fork. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

/* Fixed stream ids. Ranges: 0x100 workloads, 0x200 sim, 0x300 schedulers/routers,
 * 0x400 traces (DSA synthesizer), 0x500 timemodel/calibration, 0x600 compare,
 * 0x1000+ tests/benchmarks. */
enum {
    SIM_STREAM_WL_ARRIVALS = 0x100,  /* inter-arrival times */
    SIM_STREAM_WL_INPUT_LEN = 0x101, /* prompt lengths */
    SIM_STREAM_WL_OUTPUT_LEN = 0x102,
    SIM_STREAM_WL_SHUFFLE = 0x103, /* seeded shuffles of prompts / traces */
    SIM_STREAM_WL_SESSION = 0x104, /* session / turn structure, think times */
    SIM_STREAM_WL_CONTENT = 0x105, /* content ids */
    SIM_STREAM_SIM_ENGINE = 0x200,
    SIM_STREAM_ROUTER = 0x300, /* random router, softmax sampling */
    SIM_STREAM_SCHED = 0x301,
    SIM_STREAM_SPEC = 0x302, /* speculative decoding: accepted drafts per verify */
    SIM_STREAM_DSA = 0x400,  /* DSA top-k synthesizer */
    SIM_STREAM_CALIB_BOOTSTRAP = 0x500,
    SIM_STREAM_CALIB_FOLDS = 0x501,
    SIM_STREAM_COMPARE_BOOTSTRAP = 0x600, /* compare A B: resampled requests (run noise) */
    SIM_STREAM_TEST = 0x1000,
};

typedef struct sim_rng {
    uint64_t s[4];
    double spare; /* cached second normal deviate (polar method) */
    bool have_spare;
} sim_rng;

/* Seeds stream STREAM_ID of SEED. Distinct (seed, stream) pairs give independent streams. */
void sim_rng_init(sim_rng *r, uint64_t seed, uint64_t stream_id);
/* splitmix64 step (exposed for hashing and seeding). */
uint64_t sim_splitmix64(uint64_t *state);
/* A good 64-bit mix of X (splitmix64 finaliser); used for content hashes. */
uint64_t sim_mix64(uint64_t x);

uint64_t sim_rng_u64(sim_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double sim_rng_uniform(sim_rng *r);
/* Uniform in (0, 1]: safe to take log of. */
double sim_rng_uniform_pos(sim_rng *r);
/* Uniform integer in [0, n) without modulo bias (Lemire). n > 0. */
uint64_t sim_rng_below(sim_rng *r, uint64_t n);
/* Exponential with the given rate (mean 1/rate). */
double sim_rng_exponential(sim_rng *r, double rate);
/* Normal(mean, sd) by the Marsaglia polar method. */
double sim_rng_normal(sim_rng *r, double mean, double sd);
/* exp(Normal(mu, sigma)). */
double sim_rng_lognormal(sim_rng *r, double mu, double sigma);
/* Gamma(shape k > 0, scale θ): mean kθ, variance kθ². Marsaglia–Tsang; for k < 1 uses
 * Gamma(k+1)·U^(1/k). */
double sim_rng_gamma(sim_rng *r, double shape, double scale);
/* Weibull(shape k, scale λ). */
double sim_rng_weibull(sim_rng *r, double shape, double scale);
/* Number of Bernoulli(p) trials up to and including the first success: support {1, 2, ...},
 * mean 1/p. 0 < p <= 1. */
uint64_t sim_rng_geometric(sim_rng *r, double p);
/* Zipf on {1..n} with P(k) ∝ k^(−s), s > 0, by rejection-inversion (Hörmann & Derflinger
 * 1996), O(1) expected time and no table. */
uint64_t sim_rng_zipf(sim_rng *r, uint64_t n, double s);
/* Fisher–Yates shuffle of N elements of SIZE bytes. */
void sim_rng_shuffle(sim_rng *r, void *base, size_t n, size_t size);

/* Categorical / empirical distribution by Walker–Vose alias tables: O(n) build, O(1) draw. */
typedef struct sim_alias sim_alias;
/* WEIGHTS are non-negative with a positive sum; returns NULL otherwise. */
sim_alias *sim_alias_new(const double *weights, size_t n);
void sim_alias_free(sim_alias *a);
size_t sim_alias_size(const sim_alias *a);
/* Index in [0, n) drawn with probability weights[i] / Σ weights. */
size_t sim_alias_draw(const sim_alias *a, sim_rng *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sim_alias, sim_alias_free)
