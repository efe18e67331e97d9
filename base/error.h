/* base/error.h: the error domain of the base library (I/O, CSV, JSON, options).
 * Every message names its place: "FILE:LINE: what is wrong" (or FILE:LINE:COLUMN for JSON
 * syntax). Only tools/ prints errors; libraries return them through GError. */
#pragma once

#include <glib.h>

#define BASE_ERROR (base_error_quark())

typedef enum {
    BASE_ERROR_IO,      /* cannot open/read/write a file */
    BASE_ERROR_PARSE,   /* malformed content (JSON syntax, CSV cell, gzip stream) */
    BASE_ERROR_INVALID, /* well-formed but invalid value (unknown key, wrong type, range) */
    BASE_ERROR_NOT_IMPLEMENTED,
} base_error_code;

GQuark base_error_quark(void);
