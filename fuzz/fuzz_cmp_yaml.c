/* fuzz/fuzz_cmp_yaml.c: the YAML loader (compare/yaml.c: libyaml events to jansson values,
 * PyYAML scalar typing, aliases, duplicate keys and depth refused). */
#include <stdlib.h>

#include <jansson.h>

#include "compare/internal.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *e = NULL;
    json_t *j = cmp__yaml_parse("config.yaml", (const char *)data, size, &e);
    fz_check_error("cmp__yaml_parse", j == NULL, &e);
    if (j != NULL) {
        char *s = json_dumps(j, JSON_ENCODE_ANY);
        g_assert(s != NULL);
        free(s);
        json_decref(j);
    }
    return 0;
}
