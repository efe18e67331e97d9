/* base/match.h: "did you mean" suggestions for unknown names (models, hardware, flags, keys). */
#pragma once

#include <stddef.h>

/* Edit distance (Levenshtein, case-insensitive). */
size_t base_edit_distance(const char *a, const char *b);
/* Returns a g_malloc'd ", "-separated list of up to 5 candidates close to NAME (small edit
 * distance, or containing NAME / contained in it, ignoring case and '-', '_', '.'), best first;
 * NULL if none is close. */
char *base_suggest(const char *name, const char *const *candidates, size_t n);
