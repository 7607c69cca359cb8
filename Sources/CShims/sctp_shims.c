#include "CShims.h"
#include <usrsctp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static SluiceSCTPCallbacks sluice_sctp_callbacks;

static int sluice_sctp_output(void *addr, void *buffer, size_t length, uint8_t tos, uint8_t set_df) {
    (void)tos; (void)set_df;
    sluice_sctp_callbacks.output(addr, buffer, length);
    return 0;
}

static int sluice_sctp_receive(struct socket *sock, union sctp_sockstore addr, void *data,
                               size_t datalen, struct sctp_rcvinfo rcv, int flags, void *ulp_info) {
    (void)sock; (void)addr;
    sluice_sctp_callbacks.receive(ulp_info, data, datalen, rcv.rcv_sid, ntohl(rcv.rcv_ppid),
                                  (flags & MSG_NOTIFICATION) != 0, (flags & MSG_EOR) != 0);
    return 1;
}

static int sluice_sctp_send_ready(struct socket *sock, uint32_t sb_free, void *ulp_info) {
    (void)sock; (void)sb_free;
    sluice_sctp_callbacks.writable(ulp_info);
    return 0;
}

void sluice_sctp_init(const SluiceSCTPCallbacks *callbacks) {
    sluice_sctp_callbacks = *callbacks;
    usrsctp_init_nothreads(0, sluice_sctp_output, NULL);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    // Out-of-the-blue packets (an INIT before our socket exists) are dropped, not ABORTed:
    // the peer retransmits its INIT.
    usrsctp_sysctl_set_sctp_blackhole(2);
    usrsctp_sysctl_set_sctp_rto_initial_default(1000);
    usrsctp_sysctl_set_sctp_rto_min_default(200);
    usrsctp_sysctl_set_sctp_rto_max_default(10000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
    // Room for a few 256 KiB messages in reassembly (about 220 chunks each).
    usrsctp_sysctl_set_sctp_max_chunks_on_queue(8192);
}

struct socket *sluice_sctp_socket_new(void *ulp, uint32_t send_threshold) {
    return usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, sluice_sctp_receive,
                          sluice_sctp_send_ready, send_threshold, ulp);
}

#define SET(level, name, value) \
    do { if (usrsctp_setsockopt(so, level, name, &(value), (socklen_t)sizeof(value)) < 0) return errno; } while (0)

int sluice_sctp_configure(struct socket *so, uint16_t streams, int send_buffer, int receive_buffer) {
    if (usrsctp_set_non_blocking(so, 1) < 0) return errno;
    struct linger linger = { .l_onoff = 1, .l_linger = 0 };
    SET(SOL_SOCKET, SO_LINGER, linger);
    SET(SOL_SOCKET, SO_SNDBUF, send_buffer);
    SET(SOL_SOCKET, SO_RCVBUF, receive_buffer);
    // usrsctp's receive callback hands over a message in parts once it reaches the partial
    // delivery point (by default half the *initial* receive buffer, 128 KiB), and it may then
    // deliver the next message of the same stream before the rest of this one. Keep whole messages
    // up to half the receive buffer (callers keep the max message size below that).
    uint32_t pd_point = (uint32_t)(receive_buffer / 2);
    SET(IPPROTO_SCTP, SCTP_PARTIAL_DELIVERY_POINT, pd_point);
    struct sctp_assoc_value reset = { .assoc_id = SCTP_ALL_ASSOC, .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ };
    SET(IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, reset);
    int on = 1;
    SET(IPPROTO_SCTP, SCTP_NODELAY, on);
    // A non-blocking send may take only part of a message when the buffer is short; with explicit
    // EOR the message stays open until a send carrying SCTP_EOR consumes its last byte, so the
    // caller sends the rest later (and nothing else in between).
    SET(IPPROTO_SCTP, SCTP_EXPLICIT_EOR, on);
    struct sctp_initmsg init;
    memset(&init, 0, sizeof init);
    init.sinit_num_ostreams = streams;
    init.sinit_max_instreams = streams;
    SET(IPPROTO_SCTP, SCTP_INITMSG, init);
    static const uint16_t events[] = {
        SCTP_ASSOC_CHANGE, SCTP_REMOTE_ERROR, SCTP_SHUTDOWN_EVENT, SCTP_STREAM_RESET_EVENT,
        SCTP_SEND_FAILED_EVENT, SCTP_STREAM_CHANGE_EVENT, SCTP_PARTIAL_DELIVERY_EVENT,
    };
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        struct sctp_event event;
        memset(&event, 0, sizeof event);
        event.se_assoc_id = SCTP_ALL_ASSOC;
        event.se_on = 1;
        event.se_type = events[i];
        SET(IPPROTO_SCTP, SCTP_EVENT, event);
    }
    return 0;
}

static struct sockaddr_conn sluice_sconn(void *addr, uint16_t port) {
    struct sockaddr_conn sconn;
    memset(&sconn, 0, sizeof sconn);
    sconn.sconn_family = AF_CONN;
    sconn.sconn_port = htons(port);
    sconn.sconn_addr = addr;
    return sconn;
}

int sluice_sctp_bind(struct socket *so, void *addr, uint16_t port) {
    struct sockaddr_conn sconn = sluice_sconn(addr, port);
    if (usrsctp_bind(so, (struct sockaddr *)&sconn, sizeof sconn) < 0) return errno;
    return 0;
}

int sluice_sctp_connect(struct socket *so, void *addr, uint16_t port) {
    struct sockaddr_conn sconn = sluice_sconn(addr, port);
    if (usrsctp_connect(so, (struct sockaddr *)&sconn, sizeof sconn) < 0 && errno != EINPROGRESS) return errno;
    return 0;
}

int sluice_sctp_set_mtu(struct socket *so, void *addr, uint16_t port, uint32_t mtu) {
    struct sockaddr_conn sconn = sluice_sconn(addr, port);
    struct sctp_paddrparams params;
    memset(&params, 0, sizeof params);
    memcpy(&params.spp_address, &sconn, sizeof sconn);
    params.spp_flags = SPP_PMTUD_DISABLE;
    params.spp_pathmtu = mtu;
    SET(IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, params);
    return 0;
}

long sluice_sctp_send(struct socket *so, const void *data, size_t length, uint16_t stream_id,
                      uint32_t ppid, int unordered, SluiceSCTPReliability reliability, uint32_t pr_value) {
    struct sctp_sendv_spa spa;
    memset(&spa, 0, sizeof spa);
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = stream_id;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR | (unordered ? SCTP_UNORDERED : 0);
    if (reliability != SLUICE_SCTP_RELIABLE) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy = reliability == SLUICE_SCTP_MAX_RETRANSMITS ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = pr_value;
    }
    ssize_t n = usrsctp_sendv(so, data, length, NULL, 0, &spa, (socklen_t)sizeof spa, SCTP_SENDV_SPA, 0);
    return n < 0 ? -(long)errno : (long)n;
}

int sluice_sctp_reset_streams(struct socket *so, const uint16_t *stream_ids, uint16_t count) {
    size_t size = sizeof(struct sctp_reset_streams) + (size_t)count * sizeof(uint16_t);
    struct sctp_reset_streams *reset = calloc(1, size);
    if (reset == NULL) return ENOMEM;
    reset->srs_assoc_id = SCTP_ALL_ASSOC;
    reset->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    reset->srs_number_streams = count;
    memcpy(reset->srs_stream_list, stream_ids, (size_t)count * sizeof(uint16_t));
    int rc = usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_RESET_STREAMS, reset, (socklen_t)size) < 0 ? errno : 0;
    free(reset);
    return rc;
}

int sluice_sctp_parse_notification(const void *data, size_t length, SluiceSCTPNotification *out) {
    memset(out, 0, sizeof *out);
    if (data == NULL || length < sizeof(struct sctp_tlv)) return 0;
    const union sctp_notification *n = data;
    out->type = n->sn_header.sn_type;
    out->flags = n->sn_header.sn_flags;
    switch (out->type) {
    case SCTP_ASSOC_CHANGE:
        if (length < sizeof(struct sctp_assoc_change)) return 0;
        out->state = n->sn_assoc_change.sac_state;
        out->error = n->sn_assoc_change.sac_error;
        out->outbound_streams = n->sn_assoc_change.sac_outbound_streams;
        out->inbound_streams = n->sn_assoc_change.sac_inbound_streams;
        break;
    case SCTP_STREAM_RESET_EVENT: {
        if (length < sizeof(struct sctp_stream_reset_event)) return 0;
        size_t declared = n->sn_strreset_event.strreset_length;
        if (declared > length) declared = length;
        if (declared < sizeof(struct sctp_stream_reset_event)) declared = sizeof(struct sctp_stream_reset_event);
        out->flags = n->sn_strreset_event.strreset_flags;
        out->streams = n->sn_strreset_event.strreset_stream_list;
        out->stream_count = (declared - sizeof(struct sctp_stream_reset_event)) / sizeof(uint16_t);
        break;
    }
    case SCTP_PARTIAL_DELIVERY_EVENT:
        if (length < sizeof(struct sctp_pdapi_event)) return 0;
        out->state = (uint16_t)n->sn_pdapi_event.pdapi_indication;
        out->stream = (uint16_t)n->sn_pdapi_event.pdapi_stream;
        break;
    default:
        break;
    }
    return 1;
}
