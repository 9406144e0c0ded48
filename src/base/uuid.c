/*
 * uuid.c — version 4 generation, formatting and parsing for uuid.h.
 */
#include "base/uuid.h"

#include <string.h>

#include "base/random.h"

static const char hex[] = "0123456789abcdef";
/* Byte indexes after which the text has a '-'. */
#define DASH_AFTER(i) ((i) == 3 || (i) == 5 || (i) == 7 || (i) == 9)

int cw_uuid_v4(struct cw_uuid *out, struct cw_err *err)
{
    if (cw_random_bytes(out->b, sizeof out->b, err) < 0) return -1;
    out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40); /* version 4 */
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80); /* variant 10xx */
    return 0;
}

void cw_uuid_format(const struct cw_uuid *u, char out[CW_UUID_TEXT_LEN + 1])
{
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        out[o++] = hex[u->b[i] >> 4];
        out[o++] = hex[u->b[i] & 15];
        if (DASH_AFTER(i)) out[o++] = '-';
    }
    out[o] = '\0';
}

void cw_uuid_format_urn(const struct cw_uuid *u, char out[CW_UUID_URN_LEN + 1])
{
    memcpy(out, "urn:uuid:", 9);
    cw_uuid_format(u, out + 9);
}

static int hexval(char c, bool lower_only)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (!lower_only && c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int bad(struct cw_err *err, size_t pos, const char *msg)
{
    cw_err_set(err, CW_ISSUE_VALUE, "invalid UUID: %s (position %zu)", msg, pos + 1);
    if (err) err->column = (unsigned)(pos + 1);
    return -1;
}

int cw_uuid_parse(cw_slice s, unsigned flags, struct cw_uuid *out, struct cw_err *err)
{
    bool lower = (flags & CW_UUID_STRICT_LOWER) != 0;
    size_t base = 0;
    if ((flags & CW_UUID_ALLOW_URN) && s.len >= 9) {
        cw_slice prefix = cw_slice_sub(s, 0, 9);
        if (lower ? cw_slice_eq(prefix, CW_LIT("urn:uuid:")) : cw_slice_eq_nocase(prefix, CW_LIT("urn:uuid:")))
            base = 9;
    }
    /* Walk the text first so the error points at the first bad character,
     * then check the length. */
    struct cw_uuid u;
    size_t at = base;
    const char *need = lower ? "expected a lowercase hex digit" : "expected a hex digit";
    for (int i = 0; i < 16; i++) {
        int nib[2];
        for (int k = 0; k < 2; k++, at++) {
            if (at >= s.len) return bad(err, at, "too short (expected 8-4-4-4-12 hex digits)");
            nib[k] = hexval(s.ptr[at], lower);
            if (nib[k] < 0) return bad(err, at, need);
        }
        u.b[i] = (uint8_t)(nib[0] << 4 | nib[1]);
        if (DASH_AFTER(i)) {
            if (at >= s.len) return bad(err, at, "too short (expected 8-4-4-4-12 hex digits)");
            if (s.ptr[at] != '-') return bad(err, at, "expected '-'");
            at++;
        }
    }
    if (at != s.len) return bad(err, at, "unexpected character after the UUID");
    if (out) *out = u;
    return 0;
}
