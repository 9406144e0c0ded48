/*
 * base64.h — RFC 4648 base64 and base64url.
 *
 * Encoding writes the standard alphabet (A-Z a-z 0-9 + /) or, with
 * CW_BASE64_URL, the URL- and filename-safe one (- _) of RFC 4648 section 5,
 * padded with '=' unless CW_BASE64_NO_PAD (JWS/JWT, RFC 7515 section 2).
 *
 * Decoding is strict by default (RFC 4648 section 3): only alphabet
 * characters, the length a multiple of 4, '=' only as the last one or two
 * characters of the final group, and the unused bits of the last character
 * zero (section 3.5: only the canonical encoding is accepted, so one byte
 * string has exactly one accepted text). Options relax this:
 *   CW_BASE64_NO_PAD        no '=' at all; the last group may be 2 or 3
 *                           characters (base64url in JWTs)
 *   CW_BASE64_PAD_OPTIONAL  either form
 *   CW_BASE64_SKIP_WS       skip space, tab, CR, LF anywhere (MIME-style)
 *   CW_BASE64_FHIR          FHIR R4 base64Binary: whitespace only between
 *                           4-character groups, per the R4 regex
 *                           (\s*([0-9a-zA-Z\+/=]){4}\s*)+ ; empty rejected
 *
 * Sizes are checked: the caller gives the output capacity, and nothing is
 * read outside the input slice or written past the capacity.
 *
 * Errors: issue "value" for malformed text (message and err->column give
 * the 1-based position; the data itself is never echoed), "too-long" when
 * the output does not fit, "too-costly" when an arena runs out.
 *
 * Ownership: encode/decode write into caller memory, a cw_buf, or an arena.
 * Thread safety: pure functions.
 */
#ifndef CW_BASE_BASE64_H
#define CW_BASE_BASE64_H

#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"

#define CW_BASE64_URL 0x1u
#define CW_BASE64_NO_PAD 0x2u
#define CW_BASE64_PAD_OPTIONAL 0x4u
#define CW_BASE64_SKIP_WS 0x8u
#define CW_BASE64_FHIR 0x10u

/* Characters encoding n bytes gives (no NUL), or SIZE_MAX on overflow. */
size_t cw_base64_encoded_len(size_t n, unsigned flags);

/* An upper bound on the bytes decoding n characters can give. */
static inline size_t cw_base64_decoded_max(size_t n)
{
    return n / 4 * 3 + 3;
}

/*
 * Encode in into out[0..cap). No NUL is written. *out_len receives the
 * length. Returns 0, or -1 with err (too-long) when cap is too small.
 */
int cw_base64_encode(cw_slice in, unsigned flags, char *out, size_t cap, size_t *out_len,
                     struct cw_err *err);

/* Append the encoding of in to b. -1 when b fails (sticky, see buf.h). */
int cw_base64_encode_buf(struct cw_buf *b, cw_slice in, unsigned flags);

/*
 * Decode in into out[0..cap) under the rules chosen by flags (URL picks the
 * alphabet; the others are listed above). *out_len receives the length.
 * Returns 0, or -1 with err. cap = cw_base64_decoded_max(in.len) always
 * suffices.
 */
int cw_base64_decode(cw_slice in, unsigned flags, unsigned char *out, size_t cap, size_t *out_len,
                     struct cw_err *err);

/*
 * Decode into the arena: *out points at the bytes (followed by a NUL that
 * is not counted, for convenience). Returns 0, or -1 with err.
 */
int cw_base64_decode_arena(struct cw_arena *a, cw_slice in, unsigned flags, cw_slice *out,
                           struct cw_err *err);

#endif
