/*
 * convert_int.h — internals of the v2 -> FHIR engine shared by convert.c
 * (engine), convert_dt.c (data type converters) and convert_tables.c (the
 * mapping tables). See convert.h for the model and docs/internals/convert.md
 * for the table format.
 *
 * Invariants: the tables are constant and sorted by nothing (the engine
 * scans them; they are small). A field row with path NULL marks a field the
 * engine consumes itself (a key, the OBX value type); it counts as mapped.
 */
#ifndef CW_CONVERT_CONVERT_INT_H
#define CW_CONVERT_CONVERT_INT_H

#include "base/hash.h"
#include "convert/convert.h"

/* Resource types the engine makes. Order is free; cv_res_info[] describes each. */
enum cv_res {
    R_NONE = 0,
    R_MESSAGEHEADER,
    R_PROVENANCE,
    R_PATIENT,
    R_RELATEDPERSON,
    R_ENCOUNTER,
    R_ALLERGY,
    R_CONDITION,
    R_PROCEDURE,
    R_COVERAGE,
    R_SERVICEREQUEST,
    R_DIAGNOSTICREPORT,
    R_OBSERVATION,
    R_SPECIMEN,
    R_IMMUNIZATION,
    R_MEDREQUEST,
    R_MEDADMIN,
    R_APPOINTMENT,
    R_DOCREF,
    R_CHARGEITEM,
    R_PRACTITIONER,
    R_ORGANIZATION,
    R_LOCATION,
    R_COUNT
};

/* How a business key is built for a resource made by a segment. */
enum cv_key {
    K_MESSAGE = 0, /* sender + MSH-10 (MessageHeader, Provenance) */
    K_PATIENT,     /* PID-3 (first CX with a value; PID-2, PID-4 as fallbacks) */
    K_MRG,         /* MRG-1 (prior patient identifier) */
    K_VISIT,       /* PV1-19, else patient + PV1-44, else message */
    K_ORDER,       /* ORC-2/ORC-3, else OBR-2/OBR-3 of the segment itself */
    K_OBX,         /* order + OBX-3 + OBX-4 + repeat */
    K_SPM,         /* SPM-2, else order + SPM-1 */
    K_PATFIELD,    /* patient + fields named in the role (cv_role.kf) */
    K_SCH,         /* SCH-1/SCH-2 */
    K_TXA,         /* TXA-12, else TXA-16 */
};

/* Role: what a segment does in a message. */
enum cv_how {
    H_NEW = 1,    /* a new instance (the segment starts a group) */
    H_MERGE,      /* into the current instance of the type if that has no segment
                     with this ID yet; otherwise new */
    H_MERGE_ANY,  /* into the current instance of the type; new if none */
    H_ATTACH,     /* into the resource of the previous non-NTE segment, if that
                     resource's type has rows for this segment */
    H_SIDE,       /* a new instance that does not become the current one (MRG) */
};

struct cv_role {
    char seg[4];
    uint8_t res;  /* enum cv_res */
    uint8_t how;  /* enum cv_how */
    uint8_t key;  /* enum cv_key */
    uint8_t kf[2];/* K_PATFIELD: fields of the segment forming the key */
};

/* A message map: message type, the events it covers and its roles. */
struct cv_msgmap {
    const char *type;   /* "ADT" */
    const char *events; /* "A01 A04 A08"; "*" any */
    const struct cv_role *roles;
    size_t nroles;
    const char *enc_status; /* Encounter.status for this event (NULL: from PV1) */
    unsigned flags;         /* CV_MSG_* */
};
#define CV_MSG_NEEDS_PID 0x01 /* the message is about a patient: no PID is error 101 */
#define CV_MSG_MERGE     0x02 /* PID + MRG pairs: patient merge (A40) */

/* Data type converters (convert_dt.c). */
enum cv_dt {
    DT_USED = 0,   /* consumed by the engine (path NULL) */
    DT_STRING,     /* ST/ID/IS/TX/FT/NM..: first component, decoded -> string */
    DT_TEXT,       /* TX/FT repetitions -> one string (joined by newline) */
    DT_CODE,       /* ID/IS/CWE.1 -> code through vocabulary 'arg' */
    DT_BOOL,       /* ID Y/N -> boolean */
    DT_INT,        /* NM/SI -> integer */
    DT_DECIMAL,    /* NM -> decimal */
    DT_DATE,       /* DT/DTM/TS -> date */
    DT_DATETIME,   /* DTM/TS/DT -> dateTime */
    DT_INSTANT,    /* DTM/TS -> instant (needs seconds; else dateTime text) */
    DT_CX,         /* CX -> Identifier */
    DT_EI,         /* EI/EIP(first) -> Identifier */
    DT_HD_ID,      /* HD -> Identifier */
    DT_ID_TYPED,   /* ST -> Identifier with type code 'arg' (v2-0203) */
    DT_XPN,        /* XPN -> HumanName */
    DT_XAD,        /* XAD -> Address */
    DT_XTN,        /* XTN -> ContactPoint */
    DT_CWE,        /* CWE/CE/CNE/CF/IS -> CodeableConcept (system from 'arg' table when no .3) */
    DT_CODING,     /* CWE -> Coding */
    DT_CQ,         /* CQ -> Quantity */
    DT_NM_QTY,     /* NM -> Quantity (value only) */
    DT_XCN_REF,    /* XCN -> Reference(Practitioner) (+ the Practitioner) */
    DT_XON_REF,    /* XON -> Reference(Organization) */
    DT_LA2_REF,    /* LA2 (RXA-11) -> Reference(Location) with its address */
    DT_HD_ORG_REF, /* HD -> Reference(Organization) */
    DT_PL_REF,     /* PL -> Reference(Location) */
    DT_ANNOT,      /* FT/TX -> Annotation (text) */
    DT_OBX_VALUE,  /* OBX-5 by OBX-2 (with OBX-6 units) */
    DT_ED,         /* ED -> Attachment */
    DT_RP,         /* RP -> Attachment */
    DT_MSG_EVENT,  /* MSG -> Coding (v2-0003 event) */
    DT_DLN,        /* DLN -> Identifier (type DL) */
    DT_CX_LINK,    /* MRG-1 CX -> Identifier of the old patient */
    DT_XCN_NAME,   /* XCN -> HumanName (no resource) */
    DT_SPS,        /* SPS (v2.3-2.4 specimen source) / CWE -> CodeableConcept of .1 */
    DT_EI_TYPED,   /* EI -> Identifier with type code 'arg' (PLAC, FILL) */
    DT_USCORE,     /* CWE -> US Core race/ethnicity extension (url 'arg'), whole object */
    DT_BIRTHTIME,  /* DTM -> dateTime, only when the value has a time of day */
    DT_VOCAB_CODING, /* ID/IS/CWE.1 -> Coding through vocabulary 'arg' (system from the row) */
    DT_CC_TEXT,    /* ST/CWE -> CodeableConcept (coded when .3 is given, else text) */
    DT_XCN_PART,   /* XCN -> Encounter.participant {type 'arg', individual} */
    DT_COV_CLASS,  /* CWE/ST -> Coverage.class {type 'arg', value, name} */
    DT_IN1_PAYOR,  /* IN1-3/4/5/7 -> Reference(Organization) of the insurer */
    DT_UNIT,       /* CWE units -> Quantity {unit, system, code} (merged) */
    DT_CWE_ORG_REF,/* CWE (MVX manufacturer) -> Reference(Organization) */
    DT_OBX_ATTACH, /* OBX-5 (TX/FT/ST/ED/RP) -> Attachment */
    DT_TQ_START,   /* TQ-4 -> dateTime */
    DT_TQ_END,     /* TQ-5 -> dateTime */
    DT_APPT_CWE,   /* CWE -> Appointment.participant {actor.display, status} */
    DT_APPT_PL,    /* PL -> Appointment.participant {actor Location, status} */
    DT_APPT_XCN,   /* XCN -> Appointment.participant {actor Practitioner, status} */
    DT_HD_URI,     /* HD -> uri (urn:oid:, urn:uuid:, URI) */
    DT_EIP,        /* EIP -> [Identifier placer (PLAC), Identifier filler (FILL)] (an array) */
    DT_OBX_PERF_ORG, /* OBX-23 XON + OBX-24 XAD -> Reference(Organization) */
    DT_COUNT
};

/* One row of a segment map: seg-field -> path in a resource of type res. */
struct cv_field {
    char seg[4];
    uint8_t field;
    uint8_t res;   /* enum cv_res */
    uint8_t dt;    /* enum cv_dt */
    uint8_t flags; /* CV_F_* */
    const char *path; /* FHIR path: "a.b[].c"; "[]" appends per repetition; NULL = used */
    const char *arg;  /* vocabulary / identifier type / extension URL (CV_F_EXT) */
};
#define CV_F_FIRST    0x01 /* only the first repetition */
#define CV_F_EXT      0x02 /* path is the value[x] name inside extension[] with url arg */
#define CV_F_IFABSENT 0x04 /* only when the path's last element is not set yet */
#define CV_F_UNLESS   0x08 /* only when field 'arg' (decimal) of the segment is empty */
#define CV_F_IF       0x10 /* only when field 'arg' (decimal) of the segment has data */

/* Vocabulary: v2 code -> FHIR code (+ system). */
struct cv_vocab {
    const char *table; /* "0001" or a name ("ActEncounterCode") */
    const char *v2;
    const char *code;
    const char *system; /* NULL for a plain code */
};

/* v2 coding system names (CWE.3) -> FHIR system URIs. */
struct cv_system {
    const char *v2;
    const char *uri;
};

/* Default values of required elements, set when absent at the end. */
struct cv_default {
    uint8_t res;
    const char *path;
    const char *value; /* string; "{...}" is parsed as JSON */
};

/* Links: references between the resources of one message. */
struct cv_link {
    uint8_t from;      /* enum cv_res */
    const char *path;  /* "subject", "result[]" */
    uint8_t to;        /* enum cv_res */
    uint8_t scope;     /* CV_L_* */
};
#define CV_L_CURRENT 0 /* the instance of 'to' current when 'from' was made */
#define CV_L_CHILDREN 1 /* every instance of 'to' made while 'from' was current */
#define CV_L_PARTICIPANT 2 /* like CURRENT, wrapped as {actor, status "accepted"} */

/* Status (or other element) forced by the message event. */
struct cv_event_value {
    const char *type;   /* "ADT" */
    const char *events; /* "A03" */
    uint8_t res;
    const char *path;
    const char *value;
};
extern const struct cv_event_value cv_event_values[];
extern const size_t cv_nevent_values;

/* Our extension URLs. */
#define CV_EXT_SEGMENT "https://causeway.dev/fhir/StructureDefinition/v2-segment"

/* Resource type facts. */
struct cv_res_info {
    const char *name;
    uint8_t level; /* making a new instance at level L forgets current ones at levels > L */
};

/* OBX-2 value types -> converters. */
struct cv_vt {
    const char *vt;
    uint8_t dt;
    const char *elem; /* value[x] name */
};

/* Components a data type converter reads (bit c-1 for component c); 0 = whole value. */
struct cv_dt_info {
    const char *name;
    uint32_t comps;
};

extern const struct cv_res_info cv_res_info[R_COUNT];
extern const struct cv_msgmap cv_msgmaps[];
extern const size_t cv_nmsgmaps;
extern const struct cv_role cv_default_roles[];
extern const size_t cv_ndefault_roles;
extern const struct cv_field cv_fields[];
extern const size_t cv_nfields;
extern const struct cv_vocab cv_vocab[];
extern const size_t cv_nvocab;
extern const struct cv_system cv_systems[];
extern const size_t cv_nsystems;
extern const struct cv_default cv_defaults[];
extern const size_t cv_ndefaults;
extern const struct cv_link cv_links[];
extern const size_t cv_nlinks;
extern const struct cv_vt cv_vts[];
extern const size_t cv_nvts;
extern const struct cv_dt_info cv_dt_info[DT_COUNT];

/* ---- engine state shared with the converters ---- */

struct cv_inst {
    uint8_t res;
    uint8_t nsegs;
    char segs[6][4];       /* IDs of the segments that wrote into it */
    uint32_t seg;          /* index of the first segment (traceability) */
    char src[24];          /* "OBX[3]" */
    bool side;             /* made by an H_SIDE role (MRG) */
    char id[40];           /* UUID text */
    const char *ref;       /* "Type/id" (arena) */
    struct cw_json obj;    /* the resource */
    int32_t ctx[R_COUNT];  /* current instance per type when this one was made */
};

struct cv_ctx {
    struct cw_arena *a;
    const struct cw_hl7v2_msg *m;
    const struct cw_convert_opts *o;
    struct cw_convert_report *rep;
    struct cw_err *err;
    bool failed;           /* an allocation or limit failed: stop */
    cw_slice sender;       /* MSH-4.1/.2 or MSH-3 (decoded) */
    cw_slice control_id;   /* MSH-10 */
    cw_slice version;      /* MSH-12.1 */
    struct cv_inst *inst;
    uint32_t ninst, cap;
    int32_t cur[R_COUNT];
    struct cw_hash ids;    /* id -> instance index + 1 */
    /* location of the value being converted (for report items) */
    uint32_t seg_index;
    uint32_t seg_occ;
    char seg_id[4];
    uint32_t field, rep_;  /* field and repetition being converted */
    cw_slice order_key;    /* key of the current order group */
    cw_slice report_key;   /* key of the current DiagnosticReport */
    cw_slice patient_key;
};

/* Decoded text of a node (escapes, charset); empty on failure. */
cw_slice cv_text(struct cv_ctx *c, const struct cw_hl7v2_node *n);
/* Component c (1-based) / subcomponent s of a repetition, decoded. */
cw_slice cv_comp(struct cv_ctx *c, const struct cw_hl7v2_node *rep, uint32_t comp);
cw_slice cv_sub(struct cv_ctx *c, const struct cw_hl7v2_node *rep, uint32_t comp, uint32_t sub);

/* Record a report item at the current location (field/rep/comp given). */
void cv_report(struct cv_ctx *c, enum cw_convert_item_kind kind, uint32_t comp, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));

/*
 * Make (or find) a secondary resource keyed by (res, scope, key) and return
 * its index, or -1. The callback fills a new instance's object.
 */
int32_t cv_secondary(struct cv_ctx *c, uint8_t res, cw_slice scope, cw_slice key,
                     struct cw_json *proto);

/* "Type/id" reference object for instance i. */
struct cw_json cv_reference(struct cv_ctx *c, int32_t i);

/*
 * Convert one repetition with data type dt; *out is a null node when there is
 * nothing to map. arg is the row's arg. -1 only on allocation failure.
 */
int cv_dt_convert(struct cv_ctx *c, uint8_t dt, const struct cw_hl7v2_node *seg,
                  const struct cw_hl7v2_node *rep, const char *arg, struct cw_json *out);

/* Vocabulary lookup (NULL when absent). */
const struct cv_vocab *cv_vocab_find(const char *table, cw_slice v2);
/* FHIR system URI for a v2 coding system name (NULL when unknown). */
const char *cv_system_uri(struct cv_ctx *c, cw_slice v2name);

/* Small JSON helpers. */
struct cw_json *cv_obj_get(struct cw_json *obj, const char *key);
int cv_put(struct cv_ctx *c, struct cw_json *obj, const char *key, struct cw_json v);
int cv_put_str(struct cv_ctx *c, struct cw_json *obj, const char *key, cw_slice s);
struct cw_json cv_str(const char *s);

#endif
