/*
 * fhir_xml.h — FHIR R4 XML <-> JSON: write a JSON resource (the DOM of
 * src/json) as FHIR XML, and read FHIR XML into the same JSON DOM.
 *
 * The JSON DOM is Causeway's working form of a resource (stored, searched,
 * served), so XML is converted at the edges: JSON -> XML when a client asks
 * for XML, XML -> JSON when one sends it. A resource read from XML and
 * written back as JSON is the JSON the spec defines for it, and JSON ->
 * XML -> JSON gives back the same JSON (member order: definition order,
 * which the spec's own JSON follows; see docs/internals/xml.md).
 *
 * Rules (FHIR R4 xml.html, json.html):
 *  - namespace http://hl7.org/fhir; the root element and the element
 *    inside contained / Bundle.entry.resource / Parameters.parameter.resource
 *    / Bundle.entry.response.outcome name the resource type (JSON
 *    "resourceType");
 *  - elements in definition order (the XML order), repeating elements as
 *    repeated XML elements (JSON arrays);
 *  - primitives as value="..." attributes; their id (attribute) and
 *    extensions (children) are the JSON "_name" sibling, for arrays an
 *    array aligned by index with null where an item has none (and null in
 *    the value array where an item has only extensions);
 *  - Element.id and Extension.url are attributes;
 *  - Narrative.div is XHTML (namespace http://www.w3.org/1999/xhtml) in
 *    XML and the same markup as a string in JSON: reading keeps the
 *    document's exact text of the div element (line ends normalized);
 *    writing embeds the string after checking it is one well-formed div
 *    element in the XHTML namespace;
 *  - choice elements keep the type in the name (valueQuantity);
 *  - JSON numbers (integer, decimal, positiveInt, unsignedInt) and
 *    booleans are written from and read back to their exact text, so
 *    decimals keep their precision ("1.50", "1e-22") both ways.
 *
 * Errors: unknown elements or attributes, an element in the wrong place or
 * repeated where it may not repeat, elements out of definition order,
 * values of the wrong JSON kind, text content in FHIR elements, a bad
 * narrative: cw_err with issue "structure" (or "value") and a FHIRPath
 * location (Observation.component[1].value.ofType(Quantity)); reading
 * errors also carry the XML line/column. Messages never contain values.
 * With CW_FHIR_XML_LENIENT the problems that can be skipped (unknown
 * elements and attributes, text content, out-of-order elements, empty
 * primitives) are passed to the warn callback and the conversion goes on;
 * malformed XML and limits always fail.
 *
 * Thread safety: calls on different arguments may run in parallel. Each
 * thread keeps a cache of definition lookups (about 0.6 MiB, made on its
 * first call, freed when the thread ends; docs/internals/xml.md).
 */
#ifndef CW_FHIR_FHIR_XML_H
#define CW_FHIR_FHIR_XML_H

#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "json/json.h"

/* cw_fhir_xml_opts.flags */
#define CW_FHIR_XML_LENIENT 0x01 /* skip what can be skipped, report it to warn */
#define CW_FHIR_XML_DECL    0x02 /* write: begin with <?xml version="1.0" encoding="UTF-8"?> */

#define CW_FHIR_XML_DEFAULT_MAX_DEPTH 128 /* nested FHIR elements */

/* Called once per skipped problem in lenient mode (severity warning). */
typedef void (*cw_fhir_xml_warn_fn)(const struct cw_err *warning, void *ctx);

/* Options; a NULL pointer or zero fields mean strict, compact, defaults. */
struct cw_fhir_xml_opts {
    unsigned flags;           /* CW_FHIR_XML_* */
    int indent;               /* write: 0 compact, > 0 spaces per level */
    unsigned max_depth;       /* nesting of FHIR elements; 0 = CW_FHIR_XML_DEFAULT_MAX_DEPTH */
    size_t max_bytes;         /* read: document size; 0 = CW_XML_DEFAULT_MAX_BYTES (64 MiB) */
    cw_fhir_xml_warn_fn warn; /* lenient mode: may be NULL */
    void *warn_ctx;
};

/*
 * Write the JSON resource 'resource' as FHIR XML, appended to out. Returns
 * 0, or -1 with err (problems in the resource as above; "too-long" when
 * out reached its maximum); out then holds a partial document to discard.
 */
int cw_fhir_xml_write(struct cw_buf *out, const struct cw_json *resource,
                      const struct cw_fhir_xml_opts *opts, struct cw_err *err);

/*
 * Read a FHIR XML document [xml, xml+n) into a JSON resource in arena a.
 * String values are copied into the arena (the input may be freed after
 * the call). Returns 0 with *out, or -1 with err (and *out NULL). The XML
 * layer's protections apply (no DOCTYPE, no entities, no network, size
 * and depth limits: src/xml/xml.h).
 */
int cw_fhir_xml_read(struct cw_arena *a, const char *xml, size_t n,
                     const struct cw_fhir_xml_opts *opts, struct cw_json **out, struct cw_err *err);

#endif
