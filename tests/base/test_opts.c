/* tests/base/test_opts.c: the settings table drives JSON, flags and serialisation: defaults,
 * overrides, errors naming JSON paths, unset values, round trip; vLLM's spellings (aliases such
 * as -tp, nargs="+"). */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "base/json.h"
#include "base/opts.h"

typedef struct {
    int64_t n;
    double x;
    bool flag;
    char *name;
    char *kind;
    char **list;
    int64_t maybe;
    json_t *blob;
    json_t *later;
} demo;

static const char *const kinds[] = {"a", "b", NULL};

static const base_opt rows[] = {
    {"sec.n", "n", BASE_OPT_INT, offsetof(demo, n), "4", NULL, 1, 100, 0, "N", "a count"},
    {"sec.x", "x", BASE_OPT_DOUBLE, offsetof(demo, x), "0.5", NULL, 0, 1, 0, "X", "a fraction"},
    {"sec.flag", "flag", BASE_OPT_BOOL, offsetof(demo, flag), "true", NULL, 0, 0, 0, NULL, "f"},
    {"top.name", "name", BASE_OPT_STRING, offsetof(demo, name), "hello", NULL, 0, 0, 0, "S", "s"},
    {"top.kind", "kind", BASE_OPT_ENUM, offsetof(demo, kind), "a", kinds, 0, 0, 0, "K", "k"},
    {"top.list", "list", BASE_OPT_STRV, offsetof(demo, list), NULL, NULL, 0, 0, BASE_OPT_NULLABLE,
     "L", "l"},
    {"sec.maybe", "maybe", BASE_OPT_INT, offsetof(demo, maybe), NULL, NULL, 0, 0, BASE_OPT_NULLABLE,
     "N", "auto by default"},
    {"blob", NULL, BASE_OPT_JSON, offsetof(demo, blob), NULL, NULL, 0, 0, BASE_OPT_NULLABLE, NULL,
     "any json"},
    {"later", NULL, BASE_OPT_JSON, offsetof(demo, later), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE | BASE_OPT_NOT_IMPL, NULL, "reserved"},
};
static const base_opt_table table = {"demo", rows, G_N_ELEMENTS(rows), 0};
static const base_opt_set set = {&table, 1};

static json_t *
J(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    return j;
}

static char *
load_err(const char *text)
{
    demo d = {0};
    base_opts_defaults(&set, &d);
    json_t *j = J(text);
    GError *err = NULL;
    gboolean ok = base_opts_load_json(&set, &d, j, "cfg.json", &err);
    json_decref(j);
    base_opts_clear(&set, &d);
    if (ok)
        return NULL;
    char *m = g_strdup(err->message);
    g_error_free(err);
    return m;
}

Test(opts, defaults_then_json_then_flags)
{
    demo d = {0};
    base_opts_defaults(&set, &d);
    cr_expect_eq(d.n, 4);
    cr_expect_eq(d.x, 0.5);
    cr_expect(d.flag);
    cr_expect_str_eq(d.name, "hello");
    cr_expect_eq(d.maybe, BASE_OPT_UNSET_INT);
    json_t *j = J("{\"sec\": {\"n\": 7, \"flag\": false}, \"top\": {\"kind\": \"b\"}}");
    GError *err = NULL;
    cr_assert(base_opts_load_json(&set, &d, j, "cfg.json", &err));
    json_decref(j);
    cr_expect_eq(d.n, 7);
    cr_expect(!d.flag);
    cr_expect_str_eq(d.kind, "b");
    char *argv[] = {"--n",    "9",   "--flag",   "--name=world", "pos",
                    "--list", "a,b", "--list=c", "--maybe",      "auto"};
    GPtrArray *pos = g_ptr_array_new();
    cr_assert(base_opts_parse_args(&set, &d, 10, argv, pos, &err));
    cr_expect_eq(d.n, 9);
    cr_expect(d.flag);
    cr_expect_str_eq(d.name, "world");
    cr_expect_eq(pos->len, 1);
    cr_expect_str_eq(pos->pdata[0], "pos");
    cr_assert_eq(g_strv_length(d.list), 3);
    cr_expect_str_eq(d.list[2], "c");
    cr_expect_eq(d.maybe, BASE_OPT_UNSET_INT);
    char *argv2[] = {"--no-flag"};
    cr_assert(base_opts_parse_args(&set, &d, 1, argv2, NULL, &err));
    cr_expect(!d.flag);
    g_ptr_array_free(pos, TRUE);
    base_opts_clear(&set, &d);
}

Test(opts, json_errors_name_the_path_and_expectation)
{
    g_autofree char *a = load_err("{\"sec\": {\"nn\": 1}}");
    cr_expect_str_eq(a, "cfg.json: sec.nn: unknown key (did you mean: n?)");
    g_autofree char *b = load_err("{\"sec\": {\"n\": \"seven\"}}");
    cr_expect_str_eq(b, "cfg.json: sec.n: expected an integer, got string");
    g_autofree char *c = load_err("{\"sec\": {\"n\": 1000}}");
    cr_expect_str_eq(c, "cfg.json: sec.n: 1000 is out of range [1, 100]");
    g_autofree char *d = load_err("{\"top\": {\"kind\": \"z\"}}");
    cr_expect_str_eq(d, "cfg.json: top.kind: unknown value 'z' (expected one of: a, b)");
    g_autofree char *e = load_err("{\"later\": {}}");
    cr_expect_str_eq(e, "cfg.json: later: not implemented yet");
    g_autofree char *f = load_err("{\"sec\": 3}");
    cr_expect_str_eq(f, "cfg.json: sec: expected an object, got integer");
    g_autofree char *g = load_err("{\"sec\": {\"n\": null}}");
    cr_expect_str_eq(g, "cfg.json: sec.n: expected an integer, got null");
    g_autofree char *h = load_err("{\"bogus\": 1}");
    cr_expect_str_eq(h, "cfg.json: bogus: unknown key");
    /* found by fuzz/fuzz_config_json: a key holding a newline broke the one-line message */
    g_autofree char *i = load_err("{\"sec\": {\"n\\nx\\u001b\": 1}}");
    cr_expect_str_eq(i, "cfg.json: sec.n\\x0Ax\\x1B: unknown key");
    g_autofree char *ok = load_err("{\"sec\": {\"maybe\": null}, \"blob\": [1, {\"a\": 2}]}");
    cr_expect_null(ok);
}

/* Found by fuzz/fuzz_tm_model (jansson quotes the input near a syntax error) and
 * fuzz/fuzz_config_flags (values quoted in type errors): both may hold a newline. */
Test(opts, quoted_input_is_escaped_to_one_line)
{
    g_autofree char *a = load_err("{\"sec\": {\"n\": \"x\\ny\"}}");
    cr_expect_str_eq(a, "cfg.json: sec.n: expected an integer, got string");
    demo d = {0};
    base_opts_defaults(&set, &d);
    GError *err = NULL;
    cr_expect_not(base_opts_set_string(&set, &d, "sec.n", "1\n2", &err));
    cr_assert_not_null(err);
    cr_expect_str_eq(err->message, "sec.n: expected an integer, got '1\\x0A2'");
    g_clear_error(&err);
    cr_expect_not(base_opts_set_string(&set, &d, "top.kind", "a\r", &err));
    cr_assert_not_null(err);
    cr_expect_str_eq(err->message, "top.kind: unknown value 'a\\x0D' (expected one of: a, b)");
    g_clear_error(&err);
    base_opts_clear(&set, &d);
    const char bad[] = "{\"a\": \"x\\q\n\"}";
    cr_expect_null(base_json_load_bytes("f.json", bad, sizeof bad - 1, &err));
    cr_assert_not_null(err);
    cr_expect(strchr(err->message, '\n') == NULL, "one line: %s", err->message);
    cr_expect(g_str_has_prefix(err->message, "f.json:1:"), "%s", err->message);
    g_clear_error(&err);
}

Test(opts, flag_errors)
{
    demo d = {0};
    base_opts_defaults(&set, &d);
    GError *err = NULL;
    char *a1[] = {"--nn", "3"};
    cr_expect(!base_opts_parse_args(&set, &d, 2, a1, NULL, &err));
    cr_expect_str_eq(err->message, "unknown flag --nn (did you mean --n?)");
    g_clear_error(&err);
    char *a2[] = {"--n"};
    cr_expect(!base_opts_parse_args(&set, &d, 1, a2, NULL, &err));
    cr_expect_str_eq(err->message, "--n: missing value (N)");
    g_clear_error(&err);
    char *a3[] = {"--x", "abc"};
    cr_expect(!base_opts_parse_args(&set, &d, 2, a3, NULL, &err));
    cr_expect_str_eq(err->message, "--x: expected a number, got 'abc'");
    g_clear_error(&err);
    char *a4[] = {"-q"};
    cr_expect(!base_opts_parse_args(&set, &d, 1, a4, NULL, &err));
    cr_expect_str_eq(err->message, "unknown option -q");
    g_clear_error(&err);
    base_opts_clear(&set, &d);
}

Test(opts, round_trip_through_json)
{
    demo d = {0};
    base_opts_defaults(&set, &d);
    char *argv[] = {"--n", "11", "--x", "0.1", "--list", "p,q", "--kind", "b"};
    cr_assert(base_opts_parse_args(&set, &d, 8, argv, NULL, NULL));
    json_t *j1 = base_opts_to_json(&set, &d);
    g_autofree char *s1 = base_json_dumps(j1);
    cr_expect(strstr(s1, "\"x\": 0.1") != NULL, "reals print short: %s", s1);
    cr_expect(strstr(s1, "\"maybe\": null") != NULL);
    cr_expect(strstr(s1, "later") == NULL, "reserved sections are not serialised");
    demo e = {0};
    base_opts_defaults(&set, &e);
    cr_assert(base_opts_load_json(&set, &e, j1, "rt", NULL));
    json_t *j2 = base_opts_to_json(&set, &e);
    g_autofree char *s2 = base_json_dumps(j2);
    cr_expect_str_eq(s1, s2);
    json_decref(j1);
    json_decref(j2);
    demo f = {0};
    base_opts_copy(&set, &f, &e);
    cr_expect_str_eq(f.list[1], "q");
    base_opts_clear(&set, &d);
    base_opts_clear(&set, &e);
    base_opts_clear(&set, &f);
}

/* vLLM's spellings: short aliases (-tp), a second long name (--num-prompts), nargs="+". */
typedef struct {
    int64_t tp, count;
    char **slo;
    bool eager;
} vdemo;

static const base_opt vrows[] = {
    {"tp", "tensor-parallel-size|-tp", BASE_OPT_INT, offsetof(vdemo, tp), "1", NULL, 1, 64, 0, "N",
     "tp"},
    {"count", "num-requests|--num-prompts", BASE_OPT_INT, offsetof(vdemo, count), "10", NULL, 1,
     1e9, 0, "N", "count"},
    {"slo", "goodput", BASE_OPT_STRV, offsetof(vdemo, slo), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE | BASE_OPT_NARGS_PLUS, "KEY:MS", "slos"},
    {"eager", "enforce-eager|-e", BASE_OPT_BOOL, offsetof(vdemo, eager), "false", NULL, 0, 0, 0,
     NULL, "b"},
};
static const base_opt_table vtable = {"vllm", vrows, G_N_ELEMENTS(vrows), 0};
static const base_opt_set vset = {&vtable, 1};

/* Parses the NULL-terminated flags into D (defaults first); returns the error or NULL. The
 * positional words are copied into POS (which owns them: free func g_free). */
static char *
vparse(vdemo *d, GPtrArray *pos, const char *first, ...)
{
    memset(d, 0, sizeof *d);
    base_opts_defaults(&vset, d);
    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free); /* owned copies */
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
        g_ptr_array_add(args, g_strdup(a));
    va_end(ap);
    g_autoptr(GPtrArray) words = g_ptr_array_new(); /* borrowed from ARGS */
    GError *err = NULL;
    bool ok = base_opts_parse_args(&vset, d, (int)args->len, (char **)args->pdata, words, &err);
    for (guint i = 0; pos != NULL && i < words->len; i++)
        g_ptr_array_add(pos, g_strdup(words->pdata[i]));
    if (ok)
        return NULL;
    char *m = g_strdup(err->message);
    g_error_free(err);
    return m;
}

Test(opts, aliases_parse_like_the_primary_flag)
{
    vdemo d;
    cr_assert_null(vparse(&d, NULL, "-tp", "4", "--num-prompts", "200", "-e", NULL));
    cr_expect_eq(d.tp, 4);
    cr_expect_eq(d.count, 200);
    cr_expect(d.eager);
    base_opts_clear(&vset, &d);
    cr_assert_null(vparse(&d, NULL, "-tp=8", "--tensor-parallel-size", "2", NULL));
    cr_expect_eq(d.tp, 2, "the last spelling given wins");
    base_opts_clear(&vset, &d);
    cr_assert_null(vparse(&d, NULL, "--num-requests=7", NULL));
    cr_expect_eq(d.count, 7);
    base_opts_clear(&vset, &d);
    /* a one-dash word that is no alias stays an error; negative numbers stay positional */
    g_autofree char *e1 = vparse(&d, NULL, "-tq", "4", NULL);
    cr_expect_str_eq(e1, "unknown option -tq");
    base_opts_clear(&vset, &d);
    g_autofree char *e2 = vparse(&d, NULL, "-tp", "0", NULL);
    cr_expect_str_eq(e2, "-tp: 0 is out of range [1, 64]");
    base_opts_clear(&vset, &d);
    g_autoptr(GPtrArray) pos = g_ptr_array_new_with_free_func(g_free);
    cr_assert_null(vparse(&d, pos, "-5", NULL));
    cr_expect_eq(pos->len, 1);
    base_opts_clear(&vset, &d);
}

Test(opts, nargs_plus_takes_every_following_word)
{
    vdemo d;
    g_autoptr(GPtrArray) pos = g_ptr_array_new_with_free_func(g_free);
    cr_assert_null(
        vparse(&d, pos, "--goodput", "ttft:500", "tpot:50", "-tp", "2", "file.csv", NULL));
    cr_assert_eq(g_strv_length(d.slo), 2);
    cr_expect_str_eq(d.slo[0], "ttft:500");
    cr_expect_str_eq(d.slo[1], "tpot:50");
    cr_expect_eq(d.tp, 2, "an option ends the list");
    cr_expect_eq(pos->len, 1);
    base_opts_clear(&vset, &d);
    /* the comma form and --flag=VALUE (one value) still work */
    cr_assert_null(vparse(&d, NULL, "--goodput=ttft:500", "--goodput", "tpot:50,e2el:9", NULL));
    cr_assert_eq(g_strv_length(d.slo), 3);
    cr_expect_str_eq(d.slo[2], "e2el:9");
    base_opts_clear(&vset, &d);
    g_autofree char *e = vparse(&d, NULL, "--goodput", NULL);
    cr_expect_str_eq(e, "--goodput: missing value (KEY:MS)");
    base_opts_clear(&vset, &d);
}

Test(opts, help_lists_aliases_and_repeated_values)
{
    GString *g = g_string_new(NULL);
    base_opts_help(&vset, g);
    cr_expect(strstr(g->str, "--tensor-parallel-size, -tp N ") != NULL, "%s", g->str);
    cr_expect(strstr(g->str, "--num-requests, --num-prompts N ") != NULL, "%s", g->str);
    cr_expect(strstr(g->str, "--goodput KEY:MS [KEY:MS ...] ") != NULL, "%s", g->str);
    cr_expect(strstr(g->str, "--[no-]enforce-eager, -e ") != NULL, "%s", g->str);
    g_string_free(g, TRUE);
    /* suggestions name the primary spelling */
    vdemo d;
    g_autofree char *e = vparse(&d, NULL, "--tensor-parallel", "2", NULL);
    cr_expect_str_eq(e, "unknown flag --tensor-parallel (did you mean --tensor-parallel-size?)");
    base_opts_clear(&vset, &d);
}
