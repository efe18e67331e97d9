/* tools/cmd_presets.c: `servesim presets` lists every embedded asset (models, hardware,
 * calibrations, sample traces) by the short name users type. Models show the Hugging Face ids
 * that resolve to them; hardware shows one line of figures (GPU, memory, dense BF16 peak,
 * memory bandwidth, GPU-to-GPU link) read from the preset itself, and its aliases, so the
 * listing cannot drift from what a run uses. */
#include <stdio.h>
#include <string.h>

#include "base/asset.h"
#include "sim/config.h"
#include "sim/profile.h"
#include "timemodel/hardware.h"
#include "timemodel/model.h"
#include "timemodel/spec.h"
#include "tools/cli.h"

/* The peer fabric's product name: the "nvlink" backend is whatever the GPU's own fabric is. */
static const char *
link_name(const tm_hardware *hw)
{
    if (hw->default_backend == TM_BACKEND_PCIE)
        return "PCIe";
    if (g_str_has_prefix(hw->display_name, "AMD") || g_str_has_prefix(hw->name, "mi"))
        return "Infinity Fabric";
    if (g_str_has_prefix(hw->display_name, "Google") || g_str_has_prefix(hw->name, "tpu"))
        return "ICI";
    return "NVLink";
}

static void
print_aliases(const char *label, const char *const *names)
{
    if (names[0] == NULL)
        return;
    printf("%s", label);
    for (size_t i = 0; names[i] != NULL; i++)
        printf("%s%s", i > 0 ? ", " : "", names[i]);
}

static int
print_hardware(const char *name)
{
    g_auto(tm_hardware) hw = {0};
    GError *err = NULL;
    if (!tm_hardware_load(&hw, name, &err))
        return cli_fail(err, CLI_RUNTIME); /* an embedded preset that does not load: a bug */
    const tm_link *l = tm_hardware_link(&hw, hw.default_backend);
    printf("  %-15s %s, %.0f GB, %.0f TFLOP/s BF16, %.0f GB/s, %s %.0f GB/s", name, hw.display_name,
           hw.memory_gb, hw.peak_flops[TM_DTYPE_BF16] / 1e12, hw.mem_bw / 1e9, link_name(&hw),
           l->bw / 1e9);
    print_aliases("; aliases: ", tm_hardware_preset_aliases(name));
    printf("\n");
    return CLI_OK;
}

int
cmd_presets(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_help(
            "presets [--all]",
            "List what is compiled into the binary: models (with the Hugging Face ids "
            "--model accepts for them),\nhardware (GPU, memory, dense BF16 peak, "
            "memory bandwidth, GPU-to-GPU link per direction; aliases),\n"
            "calibrations, sample workloads and engine profiles (--engine). --all prints "
            "every asset path and size.",
            NULL);
        return CLI_OK;
    }
    bool all = argc > 1 && strcmp(argv[1], "--all") == 0;
    if (argc > 1 && !all)
        return cli_usage_error("presets [--all]", "unexpected argument '%s'", argv[1]);
    if (all) {
        for (size_t i = 0; i < base_asset_count(); i++) {
            const base_asset *a = base_asset_at(i);
            printf("%-60s %8zu bytes\n", a->name, a->size);
        }
        return CLI_OK;
    }
    if (base_asset_count() == 0) {
        printf("(nothing embedded)\n");
        return CLI_OK;
    }
    g_auto(GStrv) models = tm_model_preset_names();
    printf("models (--model NAME, or a Hugging Face id listed after it):\n");
    for (size_t i = 0; models[i] != NULL; i++) {
        printf("  %-28s", models[i]);
        print_aliases(" ", tm_model_preset_ids(models[i]));
        printf("\n");
    }
    g_auto(GStrv) hw = tm_hardware_preset_names();
    printf("\nhardware (--hardware NAME: GPU, memory, dense BF16 peak, memory bandwidth, "
           "GPU-to-GPU link per direction):\n");
    for (size_t i = 0; hw[i] != NULL; i++)
        if (print_hardware(hw[i]) != CLI_OK)
            return CLI_RUNTIME;
    /* The other directories (calibrations/, workloads/ ...), one short name per line. */
    const char *last = NULL;
    size_t lastlen = 0;
    for (size_t i = 0; i < base_asset_count(); i++) {
        const char *n = base_asset_at(i)->name;
        if (g_str_has_prefix(n, "report/"))
            continue; /* the report page's library and script: nothing a user names (--all) */
        const char *slash = strchr(n, '/');
        size_t dl = slash != NULL ? (size_t)(slash - n) : 0;
        if ((dl == 6 && strncmp(n, "models", 6) == 0) ||
            (dl == 8 && strncmp(n, "hardware", 8) == 0))
            continue;
        if (last == NULL || dl != lastlen || strncmp(n, last, dl) != 0) {
            printf("\n%.*s:\n", (int)dl, n);
            last = n;
            lastlen = dl;
        }
        /* strip the file type (".json", ".csv.gz"), not the dots of names like llama-3.1-8b */
        const char *shortname = slash != NULL ? slash + 1 : n;
        size_t len = strlen(shortname);
        const char *const exts[] = {".json", ".csv.gz", ".jsonl.gz", ".csv", ".jsonl", ".gz"};
        for (size_t k = 0; k < G_N_ELEMENTS(exts); k++)
            if (g_str_has_suffix(shortname, exts[k])) {
                len -= strlen(exts[k]);
                break;
            }
        printf("  %.*s\n", (int)len, shortname);
    }
    /* engine profiles are a const table, not assets (sim/profile.c) */
    printf("\nengines (--engine; default %s):\n", sim_profile_default()->name);
    for (size_t i = 0; i < sim_profile_count(); i++) {
        const sim_profile *p = sim_profile_at(i);
        printf("  %-10s %s; %s\n", p->name, p->summary, p->follows);
    }
    /* KV-transfer links of prefill/decode runs (sim/config.c, docs/design.md §5c) */
    printf("\nlinks (--pd-link: per GPU and direction, line rate × efficiency, setup):\n");
    size_t nl = 0;
    const sim_link_preset *lp = sim_link_presets(&nl);
    for (size_t i = 0; i < nl; i++)
        printf("  %-10s %6.1f GB/s × %.3g, %.2f ms  %s\n", lp[i].name, lp[i].bandwidth_Bps / 1e9,
               lp[i].efficiency, lp[i].setup_s * 1e3, lp[i].summary);
    /* speculative-decoding acceptance: a const table with each figure's source (spec.c) */
    printf("\nspeculative decoding acceptance (--speculative-config acceptance_preset):\n");
    for (size_t i = 0; i < tm_spec_preset_count(); i++) {
        const tm_spec_preset *sp = tm_spec_preset_at(i);
        if (sp->alpha > 0.0) {
            printf("  %-21s %s, any k, per token %.3g (position i: %.3g^i); %s\n", sp->name,
                   tm_spec_method_name(sp->method), sp->alpha, sp->alpha, sp->source);
            continue;
        }
        printf("  %-21s %s, k %u, per position", sp->name, tm_spec_method_name(sp->method), sp->k);
        for (uint32_t j = 0; j < sp->k; j++)
            printf(" %.3g", sp->accept[j]);
        printf("; %s\n", sp->source);
    }
    return CLI_OK;
}
