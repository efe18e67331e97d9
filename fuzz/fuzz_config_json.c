/* fuzz/fuzz_config_json.c: the experiment file (`servesim run --config FILE`; sim/config.c over
 * base/opts.c and base/json.c): every module's settings table applied to any JSON document.
 * Besides the error contract it checks the round trip the README promises: the configuration
 * serialised back (what --print-config and summary.json print) loads to the identical JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fuzz/fuzz.h"
#include "sim/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("experiment.json", data, size);
    sim_config c;
    sim_config_init(&c);
    GError *err = NULL;
    gboolean ok = sim_config_load_file(&c, path, &err);
    fz_check_error("sim_config_load_file", !ok, &err);
    if (ok) {
        json_t *j = sim_config_to_json(&c);
        char *once = base_json_dumps(j);
        json_decref(j);
        const char *again_path = fz_file("print-config.json", (const uint8_t *)once, strlen(once));
        sim_config c2;
        sim_config_init(&c2);
        if (!sim_config_load_file(&c2, again_path, &err)) {
            fprintf(stderr, "fuzz: the serialised configuration does not load back: %s\n%s\n",
                    err->message, once);
            abort();
        }
        json_t *j2 = sim_config_to_json(&c2);
        char *twice = base_json_dumps(j2);
        json_decref(j2);
        if (strcmp(once, twice) != 0) {
            fprintf(stderr, "fuzz: the configuration does not round-trip:\n%s\n%s\n", once, twice);
            abort();
        }
        g_free(once);
        g_free(twice);
        sim_config_clear(&c2);
    }
    sim_config_clear(&c);
    return 0;
}
