/*
 * fuzz_base64.c — cw_base64_decode under every flag combination on
 * arbitrary bytes. Whatever decodes must re-encode and decode to the same
 * bytes; a strict (canonical) decode must re-encode to exactly the input.
 * The output buffer is exactly cw_base64_decoded_max bytes, heap-allocated,
 * so ASan catches any overrun.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cw_slice in = {(const char *)data, size};
    size_t cap = cw_base64_decoded_max(size);
    unsigned char *out = malloc(cap);
    for (unsigned flags = 0; flags < 32; flags++) {
        size_t n = 0;
        if (cw_base64_decode(in, flags, out, cap, &n, NULL) != 0) continue;
        if (n > cap) abort();
        unsigned enc_flags = flags & (CW_BASE64_URL | CW_BASE64_NO_PAD);
        size_t elen = cw_base64_encoded_len(n, enc_flags);
        char *text = malloc(elen ? elen : 1);
        size_t tn = 0;
        if (cw_base64_encode((cw_slice){(const char *)out, n}, enc_flags, text, elen, &tn, NULL) != 0) abort();
        if ((flags & ~(unsigned)CW_BASE64_URL) == 0 && (tn != size || memcmp(text, data, size) != 0)) abort();
        unsigned char *back = malloc(n ? n : 1);
        size_t bn = 0;
        if (cw_base64_decode((cw_slice){text, tn}, enc_flags, back, n, &bn, NULL) != 0) abort();
        if (bn != n || memcmp(back, out, n) != 0) abort();
        free(back);
        free(text);
    }
    free(out);
    return 0;
}
