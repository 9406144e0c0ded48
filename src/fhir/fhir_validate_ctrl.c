/*
 * fhir_validate_ctrl.c — rules that a profile states through extensions on
 * its element definitions (the registry keeps them with the element's
 * values, fhir_registry.c CONTROL_EXTS):
 *
 *  - minLength (R4 core extension `minLength`): a string value has at
 *    least that many characters;
 *  - mustHaveValue, valueAlternatives (R5 ElementDefinition elements, in
 *    R4 through the cross-version extensions
 *    `http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.*`):
 *    a primitive that has no value (only extensions) is not allowed when
 *    the profile requires a value; when it lists value alternatives, one
 *    of those extensions must stand in for the value;
 *  - narrative-language-control (FHIR extensions pack): the narrative's
 *    language sections — `_no` none, `_yes` some, `_resource` one for
 *    Resource.language, a language code one for that language; a language
 *    section is a child element of the narrative div with `lang` or
 *    `xml:lang`;
 *  - narrative-source-control: every piece of narrative text sits in an
 *    element whose class names its source (boilerplate, generated,
 *    extensions, additional, original); the extension's code is the
 *    severity of the finding.
 *
 * Owns: nothing; findings go to the run through fhir_vreport.
 * Invariants: messages carry codes, counts and element ids, never text of
 * the narrative or values of the resource; the narrative is parsed with
 * the XML module's limits.
 */
#include <stdio.h>
#include <string.h>

#include "fhir/fhir_int.h"
#include "fhir/fhir_validate_int.h"
#include "xml/xml.h"

#define EXT_MIN_LENGTH  "http://hl7.org/fhir/StructureDefinition/minLength"
#define EXT_LANG_CTRL   "http://hl7.org/fhir/StructureDefinition/narrative-language-control"
#define EXT_SOURCE_CTRL "http://hl7.org/fhir/StructureDefinition/narrative-source-control"
#define EXT_MUST_VALUE                                                                             \
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.mustHaveValue"
#define EXT_VALUE_ALT                                                                              \
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.valueAlternatives"

#define MAX_SECTIONS 32  /* language sections remembered per narrative */
#define MAX_FINDINGS 100 /* source findings per narrative */

/* The JSON array kept for extension url on element e, parsed into a; NULL if none. */
static const struct cw_json *ctrl_values(struct cw_arena *a, struct cw_fhir_elem e, const char *url)
{
    size_t n = cw_fhir_elem_value_count(e);
    for (size_t i = 0; i < n; i++) {
        cw_slice k, json;
        if (cw_fhir_elem_value(e, i, &k, &json) != 0 || !cw_slice_eq_cstr(k, url)) continue;
        struct cw_json *v = NULL;
        struct cw_err err;
        if (cw_json_parse(a, json.ptr, json.len, NULL, &v, &err) != 0) return NULL;
        return cw_json_is(v, CW_JSON_ARRAY) && v->len ? v : NULL;
    }
    return NULL;
}

static bool has_ctrl(struct cw_fhir_elem e)
{
    size_t n = cw_fhir_elem_value_count(e);
    for (size_t i = 0; i < n; i++) {
        cw_slice k;
        if (cw_fhir_elem_value(e, i, &k, NULL) == 0 &&
            cw_slice_starts_with(k, CW_LIT("http://hl7.org/fhir/")))
            return true;
    }
    return false;
}

/* Characters (UTF-8 code points) of s. */
static size_t utf8_chars(cw_slice s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        if (((unsigned char)s.ptr[i] & 0xC0) != 0x80) n++;
    return n;
}

/* ---- primitives: minLength, mustHaveValue, valueAlternatives ---- */

static void check_primitive(struct vrun *r, struct cw_arena *a, const struct cw_fhir_node *n)
{
    struct cw_fhir_elem e = n->elem;
    char msg[CW_ERR_MSG_MAX];
    const struct cw_json *ml = ctrl_values(a, e, EXT_MIN_LENGTH);
    long long min = 0;
    if (ml && cw_json_to_i64(&ml->u.items[0], &min) == 0 && min > 0 &&
        cw_json_is(n->value, CW_JSON_STRING) && utf8_chars(cw_json_text(n->value)) < (size_t)min) {
        snprintf(msg, sizeof msg, "the value is shorter than the minimum length %lld of %.*s", min,
                 CW_SLICE_FMT(cw_fhir_elem_id(e)));
        fhir_vreport(r, n, CW_SEV_ERROR, CW_ISSUE_VALUE, msg);
    }
    if (n->value) return;
    const struct cw_json *mv = ctrl_values(a, e, EXT_MUST_VALUE);
    if (mv && cw_json_is(&mv->u.items[0], CW_JSON_TRUE)) {
        snprintf(msg, sizeof msg,
                 "the profile requires a value in %.*s (extensions alone are "
                 "not enough)",
                 CW_SLICE_FMT(cw_fhir_elem_id(e)));
        fhir_vreport(r, n, CW_SEV_ERROR, CW_ISSUE_REQUIRED, msg);
        return;
    }
    const struct cw_json *alt = ctrl_values(a, e, EXT_VALUE_ALT);
    if (!alt) return;
    const struct cw_json *exts = cw_json_get(n->ext, "extension");
    for (uint32_t i = 0; cw_json_is(exts, CW_JSON_ARRAY) && i < exts->len; i++) {
        cw_slice url = cw_json_text(cw_json_get(&exts->u.items[i], "url"));
        for (uint32_t k = 0; k < alt->len; k++)
            if (cw_slice_eq(url, cw_json_text(&alt->u.items[k]))) return;
    }
    snprintf(msg, sizeof msg,
             "%.*s has no value, and none of the extensions the profile allows "
             "in place of a value (valueAlternatives)",
             CW_SLICE_FMT(cw_fhir_elem_id(e)));
    fhir_vreport(r, n, CW_SEV_ERROR, CW_ISSUE_REQUIRED, msg);
}

/* ---- the narrative ---- */

struct nscan {
    struct cw_arena *a;
    unsigned depth;
    /* language sections: children of the root div with lang / xml:lang */
    cw_slice langs[MAX_SECTIONS];
    size_t n_langs;
    /* source attribution: the depth of the outermost element with a source
       class (0: none), and the runs of text found outside any */
    unsigned sourced;
    size_t unsourced;
    bool counted; /* the current run of text is counted (libxml2 may split it) */
};

static bool is_source_class(cw_slice cls)
{
    static const char *const ok[] = {"boilerplate", "generated", "extensions", "additional",
                                     "original"};
    size_t i = 0;
    while (i < cls.len) {
        while (i < cls.len && (cls.ptr[i] == ' ' || cls.ptr[i] == '\t' || cls.ptr[i] == '\n')) i++;
        size_t j = i;
        while (j < cls.len && cls.ptr[j] != ' ' && cls.ptr[j] != '\t' && cls.ptr[j] != '\n') j++;
        cw_slice w = {cls.ptr + i, j - i};
        for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
            if (cw_slice_eq_cstr(w, ok[k])) return true;
        i = j;
    }
    return false;
}

static int ns_start(void *ctx, struct cw_xml_parser *p, const struct cw_xml_start *e)
{
    (void)p;
    struct nscan *s = ctx;
    s->depth = e->depth;
    s->counted = false;
    for (size_t i = 0; i < e->n_attrs; i++) {
        const struct cw_xml_attr *at = &e->attrs[i];
        if (e->depth == 2 && cw_slice_eq_cstr(at->name, "lang") && s->n_langs < MAX_SECTIONS &&
            at->value.len && at->value.len <= 35) {
            bool dup = false;
            for (size_t k = 0; k < s->n_langs && !dup; k++)
                dup = cw_slice_eq(s->langs[k], at->value);
            cw_slice keep = dup ? CW_SLICE_NULL : cw_arena_dup(s->a, at->value);
            if (keep.ptr) s->langs[s->n_langs++] = keep;
        }
        if (!s->sourced && e->depth >= 2 && cw_slice_eq_cstr(at->name, "class") &&
            is_source_class(at->value))
            s->sourced = e->depth;
    }
    return 0;
}

static int ns_end(void *ctx, struct cw_xml_parser *p, cw_slice name, cw_slice prefix, cw_slice uri)
{
    (void)p, (void)name, (void)prefix, (void)uri;
    struct nscan *s = ctx;
    if (s->sourced == s->depth) s->sourced = 0;
    s->depth--;
    s->counted = false;
    return 0;
}

static int ns_text(void *ctx, struct cw_xml_parser *p, cw_slice text, bool cdata)
{
    (void)p, (void)cdata;
    struct nscan *s = ctx;
    if (s->sourced || s->counted) return 0;
    for (size_t i = 0; i < text.len; i++)
        if (text.ptr[i] != ' ' && text.ptr[i] != '\t' && text.ptr[i] != '\n' &&
            text.ptr[i] != '\r') {
            s->unsourced++;
            s->counted = true;
            break;
        }
    return 0;
}

static bool lang_has(const struct nscan *s, cw_slice lang)
{
    for (size_t i = 0; i < s->n_langs; i++)
        if (cw_slice_eq_nocase(s->langs[i], lang)) return true;
    return false;
}

static void check_narrative(struct vrun *r, struct cw_arena *a, const struct cw_fhir_node *n)
{
    const struct cw_json *lang = ctrl_values(a, n->elem, EXT_LANG_CTRL);
    const struct cw_json *src = ctrl_values(a, n->elem, EXT_SOURCE_CTRL);
    if (!lang && !src) return;
    cw_slice div = cw_json_text(cw_json_get(n->value, "div"));
    if (!div.len) return;
    struct nscan s;
    memset(&s, 0, sizeof s);
    s.a = a;
    const struct cw_xml_handler h = {.start = ns_start, .end = ns_end, .text = ns_text};
    struct cw_err err;
    if (cw_xml_parse(div.ptr, div.len, NULL, &h, &s, &err) != 0) return; /* reported elsewhere */
    char msg[CW_ERR_MSG_MAX];
    cw_slice id = cw_fhir_elem_id(n->elem);
    for (uint32_t i = 0; lang && i < lang->len; i++) {
        cw_slice code = cw_json_text(&lang->u.items[i]);
        msg[0] = 0;
        if (cw_slice_eq_cstr(code, "_no")) {
            if (s.n_langs)
                snprintf(msg, sizeof msg,
                         "the narrative has %zu language section(s), which the "
                         "profile prohibits for %.*s",
                         s.n_langs, CW_SLICE_FMT(id));
        } else if (cw_slice_eq_cstr(code, "_yes")) {
            if (!s.n_langs)
                snprintf(msg, sizeof msg,
                         "the narrative has no language sections, which the "
                         "profile requires for %.*s",
                         CW_SLICE_FMT(id));
        } else {
            cw_slice want = code;
            if (cw_slice_eq_cstr(code, "_resource")) {
                const struct cw_fhir_node *res = n;
                while (res && !(res->flags & CW_FHIR_NODE_RESOURCE)) res = res->parent;
                want = res ? cw_json_text(cw_json_get(res->value, "language")) : CW_SLICE_NULL;
            }
            if (want.len && !lang_has(&s, want))
                snprintf(msg, sizeof msg,
                         "the narrative has no section for the language %.*s, "
                         "which the profile requires for %.*s",
                         (int)(want.len > 35 ? 35 : want.len), want.ptr, CW_SLICE_FMT(id));
        }
        if (msg[0]) fhir_vreport(r, n, CW_SEV_ERROR, CW_ISSUE_BUSINESS_RULE, msg);
    }
    if (src && s.unsourced) {
        cw_slice level = cw_json_text(&src->u.items[0]);
        /* the extension's code is the severity (issue-severity codes) */
        enum cw_severity sev = CW_SEV_ERROR;
        if (cw_slice_eq_cstr(level, "warning"))
            sev = CW_SEV_WARNING;
        else if (cw_slice_eq_cstr(level, "information"))
            sev = CW_SEV_INFORMATION;
        else if (!cw_slice_eq_cstr(level, "error") && !cw_slice_eq_cstr(level, "fatal"))
            return; /* "success" (or unknown): no check */
        size_t k = s.unsourced < MAX_FINDINGS ? s.unsourced : MAX_FINDINGS;
        for (size_t i = 0; i < k; i++) {
            snprintf(msg, sizeof msg,
                     "narrative text %zu is not inside an element whose class "
                     "names its source (boilerplate, generated, ...), as the profile requires "
                     "for %.*s",
                     i + 1, CW_SLICE_FMT(id));
            fhir_vreport(r, n, sev, CW_ISSUE_BUSINESS_RULE, msg);
        }
    }
}

void fhir_vctrl_check(struct vrun *r, struct cw_arena *scratch, const struct cw_fhir_node *n)
{
    if (!n->elem.set || !has_ctrl(n->elem)) return;
    if (n->flags & CW_FHIR_NODE_PRIMITIVE)
        check_primitive(r, scratch, n);
    else if (cw_slice_eq_cstr(cw_fhir_sd_type_name(n->type), "Narrative"))
        check_narrative(r, scratch, n);
}
