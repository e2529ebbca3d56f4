/* Script options (lundi/options.h, runtime/plugin/options.c): the C side of lundi.options. */
#include <string.h>

#include "harness.h"
#include "lundi/options.h"

static const lundi_opt_spec SPECS[] = {
    {"steps", LUNDI_OPT_INT, {.type = LUNDI_OPT_INT, .i = 2100}, "training steps"},
    {"lr", LUNDI_OPT_NUMBER, {.type = LUNDI_OPT_NUMBER, .f = 2e-3}, "peak learning rate\nthen cosine"},
    {"eval", LUNDI_OPT_BOOL, {.type = LUNDI_OPT_BOOL, .b = 1}, NULL},
    {"out_dir", LUNDI_OPT_STRING, {.type = LUNDI_OPT_STRING, .s = "out/x"}, "where"},
};
#define N 4

static lundi_opt_value text(const char *s) { return (lundi_opt_value){.type = LUNDI_OPT_STRING, .s = s}; }

static void test_convert(void) {
  lundi_opt_value out, v;
  char buf[64];
  v = text("50");
  CHECK(lundi_options_convert("t.lua", &SPECS[0], &v, &out, buf, sizeof buf) == 0 && out.type == LUNDI_OPT_INT &&
        out.i == 50);
  v = (lundi_opt_value){.type = LUNDI_OPT_NUMBER, .f = 4.0};
  CHECK(lundi_options_convert("t.lua", &SPECS[0], &v, &out, buf, sizeof buf) == 0 && out.i == 4);
  v = text("1e-4");
  CHECK(lundi_options_convert("t.lua", &SPECS[1], &v, &out, buf, sizeof buf) == 0 && out.type == LUNDI_OPT_NUMBER &&
        out.f == 1e-4);
  v = text("3");
  CHECK(lundi_options_convert("t.lua", &SPECS[1], &v, &out, buf, sizeof buf) == 0 && out.type == LUNDI_OPT_INT &&
        out.i == 3); /* a number option keeps an integer an integer */
  v = text("false");
  CHECK(lundi_options_convert("t.lua", &SPECS[2], &v, &out, buf, sizeof buf) == 0 && out.b == 0);
  v = (lundi_opt_value){.type = LUNDI_OPT_NUMBER, .f = 2.0};
  CHECK(lundi_options_convert("t.lua", &SPECS[3], &v, &out, buf, sizeof buf) == 0 && !strcmp(out.s, "2.0"));
  v = (lundi_opt_value){.type = LUNDI_OPT_INT, .i = -7};
  CHECK(lundi_options_convert("t.lua", &SPECS[3], &v, &out, buf, sizeof buf) == 0 && !strcmp(out.s, "-7"));
  v = text("many");
  CHECK_ERR(lundi_options_convert("t.lua", &SPECS[0], &v, &out, buf, sizeof buf),
            "t.lua: --steps must be a number, got 'many' (--steps takes an integer)");
  v = text("1.5");
  CHECK_ERR(lundi_options_convert("t.lua", &SPECS[0], &v, &out, buf, sizeof buf), "--steps must be an integer, got '1.5'");
  v = text("fast");
  CHECK_ERR(lundi_options_convert("t.lua", &SPECS[1], &v, &out, buf, sizeof buf), "--lr must be a number, got 'fast'");
  v = text("yes");
  CHECK_ERR(lundi_options_convert("t.lua", &SPECS[2], &v, &out, buf, sizeof buf), "--eval must be a boolean");
}

static void test_find(void) {
  CHECK(lundi_options_find("t.lua", SPECS, N, "lr") == 1);
  CHECK_ERR(lundi_options_find("t.lua", SPECS, N, "stepz"),
            "t.lua: unknown parameter --stepz (did you mean --steps?) (known: steps, lr, eval, out_dir)");
  CHECK_ERR(lundi_options_find("t.lua", SPECS, N, "colour"), "unknown parameter --colour (known: ");
}

static void test_help(void) {
  char *h = lundi_options_help("t.lua", "What it does.", SPECS, N);
  CHECK(h != NULL);
  if (!h) return;
  CHECK(strstr(h, "usage: lundi run t.lua [--key=value ...]\n\nWhat it does.\n") != NULL);
  CHECK(strstr(h, "  --steps=2100                  training steps\n") != NULL);
  CHECK(strstr(h, "  --lr=0.002                    peak learning rate\n                                then cosine\n"));
  CHECK(strstr(h, "  --eval=true\n") != NULL);
  CHECK(strstr(h, "  --out_dir=\"out/x\"             where\n") != NULL);
  CHECK(strstr(h, "  --help ") != NULL);
  free(h);
}

static void test_force_type(void) {
  lundi_opt_spec s = {"guidance", LUNDI_OPT_INT, {.type = LUNDI_OPT_INT, .i = 3}, NULL};
  CHECK(lundi_options_force_type("t.lua", &s, "number") == 0 && s.type == LUNDI_OPT_NUMBER);
  s.type = LUNDI_OPT_INT;
  CHECK_ERR(lundi_options_force_type("t.lua", &s, "string"), "t.lua: the default of DEFAULTS.guidance is not of type string");
  s.def = (lundi_opt_value){.type = LUNDI_OPT_NUMBER, .f = 1.5};
  CHECK_ERR(lundi_options_force_type("t.lua", &s, "integer"), "the default of DEFAULTS.guidance is not of type integer");
  CHECK_ERR(lundi_options_force_type("t.lua", &s, "float"),
            "lundi.options: t.lua: DEFAULTS.guidance: type must be integer, number, boolean or string, got 'float'");
  s.def = (lundi_opt_value){.type = LUNDI_OPT_STRING, .s = "x"};
  CHECK(lundi_options_force_type("t.lua", &s, "string") == 0 && s.type == LUNDI_OPT_STRING);
}

/* lundi_options_given: find the key, then convert, one message for a value of no option type. */
static void test_given(void) {
  lundi_opt_value out, v = text("7");
  char buf[64];
  CHECK(lundi_options_given("t.lua", SPECS, N, "steps", &v, "string", &out, buf, sizeof buf) == 0 && out.i == 7);
  v = (lundi_opt_value){.type = LUNDI_OPT_INT, .i = 3};
  CHECK(lundi_options_given("t.lua", SPECS, N, "out_dir", &v, "number", &out, buf, sizeof buf) == 3 &&
        strcmp(out.s, "3") == 0);
  CHECK_ERR(lundi_options_given("t.lua", SPECS, N, "step", &v, "number", &out, buf, sizeof buf),
            "t.lua: unknown parameter --step (did you mean --steps?)");
  CHECK(lundi_options_given("t.lua", SPECS, N, "steps", NULL, "table", &out, buf, sizeof buf) == -1);
  CHECK_ERR(lundi_options_given("t.lua", SPECS, N, "steps", NULL, "table", &out, buf, sizeof buf),
            "t.lua: --steps must be a integer, got a table");
  v = text("many");
  CHECK_ERR(lundi_options_given("t.lua", SPECS, N, "steps", &v, "string", &out, buf, sizeof buf),
            "t.lua: --steps must be a number, got 'many' (--steps takes an integer)");
}

/* lundi_options_sort and lundi_options_own_help: the listing order, and who owns --help. */
static void test_sort(void) {
  lundi_opt_spec specs[N];
  memcpy(specs, SPECS, sizeof specs);
  lundi_options_sort(specs, N);
  CHECK(!strcmp(specs[0].name, "eval") && !strcmp(specs[1].name, "lr") && !strcmp(specs[2].name, "out_dir") &&
        !strcmp(specs[3].name, "steps"));
  CHECK(!lundi_options_own_help(specs, N));
  specs[1].name = "help";
  CHECK(lundi_options_own_help(specs, N));
  lundi_options_sort(specs, 0); /* nothing to do */
}

static const test_case TESTS[] = {{"options_convert", test_convert},
                                  {"options_given", test_given},
                                  {"options_sort", test_sort},
                                  {"options_find", test_find},
                                  {"options_help", test_help},
                                  {"options_force_type", test_force_type}};
TEST_MAIN(TESTS)
