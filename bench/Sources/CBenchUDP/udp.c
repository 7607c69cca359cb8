// sendmmsg and struct mmsghdr are GNU extensions: Swift's Glibc module does not see them.
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include "CBenchUDP.h"

int sluice_bench_sendmmsg(int fd, struct iovec *datagrams, unsigned int count,
                          const struct sockaddr *to, socklen_t to_length) {
    if (count > SLUICE_BENCH_MAX_BATCH) { errno = EINVAL; return -1; }
    struct mmsghdr messages[SLUICE_BENCH_MAX_BATCH];
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        messages[i].msg_hdr.msg_name = (void *)to;
        messages[i].msg_hdr.msg_namelen = to_length;
        messages[i].msg_hdr.msg_iov = &datagrams[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, messages, count, 0);
}
