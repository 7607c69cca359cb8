// CShims: the few things Swift cannot call directly (GLib signal macros, GObject varargs,
// custom GSource/BIO vtables, OpenSSL control macros). Every symbol is prefixed `sluice_`.
#ifndef SLUICE_CSHIMS_H
#define SLUICE_CSHIMS_H

#include <glib.h>
#include <gio/gio.h>
#include <agent.h>
#include <openssl/ssl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <usrsctp.h>
#include <curl/curl.h>
#include <sys/types.h>
#include <stdint.h>
#include <stddef.h>

/// Names the calling thread (first 15 bytes).
void sluice_thread_set_name(const char *name);

// MARK: GLib main loop

/// A GSource that dispatches `fn(data)` once each time `sluice_wake_source_signal` is called
/// (calls coalesce until dispatched). Attached to `context`; signal is callable from any thread.
/// The returned reference is owned by the caller (g_source_destroy + g_source_unref).
GSource *sluice_wake_source_new(GMainContext *context, void (*fn)(void *data), void *data);
void sluice_wake_source_signal(GSource *source);

/// A one-shot or repeating timer on `context`, firing `fn(data)` (return TRUE to repeat).
/// `destroy(data)` runs once the source is gone. Returns an owned reference.
GSource *sluice_timeout_source_new(GMainContext *context, guint interval_ms,
                                   gboolean (*fn)(void *data), void *data,
                                   void (*destroy)(void *data));

// MARK: libnice

/// A NiceAgent (RFC 5245, no TCP, no UPnP) whose sources run on `context`.
NiceAgent *sluice_nice_agent_new(GMainContext *context, gboolean controlling, guint options, gboolean ice_tcp);
void sluice_nice_agent_set_controlling(NiceAgent *agent, gboolean controlling);

typedef struct {
    void (*state_changed)(NiceAgent *agent, guint stream_id, guint component_id, guint state, void *data);
    void (*gathering_done)(NiceAgent *agent, guint stream_id, void *data);
    void (*new_selected_pair)(NiceAgent *agent, guint stream_id, guint component_id,
                              NiceCandidate *local, NiceCandidate *remote, void *data);
    void (*new_candidate)(NiceAgent *agent, NiceCandidate *candidate, void *data);
} SluiceNiceCallbacks;

/// Connects the four agent signals to `callbacks` (copied) with `data` as user data.
void sluice_nice_connect_signals(NiceAgent *agent, const SluiceNiceCallbacks *callbacks, void *data);
/// Disconnects every handler on `instance` whose user data is `data`.
void sluice_signals_disconnect_by_data(gpointer instance, void *data);
void sluice_object_unref(gpointer object);

// MARK: OpenSSL

/// A fresh ECDSA P-256 key pair, or NULL.
EVP_PKEY *sluice_ec_p256_keygen(void);
/// A write-only BIO that hands every write (one DTLS datagram) to `send(data, bytes, len)`.
BIO *sluice_datagram_write_bio_new(void (*send)(void *data, const uint8_t *bytes, size_t len), void *data);
/// Read BIO over memory that reports "retry" when empty instead of EOF.
BIO *sluice_mem_read_bio_new(void);
void sluice_ssl_ctx_set_dtls12_min(SSL_CTX *ctx);
void sluice_ssl_set_mtu(SSL *ssl, long mtu);
/// Milliseconds until the DTLS retransmission timer fires, or -1 if none is armed.
long sluice_dtls_get_timeout_ms(SSL *ssl);
/// Handles an expired DTLS timer (retransmits). Returns OpenSSL's result (<0 fatal).
long sluice_dtls_handle_timeout(SSL *ssl);
int sluice_ssl_set_app_data(SSL *ssl, void *data);
void *sluice_ssl_get_app_data(const SSL *ssl);
/// The SSL* behind a verify-callback store context.
SSL *sluice_x509_store_ctx_get_ssl(X509_STORE_CTX *store);

// MARK: usrsctp (sctp_shims.c)

/// Callbacks the usrsctp trampolines forward to. `addr`/`ulp` is the address registered for the
/// association (an opaque id chosen by Swift). They may run on any thread that calls into usrsctp.
typedef struct {
    /// One outgoing SCTP packet (valid only during the call).
    void (*output)(void *addr, const void *bytes, size_t length);
    /// Received data or notification. `data` is malloc'ed by usrsctp and owned by the callee
    /// (release it with free). `data == NULL` means end of file (the peer shut down).
    void (*receive)(void *ulp, void *data, size_t length, uint16_t stream_id, uint32_t ppid,
                    int is_notification, int is_end_of_record);
    /// The send buffer has room again.
    void (*writable)(void *ulp);
} SluiceSCTPCallbacks;

/// usrsctp_init_nothreads (no timer thread: drive usrsctp_handle_timers yourself) with the
/// AF_CONN output trampoline, plus WebRTC-friendly sysctls. Call once per process.
void sluice_sctp_init(const SluiceSCTPCallbacks *callbacks);

/// An AF_CONN one-to-one socket whose receive/send callbacks go to the registered callbacks with
/// `ulp` as the first argument. `send_threshold`: free send-buffer bytes that trigger `writable`.
struct socket *sluice_sctp_socket_new(void *ulp, uint32_t send_threshold);

/// Non-blocking, abortive close (linger 0), NODELAY, stream reset enabled, `streams` in/out,
/// buffer sizes, and the notifications we handle. Returns 0 or an errno.
int sluice_sctp_configure(struct socket *so, uint16_t streams, int send_buffer, int receive_buffer);
/// Binds to (addr, port). Returns 0 or an errno.
int sluice_sctp_bind(struct socket *so, void *addr, uint16_t port);
/// Connects to (addr, port), non-blocking. Returns 0 (also for EINPROGRESS) or an errno.
int sluice_sctp_connect(struct socket *so, void *addr, uint16_t port);
/// Fixed path MTU (disables PMTU discovery) towards (addr, port). Returns 0 or an errno.
int sluice_sctp_set_mtu(struct socket *so, void *addr, uint16_t port, uint32_t mtu);

/// Partial reliability policy for `sluice_sctp_send`.
typedef enum {
    SLUICE_SCTP_RELIABLE = 0,
    /// `pr_value` = maximum number of retransmissions.
    SLUICE_SCTP_MAX_RETRANSMITS = 1,
    /// `pr_value` = lifetime in milliseconds.
    SLUICE_SCTP_MAX_LIFETIME = 2,
} SluiceSCTPReliability;

/// The rest of a message, ending it (SCTP_EOR), with SNDINFO (stream, PPID, unordered) and PRINFO.
/// Returns bytes accepted, or -errno (-EWOULDBLOCK when the send buffer lacks room). Fewer bytes
/// than `length` means the message is still open: send the remainder before anything else.
long sluice_sctp_send(struct socket *so, const void *data, size_t length, uint16_t stream_id,
                      uint32_t ppid, int unordered, SluiceSCTPReliability reliability, uint32_t pr_value);

/// Resets the outgoing direction of `count` streams (RFC 6525). Returns 0 or an errno.
int sluice_sctp_reset_streams(struct socket *so, const uint16_t *stream_ids, uint16_t count);

/// The parts of an SCTP notification we use.
typedef struct {
    /// SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, ... (0 when malformed).
    uint16_t type;
    uint16_t flags;
    /// SCTP_ASSOC_CHANGE: sac_state (SCTP_COMM_UP, SCTP_COMM_LOST, ...).
    uint16_t state;
    uint16_t error;
    uint16_t outbound_streams;
    uint16_t inbound_streams;
    /// SCTP_PARTIAL_DELIVERY_EVENT: the stream whose partial message was aborted.
    uint16_t stream;
    /// SCTP_STREAM_RESET_EVENT: streams (pointing into the notification bytes).
    const uint16_t *streams;
    size_t stream_count;
} SluiceSCTPNotification;

/// Parses a notification; returns 0 if it is too short to read.
int sluice_sctp_parse_notification(const void *data, size_t length, SluiceSCTPNotification *out);

// MARK: libcurl (egress uploads)

// curl_easy_setopt is variadic, which Swift cannot call: one typed entry per argument kind.
CURLcode sluice_curl_setopt_long(CURL *curl, CURLoption option, long value);
CURLcode sluice_curl_setopt_string(CURL *curl, CURLoption option, const char *value);
CURLcode sluice_curl_setopt_pointer(CURL *curl, CURLoption option, void *value);
CURLcode sluice_curl_setopt_off(CURL *curl, CURLoption option, curl_off_t value);
long sluice_curl_response_code(CURL *curl);

/// A growable byte buffer curl writes a response body or headers into (free with
/// sluice_curl_buffer_free).
typedef struct {
    char *data;
    size_t length;
} SluiceCurlBuffer;

void sluice_curl_buffer_free(SluiceCurlBuffer *buffer);

/// Collects the response body into `body` and the response header lines into `headers`.
CURLcode sluice_curl_collect_response(CURL *curl, SluiceCurlBuffer *body, SluiceCurlBuffer *headers);

/// A request body read from a file: `length` bytes of `fd` from `offset` (pread, so several
/// requests may read one descriptor). The state must outlive curl_easy_perform.
typedef struct {
    int fd;
    off_t offset;
    off_t remaining;
} SluiceCurlFileBody;

/// Uploads `state`'s byte range as the request body (CURLOPT_UPLOAD with a known size).
CURLcode sluice_curl_upload_file(CURL *curl, SluiceCurlFileBody *state, curl_off_t length);


/// glibc's mallopt(M_MMAP_THRESHOLD, bytes): blocks of `bytes` and more are mapped on their own
/// (see SluiceServer's MallocTuning). Returns 1 when taken, 0 otherwise.
int sluice_malloc_set_mmap_threshold(int bytes);

#endif
