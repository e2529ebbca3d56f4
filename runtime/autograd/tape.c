/* Define-by-run autograd: each op output that needs a gradient owns a node that holds
 * its inputs; backward() walks the nodes in reverse topological order. */
#include "autograd/node.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local int no_grad_depth;

void lundi_no_grad_enter(void) { no_grad_depth++; }
void lundi_no_grad_exit(void) {
  if (no_grad_depth > 0) no_grad_depth--;
}
int lundi_grad_enabled(void) { return no_grad_depth == 0; }

int lundi_set_requires_grad(lundi_tensor *t, int on) {
  if (t->node) return lundi__err(LUNDI_ESTATE, "requires_grad: only leaf tensors can be marked");
  if (on && t->dtype != LUNDI_F32)
    return lundi__err(LUNDI_EINVAL, "requires_grad: %s tensors cannot have gradients", lundi_dtype_name(t->dtype));
  t->requires_grad = on != 0;
  return 0;
}
int lundi_requires_grad(const lundi_tensor *t) { return t->requires_grad; }
int lundi_is_leaf(const lundi_tensor *t) { return t->node == NULL; }
lundi_tensor *lundi_grad(lundi_tensor *t) { return t->grad; }
void lundi_zero_grad(lundi_tensor *t) {
  lundi_release(t->grad);
  t->grad = NULL;
}

int lundi__needs_grad(int n, lundi_tensor *const *in) {
  if (no_grad_depth) return 0;
  for (int i = 0; i < n; i++)
    if (in[i] && in[i]->requires_grad) return 1;
  return 0;
}

lundi_node *lundi__record(lundi_tensor *out, const char *op, lundi_backward_fn bw, int n,
                          lundi_tensor *const *in) {
  if (!lundi__needs_grad(n, in)) return NULL;
  lundi_node *nd = calloc(1, sizeof *nd);
  if (!nd) return NULL; /* out stays usable, just without history */
  nd->head.release = lundi__node_release;
  nd->refcount = 1;
  nd->op = op;
  nd->backward = bw;
  nd->n_in = n;
  for (int i = 0; i < n; i++) nd->in[i] = lundi_retain(in[i]);
  out->node = nd;
  out->requires_grad = 1;
  return nd;
}

static void node_drop_inputs(lundi_node *n) {
  for (int i = 0; i < n->n_in; i++) {
    lundi_release(n->in[i]);
    n->in[i] = NULL;
  }
  for (int i = 0; i < LUNDI_NODE_MAX_SAVED; i++) {
    lundi_release(n->saved[i]);
    n->saved[i] = NULL;
  }
  free(n->ctx);
  n->ctx = NULL;
  n->released = 1;
}

void lundi__node_release(lundi_node *n) {
  if (!n || --n->refcount > 0) return;
  node_drop_inputs(n);
  lundi_release(n->gacc);
  free(n);
}

int lundi__accumulate(lundi_tensor **acc, lundi_tensor *g) {
  if (!*acc) {
    *acc = g;
    return 0;
  }
  /* The add kernel itself, not lundi_add: the tape stands below the ops (this runs under
   * no_grad, where lundi_add would record nothing either). */
  lundi_tensor *s = lundi__binary_kernel("add", LUNDI_BIN_ADD, *acc, g);
  lundi_release(g);
  if (!s) return lundi_last_error_code();
  lundi_release(*acc);
  *acc = s;
  return 0;
}

/* Leaves keep a gradient nobody else references, so in-place updates (clipping) are safe. */
static int accumulate_leaf(lundi_tensor *t, lundi_tensor *g) {
  char s1[160], s2[160];
  if (g->ndim != t->ndim || memcmp(g->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim)) {
    int rc = lundi__err(LUNDI_ESHAPE, "backward: gradient %s does not match its tensor %s",
                        lundi_shape_str(g->ndim, g->shape, s1, sizeof s1),
                        lundi_shape_str(t->ndim, t->shape, s2, sizeof s2));
    lundi_release(g);
    return rc;
  }
  if (!t->grad && (g->refcount > 1 || g->storage->refcount > 1 || !lundi_is_contiguous(g))) {
    lundi_tensor *c = lundi__copy_new(g); /* a copy that records nothing */
    lundi_release(g);
    if (!c) return lundi_last_error_code();
    g = c;
  }
  return lundi__accumulate(&t->grad, g);
}

typedef struct node_vec {
  lundi_node **v;
  int n, cap;
} node_vec;

static int vec_push(node_vec *s, lundi_node *x) {
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 64;
    lundi_node **v = realloc(s->v, sizeof *v * (size_t)cap);
    if (!v) return lundi__err(LUNDI_ENOMEM, "backward: out of host memory");
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = x;
  return 0;
}

/* Iterative post-order DFS; each collected node gets an extra reference. */
static int topo_sort(lundi_node *root, node_vec *order) {
  node_vec stack = {0};
  int rc = vec_push(&stack, root);
  root->visited = 1;
  while (!rc && stack.n) {
    lundi_node *n = stack.v[stack.n - 1];
    int pushed = 0;
    for (int i = 0; i < n->n_in && !rc; i++) {
      lundi_tensor *t = n->in[i];
      if (t && t->node && t->requires_grad && !t->node->visited) {
        if (t->node->released) {
          rc = lundi__err(LUNDI_ESTATE, "backward: the graph through '%s' was already freed by an earlier backward()",
                          t->node->op);
          break;
        }
        t->node->visited = 1;
        rc = vec_push(&stack, t->node);
        pushed = 1;
        break;
      }
    }
    if (rc) break;
    if (!pushed) {
      stack.n--;
      n->refcount++;
      rc = vec_push(order, n);
      if (rc) n->refcount--;
    }
  }
  for (int i = 0; i < stack.n; i++) stack.v[i]->visited = 0; /* left over only on error */
  free(stack.v);
  return rc;
}

int lundi_backward(lundi_tensor *root, lundi_tensor *grad) {
  if (!root->requires_grad)
    return lundi__err(LUNDI_ESTATE, "backward: tensor does not require grad (no input had requires_grad set)");
  if (root->node && root->node->released)
    return lundi__err(LUNDI_ESTATE, "backward: the graph was already freed by an earlier backward()");
  lundi_tensor *seed;
  if (grad) {
    char s1[160], s2[160];
    if (grad->ndim != root->ndim || memcmp(grad->shape, root->shape, sizeof(int64_t) * (size_t)root->ndim))
      return lundi__err(LUNDI_ESHAPE, "backward: seed gradient %s does not match tensor %s",
                        lundi_shape_str(grad->ndim, grad->shape, s1, sizeof s1),
                        lundi_shape_str(root->ndim, root->shape, s2, sizeof s2));
    seed = lundi_retain(grad);
  } else {
    if (lundi_numel(root) != 1)
      return lundi__err(LUNDI_EINVAL, "backward: tensor has %lld elements; pass a seed gradient",
                        (long long)lundi_numel(root));
    seed = lundi_empty(root->ndim, root->shape, LUNDI_F32, root->storage->device);
    if (!seed) return lundi_last_error_code();
    lundi_fill_(seed, 1.0f);
  }
  if (!root->node) return accumulate_leaf(root, seed);

  node_vec order = {0};
  int rc = topo_sort(root->node, &order);
  root->node->gacc = seed;
  lundi_no_grad_enter();
  for (int k = order.n - 1; k >= 0 && !rc; k--) {
    lundi_node *n = order.v[k];
    if (!n->gacc) continue;
    lundi_tensor *gin[LUNDI_NODE_MAX_IN] = {0};
    rc = n->backward(n, n->gacc, gin);
    if (rc && !lundi_last_error()[0]) rc = lundi__err(LUNDI_EINVAL, "backward of '%s' failed", n->op);
    lundi_release(n->gacc);
    n->gacc = NULL;
    for (int i = 0; i < n->n_in; i++) {
      lundi_tensor *t = n->in[i];
      if (!gin[i]) continue;
      if (rc || !t || !t->requires_grad) {
        lundi_release(gin[i]);
      } else if (t->node) {
        rc = lundi__accumulate(&t->node->gacc, gin[i]);
      } else {
        rc = accumulate_leaf(t, gin[i]);
      }
    }
  }
  lundi_no_grad_exit();
  /* Free the graph: drop inputs first (our extra refs keep nodes alive), then our refs. */
  for (int k = 0; k < order.n; k++) {
    lundi_release(order.v[k]->gacc);
    order.v[k]->gacc = NULL;
    order.v[k]->visited = 0;
    node_drop_inputs(order.v[k]);
  }
  for (int k = 0; k < order.n; k++) lundi__node_release(order.v[k]);
  free(order.v);
  return rc;
}
