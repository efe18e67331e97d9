/* compare/yaml.c: YAML documents (inference-perf's config.yaml) read with libyaml into jansson
 * values, so the readers look at YAML and JSON the same way. Scalars are typed as PyYAML
 * (YAML 1.1, the loader inference-perf uses) types them: plain true/false/yes/no/on/off are
 * booleans, null/~/empty are null, integers and finite floats are numbers (.inf and .nan stay
 * text: JSON has no infinity); quoted scalars are strings. Anchors and aliases, tags and duplicate
 * keys are refused (a results file has no use for them, and an alias bomb must not expand). Only
 * the first document is read. Depth is bounded so hostile input cannot exhaust the stack. */
#include <math.h>
#include <string.h>
#include <yaml.h>

#include "base/csv.h"
#include "base/io.h"
#include "base/json.h"
#include "base/match.h"
#include "compare/internal.h"

#define MAX_DEPTH 64

typedef struct ystate {
    yaml_parser_t p;
    const char *name;
    GError **error;
} ystate;

/* "NAME:LINE: MESSAGE", MESSAGE with WHAT (input text, escaped) appended after ": ". */
static void
yerror(ystate *y, size_t line0, const char *message, const char *what)
{
    g_autofree char *shown = what != NULL ? base_escape_text(what, 80) : NULL;
    cmp__error(y->error, CMP_ERROR_PARSE, "%s:%zu: %s%s%s", y->name, line0 + 1, message,
               shown != NULL ? ": " : "", shown != NULL ? shown : "");
}

static bool
next_event(ystate *y, yaml_event_t *ev)
{
    if (yaml_parser_parse(&y->p, ev))
        return true;
    size_t line = y->p.problem_mark.line;
    const char *problem = y->p.problem != NULL ? y->p.problem : "malformed YAML";
    if (y->p.context != NULL) {
        g_autofree char *both = g_strdup_printf("%s %s", y->p.context, problem);
        yerror(y, line, both, NULL);
    } else {
        yerror(y, line, problem, NULL);
    }
    return false;
}

static bool
is_one_of(const char *s, const char *const *words)
{
    for (size_t i = 0; words[i] != NULL; i++)
        if (strcmp(s, words[i]) == 0)
            return true;
    return false;
}

/* A plain scalar typed as YAML 1.1 / PyYAML does. */
static json_t *
plain_scalar(const char *s)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON",  NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no",  "No",
                                     "NO",    "off",   "Off",   "OFF", NULL};
    static const char *const nul[] = {"", "~", "null", "Null", "NULL", NULL};
    if (is_one_of(s, nul))
        return json_null();
    if (is_one_of(s, yes))
        return json_true();
    if (is_one_of(s, no))
        return json_false();
    int64_t i;
    if (base_parse_int64(s, &i))
        return json_integer((json_int_t)i);
    /* .inf and .nan stay text: JSON (and so every reader) has no infinity */
    const char *t = s[0] == '+' || s[0] == '-' ? s + 1 : s;
    double d;
    /* Only things that look like numbers: strtod would also take "inf", "nan", "0x10". */
    bool numeric = (*t >= '0' && *t <= '9') || (*t == '.' && t[1] >= '0' && t[1] <= '9');
    if (numeric && strpbrk(s, "xXnN") == NULL && base_parse_double(s, &d) && isfinite(d))
        return json_real(d);
    return json_string(s);
}

static json_t *parse_node(ystate *y, yaml_event_t *ev, int depth);

static json_t *
parse_mapping(ystate *y, int depth)
{
    json_auto_t *o = json_object();
    for (;;) {
        yaml_event_t ev;
        if (!next_event(y, &ev))
            return NULL;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return json_incref(o);
        }
        size_t line = ev.start_mark.line;
        if (ev.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&ev);
            yerror(y, line, "a mapping key must be a plain text key", NULL);
            return NULL;
        }
        size_t klen = ev.data.scalar.length;
        g_autofree char *key = g_strndup((const char *)ev.data.scalar.value, klen);
        yaml_event_delete(&ev);
        if (strlen(key) != klen || !g_utf8_validate(key, -1, NULL)) {
            yerror(y, line, "key is not UTF-8 text", key);
            return NULL;
        }
        if (json_object_get(o, key) != NULL) {
            yerror(y, line, "duplicate key", key);
            return NULL;
        }
        yaml_event_t vev;
        if (!next_event(y, &vev))
            return NULL;
        json_t *v = parse_node(y, &vev, depth + 1);
        if (v == NULL)
            return NULL;
        json_object_set_new(o, key, v);
    }
}

static json_t *
parse_sequence(ystate *y, int depth)
{
    json_auto_t *a = json_array();
    for (;;) {
        yaml_event_t ev;
        if (!next_event(y, &ev))
            return NULL;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return json_incref(a);
        }
        json_t *v = parse_node(y, &ev, depth + 1);
        if (v == NULL)
            return NULL;
        json_array_append_new(a, v);
    }
}

/* Consumes EV (a node's first event) and the rest of the node. */
static json_t *
parse_node(ystate *y, yaml_event_t *ev, int depth)
{
    size_t line = ev->start_mark.line;
    const yaml_char_t *anchor = NULL;
    if (ev->type == YAML_SCALAR_EVENT)
        anchor = ev->data.scalar.anchor;
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        anchor = ev->data.sequence_start.anchor;
    else if (ev->type == YAML_MAPPING_START_EVENT)
        anchor = ev->data.mapping_start.anchor;
    if (ev->type == YAML_ALIAS_EVENT || anchor != NULL) {
        yaml_event_delete(ev);
        yerror(y, line, "anchors and aliases are not supported", NULL);
        return NULL;
    }
    if (depth > MAX_DEPTH) {
        yaml_event_delete(ev);
        yerror(y, line, "nested too deeply", NULL);
        return NULL;
    }
    json_t *out = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        size_t len = ev->data.scalar.length;
        g_autofree char *s = g_strndup((const char *)ev->data.scalar.value, len);
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        yaml_event_delete(ev);
        if (strlen(s) != len || !g_utf8_validate(s, -1, NULL)) {
            yerror(y, line, "value is not UTF-8 text", s);
            return NULL;
        }
        out = plain ? plain_scalar(s) : json_string(s);
        if (out == NULL)
            yerror(y, line, "value cannot be represented", s);
        return out;
    }
    case YAML_SEQUENCE_START_EVENT:
        yaml_event_delete(ev);
        return parse_sequence(y, depth);
    case YAML_MAPPING_START_EVENT:
        yaml_event_delete(ev);
        return parse_mapping(y, depth);
    default:
        yaml_event_delete(ev);
        yerror(y, line, "unexpected YAML event", NULL);
        return NULL;
    }
}

json_t *
cmp__yaml_parse(const char *name, const char *text, size_t len, GError **error)
{
    ystate y = {.name = name, .error = error};
    if (!yaml_parser_initialize(&y.p)) {
        cmp__error(error, CMP_ERROR_IO, "%s: cannot start the YAML parser", name);
        return NULL;
    }
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
    json_t *doc = NULL;
    yaml_event_t ev;
    bool started = false;
    while (doc == NULL) {
        if (!next_event(&y, &ev))
            break;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT) {
            started = started || t == YAML_DOCUMENT_START_EVENT;
            yaml_event_delete(&ev);
            continue;
        }
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            cmp__error(error, CMP_ERROR_PARSE, "%s: empty YAML document", name);
            break;
        }
        doc = parse_node(&y, &ev, 0);
        if (doc == NULL)
            break;
    }
    yaml_parser_delete(&y.p);
    return doc;
}

json_t *
cmp__load_yaml(const char *path, GError **error)
{
    GError *e = NULL;
    g_autoptr(GBytes) b = base_file_read_all(path, &e);
    if (b == NULL) {
        cmp__propagate(error, e);
        return NULL;
    }
    size_t n = 0;
    const char *p = g_bytes_get_data(b, &n);
    return cmp__yaml_parse(path, p != NULL ? p : "", n, error);
}

json_t *
cmp__load_json(const char *path, GError **error)
{
    GError *e = NULL;
    json_t *j = base_json_load_file(path, &e);
    if (j == NULL)
        cmp__propagate(error, e);
    return j;
}
