/* timemodel/model_ids.c: Hugging Face ids of the embedded model presets (stand-in for the
 * identical table of branch h-flags; see model_ids.h). The ids of a preset are the
 * repositories whose config.json the preset is, or has the same shape as (base and
 * chat/instruct variants of one architecture with the same context length);
 * timemodel/presets/ATTRIBUTION.md names the file each preset was copied from. */
#include "timemodel/model_ids.h"

#include <string.h>

#include <glib.h>

#include "base/asset.h"

static const struct {
    const char *preset;
    const char *ids[5];
} model_ids[] = {
    {"codellama-34b", {"codellama/CodeLlama-34b-Instruct-hf", "codellama/CodeLlama-34b-hf"}},
    {"deepseek-v2-lite", {"deepseek-ai/DeepSeek-V2-Lite", "deepseek-ai/DeepSeek-V2-Lite-Chat"}},
    {"deepseek-v3",
     {"deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-V3-Base", "deepseek-ai/DeepSeek-V3-0324",
      "deepseek-ai/DeepSeek-R1"}},
    {"deepseek-v3.2", {"deepseek-ai/DeepSeek-V3.2"}},
    {"deepseek-v3.2-exp", {"deepseek-ai/DeepSeek-V3.2-Exp"}},
    {"llama-2-13b", {"meta-llama/Llama-2-13b-hf", "meta-llama/Llama-2-13b-chat-hf"}},
    {"llama-2-70b", {"meta-llama/Llama-2-70b-hf", "meta-llama/Llama-2-70b-chat-hf"}},
    {"llama-2-7b", {"meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-chat-hf"}},
    {"llama-3.1-70b", {"meta-llama/Llama-3.1-70B", "meta-llama/Meta-Llama-3.1-70B"}},
    {"llama-3.1-70b-instruct",
     {"meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Meta-Llama-3.1-70B-Instruct"}},
    {"llama-3.1-8b", {"meta-llama/Llama-3.1-8B", "meta-llama/Meta-Llama-3.1-8B"}},
    {"llama-3.1-8b-instruct",
     {"meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-8B-Instruct"}},
    {"mistral-nemo-12b", {"mistralai/Mistral-Nemo-Instruct-2407"}},
    {"mixtral-8x7b", {"mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"}},
    /* the Qwen2.5 presets carry the Instruct configs' 32,768-token context (base: 131,072) */
    {"qwen2.5-14b", {"Qwen/Qwen2.5-14B-Instruct"}},
    {"qwen2.5-72b", {"Qwen/Qwen2.5-72B-Instruct"}},
    {"qwen2.5-7b", {"Qwen/Qwen2.5-7B-Instruct"}},
    {"qwen3-14b", {"Qwen/Qwen3-14B"}},
    {"qwen3-30b-a3b", {"Qwen/Qwen3-30B-A3B"}},
    {"qwen3-30b-a3b-instruct-2507", {"Qwen/Qwen3-30B-A3B-Instruct-2507"}},
    {"qwen3-32b", {"Qwen/Qwen3-32B"}},
    {"yi-34b", {"01-ai/Yi-34B", "01-ai/Yi-34B-Chat"}},
};

const char *const *
tm_model_preset_ids(const char *preset)
{
    static const char *const none[] = {NULL};
    for (size_t i = 0; preset != NULL && i < G_N_ELEMENTS(model_ids); i++)
        if (strcmp(model_ids[i].preset, preset) == 0)
            return model_ids[i].ids;
    return none;
}

char *
tm_model_resolve_preset(const char *name)
{
    if (name == NULL || *name == '\0')
        return NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(model_ids); i++)
        for (size_t k = 0; k < G_N_ELEMENTS(model_ids[i].ids) && model_ids[i].ids[k] != NULL; k++)
            if (g_ascii_strcasecmp(model_ids[i].ids[k], name) == 0)
                return g_strdup(model_ids[i].preset);
    if (strchr(name, '/') != NULL)
        return NULL;
    g_autofree char *lower = g_ascii_strdown(name, -1);
    g_autofree char *asset = g_strdup_printf("models/%s.json", lower);
    return base_asset_find(asset) != NULL ? g_steal_pointer(&lower) : NULL;
}
