/* Parameters as scripts give them (plugin/spec_text.h): lundi__param_spec_from_text, the rules
 * of lundi.register's params entries, lundi__params_type_error (params.c) and
 * lundi__params_brief (params_json.c), lundi__params_set_value and lundi__value_text (a script's
 * values), and lundi_param_has_range / lundi_param_choice (param_spec.c). */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "plugin/spec_text.h"

static void test_defaults(void) {
  lundi_param_spec s;
  char first[16];
  CHECK(lundi__param_spec_from_text(
            "", &(lundi__spec_text){.name = "mode", .type = "choice", .choices = "a|bb"}, &s, first,
            sizeof first) == 0);
  CHECK(s.type == LUNDI_PARAM_CHOICE && strcmp(s.default_value, "a") == 0 &&
        strcmp(s.choices, "a|bb") == 0);
  CHECK(strcmp(s.help, "") == 0 && s.min == 0 && s.max == 0);
  CHECK(lundi__param_spec_from_text("", &(lundi__spec_text){.name = "on", .type = "bool"}, &s,
                                    first, 1) == 0);
  CHECK(strcmp(s.default_value, "false") == 0);
  CHECK(lundi__param_spec_from_text("", &(lundi__spec_text){.name = "s", .type = "string"}, &s,
                                    first, 1) == 0);
  CHECK(strcmp(s.default_value, "") == 0);
  CHECK(lundi__param_spec_from_text("", &(lundi__spec_text){.name = "n", .type = "int"}, &s, first,
                                    1) == 0);
  CHECK(strcmp(s.default_value, "0") == 0);
  CHECK(lundi__param_spec_from_text(
            "",
            &(lundi__spec_text){.name = "n", .type = "int", .default_value = "7", .help = "steps"},
            &s, first, 1) == 0);
  CHECK(strcmp(s.default_value, "7") == 0 && strcmp(s.help, "steps") == 0);
}

static void test_bounds(void) {
  lundi_param_spec s;
  char first[1];
  CHECK(lundi__param_spec_from_text("",
                                    &(lundi__spec_text){.name = "x", .type = "float", .min = "0.5"},
                                    &s, first, 1) == 0);
  CHECK(s.min == 0.5 && s.max == DBL_MAX);
  CHECK(lundi__param_spec_from_text(
            "", &(lundi__spec_text){.name = "x", .type = "float", .max = "2"}, &s, first, 1) == 0);
  CHECK(s.min == -DBL_MAX && s.max == 2);
  CHECK(lundi__param_spec_from_text(
            "", &(lundi__spec_text){.name = "x", .type = "int", .min = "1", .max = "9"}, &s, first,
            1) == 0);
  CHECK(s.min == 1 && s.max == 9);
}

static void test_refuses(void) {
  lundi_param_spec s;
  char first[2];
  CHECK_ERR(
      lundi__param_spec_from_text(
          "params[1] ('n'): ", &(lundi__spec_text){.name = "n", .type = "integer"}, &s, first, 2),
      "params[1] ('n'): type must be one of int, float, bool, string, choice; got integer");
  CHECK_ERR(lundi__param_spec_from_text("", &(lundi__spec_text){.name = "n"}, &s, first, 2),
            "got nothing");
  CHECK_ERR(lundi__param_spec_from_text(
                "", &(lundi__spec_text){.name = "n", .type = "int", .min = "x"}, &s, first, 2),
            "min and max must be numbers");
  CHECK_ERR(
      lundi__param_spec_from_text(
          "", &(lundi__spec_text){.name = "m", .type = "choice", .choices = "ab|c"}, &s, first, 2),
      "no room for the first choice");
}

static void test_type_error(void) {
  static const lundi_param_spec specs[] = {{"scale", LUNDI_PARAM_FLOAT, "0.5", 0, 1, NULL, ""}};
  lundi_params *p = lundi_params_new("scheduler 'x'", specs, 1);
  CHECK(p != NULL);
  CHECK(lundi__params_type_error(p, "scheduler 'x'", "scale", "table") == LUNDI_EINVAL);
  CHECK_ERR(lundi__params_type_error(p, "scheduler 'x'", "scale", "table"),
            "scheduler 'x': parameter 'scale' expects float, got table");
  CHECK_ERR(lundi__params_type_error(p, "scheduler 'x'", "scales", "Rng"),
            "unknown parameter 'scales' (did you mean 'scale'?); valid parameters: scale");
  lundi_params_free(p);
}

static void test_brief(void) {
  static const lundi_param_spec specs[] = {
      {"steps", LUNDI_PARAM_INT, "10", 0, 0, NULL, ""},
      {"mode", LUNDI_PARAM_CHOICE, "fancy", 0, 0, "plain|fancy", ""},
      {"on", LUNDI_PARAM_BOOL, "true", 0, 0, NULL, ""}};
  lundi_params *p = lundi_params_new("x", specs, 3);
  char *s = lundi__params_brief(p);
  CHECK(s && strcmp(s, "steps=10, mode=\"fancy\", on=true") == 0);
  free(s);
  lundi_params_free(p);
  p = lundi_params_new("x", specs, 0);
  s = lundi__params_brief(p);
  CHECK(s && strcmp(s, "") == 0);
  free(s);
  lundi_params_free(p);
}

/* lundi__params_set_value: a script's typed value into a parameter set. */
static void test_set_value(void) {
  static const lundi_param_spec specs[] = {{"steps", LUNDI_PARAM_INT, "10", 1, 100, NULL, ""},
                                           {"scale", LUNDI_PARAM_FLOAT, "0.5", 0, 0, NULL, ""},
                                           {"on", LUNDI_PARAM_BOOL, "false", 0, 0, NULL, ""}};
  lundi_params *p = lundi_params_new("scheduler 'x'", specs, 3);
  const char *o = "scheduler 'x'";
  CHECK(lundi__params_set_value(p, o, "steps", &(lundi_opt_value){.type = LUNDI_OPT_INT, .i = 7}, "number") == 0);
  CHECK(lundi_params_int(p, "steps") == 7);
  CHECK(lundi__params_set_value(p, o, "steps", &(lundi_opt_value){.type = LUNDI_OPT_NUMBER, .f = 8}, "number") == 0);
  CHECK(lundi_params_int(p, "steps") == 8);
  CHECK(lundi__params_set_value(p, o, "scale", &(lundi_opt_value){.type = LUNDI_OPT_STRING, .s = "0.25"}, "string") == 0);
  CHECK(lundi_params_float(p, "scale") == 0.25);
  CHECK(lundi__params_set_value(p, o, "on", &(lundi_opt_value){.type = LUNDI_OPT_BOOL, .b = 1}, "boolean") == 0);
  CHECK(lundi_params_bool(p, "on") == 1);
  CHECK_ERR(lundi__params_set_value(p, o, "steps", &(lundi_opt_value){.type = LUNDI_OPT_NUMBER, .f = 1.5}, "number"),
            "steps");
  CHECK(lundi_params_int(p, "steps") == 8); /* a refused value leaves the old one */
  CHECK_ERR(lundi__params_set_value(p, o, "scale", NULL, "table"),
            "scheduler 'x': parameter 'scale' expects float, got table");
  lundi_params_free(p);
}

/* lundi__value_text: a script's value as text and as a parameter type's name. */
static void test_value_text(void) {
  char buf[64];
  const char *type;
  CHECK(strcmp(lundi__value_text(&(lundi_opt_value){.type = LUNDI_OPT_INT, .i = -3}, buf, &type), "-3") == 0);
  CHECK(strcmp(type, "int") == 0);
  CHECK(strcmp(lundi__value_text(&(lundi_opt_value){.type = LUNDI_OPT_NUMBER, .f = 0.1}, buf, &type),
               "0.10000000000000001") == 0);
  CHECK(strcmp(type, "float") == 0);
  CHECK(strcmp(lundi__value_text(&(lundi_opt_value){.type = LUNDI_OPT_BOOL, .b = 0}, buf, &type), "false") == 0);
  CHECK(strcmp(type, "bool") == 0);
  CHECK(strcmp(lundi__value_text(&(lundi_opt_value){.type = LUNDI_OPT_STRING, .s = "hi"}, buf, NULL), "hi") == 0);
}

/* lundi_param_has_range and lundi_param_choice (param_spec.c): a spec read for listings. */
static void test_spec_reading(void) {
  lundi_param_spec s = {"m", LUNDI_PARAM_CHOICE, "a", 0, 0, "a|bb|ccc", ""};
  size_t len;
  const char *c = lundi_param_choice(&s, 0, &len);
  CHECK(c && len == 1 && strncmp(c, "a", len) == 0);
  c = lundi_param_choice(&s, 2, &len);
  CHECK(c && len == 3 && strncmp(c, "ccc", len) == 0);
  CHECK(lundi_param_choice(&s, 3, &len) == NULL && lundi_param_choice(&s, -1, &len) == NULL);
  CHECK(!lundi_param_has_range(&s));
  s = (lundi_param_spec){"n", LUNDI_PARAM_INT, "1", 0, 0, NULL, ""};
  CHECK(!lundi_param_has_range(&s) && lundi_param_choice(&s, 0, &len) == NULL);
  s.max = 5;
  CHECK(lundi_param_has_range(&s));
  s.type = LUNDI_PARAM_STRING;
  CHECK(!lundi_param_has_range(&s));
}

static const test_case TESTS[] = {{"params_set_value", test_set_value},
                                  {"value_text", test_value_text},
                                  {"param_spec_reading", test_spec_reading},
                                  {"spec_text_defaults", test_defaults},
                                  {"spec_text_bounds", test_bounds},
                                  {"spec_text_refuses", test_refuses},
                                  {"params_type_error", test_type_error},
                                  {"params_brief", test_brief}};
TEST_MAIN(TESTS)
