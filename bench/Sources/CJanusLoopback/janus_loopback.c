// Janus gathers ICE host candidates only on non-loopback interfaces (it skips IFF_LOOPBACK while
// walking getifaddrs), so on a machine whose tests must stay on 127.0.0.0/8 it offers none that
// the load tool may use. The driver preloads this library into Janus (and only Janus): it wraps
// getifaddrs(3) and clears IFF_LOOPBACK, so Janus's `ice_enforce_list = "lo"` yields a
// 127.0.0.1 host candidate. Nothing else changes; it runs once per gathering, off the media path.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **list) {
    static int (*real_getifaddrs)(struct ifaddrs **) = NULL;
    if (real_getifaddrs == NULL) {
        real_getifaddrs = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
        if (real_getifaddrs == NULL) return -1;
    }
    int rc = real_getifaddrs(list);
    if (rc == 0) {
        for (struct ifaddrs *entry = *list; entry != NULL; entry = entry->ifa_next) {
            entry->ifa_flags &= ~(unsigned int)IFF_LOOPBACK;
        }
    }
    return rc;
}
