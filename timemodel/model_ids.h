/* timemodel/model_ids.h: which embedded model preset a Hugging Face model id stands for.
 *
 * STAND-IN: branch h-flags adds the same function (same name, contract and table) to
 * timemodel/model.[ch]. When h-flags is merged, delete this file and model_ids.c and include
 * "timemodel/model.h" instead (the duplicate symbol makes the link fail until then). */
#pragma once

/* The embedded preset that NAME (a preset short name or a Hugging Face id, any case) stands
 * for; NULL if none. Does not look at the file system. transfer full */
char *tm_model_resolve_preset(const char *name);
/* The Hugging Face ids that resolve to PRESET, NULL-terminated (empty for none). static */
const char *const *tm_model_preset_ids(const char *preset);
