// A GLib poll function that gathers wake-ups into batches, for the load tool's subscriber loops.
// With N subscribers spread over two loops, a server that sends each subscriber's packet at a
// different moment (Janus: one thread per subscriber) would wake a loop once per packet, and
// every wake-up polls all of that loop's sockets: the tool then spends most of its core polling
// and becomes the bottleneck it is meant to measure. After a wake-up this waits a set time and
// polls again, so one pass serves every socket that became readable meanwhile.
// GLib is looked up at run time (it is loaded through libnice), so this target needs no GLib
// headers; GPollFD has the layout of struct pollfd on Linux (int fd; short events, revents).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <stdatomic.h>
#include <time.h>
#include "CBenchUDP.h"

static _Atomic int batch_microseconds = 0;

static int batched_poll(struct pollfd *fds, unsigned int count, int timeout) {
    int ready = poll(fds, count, timeout);
    int wait = atomic_load(&batch_microseconds);
    if (ready > 0 && timeout != 0 && wait > 0) {
        struct timespec pause = { 0, (long)wait * 1000 };
        nanosleep(&pause, NULL);
        ready = poll(fds, count, 0);
    }
    return ready;
}

int sluice_bench_batch_polls(void *context, int microseconds) {
    typedef void (*set_poll_func)(void *, int (*)(struct pollfd *, unsigned int, int));
    set_poll_func set = (set_poll_func)dlsym(RTLD_DEFAULT, "g_main_context_set_poll_func");
    if (set == NULL) return -1;
    atomic_store(&batch_microseconds, microseconds);
    set(context, batched_poll);
    return 0;
}
