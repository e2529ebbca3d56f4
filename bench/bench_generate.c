/* Text generation speed (issue 14): tokens per second of the llada sampler, by steps and
 * block length, and of the ar sampler (greedy, no KV cache), at each batch size, through the
 * same plugins the text scripts use (transformer denoiser, masked scheduler). Each row
 * generates gen_len tokens after a one-token prompt (BOS), so L = gen_len + 1. The weights
 * are the fresh initialisation: the speed does not depend on their values, and the ar sampler
 * runs without eos so every row writes all gen_len tokens. The clock stops when the tokens are
 * back on the host; each figure is the median of `repeats` runs.
 *
 * Usage: [LUNDI_DEVICE=cpu|vulkan[:N]] bench_generate [gen_len=64] [d_model=128] [n_layers=4]
 *        [repeats=3] [batch ...]   (batches default to 1 64; 128/4 is the demo's "small") */
#include "lundi/device.h"
#include "lundi/lundi.h"
#include "lundi/plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* An instance of a built-in plugin with "key", "value" pairs (NULL-terminated). */
static lundi_instance *make(lundi_registry *r, lundi_plugin_kind k, const char *name, const char *const *kv) {
  const lundi_plugin *p = lundi_registry_find(r, k, name);
  lundi_params *ps = p ? lundi_plugin_params(p) : NULL;
  int rc = ps ? 0 : -1;
  for (int i = 0; !rc && kv && kv[i]; i += 2) rc = lundi_params_set(ps, kv[i], kv[i + 1]);
  lundi_instance *inst = rc ? NULL : lundi_instance_new(p, ps);
  lundi_params_free(ps);
  return inst;
}

/* Median seconds of `reps` generations of batch x gen_len tokens, or < 0 (error set). */
static double time_generate(lundi_instance *sampler, lundi_instance *sched, lundi_instance *den, int batch,
                            int gen_len, int reps) {
  int32_t *bos = malloc(sizeof(int32_t) * (size_t)batch);
  for (int i = 0; bos && i < batch; i++) bos[i] = 259;
  lundi_tensor *prompt = bos ? lundi_from_i32(2, (int64_t[]){batch, 1}, bos) : NULL;
  int64_t n = (int64_t)batch * (gen_len + 1);
  float *host = malloc(sizeof(float) * (size_t)n);
  double t[16], dt = -1;
  int done = 0;
  for (; prompt && host && done < reps; done++) {
    lundi_rng rng = lundi_rng_make((uint64_t)done);
    lundi_pipeline_parts parts = {sched, den, NULL};
    lundi_sample_request req = {.batch = batch, .ndim = 1, .shape = {gen_len + 1}, .cond_input = prompt, .rng = &rng};
    double t0 = now();
    lundi_tensor *x = lundi_sampler_sample(sampler, &parts, &req);
    int rc = !x || lundi_read_f32(x, host, n);
    t[done] = now() - t0;
    lundi_release(x);
    if (rc) break;
  }
  if (done == reps) {
    qsort(t, (size_t)reps, sizeof *t, cmp);
    dt = t[reps / 2];
  }
  free(host);
  free(bos);
  lundi_release(prompt);
  return dt;
}

static lundi_instance *transformer(lundi_registry *r, const char *d_model, const char *n_layers, const char *len,
                                   const char *causal) {
  return make(r, LUNDI_DENOISER, "transformer",
              (const char *const[]){"d_model", d_model, "n_layers", n_layers, "max_len", len, "causal", causal, NULL});
}

int main(int argc, char **argv) {
  int gen_len = argc > 1 ? atoi(argv[1]) : 64;
  const char *d_model = argc > 2 ? argv[2] : "128", *n_layers = argc > 3 ? argv[3] : "4";
  int reps = argc > 4 ? atoi(argv[4]) : 3;
  int batches[16] = {1, 64}, n_batches = 2;
  if (argc > 5) {
    n_batches = 0;
    for (int i = 5; i < argc && n_batches < 16; i++) batches[n_batches++] = atoi(argv[i]);
  }
  int bad = gen_len < 2 || reps < 1 || reps > 16;
  for (int i = 0; i < n_batches; i++) bad |= batches[i] < 1;
  if (bad) {
    fprintf(stderr, "usage: bench_generate [gen_len=64] [d_model=128] [n_layers=4] [repeats=3 (1..16)] [batch ...]\n");
    return 2;
  }
  lundi_registry *r = lundi_registry_new();
  lundi_device *dev = NULL;
  if (!r || lundi_registry_load_builtins(r) ||
      !(dev = lundi_device_from_name(lundi_device_env() ? lundi_device_env() : "cpu"))) {
    fprintf(stderr, "bench_generate: %s\n", lundi_last_error());
    lundi_registry_free(r);
    return 1;
  }
  lundi_set_default_device(dev);
  char len[16];
  snprintf(len, sizeof len, "%d", gen_len + 1);
  lundi_instance *bi = transformer(r, d_model, n_layers, len, "false");
  lundi_instance *causal = transformer(r, d_model, n_layers, len, "true");
  lundi_instance *sched = make(r, LUNDI_SCHEDULER, "masked", NULL);
  int failed = !bi || !causal || !sched;
  lundi_device_info info = {.name = "cpu"};
  if (!failed && dev != lundi_cpu()) lundi_device_get_info(atoi(lundi_device_name(dev) + 7), &info);
  if (!failed) {
    printf("transformer d_model %s, %s layers (%lld parameters); %d tokens after a BOS prompt; on %s (%s), %d CPU "
           "threads; median of %d\n",
           d_model, n_layers, (long long)lundi_module_numel(lundi_denoiser_module(bi)), gen_len,
           lundi_device_name(dev), info.name, lundi_get_threads(), reps);
    printf("%-8s %6s %6s %6s %6s %10s %10s\n", "sampler", "steps", "block", "batch", "evals", "seconds", "tokens/s");
  }
  /* llada: one step per token, half and a quarter of that, over one block and over blocks of 32
   * and 8 (steps must split evenly over the blocks, so combinations that do not are skipped). */
  int steps[3] = {gen_len, gen_len / 2, gen_len / 4}, blocks[3] = {0, 32, 8};
  for (int b = 0; b < n_batches && !failed; b++) {
    for (int s = 0; s < 3 && !failed; s++) {
      for (int k = 0; k < 3 && !failed; k++) {
        int nblk = blocks[k] ? (gen_len + blocks[k] - 1) / blocks[k] : 1;
        if (steps[s] < 1 || (blocks[k] && blocks[k] >= gen_len) || steps[s] % nblk) continue;
        char st[16], bl[16];
        snprintf(st, sizeof st, "%d", steps[s]);
        snprintf(bl, sizeof bl, "%d", blocks[k]);
        lundi_instance *llada = make(r, LUNDI_SAMPLER, "llada", (const char *const[]){"steps", st, "block_length", bl, NULL});
        double dt = llada ? time_generate(llada, sched, bi, batches[b], gen_len, reps) : -1;
        lundi_instance_free(llada);
        if (dt < 0) failed = 1;
        else
          printf("%-8s %6d %6d %6d %6d %10.3f %10.1f\n", "llada", steps[s], blocks[k] ? blocks[k] : gen_len, batches[b],
                 steps[s], dt, batches[b] * gen_len / dt);
        fflush(stdout);
      }
    }
    lundi_instance *ar = failed ? NULL : make(r, LUNDI_SAMPLER, "ar", NULL);
    double dt = ar ? time_generate(ar, sched, causal, batches[b], gen_len, reps) : -1;
    lundi_instance_free(ar);
    if (dt < 0) failed = 1;
    else
      printf("%-8s %6s %6s %6d %6d %10.3f %10.1f\n", "ar", "-", "-", batches[b], gen_len, dt,
             batches[b] * gen_len / dt);
    fflush(stdout);
  }
  if (failed) fprintf(stderr, "bench_generate: %s\n", lundi_last_error());
  lundi_instance_free(bi);
  lundi_instance_free(causal);
  lundi_instance_free(sched);
  lundi_registry_free(r);
  return failed;
}
