/*
 * hl7v2.h — HL7 version 2 messages: parse, access, write, validate, ACK.
 *
 * Scope: the encoding rules of HL7 v2.1-2.8 ("ER7", vertical bar encoding;
 * HL7 v2.5.1 chapter 2, sections 2.5-2.7 and 2.10), batches (2.10.3), the
 * acknowledgment protocol in original and enhanced mode (2.9, 2.13) and
 * structure validation against the HL7 v2.1-2.7.1 definitions of the npm
 * package hl7-dictionary (compiled into C tables at build time; 2.8 is
 * validated with the 2.7.1 definitions). No networking: MLLP lives in net/.
 *
 * ----------------------------------------------------------------------
 * Model
 * ----------------------------------------------------------------------
 * A parse builds a tree of struct cw_hl7v2_node in the caller's arena. Each
 * node is a slice of the *encoded* message text (escape sequences still in
 * place) plus its children:
 *
 *     message -> segments -> fields -> repetitions -> components -> subcomponents
 *
 * Levels that carry no information are not materialized: a field with no
 * repetition separator has no repetition nodes, a component with no
 * subcomponent separator has no children, and so on. node->kind says which
 * level node->kids belong to; the navigation functions below hide this (the
 * only repetition of a field without '~' is the field itself, the only
 * component of "ABC" is "ABC"), so callers never look at kind unless they
 * want to. The tree is complete after a parse: nothing is parsed later.
 * Only escape sequences and character sets are decoded lazily, on access
 * (cw_hl7v2_decode, cw_hl7v2_get).
 *
 * Segment nodes: kids[0] is the segment ID ("PID") and kids[f] is field f,
 * for every segment. For the header segments MSH, FHS and BHS this means
 * kids[1] is MSH-1 (a one-byte slice of the field separator) and kids[2] is
 * MSH-2 (the encoding characters, verbatim, never split or decoded).
 *
 * Ownership: nodes, arrays and decoded copies live in the arena passed to
 * the call; node text points into the input buffer (which must outlive the
 * tree) or, after cw_hl7v2_set*, into the arena.
 *
 * ----------------------------------------------------------------------
 * Paths (cw_hl7v2_path_parse, cw_hl7v2_get, cw_hl7v2_set, error locations)
 * ----------------------------------------------------------------------
 *     SEG[occ]-FIELD[rep].COMP.SUB
 *
 *   SEG     segment ID: an uppercase letter, then two uppercase letters or
 *           digits: PID, OBX, ZP1.
 *   [occ]   which occurrence of that segment in the message, counting every
 *           segment with that ID from the top regardless of groups;
 *           "(occ)" is the same. Default 1. OBX[3] is the third OBX.
 *   -FIELD  field number, 1-based as in the standard: PID-3, MSH-9.
 *   [rep]   which repetition of the field; "(rep)" is the same. Default:
 *           see below. PID-3[2] and PID-3(2) are both the second
 *           repetition of PID-3.
 *   .COMP   component number, 1-based; PID-5.1 is the family name.
 *   .SUB    subcomponent number, 1-based; PID-3.4.2 is CX-4 HD-2.
 *
 * All numbers are 1-based decimal; 0 is rejected. Spaces are not allowed.
 * "SEG" alone addresses the whole segment, "SEG-F" the whole field with all
 * its repetitions; as soon as a component is given without a repetition,
 * the first repetition is meant (PID-3.1 == PID-3[1].1). So "[n]" after a
 * segment ID counts segments, "[n]" after a field number counts
 * repetitions; there is no other meaning.
 *
 * MSH-1 is the field separator itself and MSH-2 the encoding characters,
 * both returned verbatim; they have no repetitions or components (MSH-2.1
 * is an error). The same holds for FHS-1/2 and BHS-1/2. MSH-3 is the first
 * field after the encoding characters.
 *
 * Error locations (struct cw_err.location) use the same syntax, so every
 * location is a valid path: "PID-3[2].1", "OBX[3]-5", "MSH-9.2", "PID".
 * Occurrence and repetition 1 are left out when they are implied
 * ("PID-5.1", not "PID[1]-5[1].1"); a location that names only a segment ID
 * with no occurrence ("PV1") is used for segments that are missing.
 *
 * ----------------------------------------------------------------------
 * Lenient and strict
 * ----------------------------------------------------------------------
 * Lenient (the default) accepts what real systems send and records one
 * warning (severity warning, with v2 code and location) per irregularity in
 * msg->warnings: bytes before MSH, blank lines (also after the last
 * segment), malformed segment IDs, fewer than 4 or repeated characters in
 * MSH-2, malformed or unknown escape sequences,
 * control characters, invalid UTF-8, non-ASCII text without MSH-18, an
 * unsupported MSH-18. Strict (CW_HL7V2_STRICT) turns each of these into an
 * error that fails the parse. Both modes fail on: input that does not start
 * with a usable MSH (missing or empty MSH-2, bad field separator), a second
 * MSH or a batch segment inside one message, and exceeded limits.
 *
 * Thread safety: parsing and reading touch only their arguments; the
 * generated definition tables are constant. A message may be read from
 * several threads at once but not modified concurrently.
 */
#ifndef CW_HL7V2_HL7V2_H
#define CW_HL7V2_HL7V2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"

/* ------------------------------------------------------------------ */
/* Tree                                                                */
/* ------------------------------------------------------------------ */

/* Levels, used as node->kind (the level of node->kids). */
enum cw_hl7v2_level {
    CW_HL7V2_LEAF = 0, /* no kids */
    CW_HL7V2_SEGMENT,  /* (message level: kids are segments; not used in nodes) */
    CW_HL7V2_FIELD,    /* kids of a segment */
    CW_HL7V2_REP,      /* kids are repetitions */
    CW_HL7V2_COMP,     /* kids are components */
    CW_HL7V2_SUB,      /* kids are subcomponents */
};

/* node->flags */
#define CW_HL7V2_NODE_ESC  0x01 /* text contains the escape character */
#define CW_HL7V2_NODE_OWN  0x02 /* kids array owned by the builder (growable) */
#define CW_HL7V2_TERM_MASK 0x0c /* segment nodes: terminator that followed it */
#define CW_HL7V2_TERM_NONE 0x00 /* end of input */
#define CW_HL7V2_TERM_CR   0x04 /* "\r" */
#define CW_HL7V2_TERM_LF   0x08 /* "\n" */
#define CW_HL7V2_TERM_CRLF 0x0c /* "\r\n" */

/*
 * One element of the tree: a slice of encoded text and its children.
 * 24 bytes. n == 0 means a leaf. Read-only for callers; change a message
 * with cw_hl7v2_set* only.
 */
struct cw_hl7v2_node {
    const char *ptr;            /* encoded text (input buffer or arena) */
    uint32_t len;               /* bytes of text */
    uint16_t n;                 /* number of kids */
    uint8_t kind;               /* enum cw_hl7v2_level of the kids */
    uint8_t flags;              /* CW_HL7V2_NODE_*, CW_HL7V2_TERM_* */
    struct cw_hl7v2_node *kids; /* n nodes */
};

/* The delimiters of one message, from MSH-1 and MSH-2. 0 = not defined. */
struct cw_hl7v2_delims {
    char field; /* MSH-1, usually '|' */
    char comp;  /* MSH-2[0], '^' */
    char rep;   /* MSH-2[1], '~' */
    char esc;   /* MSH-2[2], '\\' */
    char sub;   /* MSH-2[3], '&' */
    char trunc; /* MSH-2[4] (v2.7+), '#' */
};

/* The standard delimiters |^~\& (no truncation character). */
#define CW_HL7V2_DELIMS_DEFAULT ((struct cw_hl7v2_delims){'|', '^', '~', '\\', '&', 0})

/* Character set of a message, from MSH-18 (HL7 table 0211). */
enum cw_hl7v2_charset {
    CW_HL7V2_CS_DEFAULT = 0, /* MSH-18 empty: ASCII by the standard; UTF-8 accepted */
    CW_HL7V2_CS_ASCII,       /* "ASCII" */
    CW_HL7V2_CS_LATIN1,      /* "8859/1" */
    CW_HL7V2_CS_LATIN9,      /* "8859/15" */
    CW_HL7V2_CS_UTF8,        /* "UNICODE UTF-8" (also "UTF-8", "UTF8") */
    CW_HL7V2_CS_OTHER,       /* anything else: bytes are passed through */
};

/* Parse options (flags). */
#define CW_HL7V2_STRICT 0x01 /* irregularities are errors, not warnings */

/* Default limits (0 in struct cw_hl7v2_limits means the default). */
#define CW_HL7V2_DEFAULT_MAX_BYTES    ((size_t)64 << 20) /* 64 MiB per message */
#define CW_HL7V2_DEFAULT_MAX_SEGMENTS 100000u
#define CW_HL7V2_DEFAULT_MAX_FIELDS   1000u  /* highest field number in a segment */
#define CW_HL7V2_DEFAULT_MAX_REPS     10000u /* per field */
#define CW_HL7V2_DEFAULT_MAX_COMPONENTS                                                            \
    1000u                                     /* per repetition, and subcomponents per component   \
                                               */
#define CW_HL7V2_DEFAULT_MAX_WARNINGS 100u    /* more are counted, not kept */
#define CW_HL7V2_DEFAULT_MAX_MESSAGES 100000u /* per file (cw_hl7v2_parse_file) */
/*
 * Hard ceiling of kids of one node (node->n is 16 bits). Parse limits above
 * CW_HL7V2_MAX_KIDS - 64 are lowered to it.
 */
#define CW_HL7V2_MAX_KIDS 65535u

struct cw_hl7v2_limits {
    size_t max_bytes;
    uint32_t max_segments;
    uint32_t max_fields;
    uint32_t max_reps;
    uint32_t max_components;
    uint32_t max_warnings;
    uint32_t max_messages;
};

/* Options of a parse. A zeroed struct (or NULL) means lenient with defaults. */
struct cw_hl7v2_opts {
    unsigned flags;                /* CW_HL7V2_STRICT */
    struct cw_hl7v2_limits limits; /* zero fields take the defaults */
};

/* One parsed (or built) message. Fields are read-only for callers. */
struct cw_hl7v2_msg {
    cw_slice src;                  /* the input bytes (borrowed); stale after set */
    struct cw_hl7v2_delims delims; /* from MSH-1/MSH-2 */
    struct cw_hl7v2_node *segs;    /* segments in order; segs[0] is MSH */
    uint32_t nsegs;
    uint32_t segs_cap;             /* builder capacity (0: array not growable) */
    enum cw_hl7v2_charset charset; /* from MSH-18 (first repetition) */
    bool bom;                      /* the input started with a UTF-8 BOM */
    bool ascii;                    /* every byte of the segments is < 0x80 */
    bool utf8;                     /* the segments are valid UTF-8 */
    unsigned flags;                /* the parse flags (CW_HL7V2_STRICT) */
    struct cw_err *warnings;       /* lenient-mode irregularities (arena) */
    uint32_t nwarnings;
    uint32_t warnings_dropped; /* beyond limits.max_warnings */
    uint32_t max_warnings;
};

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

/*
 * Parse exactly one message: optional UTF-8 BOM, "MSH", segments separated
 * by "\r", "\n" or "\r\n" (a final terminator is optional). Delimiters come
 * from the message's own MSH-1/MSH-2. The tree and warnings are allocated
 * in arena 'a'; the input must outlive them. On success *out is set and 0
 * returned; on failure -1 with err holding the v2 code (table 0357), the
 * location and a diagnostic without field values. Input holding several
 * messages or batch segments is an error here: use cw_hl7v2_parse_file.
 */
int cw_hl7v2_parse(struct cw_arena *a, cw_slice input, const struct cw_hl7v2_opts *opts,
                   struct cw_hl7v2_msg **out, struct cw_err *err);

/* One message of a file (cw_hl7v2_parse_file). */
struct cw_hl7v2_item {
    cw_slice raw;             /* the message's bytes in the input */
    struct cw_hl7v2_msg *msg; /* NULL when it failed to parse */
    struct cw_err err;        /* why it failed (issue NONE when it parsed) */
    uint32_t batch;           /* index into file->batches, or UINT32_MAX */
};

/* One batch (BHS ... BTS) of a file. Segment nodes are NULL when absent. */
struct cw_hl7v2_batch {
    struct cw_hl7v2_node *bhs, *bts;
    struct cw_hl7v2_delims delims; /* from BHS-1/BHS-2 */
    uint32_t first, count;         /* its messages: items[first .. first+count) */
};

/* A file: messages, optionally wrapped in FHS/BHS ... BTS/FTS. */
struct cw_hl7v2_file {
    struct cw_hl7v2_item *items;
    uint32_t nitems;
    uint32_t nfailed; /* items whose msg is NULL */
    struct cw_hl7v2_batch *batches;
    uint32_t nbatches;
    struct cw_hl7v2_node *fhs, *fts; /* NULL when absent */
    struct cw_hl7v2_delims fhs_delims;
    struct cw_err *warnings; /* file-level irregularities (stray lines, counts) */
    uint32_t nwarnings;
    uint32_t warnings_dropped;
};

/*
 * Parse a file or stream that may hold several messages and batches
 * (FHS/BHS ... BTS/FTS, HL7 v2.5.1 section 2.10.3). Every segment starting
 * "MSH" begins a message; each message is parsed with cw_hl7v2_parse and
 * the same options, and a message that fails does not stop the others
 * (see item->err). Lenient mode skips blank lines, MLLP framing bytes
 * (0x0B, 0x1C) and lines before the first header, with file warnings;
 * strict mode fails on them. Returns -1 only for errors of the file as a
 * whole (limits, strict-mode file syntax, out of memory); 0 otherwise, even
 * when some messages failed (file->nfailed).
 */
int cw_hl7v2_parse_file(struct cw_arena *a, cw_slice input, const struct cw_hl7v2_opts *opts,
                        struct cw_hl7v2_file **out, struct cw_err *err);

/* ------------------------------------------------------------------ */
/* Navigation (no allocation; NULL = absent)                           */
/* ------------------------------------------------------------------ */

/* Segment i (0-based position in the message), or NULL. */
const struct cw_hl7v2_node *cw_hl7v2_seg_at(const struct cw_hl7v2_msg *m, uint32_t i);

/* The ID of a segment node ("PID"). */
cw_slice cw_hl7v2_seg_id(const struct cw_hl7v2_node *seg);

/*
 * The occ-th (1-based) segment with this ID, or NULL. If index is not NULL
 * it receives the segment's 0-based position in the message.
 */
const struct cw_hl7v2_node *cw_hl7v2_seg_find(const struct cw_hl7v2_msg *m, cw_slice id,
                                              uint32_t occ, uint32_t *index);

/* Number of segments with this ID. */
uint32_t cw_hl7v2_seg_count(const struct cw_hl7v2_msg *m, cw_slice id);

/* Number of fields of a segment (the highest field number present). */
uint32_t cw_hl7v2_field_count(const struct cw_hl7v2_node *seg);

/* Field f (1-based; 0 is the segment ID) of a segment, or NULL. */
const struct cw_hl7v2_node *cw_hl7v2_field(const struct cw_hl7v2_node *seg, uint32_t f);

/*
 * Children of a field / repetition / component, 1-based. A node without
 * kids at the asked level is its own only child: cw_hl7v2_rep(f, 1) of a
 * field without '~' is f itself. Returns NULL past the last child.
 * The counts are 0 for an empty node.
 */
const struct cw_hl7v2_node *cw_hl7v2_rep(const struct cw_hl7v2_node *field, uint32_t r);
const struct cw_hl7v2_node *cw_hl7v2_comp(const struct cw_hl7v2_node *rep, uint32_t c);
const struct cw_hl7v2_node *cw_hl7v2_sub(const struct cw_hl7v2_node *comp, uint32_t s);
uint32_t cw_hl7v2_rep_count(const struct cw_hl7v2_node *field);
uint32_t cw_hl7v2_comp_count(const struct cw_hl7v2_node *rep);
uint32_t cw_hl7v2_sub_count(const struct cw_hl7v2_node *comp);

/* The encoded text of a node (a view; no decoding). */
static inline cw_slice cw_hl7v2_text(const struct cw_hl7v2_node *n)
{
    return n ? (cw_slice){n->ptr, n->len} : CW_SLICE_NULL;
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */
/* ------------------------------------------------------------------ */

/* A parsed path (see "Paths" above). 0 in field/rep/comp/sub = not given. */
struct cw_hl7v2_path {
    char seg[4];    /* NUL-terminated segment ID */
    uint32_t occ;   /* >= 1 */
    uint32_t field; /* 0 = whole segment */
    uint32_t rep;   /* 0 = whole field (or repetition 1 when comp is given) */
    uint32_t comp;
    uint32_t sub;
};

/* Parse path text. -1 with err (issue "invalid", location = the text) on bad syntax. */
int cw_hl7v2_path_parse(cw_slice text, struct cw_hl7v2_path *p, struct cw_err *err);

/* Write the canonical form of p (implied [1] left out) into buf; returns its length. */
size_t cw_hl7v2_path_format(const struct cw_hl7v2_path *p, char *buf, size_t size);

/*
 * The node a path addresses, or NULL when absent. For MSH-1/MSH-2 the node
 * is the separator / encoding characters. A path with field but no rep and
 * no comp addresses the whole field.
 */
const struct cw_hl7v2_node *cw_hl7v2_lookup(const struct cw_hl7v2_msg *m,
                                            const struct cw_hl7v2_path *p);

/*
 * The decoded UTF-8 value at a path: escapes and the character set are
 * decoded (cw_hl7v2_decode) when the node is a leaf at the addressed level;
 * a node with structure below the addressed level (a composite field, a
 * field with repetitions) is returned encoded, as in the message, and
 * *composite (if given) is set true. Absent values give the empty slice and
 * return 0 (*found, if given, is set false). -1 only on a bad path or when
 * the arena is exhausted. The result points into the message or the arena.
 */
int cw_hl7v2_get(struct cw_arena *a, const struct cw_hl7v2_msg *m, cw_slice path, cw_slice *out,
                 bool *found, bool *composite, struct cw_err *err);

/* ------------------------------------------------------------------ */
/* Decoding and escaping                                               */
/* ------------------------------------------------------------------ */

/*
 * Decode the escape sequences of one leaf value and convert it from the
 * message's character set to UTF-8 (HL7 v2.5.1 section 2.7):
 *   \F\ \S\ \T\ \R\ \E\  the field/component/subcomponent/repetition/escape
 *                        character; \P\ the truncation character (2.7+)
 *   \Xhh..\              bytes given in hex, in the message's character set
 *   \.br\  \.sp\ \.sp n\ line break(s) ("\n"); \.sk n\ n spaces; other
 *                        formatting commands (\.in\ \.ti\ \.ce\ \.fi\ \.nf\)
 *                        are dropped
 *   \H\ \N\              highlighting on/off: dropped
 *   \Cxxyy\ \Mxxyyzz\ \Zxx..\ and anything malformed: kept verbatim
 * Text without escapes in an ASCII or UTF-8 message is returned as is (no
 * copy); otherwise the result is in the arena. Bytes that are not valid in
 * the character set become U+FFFD, except that in the default character set
 * (MSH-18 empty) bytes that are not valid UTF-8 are read as ISO 8859-1.
 * -1 only when the arena is exhausted.
 */
int cw_hl7v2_decode(struct cw_arena *a, const struct cw_hl7v2_msg *m, cw_slice text, cw_slice *out,
                    struct cw_err *err);

/*
 * Append UTF-8 'text' to out, escaped for a leaf value of message m:
 * delimiters become \F\ \S\ \T\ \R\ \E\ (\P\), CR and LF become \X0D\ and
 * \X0A\, other control characters \Xhh\, and the text is converted to the
 * message's character set (ISO 8859-1/15; a character that set cannot hold
 * is an error, "code-invalid"). -1 with err on invalid UTF-8, such
 * characters, or when out is full.
 */
int cw_hl7v2_escape(const struct cw_hl7v2_msg *m, cw_slice text, struct cw_buf *out,
                    struct cw_err *err);

/* ------------------------------------------------------------------ */
/* Writing and building                                                */
/* ------------------------------------------------------------------ */

/* cw_hl7v2_write flags */
#define CW_HL7V2_WRITE_REBUILD  0x01 /* serialize from the leaves, not the cached segment text */
#define CW_HL7V2_WRITE_CR       0x02 /* end every segment with "\r" and drop the BOM */
#define CW_HL7V2_WRITE_FINAL_CR 0x04 /* with WRITE_CR: end the last segment with "\r" too */

/*
 * Append the message to out. By default each segment is followed by the
 * terminator it had in the input (none after the last one if the input had
 * none; "\r" for built segments) and a BOM is written when the input had
 * one, so parse -> write of a message that parsed without warnings gives
 * the input back byte for byte. -1 with err when out is full.
 */
int cw_hl7v2_write(const struct cw_hl7v2_msg *m, unsigned flags, struct cw_buf *out,
                   struct cw_err *err);

/*
 * A new message holding only an MSH segment with MSH-1 and MSH-2 from d
 * (NULL = |^~\&). Its character set is the default (MSH-18 empty: UTF-8
 * text is written as is) until cw_hl7v2_set_charset. Built segments end
 * with "\r" when written. NULL when the arena is exhausted or d is invalid
 * (err says which).
 */
struct cw_hl7v2_msg *cw_hl7v2_new(struct cw_arena *a, const struct cw_hl7v2_delims *d,
                                  struct cw_err *err);

/* Append an empty segment with this ID (3 letters/digits, not MSH). Returns its index or -1. */
long cw_hl7v2_seg_append(struct cw_arena *a, struct cw_hl7v2_msg *m, cw_slice id,
                         struct cw_err *err);

/*
 * Set the value at a path to UTF-8 'text', escaped (cw_hl7v2_escape). The
 * segment occurrence must exist; missing fields, repetitions and components
 * are created empty on the way. "SEG-F" replaces the whole field (all
 * repetitions), "SEG-F[r]" one repetition, and so on. MSH-1/MSH-2 cannot be
 * set. Setting "" where nothing exists yet changes nothing.
 */
int cw_hl7v2_set(struct cw_arena *a, struct cw_hl7v2_msg *m, cw_slice path, cw_slice text,
                 struct cw_err *err);

/*
 * Like cw_hl7v2_set but 'encoded' is already in the message's encoding and
 * may contain the delimiters below the addressed level ("Doe^John" for a
 * field or repetition, "a&b" for a component); it is split into the tree.
 * Delimiters of the addressed level or above, and CR/LF, are an error.
 */
int cw_hl7v2_set_raw(struct cw_arena *a, struct cw_hl7v2_msg *m, cw_slice path, cw_slice encoded,
                     struct cw_err *err);

/* Set MSH-18 and the message's charset (the name is written escaped). */
int cw_hl7v2_set_charset(struct cw_arena *a, struct cw_hl7v2_msg *m, cw_slice name,
                         struct cw_err *err);

/* The charset an MSH-18 value names. */
enum cw_hl7v2_charset cw_hl7v2_charset_from_name(cw_slice name);

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

/* Issues found by cw_hl7v2_validate (arena array). */
struct cw_hl7v2_issues {
    struct cw_err *items;
    uint32_t n;
    uint32_t dropped; /* found beyond max */
    uint32_t errors;  /* items with severity error or fatal */
    uint32_t warnings;
};

/* cw_hl7v2_validate_opts.flags */
#define CW_HL7V2_VALIDATE_STRICT 0x01 /* lengths and ID table values are errors, not warnings */

struct cw_hl7v2_validate_opts {
    unsigned flags;      /* CW_HL7V2_VALIDATE_* */
    uint32_t max_issues; /* 0 = 200 */
    cw_slice version;    /* validate as this version instead of MSH-12 ("2.5.1") */
};

/*
 * Check a parsed message against the definitions of its version (MSH-12;
 * 2.8 and later use 2.7.1): message type (200/201), version (203), segment
 * order and group cardinality by walking the message structure's group tree
 * (100), required fields and components (101), field repetitions and data
 * type syntax of NM, SI, DT, DTM/TS, TM, ID and IS, including OBX-5 by
 * OBX-2 (102), table values of ID and IS fields and components (103) and
 * lengths (104). Severities: 100, 101 (fields), 102, 200, 201, 203 are
 * errors; a required *component* left empty, a field beyond the version's
 * definition, table values and lengths are warnings, because the package
 * holds one (the newest) set of table values for all versions and lengths
 * stopped being normative in v2.7 and are exceeded everywhere in practice;
 * CW_HL7V2_VALIDATE_STRICT makes lengths and ID table values errors.
 * Z-segments and Z message types are not checked. Every issue is a struct cw_err
 * with severity, v2 code and location; all are collected (up to max), not
 * just the first. Returns 0 when the check ran (look at out->errors), -1 if
 * the arena is exhausted.
 */
int cw_hl7v2_validate(struct cw_arena *a, const struct cw_hl7v2_msg *m,
                      const struct cw_hl7v2_validate_opts *opts, struct cw_hl7v2_issues *out,
                      struct cw_err *err);

/*
 * The description of a field in the definitions ("Patient Name"), or NULL.
 * version as in MSH-12 (NULL slice = 2.5.1).
 */
const char *cw_hl7v2_field_desc(cw_slice version, cw_slice seg, uint32_t field);

/* Statistics of the compiled definition tables (for docs/performance.md). */
struct cw_hl7v2_dict_stats {
    uint32_t versions, segments, fields, datatypes, structures, nodes, tables, table_values;
    size_t bytes; /* total size of the constant tables and strings */
};
void cw_hl7v2_dict_stats(struct cw_hl7v2_dict_stats *st);

/* ------------------------------------------------------------------ */
/* Acknowledgments (HL7 v2.5.1 sections 2.9, 2.13, 2.14.1, 2.15.8)      */
/* ------------------------------------------------------------------ */

enum cw_hl7v2_outcome {
    CW_HL7V2_ACCEPT = 0, /* AA / CA */
    CW_HL7V2_ERROR,      /* AE / CE: the message was understood but has errors */
    CW_HL7V2_REJECT,     /* AR / CR: rejected (unparseable, unsupported type/version/id) */
};

enum cw_hl7v2_ack_kind {
    CW_HL7V2_ACK_AUTO = 0,    /* original mode: application ACK; enhanced: commit ACK */
    CW_HL7V2_ACK_COMMIT,      /* enhanced mode accept acknowledgment (CA/CE/CR) */
    CW_HL7V2_ACK_APPLICATION, /* application acknowledgment (AA/AE/AR) */
};

struct cw_hl7v2_ack_opts {
    enum cw_hl7v2_outcome outcome;
    enum cw_hl7v2_ack_kind kind;
    cw_slice control_id; /* MSH-10 of the ACK; empty = generated (time + counter) */
    cw_slice timestamp;  /* MSH-7; empty = now, UTC, YYYYMMDDHHMMSS+0000 */
    cw_slice text;       /* MSA-3 text (v2.1-2.4; ignored later); no PHI */
    uint32_t max_errors; /* ERR entries written at most (0 = 100); the rest are left out */
};

/* True when the inbound message is in enhanced acknowledgment mode (MSH-15 or MSH-16 valued). */
bool cw_hl7v2_ack_enhanced(const struct cw_hl7v2_msg *in);

/*
 * Whether the sender asked for this acknowledgment: in original mode the
 * application ACK is always wanted and there is no commit ACK; in enhanced
 * mode MSH-15 (commit) / MSH-16 (application) say AL, NE, ER or SU (empty
 * means AL for MSH-15 and NE for MSH-16 once either is valued).
 */
bool cw_hl7v2_ack_wanted(const struct cw_hl7v2_msg *in, enum cw_hl7v2_ack_kind kind,
                         enum cw_hl7v2_outcome outcome);

/*
 * Build the acknowledgment of a parsed inbound message: MSH with the
 * inbound delimiters, version (MSH-12), processing ID (MSH-11) and charset
 * (MSH-18), sending and receiving application/facility swapped, MSH-9
 * "ACK^<event>^ACK" (2.3.1+; "ACK^<event>" for 2.2-2.3, "ACK" for 2.1), a
 * new control ID; MSA-1 the code for outcome and kind, MSA-2 the inbound
 * MSH-10; one ERR segment per error: ERR-1 (ELD: segment^sequence^field^
 * code&text&HL70357) for v2.3-2.4, ERR-2 location (ERL), ERR-3 code
 * (HL70357), ERR-4 severity (E/W/I) and ERR-7 diagnostic for v2.5+; v2.1
 * and 2.2 carry the first error in MSA-3 (and MSA-6 for 2.2). Errors with
 * no v2 code get 207. The ACK is allocated in arena a; write it with
 * cw_hl7v2_write.
 */
int cw_hl7v2_ack_build(struct cw_arena *a, const struct cw_hl7v2_msg *in,
                       const struct cw_hl7v2_ack_opts *opts, const struct cw_err *errs,
                       size_t nerrs, struct cw_hl7v2_msg **out, struct cw_err *err);

/*
 * Build a reject for input too broken to parse: recovers what it can from
 * an MSH-like first line (delimiters, MSH-3..6, MSH-9.2, MSH-10, MSH-11,
 * MSH-12, MSH-15/16) and fills the rest with defaults (|^~\&, version
 * 2.5.1, processing ID P). The code is AR (CR when the recovered MSH-15/16
 * ask for enhanced mode, or opts->kind says commit). Recovered values are
 * copied only when they are plain text without delimiters or control
 * characters. opts may be NULL; opts->outcome is ignored (always reject).
 */
int cw_hl7v2_ack_build_raw(struct cw_arena *a, cw_slice input, const struct cw_hl7v2_ack_opts *opts,
                           const struct cw_err *errs, size_t nerrs, struct cw_hl7v2_msg **out,
                           struct cw_err *err);

#endif
