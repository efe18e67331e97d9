/* tests/records.h: builds the observer payloads (sim/observe.h) that metrics and output tests
 * feed by hand (header-only). */
#pragma once

#include <stdint.h>

#include "sim/observe.h"

#define TU_MS 1000000LL /* ns per ms */

/* A request record with times in ms; SCHED_MS/FIRST_MS < 0 mean "never" (-1 ns). The
 * arrival equals the send time. */
static inline sim_request_record
tu_record(uint64_t id,
          uint32_t replica,
          int64_t send_ms,
          int64_t sched_ms,
          int64_t first_ms,
          int64_t finish_ms,
          uint32_t prompt,
          uint32_t out)
{
    sim_request_record r = {0};
    r.id = id;
    r.replica = replica;
    r.core = replica; /* one core per replica */
    r.arrival_ns = send_ms * TU_MS;
    r.send_ns = send_ms * TU_MS;
    r.first_scheduled_ns = sched_ms < 0 ? -1 : sched_ms * TU_MS;
    r.first_token_ns = first_ms < 0 ? -1 : first_ms * TU_MS;
    r.finish_ns = finish_ms * TU_MS;
    r.prompt_tokens = prompt;
    r.output_tokens = out;
    return r;
}
