/* The thread count CPU kernels split their work over (threads.c). */
#ifndef LUNDI_CPU_THREADS_H
#define LUNDI_CPU_THREADS_H

int lundi__threads(void);

#endif
