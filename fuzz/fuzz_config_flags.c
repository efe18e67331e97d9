/* fuzz/fuzz_config_flags.c: the command-line layer over the experiment file
 * (sim_config_parse_args: --config FILE first, then every flag, --name VALUE, --name=VALUE,
 * --no-name, "auto"). Input: a JSON experiment file, a line "%%", then one argument per line.
 * Arguments that would name another --config are dropped (the harness reads no file but its
 * own). Checks the error contract and that the result serialises and loads back. */
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
    const uint8_t *part[2];
    size_t len[2];
    if (fz_split(data, size, part, len, 2) < 2) {
        part[1] = part[0];
        len[1] = len[0];
        len[0] = 0;
    }
    g_autofree char *cfg = g_strdup(fz_file("experiment.json", part[0], len[0]));
    g_autofree char *text = g_strndup((const char *)part[1], len[1]);
    g_auto(GStrv) lines = g_strsplit(text, "\n", 64);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer) "--config");
    g_ptr_array_add(argv, cfg);
    for (char **l = lines; *l != NULL; l++) {
        if (g_str_has_prefix(*l, "--config"))
            continue;
        g_ptr_array_add(argv, *l);
    }
    g_autoptr(GPtrArray) positional = g_ptr_array_new();
    sim_config c;
    sim_config_init(&c);
    GError *err = NULL;
    gboolean ok =
        sim_config_parse_args(&c, NULL, (int)argv->len, (char **)argv->pdata, positional, &err);
    fz_check_error("sim_config_parse_args", !ok, &err);
    if (ok) {
        json_t *j = sim_config_to_json(&c);
        char *once = base_json_dumps(j);
        json_decref(j);
        const char *again = fz_file("print-config.json", (const uint8_t *)once, strlen(once));
        sim_config c2;
        sim_config_init(&c2);
        if (!sim_config_load_file(&c2, again, &err)) {
            fprintf(stderr, "fuzz: the configuration flags gave does not load back: %s\n%s\n",
                    err->message, once);
            abort();
        }
        g_free(once);
        sim_config_clear(&c2);
    }
    sim_config_clear(&c);
    return 0;
}
