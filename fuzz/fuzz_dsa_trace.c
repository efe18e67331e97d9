/* fuzz/fuzz_dsa_trace.c: the DSA trace reader (trace_steps.jsonl, dsa/record.c) and everything
 * `servesim analyze dsa` does with what it accepts: strictly, then with --skip-bad-rows; each
 * accepted record goes through tier replay (dsa/replay.c, a small hot buffer and a local pool
 * so every tier is exercised), the summary (dsa/summary.c) and the fit's first pass
 * (dsa/fit.c). Input may be gzip (detected by magic bytes). */
#include <stddef.h>
#include <stdint.h>

#include "dsa/fit.h"
#include "dsa/options.h"
#include "dsa/record.h"
#include "dsa/replay.h"
#include "dsa/summary.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dsa_tiers t = {.hot_buffer_tokens = 64,
                   .local_pool_tokens = 32,
                   .block_size = 16,
                   .token_bytes = 656,
                   .index_key_bytes = 132};
    for (int k = 0; k < DSA_NTIERS; k++)
        t.tier[k] = (dsa_tier_spec){50e9, 0.8, 1e-6, 32};
    for (int skip = 0; skip < 2; skip++) {
        GError *err = NULL;
        dsa_reader *rd = dsa_reader_new_from_memory("trace_steps.jsonl", data, size, &err);
        fz_check_error("dsa_reader_new_from_memory", rd == NULL, &err);
        if (rd == NULL)
            continue;
        dsa_summary *s = dsa_summary_new();
        dsa_replay *rp = dsa_replay_new(&t);
        dsa_fit *f = dsa_fit_new(3);
        const dsa_record *rec;
        int got = 0, n = 0;
        while (n++ < 2000 && (got = dsa_reader_next(rd, skip, &rec, &err)) == 1) {
            dsa_summary_add(s, rec);
            dsa_fit_pass1(f, rec);
            dsa_replay_record(rp, (dsa_record *)(uintptr_t)rec);
        }
        if (n <= 2000)
            fz_check_error("dsa_reader_next", got < 0, &err);
        json_decref(dsa_summary_json(s));
        json_decref(dsa_replay_json(rp));
        if (dsa_fit_end_pass1(f, &err)) {
            dsa_synth_params p;
            json_t *report = NULL;
            dsa_fit_finish(f, &p, &report);
            json_decref(report);
        } else {
            fz_check_error("dsa_fit_end_pass1", TRUE, &err);
        }
        dsa_fit_free(f);
        dsa_replay_free(rp);
        dsa_summary_free(s);
        dsa_reader_free(rd);
    }
    return 0;
}
