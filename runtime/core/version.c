/* The library's version at run time. */
#include "lundi/version.h"

const char *lundi_version(void) { return LUNDI_VERSION_STRING; }
