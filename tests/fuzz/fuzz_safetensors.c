/* libFuzzer target for the safetensors loader; build and run as tests/fuzz/README.md says.
 * Any input must either load or fail with a message, never crash, leak or read out of
 * bounds; on failure the output list must stay empty. */
#include "lundi/lundi.h"

#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  lundi_set_threads(1); /* keep OpenMP out of the picture */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lundi_param_list l = {0};
  if (lundi_safetensors_load_mem(data, size, &l) == 0) {
    for (int i = 0; i < l.n; i++) { /* touch every value so ASan/MSan see the copies */
      lundi_tensor *t = l.tensors[i];
      lundi_dtype dt = lundi_tensor_dtype(t);
      volatile uint8_t sink = 0;
      const uint8_t *p = lundi_data(t);
      size_t nb = (size_t)lundi_numel(t) * lundi_dtype_size(dt);
      for (size_t k = 0; k < nb; k++) sink ^= p[k];
      (void)sink;
    }
  } else if (l.n != 0 || !lundi_last_error()[0]) {
    abort(); /* a failed load must leave the list empty and say why */
  }
  lundi_param_list_free(&l);
  return 0;
}
