// zlib: livekit-client gzips the `/rtc/v1` join request (WrappedJoinRequest.compression = GZIP).
#include <zlib.h>
