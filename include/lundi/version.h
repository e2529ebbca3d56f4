/* lundi's version, as macros and at run time. */
#ifndef LUNDI_VERSION_H
#define LUNDI_VERSION_H

#define LUNDI_VERSION_MAJOR 0
#define LUNDI_VERSION_MINOR 1
#define LUNDI_VERSION_PATCH 0
#define LUNDI_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

const char *lundi_version(void);

#ifdef __cplusplus
}
#endif
#endif
