/* Expanding the argument lists of lundi/plugin_api.h: LUNDI__EACH_ARG(M, c, (self, a, b))
 * gives M(c, a) M(c, b), every argument after self (at most four; add an E5 for more).
 * Private; the call wrappers (calls.c) and the Lua trampolines (lua/lregister.c) use it. */
#ifndef LUNDI_PLUGIN_API_EACH_H
#define LUNDI_PLUGIN_API_EACH_H

#define LUNDI__SEL(_1, _2, _3, _4, _5, M, ...) M
#define LUNDI__E0(M, c, s)
#define LUNDI__E1(M, c, s, a) M(c, a)
#define LUNDI__E2(M, c, s, a, b) M(c, a) M(c, b)
#define LUNDI__E3(M, c, s, a, b, d) M(c, a) M(c, b) M(c, d)
#define LUNDI__E4(M, c, s, a, b, d, e) M(c, a) M(c, b) M(c, d) M(c, e)
#define LUNDI__EACH_(M, c, ...)                                                                   \
  LUNDI__SEL(__VA_ARGS__, LUNDI__E4, LUNDI__E3, LUNDI__E2, LUNDI__E1, LUNDI__E0, -)(M, c, __VA_ARGS__)
#define LUNDI__UNPAREN(...) __VA_ARGS__
#define LUNDI__EACH_ARG(M, c, args) LUNDI__EACH_(M, c, LUNDI__UNPAREN args)

#endif
