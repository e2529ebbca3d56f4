/* Observing plugin instances as they are made: a hook of the plugin floor that knows nothing
 * of what is done with it. The run session (lundi/session.h) installs one to record which
 * plugins a run used; a C host may add its own (a log, a counter).
 *
 * An observer is called after every successful lundi_instance_new / lundi_instance_create,
 * from whichever code made the instance (Lua, a C host, a C sampler), in the thread that
 * made it, once per instance. It must not free the instance; it may keep no pointer to it
 * past its return. Observers are process-wide; adding and removing them is thread-safe. */
#ifndef LUNDI_PLUGIN_OBSERVER_H
#define LUNDI_PLUGIN_OBSERVER_H

#include "lundi/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LUNDI_INSTANCE_OBSERVERS_MAX 8

typedef void (*lundi_instance_observer)(const lundi_instance *inst, void *user);

/* Adds fn(inst, user). Adding the same (fn, user) again is one observer, not two. Returns 0,
 * LUNDI_EINVAL for a NULL fn, LUNDI_ESTATE when LUNDI_INSTANCE_OBSERVERS_MAX are installed. */
int lundi_instance_observe(lundi_instance_observer fn, void *user);
/* Removes (fn, user); one not installed is fine. */
void lundi_instance_unobserve(lundi_instance_observer fn, void *user);

#ifdef __cplusplus
}
#endif

#endif
