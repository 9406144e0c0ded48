/*
 * uuid.h — UUIDs (RFC 9562, formerly RFC 4122): random version 4, text
 * form, parsing and the urn:uuid: form FHIR uses for Bundle fullUrls.
 *
 * Generation reads 16 bytes from getrandom(2) per UUID (base/random.h: no
 * user-space pool, so fork()ed processes never repeat each other), then
 * sets the version (4) and variant (10xx) bits: 122 random bits.
 *
 * Text: 8-4-4-4-12 hex digits, 36 characters. We always write lowercase
 * (RFC 9562 section 4; the FHIR R4 uuid regex
 * urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
 * requires it). Parsing accepts either case unless CW_UUID_STRICT_LOWER.
 *
 * Ownership: struct cw_uuid is a plain 16-byte value; text goes into
 * caller arrays. Thread safety: all functions are safe from any thread.
 */
#ifndef CW_BASE_UUID_H
#define CW_BASE_UUID_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "base/slice.h"

/* Length of the text form without NUL, and of the urn:uuid: form. */
#define CW_UUID_TEXT_LEN 36
#define CW_UUID_URN_LEN 45

struct cw_uuid {
    uint8_t b[16]; /* network (big-endian) byte order, as in the text */
};

/* A new random (version 4) UUID. Returns 0, or -1 with err when the kernel
 * refuses randomness (see cw_random_bytes). */
int cw_uuid_v4(struct cw_uuid *out, struct cw_err *err);

/* Write the 36-character lowercase text and a NUL into out. */
void cw_uuid_format(const struct cw_uuid *u, char out[CW_UUID_TEXT_LEN + 1]);

/* Write "urn:uuid:" + the text and a NUL into out. */
void cw_uuid_format_urn(const struct cw_uuid *u, char out[CW_UUID_URN_LEN + 1]);

/* cw_uuid_parse flags. */
#define CW_UUID_STRICT_LOWER 0x1u /* reject upper-case hex (FHIR uuid type) */
#define CW_UUID_ALLOW_URN 0x2u    /* also accept a "urn:uuid:" prefix */

/*
 * Parse 8-4-4-4-12 hex text (any version and variant; the nil and max
 * UUIDs included). With CW_UUID_ALLOW_URN a "urn:uuid:" prefix is accepted
 * (case-insensitively unless CW_UUID_STRICT_LOWER). No braces, no
 * whitespace. Returns 0, or -1 with err (issue "value", position in
 * err->column; the text is not echoed). out may be NULL to only validate.
 */
int cw_uuid_parse(cw_slice s, unsigned flags, struct cw_uuid *out, struct cw_err *err);

/* The version field (high nibble of byte 6): 4 for random UUIDs. */
static inline int cw_uuid_version(const struct cw_uuid *u)
{
    return u->b[6] >> 4;
}

/* True when the variant bits are 10xx (RFC 9562 / RFC 4122 layout). */
static inline bool cw_uuid_is_rfc_variant(const struct cw_uuid *u)
{
    return (u->b[8] & 0xc0) == 0x80;
}

static inline bool cw_uuid_equal(const struct cw_uuid *a, const struct cw_uuid *b)
{
    return memcmp(a->b, b->b, 16) == 0;
}

#endif
