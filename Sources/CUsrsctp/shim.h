// usrsctp: SCTP in user space, carried over DTLS for WebRTC data channels.
#include <usrsctp.h>
