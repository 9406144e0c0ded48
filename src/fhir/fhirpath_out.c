/*
 * fhirpath_out.c — results as text and as JSON (docs/internals/fhirpath.md,
 * "Output").
 *
 * JSON form of a result collection: a JSON array with one element per item.
 *  - FHIR nodes: their JSON as in the resource (a primitive's value; a
 *    primitive that has only extensions gives its "_x" object; complex
 *    elements and resources their object);
 *  - Boolean, Integer: JSON literals; Decimal: a JSON number with its exact
 *    digits (1.50 stays 1.50);
 *  - String: a JSON string;
 *  - Date, DateTime, Time: strings in FHIRPath literal form ("@2024-01-31",
 *    "@2024-01-31T10:00:00.000+01:00", "@T10:30");
 *  - Quantity: a string in FHIRPath literal form ("1.5 'mg'", "7 days");
 *  - type information (type()): "Namespace.Name".
 * With CW_FHIRPATH_JSON_TYPES each element is {"type": "System.Date",
 * "value": ...} (FHIR types as "FHIR.string", "FHIR.Patient").
 * Writes only to the caller's buffer; thread-safe.
 */
#include <stdio.h>

#include "fhir/fhirpath_int.h"

int cw_fhirpath_value_text(const struct cw_fhirpath_value *v, struct cw_buf *b)
{
    if (v->kind == CW_FHIRPATH_NODE) {
        const struct cw_fhir_node *n = v->u.node;
        if (!(n->flags & CW_FHIR_NODE_PRIMITIVE) || !n->value) return -1;
        const struct cw_json *j = n->value;
        if (j->type == CW_JSON_STRING || j->type == CW_JSON_NUMBER)
            return cw_buf_put_slice(b, cw_json_text(j));
        if (j->type == CW_JSON_TRUE || j->type == CW_JSON_FALSE)
            return cw_buf_puts(b, j->type == CW_JSON_TRUE ? "true" : "false");
        return -1;
    }
    if (v->kind == CW_FHIRPATH_TYPEINFO) return cw_fhirpath_value_type(v, b);
    return fp_val_text(v, b);
}

static int type_name(const struct cw_fhirpath_type *t, struct cw_buf *b)
{
    if (t->ns == FP_NS_FHIR) {
        cw_buf_puts(b, "FHIR.");
        return cw_buf_put_slice(b, cw_fhir_sd_type_name(t->sd));
    }
    cw_buf_puts(b, "System.");
    return cw_buf_puts(b, fp_sys_name((enum fp_sys)t->sys));
}

int cw_fhirpath_value_type(const struct cw_fhirpath_value *v, struct cw_buf *b)
{
    if (v->kind == CW_FHIRPATH_TYPEINFO) return type_name(v->u.type, b);
    struct cw_fhirpath_type t = fp_type_of(v);
    return type_name(&t, b);
}

static void write_item(struct cw_json_writer *w, struct cw_buf *b,
                       const struct cw_fhirpath_value *v)
{
    switch (v->kind) {
    case CW_FHIRPATH_NODE: {
        const struct cw_fhir_node *n = v->u.node;
        const struct cw_json *j = n->value ? n->value : n->ext;
        if (j)
            cw_json_value(w, j);
        else
            cw_json_null_value(w);
        return;
    }
    case CW_FHIRPATH_BOOLEAN:
        cw_json_bool_value(w, v->u.b);
        return;
    case CW_FHIRPATH_INTEGER:
        cw_json_int_value(w, v->u.i);
        return;
    case CW_FHIRPATH_DECIMAL: {
        char t[FP_DEC_TEXT_MAX];
        size_t n = fp_dec_format(v->u.dec, t, sizeof t);
        cw_json_number_value(w, (cw_slice){t, n});
        return;
    }
    case CW_FHIRPATH_STRING:
        cw_json_string_value(w, fp_val_str(v));
        return;
    default: {
        struct cw_buf tmp;
        cw_buf_init(&tmp, 1 << 20);
        if (v->kind == CW_FHIRPATH_DATE || v->kind == CW_FHIRPATH_DATETIME) cw_buf_putc(&tmp, '@');
        if (v->kind == CW_FHIRPATH_TIME) cw_buf_puts(&tmp, "@T");
        if (cw_fhirpath_value_text(v, &tmp) < 0 || cw_buf_failed(&tmp)) {
            cw_json_null_value(w);
        } else {
            cw_json_string_value(w, cw_buf_slice(&tmp));
        }
        cw_buf_release(&tmp);
        (void)b;
        return;
    }
    }
}

int cw_fhirpath_write_json(struct cw_buf *b, struct cw_fhirpath_coll c, unsigned flags, int indent)
{
    struct cw_json_writer w;
    cw_json_writer_init(&w, b, indent);
    cw_json_begin_array(&w);
    for (size_t i = 0; i < c.n; i++) {
        const struct cw_fhirpath_value *v = &c.items[i];
        if (flags & CW_FHIRPATH_JSON_TYPES) {
            cw_json_begin_object(&w);
            cw_json_key(&w, CW_LIT("type"));
            struct cw_buf tn;
            cw_buf_init(&tn, 4096);
            cw_fhirpath_value_type(v, &tn);
            cw_json_string_value(&w, cw_buf_slice(&tn));
            cw_buf_release(&tn);
            cw_json_key(&w, CW_LIT("value"));
            write_item(&w, b, v);
            cw_json_end_object(&w);
        } else {
            write_item(&w, b, v);
        }
    }
    cw_json_end_array(&w);
    return cw_buf_failed(b) ? -1 : 0;
}
