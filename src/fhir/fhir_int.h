/*
 * fhir_int.h — the compiled FHIR definition tables, shared by the files of
 * src/fhir only (and by the generated tables: tools/gen_fhir_defs.js writes
 * a C file that fills these structs; see docs/internals/fhir.md).
 *
 * A definition *set* is one string pool plus arrays of fixed-size records
 * that refer to each other by index and to strings by offset. The base set
 * (the FHIR R4 core definitions) is generated at build time and is static
 * const data: nothing is parsed or relocated at start-up. Profiles loaded at
 * run time are compiled into sets of the same shape that live in the
 * registry (fhir_registry.c), so every accessor works on both.
 *
 * Invariants (checked by the generator and by the run-time compiler):
 *  - fd_str values are offsets of NUL-terminated strings in set->pool;
 *    offset 0 is the empty string.
 *  - List fields (FD_LIST) are offsets in set->u32 of a count followed by
 *    that many entries; FD_NONE (or any out-of-range value) is the empty list.
 *  - Index fields are FD_NONE when absent. Element indices are absolute in
 *    set->elems; an SD's elements are contiguous, in snapshot order.
 *  - tref.sd and sp bases/targets always index the BASE set (types exist only
 *    there); every other index is within its own set.
 *  - Sorted lookup lists (by_url, types_by_name, ...) hold indices ordered
 *    by the bytes of the key string (memcmp order, shorter first on a tie).
 */
#ifndef CW_FHIR_INT_H
#define CW_FHIR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fhir/fhir.h"

#define FD_NONE     0xFFFFFFFFu
#define FD_MAX_STAR 0xFFFFFFFFu /* max = "*" */

typedef uint32_t fd_str;  /* offset in pool */
typedef uint32_t fd_list; /* offset in u32: [count, items...] */

/* fd_sd.flags */
#define FD_SD_ABSTRACT     0x01
#define FD_SD_CONSTRAINT   0x02 /* derivation = constraint (a profile) */
#define FD_SD_TYPE         0x04 /* a type: found by name (specialization or root) */
#define FD_SD_SNAPSHOT_GEN 0x08 /* snapshot generated here from a differential */

/* One StructureDefinition. */
struct fd_sd {
    fd_str name;         /* "Patient", "USCorePatientProfile" */
    fd_str url;          /* canonical URL */
    fd_str type;         /* the type defined or constrained: "Patient" */
    fd_str base;         /* baseDefinition URL ("" for Element, Resource) */
    fd_str version;      /* "4.0.1" */
    fd_str regex;        /* primitives: the value regex from the definitions, else "" */
    uint32_t elem_first; /* first element (absolute index in set->elems) */
    uint32_t elem_count;
    uint32_t type_sd; /* BASE set index of the type's SD (itself for a type); FD_NONE */
    uint32_t base_sd; /* index in this set of the base definition, FD_NONE when not here */
    fd_list contexts; /* extensions: pairs (type fd_str, expression fd_str) */
    uint8_t kind;     /* enum cw_fhir_kind */
    uint8_t flags;    /* FD_SD_* */
    uint8_t json;     /* enum cw_fhir_json_kind */
    uint8_t pad;
};

/* fd_elem.flags */
#define FD_E_CHOICE       0x0001 /* path ends in [x] */
#define FD_E_SUMMARY      0x0002 /* isSummary */
#define FD_E_MODIFIER     0x0004 /* isModifier */
#define FD_E_MUST_SUPPORT 0x0008
#define FD_E_XML_ATTR     0x0010 /* representation xmlAttr */
#define FD_E_XHTML        0x0020 /* representation xhtml */
#define FD_E_XML_TEXT     0x0040 /* representation xmlText */
#define FD_E_TYPE_ATTR    0x0080 /* representation typeAttr */
#define FD_E_CDA_TEXT     0x0100 /* representation cdaText */
#define FD_E_SLICE        0x0200 /* has a sliceName */
#define FD_E_HAS_FIXED    0x0400
#define FD_E_HAS_PATTERN  0x0800
#define FD_E_REPEATS      0x1000 /* base.max > 1: a JSON array whatever a profile says */

/* One element definition. 64 bytes. */
struct fd_elem {
    fd_str id;   /* "Observation.component:systolic.value[x]" */
    fd_str path; /* "Observation.component.value[x]" */
    fd_str name; /* last path segment without "[x]": "value" */
    uint32_t min;
    uint32_t max;     /* FD_MAX_STAR for "*" */
    uint32_t parent;  /* element index, FD_NONE for the root */
    fd_list kids;     /* child elements (no slices), definition order */
    fd_list slices;   /* slices of this element, definition order */
    uint32_t trefs;   /* first fd_tref */
    fd_list cons;     /* constraint indices */
    uint32_t binding; /* fd_binding index or FD_NONE */
    uint32_t cref;    /* contentReference target element or FD_NONE */
    uint32_t extra;   /* fd_extra index or FD_NONE */
    uint16_t n_trefs;
    uint16_t flags; /* FD_E_* */
    uint16_t sd;    /* owning SD (index in set) */
    uint16_t order; /* position among the parent's kids */
    uint8_t name_len;
    uint8_t pad[3];
};

/* fd_tref.flags */
#define FD_T_SYSTEM              0x01 /* a FHIRPath System type (code is a System URL) */
#define FD_T_AGG_CONTAINED       0x02
#define FD_T_AGG_REFERENCED      0x04
#define FD_T_AGG_BUNDLED         0x08
#define FD_T_VERSION_SPECIFIC    0x10
#define FD_T_VERSION_INDEPENDENT 0x20

/* One entry of an element's type list. */
struct fd_tref {
    fd_str code;      /* as written */
    uint32_t sd;      /* BASE set index of the FHIR type (System types: their fhir-type) */
    fd_list profiles; /* fd_str URLs */
    fd_list targets;  /* fd_str target profile URLs */
    uint32_t flags;   /* FD_T_* */
};

/* Rarely present element details. */
struct fd_extra {
    fd_str slice_name;
    fd_list values;      /* pairs (key fd_str, compact JSON fd_str): fixedX, patternX,
                            minValueX, maxValueX, defaultValueX */
    fd_list slicing;     /* [rules, ordered, description, n*(type, path)] see fhir_slicing */
    uint32_t max_length; /* 0 = none */
    fd_str short_;       /* short description (profiles only) */
};

/* One invariant. */
struct fd_cons {
    fd_str key, human, expression, source;
    uint32_t severity; /* enum cw_severity: CW_SEV_ERROR or CW_SEV_WARNING */
};

/* One binding. */
struct fd_binding {
    fd_str value_set;  /* canonical as written (may carry |version) */
    fd_str name;       /* elementdefinition-bindingName, "" if none */
    uint32_t strength; /* enum cw_fhir_strength */
};

/* One SearchParameter. */
struct fd_sp {
    fd_str url, name, code, expression;
    fd_list bases;       /* BASE set SD indices */
    fd_list targets;     /* BASE set SD indices */
    fd_list modifiers;   /* fd_str */
    fd_list comparators; /* fd_str */
    fd_list chains;      /* fd_str */
    fd_list components;  /* pairs (definition fd_str, expression fd_str) */
    uint16_t type;       /* enum cw_fhir_sp_type */
    uint16_t flags;      /* 1 multipleOr, 2 multipleAnd */
};

/* (resource type, code) -> search parameter, sorted by (sd, code bytes). */
struct fd_sp_key {
    uint32_t sd; /* BASE SD index of the base resource type */
    fd_str code;
    uint32_t sp;
};

/* One CompartmentDefinition resource entry, sorted by (comp, sd). */
struct fd_comp {
    fd_str code;    /* compartment: "Patient" */
    uint32_t sd;    /* resource type */
    fd_list params; /* fd_str param codes (empty: not in the compartment) */
};

/* fd_concept.flags */
#define FD_C_ABSTRACT   0x01 /* notSelectable / abstract */
#define FD_C_DEPRECATED 0x02
#define FD_C_RETIRED    0x04
#define FD_C_INACTIVE   0x08

struct fd_cs {
    fd_str url, name, version;
    uint32_t first, count; /* concepts, definition (depth-first) order */
    fd_list sorted;        /* concept indices sorted by code */
    uint8_t content;       /* enum cw_fhir_cs_content */
    uint8_t case_sensitive;
    uint8_t pad[2];
};

struct fd_concept {
    fd_str code, display;
    uint32_t parent;  /* concept index or FD_NONE */
    fd_list parents2; /* further parents ("child" property) */
    uint32_t flags;
};

struct fd_vs {
    fd_str url, name, version;
    fd_list includes; /* fd_vs_rule indices */
    fd_list excludes;
};

struct fd_vs_rule {
    fd_str system, version;
    fd_list concepts;  /* pairs (code, display) */
    fd_list filters;   /* triples (property, op, value) */
    fd_list valuesets; /* fd_str */
};

struct fd_cm {
    fd_str url, name, source, target;
    uint32_t group_first, group_count;
};

struct fd_cm_group {
    fd_str source, target; /* code systems */
    uint32_t first, count; /* fd_cm_elem */
};

struct fd_cm_elem {
    fd_str code;
    fd_list targets; /* triples (code, equivalence, comment) */
};

/* A definition set (see top of file). */
struct cw_fhir_set {
    const char *pool;
    uint32_t pool_len;
    const uint32_t *u32;
    uint32_t n_u32;
    const struct fd_sd *sds;
    uint32_t n_sds;
    const struct fd_elem *elems;
    uint32_t n_elems;
    const struct fd_tref *trefs;
    uint32_t n_trefs;
    const struct fd_extra *extras;
    uint32_t n_extras;
    const struct fd_cons *cons;
    uint32_t n_cons;
    const struct fd_binding *bindings;
    uint32_t n_bindings;
    const struct fd_sp *sps;
    uint32_t n_sps;
    const struct fd_sp_key *sp_keys;
    uint32_t n_sp_keys;
    const struct fd_comp *comps;
    uint32_t n_comps;
    const struct fd_cs *css;
    uint32_t n_css;
    const struct fd_concept *concepts;
    uint32_t n_concepts;
    const struct fd_vs *vss;
    uint32_t n_vss;
    const struct fd_vs_rule *rules;
    uint32_t n_rules;
    const struct fd_cm *cms;
    uint32_t n_cms;
    const struct fd_cm_group *cm_groups;
    uint32_t n_cm_groups;
    const struct fd_cm_elem *cm_elems;
    uint32_t n_cm_elems;
    /* sorted lookup lists (offsets in u32) */
    fd_list sd_by_url;
    fd_list types_by_name;
    fd_list sp_by_url;
    fd_list vs_by_url;
    fd_list cs_by_url;
    fd_list cm_by_url;
    /* where the data came from, for diagnostics */
    const char *source;
    /* registry sets: the registry and the SD index of each set SD in it */
    const struct cw_fhir_registry *reg;
};

/* The generated base set (build tree: generated/fhir_defs.c). */
extern const struct cw_fhir_set cw_fhir_base_set;

/* ---- small helpers ---- */

static inline const char *fhir_cstr(const struct cw_fhir_set *s, fd_str o)
{
    return o < s->pool_len ? s->pool + o : "";
}

static inline cw_slice fhir_str(const struct cw_fhir_set *s, fd_str o)
{
    const char *p = fhir_cstr(s, o);
    return (cw_slice){p, strlen(p)};
}

/* Count of a list (0 for FD_NONE / out of range). */
static inline uint32_t fhir_list_len(const struct cw_fhir_set *s, fd_list l)
{
    if (l >= s->n_u32) return 0;
    uint32_t n = s->u32[l];
    return n <= s->n_u32 - l - 1 ? n : 0;
}

/* Item i of a list (caller checks i < fhir_list_len). */
static inline uint32_t fhir_list_at(const struct cw_fhir_set *s, fd_list l, uint32_t i)
{
    return s->u32[l + 1 + i];
}

/* memcmp order with shorter-first tie break; b is a pool string. */
static inline int fhir_keycmp(cw_slice a, const char *b)
{
    size_t bl = strlen(b);
    size_t n = a.len < bl ? a.len : bl;
    int c = n ? memcmp(a.ptr, b, n) : 0;
    if (c) return c;
    return a.len < bl ? -1 : a.len > bl ? 1 : 0;
}

/*
 * Binary search a sorted lookup list whose items index records; key_of
 * gives the record's key string offset. Returns the record index or FD_NONE.
 */
uint32_t fhir_bsearch(const struct cw_fhir_set *s, fd_list sorted, cw_slice key,
                      fd_str (*key_of)(const struct cw_fhir_set *, uint32_t));

/* The child of base-set element ctx (a structure context) whose JSON name is
   name (fhir_index.c): its element index, with *tix the index of the named
   type for a choice name, else cw_fhir_elem_single_type's SD index + 1 (0:
   none); FD_NONE when no child has that name; FHIR_INDEX_NOINDEX when the
   index could not be built (scan instead). */
#define FHIR_INDEX_NOINDEX 0xFFFFFFFEu
uint32_t fhir_index_find(uint32_t ctx, cw_slice name, uint32_t *tix);
/* fhir_bsearch's answer for the base set's sorted list `list` (a record
   index or FD_NONE) from a hash of its keys (fhir_index.c), built on the
   list's first lookup; FHIR_INDEX_NOINDEX when no index could be made. */
uint32_t fhir_index_sorted(fd_list list, cw_slice key,
                           fd_str (*key_of)(const struct cw_fhir_set *, uint32_t));
/* The binary search itself (what fhir_bsearch does without the index). */
uint32_t fhir_bsearch_raw(const struct cw_fhir_set *s, fd_list sorted, cw_slice key,
                          fd_str (*key_of)(const struct cw_fhir_set *, uint32_t));

/* URL without a trailing "|version". */
cw_slice fhir_canonical_url(cw_slice url);

static inline const struct fd_sd *fhir_sd_rec(struct cw_fhir_sd sd)
{
    return &sd.set->sds[sd.i];
}

static inline const struct fd_elem *fhir_elem_rec(struct cw_fhir_elem e)
{
    return &e.set->elems[e.i];
}

static inline struct cw_fhir_sd fhir_base_sd(uint32_t i)
{
    if (i >= cw_fhir_base_set.n_sds) return (struct cw_fhir_sd){NULL, 0};
    return (struct cw_fhir_sd){&cw_fhir_base_set, i};
}

/* ---- primitives (fhir_prim.c) ---- */

/* What a narrative holds, for the invariants txt-1 and txt-2. */
struct fhir_xhtml_info {
    bool disallowed; /* an element or attribute narrative.html forbids */
    bool text;       /* non-whitespace text, a character reference or an <img> */
};

/* Scan xhtml s: -1 when it is not well-formed (the rules of
   cw_fhir_check_primitive other than the forbidden names), else 0 and *info. */
int fhir_xhtml_info(cw_slice s, struct fhir_xhtml_info *info);

/*
 * The one place FHIR date/dateTime/instant/time text is checked. When the
 * base module's cw_dt_parse (src/base/datetime.h) is merged, this becomes
 * `cw_dt_parse(s, type, 0, &dt, err)`; kinds map 1:1 (date, dateTime,
 * instant, time). Returns 0 or -1 with err (issue "value", no echo).
 */
enum fhir_dt_kind { FHIR_DT_DATE = 1, FHIR_DT_DATETIME, FHIR_DT_INSTANT, FHIR_DT_TIME };
int fhir_dt_check(cw_slice s, enum fhir_dt_kind kind, struct cw_err *err);

/* ---- registry internals (fhir_registry.c) ---- */

/* Number of sets a registry holds, and set i (for lookups across sets). */
size_t fhir_registry_nsets(const struct cw_fhir_registry *r);
const struct cw_fhir_set *fhir_registry_set(const struct cw_fhir_registry *r, size_t i);

/* Resolve a base URL of a set SD across base and registry. */
struct cw_fhir_sd fhir_sd_resolve_base(struct cw_fhir_sd sd);

#endif
