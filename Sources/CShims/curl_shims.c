#include "CShims.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

CURLcode sluice_curl_setopt_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

CURLcode sluice_curl_setopt_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}

CURLcode sluice_curl_setopt_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}

CURLcode sluice_curl_setopt_off(CURL *curl, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(curl, option, value);
}

long sluice_curl_response_code(CURL *curl) {
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

void sluice_curl_buffer_free(SluiceCurlBuffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->length = 0;
}

static size_t sluice_curl_append(char *ptr, size_t size, size_t nmemb, void *userdata) {
    SluiceCurlBuffer *buffer = userdata;
    size_t n = size * nmemb;
    // Storage errors are a few hundred bytes of XML; cap what is kept so a misdirected
    // download cannot grow without bound (curl is told the bytes were taken either way).
    if (buffer->length + n > (1u << 20)) return n;
    char *grown = realloc(buffer->data, buffer->length + n + 1);
    if (!grown) return 0;
    memcpy(grown + buffer->length, ptr, n);
    buffer->length += n;
    grown[buffer->length] = 0;
    buffer->data = grown;
    return n;
}

CURLcode sluice_curl_collect_response(CURL *curl, SluiceCurlBuffer *body, SluiceCurlBuffer *headers) {
    CURLcode rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sluice_curl_append);
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, sluice_curl_append);
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_HEADERDATA, headers);
    return rc;
}

static size_t sluice_curl_read_file(char *buffer, size_t size, size_t nitems, void *userdata) {
    SluiceCurlFileBody *state = userdata;
    size_t want = size * nitems;
    if ((off_t)want > state->remaining) want = (size_t)state->remaining;
    if (want == 0) return 0;
    ssize_t got;
    do {
        got = pread(state->fd, buffer, want, state->offset);
    } while (got < 0 && errno == EINTR);
    // A short file (truncated under us) must fail the request, not send fewer bytes than declared.
    if (got <= 0) return CURL_READFUNC_ABORT;
    state->offset += got;
    state->remaining -= got;
    return (size_t)got;
}

static int sluice_curl_seek_file(void *userdata, curl_off_t offset, int origin) {
    (void)userdata; (void)offset; (void)origin;
    // Rewinding (a redirect or auth retry) is not needed for S3; let curl fail instead of resending wrong bytes.
    return CURL_SEEKFUNC_CANTSEEK;
}

CURLcode sluice_curl_upload_file(CURL *curl, SluiceCurlFileBody *state, curl_off_t length) {
    CURLcode rc = curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_READFUNCTION, sluice_curl_read_file);
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_READDATA, state);
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, sluice_curl_seek_file);
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, length);
    return rc;
}
