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
NiceAgent *sluice_nice_agent_new(GMainContext *context, gboolean controlling, guint options);
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

#endif
