#pragma once
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

/// Sends `count` datagrams (one iovec each) to `to` with one sendmmsg(2) call; the mmsghdr array
/// lives on the stack (count <= SLUICE_BENCH_MAX_BATCH). Returns the number sent, or -1 with errno.
#define SLUICE_BENCH_MAX_BATCH 64
int sluice_bench_sendmmsg(int fd, struct iovec *datagrams, unsigned int count,
                          const struct sockaddr *to, socklen_t to_length);

/// Confines thread `tid` (0: the caller) to the `count` CPUs listed. Returns 0 or -1 (errno).
int sluice_bench_set_affinity(int tid, const int *cpus, int count);

/// Makes GLib main context `context` (a GMainContext *) poll in batches: after a wake-up it waits
/// `microseconds` and polls again, so one pass of the loop serves every socket that became
/// readable meanwhile (see batched_poll.c). Returns 0, or -1 when GLib is not loaded.
int sluice_bench_batch_polls(void *context, int microseconds);
