/*
 * json.h — Causeway's JSON codec: arena DOM parser and streaming writer.
 *
 * Why our own: FHIR needs decimal-exact numbers (`1.50` must stay `1.50`),
 * kept member order, rejected duplicate keys and bad UTF-8, and speed; no
 * packaged C library gives all of these (see ARCHITECTURE.md, "JSON").
 *
 * Model (RFC 8259):
 *  - A parse produces a tree of struct cw_json nodes in the caller's arena.
 *  - Strings and keys are slices of *decoded* UTF-8. When the source text had
 *    no escapes the slice points into the input buffer (zero-copy), so the
 *    input must outlive the tree; otherwise it points at a decoded copy in
 *    the arena. A decoded string may contain U+0000 (from "\u0000"); always
 *    use the length.
 *  - Numbers keep their source text exactly (cw_json_text); convert with
 *    cw_json_to_i64 / cw_json_to_double only when a value is needed.
 *  - Arrays and objects are contiguous vectors (items / members) in source
 *    order, so indexing is O(1) and iteration is a plain loop.
 *
 * Errors: cw_json_parse fills err with issue "structure" (syntax), "too-long"
 * (size limit), "too-costly" (depth or arena limit) or "duplicate" (strict
 * mode); err->line / err->column are 1-based (column counts bytes) and
 * err->msg names the problem without quoting string content.
 *
 * Thread safety: parsing and writing touch only their arguments.
 */
#ifndef CW_JSON_JSON_H
#define CW_JSON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"

enum cw_json_type {
    CW_JSON_NULL = 0,
    CW_JSON_FALSE,
    CW_JSON_TRUE,
    CW_JSON_NUMBER,
    CW_JSON_STRING,
    CW_JSON_ARRAY,
    CW_JSON_OBJECT,
};

/* Node flags. */
#define CW_JSON_F_ESCAPED 0x01 /* string: source had escapes; ptr is an arena copy */
/* array/object: items/members live in builder storage whose capacity follows from len
   alone (0 when len is 0, else max(4, next power of two >= len)); parsed containers are
   exactly sized and have the flag clear. */
#define CW_JSON_F_GROWABLE 0x02
/* object: no member key begins with '_' (FHIR's "_name" extension members), so a
   reader looking for "_name" can stop at "name". Set by the parser; cw_json_set
   clears it when it adds a member; code that writes keys into an object directly
   must clear it (removing members keeps it true). Clear means "unknown". */
#define CW_JSON_F_NOEXT 0x04

struct cw_json_member;

/* One JSON value. 16 bytes. */
struct cw_json {
    uint8_t type;  /* enum cw_json_type */
    uint8_t flags; /* CW_JSON_F_* */
    uint16_t reserved;
    uint32_t len; /* bytes of str (string/number), count of items/members */
    union {
        const char *str;                /* string (decoded) or number (source text) */
        struct cw_json *items;          /* array */
        struct cw_json_member *members; /* object */
    } u;
};

/* One object member: key (decoded) and value. */
struct cw_json_member {
    cw_slice key;
    struct cw_json value;
};

/* Parser options. Zero-initialized options mean RFC 8259 with defaults. */
#define CW_JSON_STRICT    0x01 /* reject duplicate keys (FHIR reading mode) */
#define CW_JSON_ALLOW_BOM 0x02 /* skip one leading UTF-8 byte order mark */

#define CW_JSON_DEFAULT_MAX_DEPTH 512
#define CW_JSON_DEFAULT_MAX_BYTES ((size_t)1 << 30)

struct cw_json_opts {
    unsigned flags;     /* CW_JSON_STRICT | CW_JSON_ALLOW_BOM */
    unsigned max_depth; /* 0 = CW_JSON_DEFAULT_MAX_DEPTH; nesting of arrays/objects */
    size_t max_bytes;   /* 0 = CW_JSON_DEFAULT_MAX_BYTES; larger input -> too-long.
                           Values above UINT32_MAX act as UINT32_MAX (lengths are 32-bit). */
};

/*
 * Parse exactly one JSON text from [p, p+n) (surrounding whitespace allowed,
 * anything else after the value is an error). opts may be NULL.
 *
 * On success *out is the root, allocated in arena a; strings may point into
 * p (see above). On failure returns -1, fills err, and *out is NULL; what was
 * allocated stays in the arena until it is destroyed. Never reads past n;
 * p need not be NUL-terminated. Invalid UTF-8 (overlongs, surrogates encoded
 * in UTF-8, > U+10FFFF) and unpaired \uD800-\uDFFF escapes are rejected.
 * A leading byte order mark is an error unless CW_JSON_ALLOW_BOM is set.
 * When the arena's ceiling is reached the parse fails with "too-costly"
 * (never a crash); temporary heap use is bounded by what the arena could
 * still take. Recursion-free: depth costs heap, not C stack (about 8 KiB of
 * C stack is used in all).
 */
int cw_json_parse(struct cw_arena *a, const char *p, size_t n, const struct cw_json_opts *opts,
                  struct cw_json **out, struct cw_err *err);

/* ---- reading the tree (all accept NULL and wrong types gracefully) ---- */

static inline bool cw_json_is(const struct cw_json *v, enum cw_json_type t)
{
    return v && v->type == t;
}

/* Member value by key, or NULL (also when v is not an object). First match. */
const struct cw_json *cw_json_get(const struct cw_json *obj, const char *key);
const struct cw_json *cw_json_get_slice(const struct cw_json *obj, cw_slice key);

/* Array item i, or NULL when out of range or not an array. */
const struct cw_json *cw_json_at(const struct cw_json *arr, size_t i);

/* String content or number text as a slice; {NULL,0} for other types. */
static inline cw_slice cw_json_text(const struct cw_json *v)
{
    if (v && (v->type == CW_JSON_STRING || v->type == CW_JSON_NUMBER))
        return (cw_slice){v->u.str, v->len};
    return CW_SLICE_NULL;
}

/*
 * Number -> int64 when its text is a plain integer (-?digits) that fits.
 * -1 for non-numbers, fractions and exponent forms ("1.0", "1e2": FHIR
 * integers are written without them) and overflow. "-0" gives 0.
 */
int cw_json_to_i64(const struct cw_json *v, long long *out);

/*
 * Number -> double, correctly rounded (strtod in the C locale, whatever the
 * process locale is). -1 if not a number or when the magnitude is beyond
 * double's range ("1e400"); underflow ("1e-400") gives 0 or a subnormal.
 */
int cw_json_to_double(const struct cw_json *v, double *out);

/* True when text is exactly one JSON number (RFC 8259 section 6 grammar). */
bool cw_json_check_number(cw_slice text);

/* Deep equality: same types, same number text, same strings, same member order. */
bool cw_json_equal(const struct cw_json *a, const struct cw_json *b);

/* ---- building trees (converters, tests) ---- */

/*
 * Scalars. String/number bytes are borrowed: copy with cw_arena_dup first if
 * needed. String bytes should be valid UTF-8 (the writer escapes but does not
 * check them); number text must be a valid JSON number (cw_json_check_number).
 */
struct cw_json cw_json_null(void);
struct cw_json cw_json_bool(bool b);
struct cw_json cw_json_string(cw_slice s);
struct cw_json cw_json_number_text(cw_slice text); /* text must be a valid JSON number */
/* A number from an integer, formatted into the arena (a null node if the arena refuses). */
struct cw_json cw_json_number_i64(struct cw_arena *a, long long v);
/* Empty containers (growable). */
struct cw_json cw_json_array(void);
struct cw_json cw_json_object(void);

/*
 * Append to an array or object (in place; storage grows by doubling inside the
 * arena; parsed containers are copied on their first append). Returns a
 * pointer to the stored value, or NULL when the arena refuses. The key is
 * borrowed. Pointers to earlier items may move on append.
 */
struct cw_json *cw_json_append(struct cw_arena *a, struct cw_json *arr, struct cw_json item);
struct cw_json *cw_json_set(struct cw_arena *a, struct cw_json *obj, cw_slice key,
                            struct cw_json value); /* replaces an existing key */

/* ---- writing ---- */

/*
 * Serialize a tree into out. indent 0 writes compact JSON; indent > 0 pretty
 * prints with that many spaces per level ("key": value, one member per line).
 * Strings are escaped minimally (", \, control characters; / is not escaped),
 * numbers are written as their stored text. Pretty output has the layout of
 * JSON.stringify(v, null, indent): empty containers as {} and [], no
 * trailing newline. Returns 0, or -1 when the buffer reaches its maximum or
 * the tree holds an invalid node (unknown type, number without text); the
 * buffer is then failed (sticky). No recursion.
 */
int cw_json_write(struct cw_buf *out, const struct cw_json *v, int indent);

/*
 * Streaming writer, for output that is never held as a tree (search bundles,
 * NDJSON export). Calls must nest correctly (checked with assert); errors
 * are sticky in the buffer (cw_buf_failed).
 */
#define CW_JSON_WRITER_MAX_DEPTH 256
struct cw_json_writer {
    struct cw_buf *out;
    int indent;
    unsigned depth;
    bool after_key;                          /* the next value follows "key": */
    uint8_t count[CW_JSON_WRITER_MAX_DEPTH]; /* per open container: bit 0 non-empty,
                                                bit 1 object */
};
/* Nesting deeper than CW_JSON_WRITER_MAX_DEPTH begin_* calls fails the buffer
   (cw_json_value subtrees may be deeper: they do not use count[]). */

void cw_json_writer_init(struct cw_json_writer *w, struct cw_buf *out, int indent);
void cw_json_begin_object(struct cw_json_writer *w);
void cw_json_end_object(struct cw_json_writer *w);
void cw_json_begin_array(struct cw_json_writer *w);
void cw_json_end_array(struct cw_json_writer *w);
void cw_json_key(struct cw_json_writer *w, cw_slice key);
void cw_json_string_value(struct cw_json_writer *w, cw_slice s);
void cw_json_number_value(struct cw_json_writer *w, cw_slice text); /* written verbatim */
void cw_json_int_value(struct cw_json_writer *w, long long v);
void cw_json_bool_value(struct cw_json_writer *w, bool b);
void cw_json_null_value(struct cw_json_writer *w);
void cw_json_value(struct cw_json_writer *w, const struct cw_json *v); /* a whole subtree */

/* Append s as an escaped JSON string literal (with quotes). 0, or -1 when the buffer is full. */
int cw_json_escape(struct cw_buf *out, cw_slice s);

#endif
