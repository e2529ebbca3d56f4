/* The tensor text Lua's tostring shows (runtime/tensor/format.c). */
#include "harness.h"

#include "tensor/format.h"

static void check_text(lundi_tensor *t, const char *want) {
  char buf[256];
  const char *got = lundi__format_tensor(t, buf, sizeof buf);
  if (strcmp(got, want)) fprintf(stderr, "got '%s', want '%s'\n", got, want);
  CHECK(strcmp(got, want) == 0);
  lundi_release(t);
}

static void test_values(void) {
  const float v[] = {1, 2.5f, -123456.7f, 1e-7f};
  int64_t s[2] = {2, 2};
  check_text(lundi_from_f32(2, s, v), "tensor([[1, 2.5], [-123457, 1e-07]], f32 cpu)");
  check_text(lundi_scalar(0.1f), "tensor(0.1, f32 cpu)");
  int64_t empty[1] = {0};
  check_text(lundi_zeros(1, empty), "tensor([], f32 cpu)");
}

static void test_integral(void) {
  const int32_t v[] = {16777216, -2, 0};
  int64_t s[1] = {3};
  check_text(lundi_from_i32(1, s, v), "tensor([16777216, -2, 0], i32 cpu)");
}

static void test_large(void) {
  int64_t s[2] = {3, 7};
  check_text(lundi_zeros(2, s), "tensor(f32[3,7] cpu)");
  int64_t s20[2] = {4, 5};
  check_text(lundi_full(2, s20, 2.0f),
             "tensor([[2, 2, 2, 2, 2], [2, 2, 2, 2, 2], [2, 2, 2, 2, 2], [2, 2, 2, 2, 2]], f32 cpu)");
}

static void test_requires_grad(void) {
  int64_t s[1] = {2};
  lundi_tensor *a = lundi_full(1, s, 1.0f), *b = lundi_zeros(2, (int64_t[]){5, 5});
  CHECK(lundi_set_requires_grad(a, 1) == 0 && lundi_set_requires_grad(b, 1) == 0);
  check_text(a, "tensor([1, 1], f32 cpu, requires_grad)");
  check_text(b, "tensor(f32[5,5] cpu, requires_grad)");
}

static void test_truncates(void) {
  int64_t s[1] = {4};
  lundi_tensor *t = lundi_full(1, s, 1.0f);
  char buf[12];
  CHECK(strcmp(lundi__format_tensor(t, buf, sizeof buf), "tensor([1, ") == 0);
  CHECK(lundi__format_tensor(t, buf, 0) == buf);
  lundi_release(t);
}

static const test_case TESTS[] = {
    {"values", test_values},
    {"integral", test_integral},
    {"large", test_large},
    {"requires_grad", test_requires_grad},
    {"truncates", test_truncates},
};
TEST_MAIN(TESTS)
