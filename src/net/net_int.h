/*
 * net_int.h — shared only inside src/net: the TLS context's insides.
 */
#ifndef CW_NET_INT_H
#define CW_NET_INT_H

#include <openssl/ssl.h>
#include <stdbool.h>

#include "net/net.h"

struct cw_tls_ctx {
    SSL_CTX *ctx;
    bool server;
};

#endif
