// libcurl (Debian's OpenSSL flavour): egress uploads to S3-compatible storage. curl signs the
// requests itself (CURLOPT_AWS_SIGV4), so Sluice carries no hand-written SigV4.
#include <curl/curl.h>
