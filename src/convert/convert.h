/*
 * convert.h — HL7 v2 -> FHIR R4: a declarative mapping engine.
 *
 * One parsed v2 message (hl7v2/hl7v2.h) becomes one FHIR R4 transaction
 * Bundle (a JSON DOM of json/json.h) plus a report of what was not mapped.
 * The mapping follows the HL7 v2-to-FHIR IG (message, segment, data type and
 * vocabulary maps); our own tables, written from that spec, live in
 * convert_tables.c and are data, not code:
 *
 *   message map    message type^event -> which segments make which resource
 *                  types ("roles"): create a new instance, merge into the
 *                  current one of its group (PD1 into the PID's Patient,
 *                  OBR into the ORC's ServiceRequest), or attach to the
 *                  resource of the previous segment (NTE);
 *   segment map    segment field -> FHIR element path of a resource type,
 *                  through a data type converter (CX -> Identifier, XPN ->
 *                  HumanName, ...) and optionally a vocabulary;
 *   link map       resource type + path -> the resource type it references
 *                  (Observation.subject -> the group's Patient, DiagnosticReport
 *                  .result -> every Observation of its order group);
 *   vocabulary     v2 table code -> FHIR code; v2 coding system names
 *                  (LN, SCT, HL70203) -> FHIR system URIs.
 *
 * Identity (docs/internals/convert.md): every resource id is a UUID-shaped
 * hash of (scope, resource type, business key), where the scope is the
 * assigning authority of the identifier when the message names one and the
 * sender (MSH-4, else MSH-3) otherwise. Keys: patient identifier (PID-3),
 * visit number (PV1-19), placer/filler order numbers (ORC-2/3, OBR-2/3),
 * observation = order + OBX-3 code + OBX-4 sub-id (+ repeat count), and so
 * on. A resent or corrected message therefore yields the same ids, and
 * entries are PUTs (update-or-create), so it updates instead of duplicating.
 * A merge (ADT^A40, MRG) links both patients (replaces / replaced-by) and
 * marks the old one inactive.
 *
 * Provenance: one Provenance per message (id from the sender and MSH-10)
 * targets every resource made; each target carries the v2 segment it came
 * from ("OBX[3]"), and the entity names the MessageHeader and MSH-10.
 *
 * Lossless accounting: every segment and every field (and every component
 * of a composite a converter does not use) that carries data is either
 * mapped or listed in the report, with its location (PID-10, OBX[2]-5.3).
 * Values never appear in the report or in errors.
 *
 * Ownership: everything returned lives in the arena passed in; the message
 * (and its input buffer) must outlive the result because strings may point
 * into it. Thread safety: the tables are constant; a call touches only its
 * arguments, so messages may be converted on several threads at once.
 */
#ifndef CW_CONVERT_CONVERT_H
#define CW_CONVERT_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"
#include "hl7v2/hl7v2.h"
#include "json/json.h"

/* cw_convert_opts.flags */
#define CW_CONVERT_STRICT_TYPE 0x01 /* unsupported message type/event: fail (200/201), no bundle */

/* Defaults (0 in the options means the default). */
#define CW_CONVERT_DEFAULT_MAX_RESOURCES 10000u
#define CW_CONVERT_DEFAULT_MAX_REPORT    1000u

/* Options. A zeroed struct or NULL means the defaults. */
struct cw_convert_opts {
    unsigned flags;          /* CW_CONVERT_* */
    int default_tz_min;      /* offset given to v2 times without a zone (minutes east of UTC) */
    uint32_t max_resources;  /* resources per bundle; more is an error (too-costly) */
    uint32_t max_report;     /* report items kept; more are counted in report.dropped */
};

/* What a report item says. */
enum cw_convert_item_kind {
    CW_CONVERT_UNMAPPED_SEGMENT = 1, /* a segment with data that no map uses */
    CW_CONVERT_UNMAPPED_FIELD,       /* a field with data that no map uses */
    CW_CONVERT_UNMAPPED_COMPONENT,   /* a component the data type converter does not use */
    CW_CONVERT_INVALID_VALUE,        /* a value that could not be converted (bad date, number) */
    CW_CONVERT_UNSUPPORTED,          /* message type/event without a message map (defaults used) */
};

/*
 * One report item. err.location is the v2 location (hl7v2.h path syntax),
 * err.v2_code the table 0357 code (102 bad value, 200/201 unsupported, 207
 * otherwise), err.msg a description without values.
 */
struct cw_convert_item {
    enum cw_convert_item_kind kind;
    struct cw_err err;
};

/* The report of one conversion (arena memory). */
struct cw_convert_report {
    struct cw_convert_item *items;
    uint32_t n;
    uint32_t dropped;        /* items beyond max_report */
    uint32_t unmapped;       /* items of kinds UNMAPPED_* (kept or dropped) */
    uint32_t invalid;        /* INVALID_VALUE items */
    uint32_t unsupported;    /* UNSUPPORTED items */
    uint32_t segments;       /* segments in the message */
    uint32_t segments_mapped;/* segments that fed at least one resource */
    uint32_t fields;         /* fields with data */
    uint32_t fields_mapped;  /* of those, mapped */
};

/* The result of one conversion. */
struct cw_convert_result {
    struct cw_json *bundle;  /* the transaction Bundle (arena) */
    uint32_t nresources;     /* entries in the bundle */
    struct cw_convert_report report;
};

/*
 * Convert a parsed message to a FHIR R4 transaction Bundle. Returns 0 with
 * out filled (out->report says what was not mapped or not valid; the bundle
 * is still complete for everything else). Returns -1 with err when no
 * bundle can be made: MSH-9 missing or a message type we cannot map under
 * CW_CONVERT_STRICT_TYPE (v2 code 200/201, location MSH-9), a message that
 * needs a patient and has no PID (101, location "PID"), more resources than
 * max_resources or an exhausted arena (too-costly, 207). err carries a v2
 * code and location so a pipeline can answer AE/AR with an ERR segment.
 */
int cw_convert_v2(struct cw_arena *a, const struct cw_hl7v2_msg *m,
                  const struct cw_convert_opts *opts, struct cw_convert_result *out,
                  struct cw_err *err);

/*
 * Append the report as text, one item per line:
 *   "<location>\t<kind>\t<description>"  (kinds: segment, field, component,
 *   invalid, unsupported), then a summary line. -1 when out is full.
 */
int cw_convert_report_write(const struct cw_convert_report *r, struct cw_buf *out);

/* True when the message converted fully: nothing unmapped, nothing invalid, type supported. */
static inline bool cw_convert_report_full(const struct cw_convert_report *r)
{
    return r->unmapped == 0 && r->invalid == 0 && r->unsupported == 0;
}

/*
 * Number of supported TYPE^EVENTs, and the i-th as text ("ORU^R01"), NULL
 * past the end (for docs and tests). The text is in a static buffer per
 * index (at most 64): call from one thread.
 */
size_t cw_convert_message_count(void);
const char *cw_convert_message_at(size_t i);

#endif
