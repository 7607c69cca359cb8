// sched_setaffinity and the CPU_SET macros are GNU extensions Swift's Glibc module does not see.
#define _GNU_SOURCE
#include <sched.h>
#include <sys/types.h>
#include "CBenchUDP.h"

int sluice_bench_set_affinity(int tid, const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE) CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity((pid_t)tid, sizeof(set), &set);
}
