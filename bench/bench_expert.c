/* The experts' figures (docs/action.md): bench_expert ENV EPISODES [SEED [PATH]] collects
 * EPISODES demonstrations from SEED (default 0) into PATH (default /tmp/demos_ENV.safetensors)
 * and prints the success rate, the mean score (per-episode max reward), the mode shares and
 * the time per episode. */
#include <stdio.h>
#include <stdlib.h>

#include "lundi/error.h"
#include "lundi/expert.h"

static void tick(int i, int n, void *user) {
  (void)user;
  fprintf(stderr, "\r%d/%d", i + 1, n);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_expert pusht|two_way EPISODES [SEED [PATH]]\n");
    return 2;
  }
  int n = atoi(argv[2]);
  unsigned long long seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
  char path[512];
  snprintf(path, sizeof path, "%s", argc > 4 ? argv[4] : "");
  if (!*path) snprintf(path, sizeof path, "/tmp/demos_%s.safetensors", argv[1]);
  lundi_demo_stats st;
  if (lundi_demos_collect(argv[1], path, n, seed, &st, tick, NULL)) {
    fprintf(stderr, "\nerror: %s\n", lundi_last_error());
    return 1;
  }
  printf("\n%s: %d episodes from seed %llu, %lld steps -> %s\n", argv[1], st.episodes, seed,
         (long long)st.steps, path);
  printf("success rate %.3f, mean score %.3f, modes none/left/right %d/%d/%d, %.2f s per episode\n",
         st.success_rate, st.score, st.modes[0], st.modes[1], st.modes[2], st.seconds / st.episodes);
  return 0;
}
