/*
 * hl7v2_int.h — helpers shared by the files of src/hl7v2 only.
 *
 * Nothing here is API: other modules include hl7v2.h. Functions use the
 * prefix hl7v2_ (no cw_) so that they are visibly internal.
 */
#ifndef CW_HL7V2_INT_H
#define CW_HL7V2_INT_H

#include <stdarg.h>

#include "hl7v2/hl7v2.h"

/* True for the segment IDs that carry their own MSH-1/MSH-2 style header. */
static inline bool hl7v2_is_header_id(cw_slice id)
{
    return id.len == 3 && ((id.ptr[0] == 'M' && id.ptr[1] == 'S' && id.ptr[2] == 'H') ||
                           (id.ptr[0] == 'F' && id.ptr[1] == 'H' && id.ptr[2] == 'S') ||
                           (id.ptr[0] == 'B' && id.ptr[1] == 'H' && id.ptr[2] == 'S'));
}

/* True for FHS, BHS, BTS, FTS. */
static inline bool hl7v2_is_batch_id(cw_slice id)
{
    if (id.len != 3) return false;
    const char *p = id.ptr;
    return ((p[0] == 'F' || p[0] == 'B') &&
            ((p[1] == 'H' && p[2] == 'S') || (p[1] == 'T' && p[2] == 'S')));
}

/* A well-formed segment ID: an uppercase letter, then two uppercase letters or digits. */
static inline bool hl7v2_id_ok(cw_slice id)
{
    if (id.len != 3) return false;
    for (size_t i = 0; i < 3; i++) {
        char c = id.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9'))) return false;
    }
    return true;
}

/* Limits with defaults applied. */
void hl7v2_limits(const struct cw_hl7v2_opts *opts, struct cw_hl7v2_limits *out);

/*
 * Read the header of a segment that starts with "MSH"/"FHS"/"BHS" at p:
 * MSH-1 at p[3], MSH-2 up to the next field separator, terminator or end.
 * Fills d and *enc_len. Repeated encoding characters are dropped with a
 * warning (*irregular set true, reason in why) in lenient mode; strict mode
 * or unusable characters give -1 with err.
 */
int hl7v2_read_header(const char *p, const char *end, bool strict, struct cw_hl7v2_delims *d,
                      size_t *enc_len, bool *irregular, const char **why, struct cw_err *err);

/* Record a warning on m (kept up to m->max_warnings, then counted). */
void hl7v2_warn(struct cw_arena *a, struct cw_hl7v2_msg *m, enum cw_v2_error code,
                enum cw_issue issue, const char *location, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Append a warning to a growing arena array (shared by message and file warnings). */
void hl7v2_warn_into(struct cw_arena *a, struct cw_err **arr, uint32_t *n, uint32_t *dropped,
                     uint32_t max, enum cw_v2_error code, enum cw_issue issue, const char *location,
                     const char *fmt, va_list ap) __attribute__((format(printf, 9, 0)));

/* Fill err (severity error) with code, issue, location and text. Returns -1. */
int hl7v2_fail(struct cw_err *err, enum cw_v2_error code, enum cw_issue issue, const char *location,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Format a location "SEG[occ]-F[rep].C.S" into buf (NUL-terminated), leaving
 * out occ/rep 1 when implied and parts that are 0. Returns the length.
 */
size_t hl7v2_loc(char *buf, size_t size, cw_slice seg, uint32_t occ, uint32_t field, uint32_t rep,
                 uint32_t comp, uint32_t sub);

/* Location of the deepest node of m containing byte p ("" when outside). */
size_t hl7v2_locate(const struct cw_hl7v2_msg *m, const char *p, char *buf, size_t size);

/* Occurrence (1-based) of segment index i among segments with the same ID. */
uint32_t hl7v2_occurrence(const struct cw_hl7v2_msg *m, uint32_t i);

/* True when s..s+n (the text between two escape characters) is a valid escape. */
bool hl7v2_escape_valid(const char *s, size_t n, const struct cw_hl7v2_delims *d);

/* Length of the longest valid UTF-8 prefix of p[0..n). */
size_t hl7v2_utf8_valid_prefix(const unsigned char *p, size_t n);

/*
 * Split encoded text into a node at 'level' (CW_HL7V2_FIELD = a whole field
 * with repetitions, CW_HL7V2_REP, CW_HL7V2_COMP, CW_HL7V2_SUB = a leaf) with
 * the delimiters d. Used by cw_hl7v2_set_raw and the ACK builder. -1 when
 * the arena is exhausted or a limit is crossed.
 */
int hl7v2_split(struct cw_arena *a, const struct cw_hl7v2_delims *d, cw_slice text, int level,
                struct cw_hl7v2_node *out, struct cw_err *err);

/*
 * Append a whole segment given as encoded text (no terminator) to m, split
 * with m's delimiters. Returns its index or -1.
 */
long hl7v2_seg_append_line(struct cw_arena *a, struct cw_hl7v2_msg *m, cw_slice line,
                           struct cw_err *err);

/* Split one segment line (no terminator) into a segment node with delimiters d. */
int hl7v2_split_segment(struct cw_arena *a, const struct cw_hl7v2_delims *d, cw_slice line,
                        struct cw_hl7v2_node *out, struct cw_err *err);

/* The delimiter that separates kids of the given level (FIELD..SUB). */
static inline char hl7v2_delim_of(const struct cw_hl7v2_delims *d, int level)
{
    switch (level) {
    case CW_HL7V2_FIELD:
        return d->field;
    case CW_HL7V2_REP:
        return d->rep;
    case CW_HL7V2_COMP:
        return d->comp;
    case CW_HL7V2_SUB:
        return d->sub;
    default:
        return 0;
    }
}

/* Decode with a known "contains the escape character" answer (fast path). */
int hl7v2_decode(struct cw_arena *a, const struct cw_hl7v2_msg *m, cw_slice text, bool has_esc,
                 cw_slice *out, struct cw_err *err);

/* Value of MSH-f component c (1-based, c = 0: whole field), encoded; empty if absent. */
cw_slice hl7v2_msh(const struct cw_hl7v2_msg *m, uint32_t f, uint32_t c);

/* ---- generated definition tables (build tree: hl7v2_tables.c) ---- */

/* opt codes in the dictionary */
#define HL7V2_OPT_O 1 /* optional */
#define HL7V2_OPT_R 2 /* required */
#define HL7V2_OPT_C 3 /* conditional */
#define HL7V2_OPT_B 4 /* backward compatible / withdrawn */

/* A field of a segment or a component of a data type. */
struct hl7v2_dict_field {
    uint16_t type;  /* index into the version's data types */
    uint16_t table; /* HL7 table number, 0 = none */
    uint16_t len;   /* maximum length, 0 = not given, 65535 = 65535 or more */
    uint8_t opt;    /* HL7V2_OPT_* */
    uint8_t rep;    /* 1 = not repeating, 0 = unbounded, n = at most n */
    uint32_t desc;  /* string pool offset */
};

struct hl7v2_dict_seg {
    uint32_t name;  /* string pool offset */
    uint32_t first; /* index into fields */
    uint16_t count;
};

struct hl7v2_dict_type {
    uint32_t name;
    uint32_t first; /* index into fields (components); count 0 = primitive */
    uint16_t count;
};

/* Node kinds of a message structure. */
#define HL7V2_NODE_SEG    0
#define HL7V2_NODE_GROUP  1
#define HL7V2_NODE_CHOICE 2

/* One node of a message structure's group tree. */
struct hl7v2_dict_node {
    uint32_t name;  /* segment ID, group name, or (choice) unused */
    uint32_t first; /* group/choice: index of its first child in nodes */
    uint16_t count; /* number of children */
    uint8_t kind;   /* HL7V2_NODE_* */
    uint8_t min;    /* 0 or 1 */
    uint8_t max;    /* 0 = unbounded, else 1 */
};

struct hl7v2_dict_msg {
    uint32_t name; /* "ADT_A01" */
    uint32_t root; /* index of the root group node */
};

struct hl7v2_dict_version {
    const char *name;                  /* "2.5.1" */
    const struct hl7v2_dict_seg *segs; /* sorted by name */
    uint32_t nsegs;
    const struct hl7v2_dict_type *types; /* sorted by name */
    uint32_t ntypes;
    const struct hl7v2_dict_msg *msgs; /* sorted by name */
    uint32_t nmsgs;
};

struct hl7v2_dict_table {
    uint16_t number;
    uint16_t count;
    uint32_t first; /* index into hl7v2_dict_values (sorted strings) */
};

extern const char hl7v2_dict_strings[];
extern const uint32_t hl7v2_dict_strings_size;
extern const struct hl7v2_dict_field hl7v2_dict_fields[];
extern const uint32_t hl7v2_dict_nfields;
extern const struct hl7v2_dict_node hl7v2_dict_nodes[];
extern const uint32_t hl7v2_dict_nnodes;
extern const struct hl7v2_dict_version hl7v2_dict_versions[];
extern const uint32_t hl7v2_dict_nversions;
extern const struct hl7v2_dict_table hl7v2_dict_tables[]; /* sorted by number */
extern const uint32_t hl7v2_dict_ntables;
extern const uint32_t hl7v2_dict_values[]; /* string pool offsets */
extern const uint32_t hl7v2_dict_nvalues;
extern const size_t hl7v2_dict_bytes;

static inline const char *hl7v2_str(uint32_t off)
{
    return hl7v2_dict_strings + off;
}

/* Definitions for a version text (MSH-12.1); 2.8+ map to 2.7.1. NULL if unknown. */
const struct hl7v2_dict_version *hl7v2_dict_version(cw_slice v, bool *fallback);
const struct hl7v2_dict_seg *hl7v2_dict_seg(const struct hl7v2_dict_version *v, cw_slice id);
const struct hl7v2_dict_type *hl7v2_dict_type_at(const struct hl7v2_dict_version *v, uint16_t i);
const struct hl7v2_dict_msg *hl7v2_dict_msg(const struct hl7v2_dict_version *v, cw_slice name);
const struct hl7v2_dict_table *hl7v2_dict_table(uint16_t number);
bool hl7v2_dict_table_has(const struct hl7v2_dict_table *t, cw_slice value);

#endif
