#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

void sluice_thread_set_name(const char *name) {
    char buf[16];
    strncpy(buf, name, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = 0;
    pthread_setname_np(pthread_self(), buf);
}
