/* The instance observers (lundi/plugin_observer.h). The table is copied under the lock and
 * the observers are called outside it, so an observer may itself create instances or add
 * observers without deadlocking. */
#include "plugin/plugin_internal.h"

#include "lundi/plugin_observer.h"

#include <pthread.h>

typedef struct observer {
  lundi_instance_observer fn;
  void *user;
} observer;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static observer table[LUNDI_INSTANCE_OBSERVERS_MAX];
static int count;

int lundi_instance_observe(lundi_instance_observer fn, void *user) {
  if (!fn) return lundi_set_error(LUNDI_EINVAL, "lundi_instance_observe: NULL function");
  int rc = 0;
  pthread_mutex_lock(&lock);
  int i = 0;
  while (i < count && !(table[i].fn == fn && table[i].user == user)) i++;
  if (i == count) {
    if (count == LUNDI_INSTANCE_OBSERVERS_MAX)
      rc = lundi_set_error(LUNDI_ESTATE, "lundi_instance_observe: %d observers are installed already",
                           LUNDI_INSTANCE_OBSERVERS_MAX);
    else
      table[count++] = (observer){fn, user};
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

void lundi_instance_unobserve(lundi_instance_observer fn, void *user) {
  pthread_mutex_lock(&lock);
  for (int i = 0; i < count; i++)
    if (table[i].fn == fn && table[i].user == user) {
      for (count--; i < count; i++) table[i] = table[i + 1]; /* keep the order of the rest */
      break;
    }
  pthread_mutex_unlock(&lock);
}

void lundi__instance_notify(const lundi_instance *inst) {
  observer now[LUNDI_INSTANCE_OBSERVERS_MAX];
  pthread_mutex_lock(&lock);
  int n = count;
  for (int i = 0; i < n; i++) now[i] = table[i];
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < n; i++) now[i].fn(inst, now[i].user);
}
