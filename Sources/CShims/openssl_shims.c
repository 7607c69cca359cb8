#include "CShims.h"
#include <openssl/x509.h>
#include <openssl/err.h>
#include <stdlib.h>

EVP_PKEY *sluice_ec_p256_keygen(void) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

// MARK: datagram write BIO: each BIO_write is one outgoing DTLS datagram.

typedef struct {
    void (*send)(void *data, const uint8_t *bytes, size_t len);
    void *data;
} SluiceWriteBIO;

static BIO_METHOD *sluice_write_bio_method = NULL;

static int sluice_write_bio_write(BIO *bio, const char *buf, int len) {
    SluiceWriteBIO *state = BIO_get_data(bio);
    if (state == NULL || len < 0) return -1;
    state->send(state->data, (const uint8_t *)buf, (size_t)len);
    return len;
}

static long sluice_write_bio_ctrl(BIO *bio, int cmd, long num, void *ptr) {
    (void)bio; (void)num; (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_WPENDING: case BIO_CTRL_PENDING: return 0;
    case BIO_CTRL_DGRAM_QUERY_MTU: return 1200;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: return 28; // IPv4 + UDP
    default: return 0;
    }
}

static int sluice_write_bio_create(BIO *bio) {
    BIO_set_init(bio, 1);
    return 1;
}

static int sluice_write_bio_destroy(BIO *bio) {
    if (bio == NULL) return 0;
    SluiceWriteBIO *state = BIO_get_data(bio);
    BIO_set_data(bio, NULL);
    free(state);
    return 1;
}

static void sluice_write_bio_init_method(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sluice datagram write");
    BIO_meth_set_write(m, sluice_write_bio_write);
    BIO_meth_set_ctrl(m, sluice_write_bio_ctrl);
    BIO_meth_set_create(m, sluice_write_bio_create);
    BIO_meth_set_destroy(m, sluice_write_bio_destroy);
    sluice_write_bio_method = m;
}

BIO *sluice_datagram_write_bio_new(void (*send)(void *data, const uint8_t *bytes, size_t len), void *data) {
    static gsize initialized = 0;
    if (g_once_init_enter(&initialized)) {
        sluice_write_bio_init_method();
        g_once_init_leave(&initialized, 1);
    }
    SluiceWriteBIO *state = calloc(1, sizeof(SluiceWriteBIO));
    if (state == NULL) return NULL;
    state->send = send;
    state->data = data;
    BIO *bio = BIO_new(sluice_write_bio_method);
    if (bio == NULL) { free(state); return NULL; }
    BIO_set_data(bio, state);
    return bio;
}

BIO *sluice_mem_read_bio_new(void) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio) BIO_set_mem_eof_return(bio, -1);
    return bio;
}

void sluice_ssl_ctx_set_dtls12_min(SSL_CTX *ctx) {
    SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
}

void sluice_ssl_set_mtu(SSL *ssl, long mtu) {
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl, mtu);
    DTLS_set_link_mtu(ssl, mtu);
}

long sluice_dtls_get_timeout_ms(SSL *ssl) {
    struct timeval tv = {0, 0};
    if (DTLSv1_get_timeout(ssl, &tv) != 1) return -1;
    return (long)tv.tv_sec * 1000 + (long)(tv.tv_usec + 999) / 1000;
}

long sluice_dtls_handle_timeout(SSL *ssl) {
    return DTLSv1_handle_timeout(ssl);
}

int sluice_ssl_set_app_data(SSL *ssl, void *data) { return SSL_set_app_data(ssl, data); }
void *sluice_ssl_get_app_data(const SSL *ssl) { return SSL_get_app_data(ssl); }

SSL *sluice_x509_store_ctx_get_ssl(X509_STORE_CTX *store) {
    return X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
}
