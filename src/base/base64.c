/*
 * base64.c — RFC 4648 encoder and the strict/lenient decoder of base64.h.
 *
 * The decoder is one pass over the input with a 4-slot group; state:
 * k (characters in the current group), pads (how many '=' seen), done (the
 * padded final group is complete: only whitespace may follow).
 */
#include "base/base64.h"

#include <stdint.h>
#include <string.h>

static const char std_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#define BAD 0xff

/* Reverse tables, built at compile time from the character ranges. (The
 * cast keeps clang from warning about the untaken arms for high bytes.) */
#define R(c, std)                                                                                  \
    (unsigned char)((c) >= 'A' && (c) <= 'Z' ? (c) - 'A'                                          \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                                   \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                                   \
     : (c) == ((std) ? '+' : '-') ? 62                                                             \
     : (c) == ((std) ? '/' : '_') ? 63                                                             \
                                  : BAD)
#define R4(c, s) R(c, s), R(c + 1, s), R(c + 2, s), R(c + 3, s)
#define R16(c, s) R4(c, s), R4(c + 4, s), R4(c + 8, s), R4(c + 12, s)
#define R64(c, s) R16(c, s), R16(c + 16, s), R16(c + 32, s), R16(c + 48, s)
static const unsigned char std_rev[256] = {R64(0, 1), R64(64, 1), R64(128, 1), R64(192, 1)};
static const unsigned char url_rev[256] = {R64(0, 0), R64(64, 0), R64(128, 0), R64(192, 0)};

size_t cw_base64_encoded_len(size_t n, unsigned flags)
{
    size_t groups = n / 3, rest = n % 3;
    if (groups > (SIZE_MAX - 4) / 4) return SIZE_MAX;
    if (!rest) return groups * 4;
    return groups * 4 + ((flags & CW_BASE64_NO_PAD) ? rest + 1 : 4);
}

static void encode_into(cw_slice in, unsigned flags, char *out)
{
    const char *alpha = (flags & CW_BASE64_URL) ? url_alphabet : std_alphabet;
    const unsigned char *p = (const unsigned char *)in.ptr;
    size_t i = 0, o = 0;
    for (; i + 3 <= in.len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    size_t rest = in.len - i;
    if (rest) {
        uint32_t v = (uint32_t)p[i] << 16 | (rest == 2 ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        if (rest == 2) out[o++] = alpha[(v >> 6) & 63];
        if (!(flags & CW_BASE64_NO_PAD)) {
            out[o++] = '=';
            if (rest == 1) out[o++] = '=';
        }
    }
}

int cw_base64_encode(cw_slice in, unsigned flags, char *out, size_t cap, size_t *out_len,
                     struct cw_err *err)
{
    size_t n = cw_base64_encoded_len(in.len, flags);
    if (n == SIZE_MAX || n > cap)
        return cw_err_set(err, CW_ISSUE_TOO_LONG, "base64: output needs %zu bytes, room for %zu",
                          n, cap);
    encode_into(in, flags, out);
    if (out_len) *out_len = n;
    return 0;
}

int cw_base64_encode_buf(struct cw_buf *b, cw_slice in, unsigned flags)
{
    size_t n = cw_base64_encoded_len(in.len, flags);
    if (n == SIZE_MAX) {
        b->failed = true;
        return -1;
    }
    if (cw_buf_reserve(b, n) < 0) return -1;
    encode_into(in, flags, b->ptr + b->len);
    b->len += n;
    return 0;
}

static int bad(struct cw_err *err, enum cw_issue issue, size_t pos, const char *msg)
{
    cw_err_set(err, issue, "invalid base64: %s (position %zu)", msg, pos + 1);
    if (err) err->column = (unsigned)(pos + 1);
    return -1;
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int cw_base64_decode(cw_slice in, unsigned flags, unsigned char *out, size_t cap, size_t *out_len,
                     struct cw_err *err)
{
    const unsigned char *rev = (flags & CW_BASE64_URL) ? url_rev : std_rev;
    const unsigned char *p = (const unsigned char *)in.ptr;
    bool fhir = (flags & CW_BASE64_FHIR) != 0;
    bool skip_ws = fhir || (flags & CW_BASE64_SKIP_WS);
    bool pad_allowed = !(flags & CW_BASE64_NO_PAD) || (flags & CW_BASE64_PAD_OPTIONAL);
    bool pad_required = !(flags & (CW_BASE64_NO_PAD | CW_BASE64_PAD_OPTIONAL));
    unsigned q[4];
    int k = 0, pads = 0;
    bool done = false, any = false;
    size_t o = 0, last = 0; /* last: position of the last group character */

    for (size_t i = 0; i < in.len; i++) {
        /* Fast path: whole groups of four alphabet characters. */
        while (k == 0 && in.len - i >= 4 && cap - o >= 3) {
            unsigned a = rev[p[i]], b = rev[p[i + 1]], c2 = rev[p[i + 2]], d = rev[p[i + 3]];
            if ((a | b | c2 | d) & 0xc0) break; /* some character is not in the alphabet */
            out[o++] = (unsigned char)(a << 2 | b >> 4);
            out[o++] = (unsigned char)(b << 4 | c2 >> 2);
            out[o++] = (unsigned char)(c2 << 6 | d);
            any = true;
            last = i + 3;
            i += 4;
        }
        if (i >= in.len) break;
        unsigned char c = p[i];
        if (is_ws(c) && skip_ws) {
            if (fhir && (k != 0 || pads != 0) && !done)
                return bad(err, CW_ISSUE_VALUE, i, "whitespace inside a 4-character group");
            continue;
        }
        if (done) return bad(err, CW_ISSUE_VALUE, i, "data after the padding");
        any = true;
        if (c == '=') {
            if (!pad_allowed) return bad(err, CW_ISSUE_VALUE, i, "padding '=' is not allowed");
            if (k < 2) return bad(err, CW_ISSUE_VALUE, i, "misplaced padding '='");
            pads++;
            k++;
            last = i;
            if (k == 4) done = true;
            continue;
        }
        if (pads) return bad(err, CW_ISSUE_VALUE, i, "data after the padding");
        unsigned v = rev[c];
        if (v == BAD) return bad(err, CW_ISSUE_VALUE, i, "character not in the base64 alphabet");
        q[k++] = v;
        last = i;
        if (k == 4) {
            if (cap - o < 3) return bad(err, CW_ISSUE_TOO_LONG, i, "output buffer too small");
            out[o++] = (unsigned char)(q[0] << 2 | q[1] >> 4);
            out[o++] = (unsigned char)(q[1] << 4 | q[2] >> 2);
            out[o++] = (unsigned char)(q[2] << 6 | q[3]);
            k = 0;
        }
    }
    if (fhir && !any) return bad(err, CW_ISSUE_VALUE, 0, "empty value");
    if (pads && !done) return bad(err, CW_ISSUE_VALUE, in.len, "incomplete padding");
    int data = k - pads; /* characters of the final partial group */
    if (done) data = 4 - pads;
    if (k != 0 && !done) {
        if (pad_required) return bad(err, CW_ISSUE_VALUE, in.len, "length is not a multiple of 4 (missing padding)");
        if (k == 1) return bad(err, CW_ISSUE_VALUE, last, "a single trailing character encodes no byte");
        data = k;
    }
    if (data >= 2 && (done || k != 0)) {
        /* The final group carries 1 (2 chars) or 2 (3 chars) bytes; the
         * bits below them must be zero (RFC 4648 section 3.5). */
        unsigned spare = data == 2 ? (q[1] & 15) : (q[2] & 3);
        if (spare) return bad(err, CW_ISSUE_VALUE, last - (size_t)pads, "non-zero unused bits in the last character");
        size_t nbytes = (size_t)data - 1;
        if (cap - o < nbytes) return bad(err, CW_ISSUE_TOO_LONG, last, "output buffer too small");
        out[o++] = (unsigned char)(q[0] << 2 | q[1] >> 4);
        if (data == 3) out[o++] = (unsigned char)(q[1] << 4 | q[2] >> 2);
    }
    if (out_len) *out_len = o;
    return 0;
}

int cw_base64_decode_arena(struct cw_arena *a, cw_slice in, unsigned flags, cw_slice *out,
                           struct cw_err *err)
{
    size_t cap = cw_base64_decoded_max(in.len);
    unsigned char *buf = (unsigned char *)cw_arena_alloc_bytes(a, cap + 1);
    if (!buf) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "base64: arena exhausted");
    size_t n = 0;
    if (cw_base64_decode(in, flags, buf, cap, &n, err) < 0) return -1;
    buf[n] = '\0';
    *out = (cw_slice){(const char *)buf, n};
    return 0;
}
