/*
 * tls.c — OpenSSL contexts for the MLLP listener and client (see net.h).
 *
 * Owns: one SSL_CTX per cw_tls_ctx. OpenSSL 3 initialises itself; contexts
 * are reference-counted by OpenSSL and safe to share between threads once
 * configured.
 */
#include "net/net_int.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

/* First OpenSSL error as text (library reason only: no key material). */
static const char *ossl_reason(void)
{
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "unknown error";
}

int cw_tls_server_new(const char *cert_file, const char *key_file, struct cw_tls_ctx **out,
                      struct cw_err *err)
{
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "TLS: cannot create context: %s", ossl_reason());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        cw_err_set(err, CW_ISSUE_SECURITY, "TLS: cannot load certificate %.200s: %s", cert_file,
                   ossl_reason());
        SSL_CTX_free(ctx);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        cw_err_set(err, CW_ISSUE_SECURITY, "TLS: cannot load private key %.200s: %s", key_file,
                   ossl_reason());
        SSL_CTX_free(ctx);
        return -1;
    }
    struct cw_tls_ctx *t = calloc(1, sizeof *t);
    if (!t) {
        SSL_CTX_free(ctx);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    }
    t->ctx = ctx;
    t->server = true;
    *out = t;
    return 0;
}

int cw_tls_client_new(const char *ca_file, struct cw_tls_ctx **out, struct cw_err *err)
{
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "TLS: cannot create context: %s", ossl_reason());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file && *ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                                 : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        cw_err_set(err, CW_ISSUE_SECURITY, "TLS: cannot load CA certificates %.200s: %s",
                   ca_file ? ca_file : "(system)", ossl_reason());
        SSL_CTX_free(ctx);
        return -1;
    }
    struct cw_tls_ctx *t = calloc(1, sizeof *t);
    if (!t) {
        SSL_CTX_free(ctx);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    }
    t->ctx = ctx;
    *out = t;
    return 0;
}

void cw_tls_free(struct cw_tls_ctx *t)
{
    if (!t) return;
    SSL_CTX_free(t->ctx);
    free(t);
}
