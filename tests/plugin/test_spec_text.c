/* Parameters as scripts give them (plugin/spec_text.h): lundi__param_spec_from_text, the rules
 * of lundi.register's params entries, lundi__params_type_error (params.c) and
 * lundi__params_brief (params_json.c). */
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

static const test_case TESTS[] = {{"spec_text_defaults", test_defaults},
                                  {"spec_text_bounds", test_bounds},
                                  {"spec_text_refuses", test_refuses},
                                  {"params_type_error", test_type_error},
                                  {"params_brief", test_brief}};
TEST_MAIN(TESTS)
