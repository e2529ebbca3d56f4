/* New Chipmunk spaces without Chipmunk's banner on stdout.
 *
 * Debian's libchipmunk (7.0.3) is built without NDEBUG, and its cpSpaceInit printf's two
 * lines ("Initializing cpSpace - Chipmunk v7.0.3 (Debug Enabled)", "Compile with -DNDEBUG
 * ...") the first time it runs in a process (a static flag inside the library; later spaces
 * print nothing). lundi's stdout is the CLI's output, which may be piped and parsed, so the
 * lines must not reach it. Chipmunk has no switch for them, so the first space of the
 * process is made (and freed at once) while file descriptor 1 points at /dev/null:
 *
 *   fflush(stdout)          what the program wrote before goes where it belongs
 *   saved = dup(1); 1 -> /dev/null
 *   cpSpaceFree(cpSpaceNew())   the banner goes into stdout's buffer ...
 *   fflush(stdout)          ... and from there to /dev/null
 *   1 -> saved
 *
 * pthread_once makes this happen once, before any space of any thread, and makes every other
 * first caller wait for it. The cost: for the few microseconds of that window, whatever
 * another thread writes to fd 1 is lost too (an env is usually made before such threads
 * exist). When fd 1 is not open, or /dev/null cannot be opened, the space is made as is: the
 * banner then goes nowhere or where it always went. A library built with NDEBUG prints
 * nothing, and the detour is harmless. */
#include <chipmunk/chipmunk.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "sim/sim_internal.h"

static pthread_once_t banner_once = PTHREAD_ONCE_INIT;

static void swallow_banner(void) {
  fflush(stdout);
  int saved = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
  int null = saved >= 0 ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
  int redirected = null >= 0 && dup2(null, STDOUT_FILENO) >= 0;
  if (null >= 0) close(null);
  cpSpaceFree(cpSpaceNew());
  fflush(stdout);
  if (redirected) dup2(saved, STDOUT_FILENO);
  if (saved >= 0) close(saved);
}

void *lundi__sim_space_new(void) {
  pthread_once(&banner_once, swallow_banner);
  return cpSpaceNew();
}
