// libsrtp2: SRTP/SRTCP protect and unprotect.
#include <srtp2/srtp.h>
