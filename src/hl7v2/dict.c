/*
 * dict.c — lookups in the generated HL7 v2 definition tables.
 *
 * The tables (hl7v2_tables.c in the build tree, made by
 * tools/hl7v2_tables.js from the pinned npm package hl7-dictionary) are
 * constant arrays sorted by name or number, so every lookup is a binary
 * search and nothing is loaded or built at start-up.
 *
 * Version mapping: "2.1" ... "2.7.1" map to their own definitions; 2.8,
 * 2.8.x and 2.9 (not in the package) map to 2.7.1, the closest definitions
 * available, and the caller is told so (fallback).
 */
#include "hl7v2/hl7v2_int.h"

#include <string.h>

static int cmp_str(uint32_t off, cw_slice s)
{
    const char *a = hl7v2_str(off);
    size_t n = strlen(a);
    return cw_slice_cmp((cw_slice){a, n}, s);
}

const struct hl7v2_dict_version *hl7v2_dict_version(cw_slice v, bool *fallback)
{
    v = cw_slice_trim(v);
    if (fallback) *fallback = false;
    for (uint32_t i = 0; i < hl7v2_dict_nversions; i++)
        if (cw_slice_eq_cstr(v, hl7v2_dict_versions[i].name)) return &hl7v2_dict_versions[i];
    if (v.len >= 3 && v.ptr[0] == '2' && v.ptr[1] == '.' && (v.ptr[2] == '8' || v.ptr[2] == '9') &&
        (v.len == 3 || v.ptr[3] == '.')) {
        if (fallback) *fallback = true;
        return &hl7v2_dict_versions[hl7v2_dict_nversions - 1];
    }
    return NULL;
}

const struct hl7v2_dict_seg *hl7v2_dict_seg(const struct hl7v2_dict_version *v, cw_slice id)
{
    uint32_t lo = 0, hi = v->nsegs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = cmp_str(v->segs[mid].name, id);
        if (c == 0) return &v->segs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct hl7v2_dict_type *hl7v2_dict_type_at(const struct hl7v2_dict_version *v, uint16_t i)
{
    return i < v->ntypes ? &v->types[i] : NULL;
}

const struct hl7v2_dict_msg *hl7v2_dict_msg(const struct hl7v2_dict_version *v, cw_slice name)
{
    uint32_t lo = 0, hi = v->nmsgs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = cmp_str(v->msgs[mid].name, name);
        if (c == 0) return &v->msgs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct hl7v2_dict_table *hl7v2_dict_table(uint16_t number)
{
    uint32_t lo = 0, hi = hl7v2_dict_ntables;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (hl7v2_dict_tables[mid].number == number) return &hl7v2_dict_tables[mid];
        if (hl7v2_dict_tables[mid].number < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool hl7v2_dict_table_has(const struct hl7v2_dict_table *t, cw_slice value)
{
    uint32_t lo = 0, hi = t->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = cmp_str(hl7v2_dict_values[t->first + mid], value);
        if (c == 0) return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

const char *cw_hl7v2_field_desc(cw_slice version, cw_slice seg, uint32_t field)
{
    const struct hl7v2_dict_version *v =
        hl7v2_dict_version(version.len ? version : CW_LIT("2.5.1"), NULL);
    if (!v) v = hl7v2_dict_version(CW_LIT("2.5.1"), NULL);
    const struct hl7v2_dict_seg *s = v ? hl7v2_dict_seg(v, seg) : NULL;
    if (!s || field == 0 || field > s->count) return NULL;
    const char *d = hl7v2_str(hl7v2_dict_fields[s->first + field - 1].desc);
    return *d ? d : NULL;
}

void cw_hl7v2_dict_stats(struct cw_hl7v2_dict_stats *st)
{
    memset(st, 0, sizeof *st);
    st->versions = hl7v2_dict_nversions;
    for (uint32_t i = 0; i < hl7v2_dict_nversions; i++) {
        const struct hl7v2_dict_version *v = &hl7v2_dict_versions[i];
        st->segments += v->nsegs;
        st->datatypes = v->ntypes;
        st->structures += v->nmsgs;
    }
    st->fields = hl7v2_dict_nfields;
    st->nodes = hl7v2_dict_nnodes;
    st->tables = hl7v2_dict_ntables;
    st->table_values = hl7v2_dict_nvalues;
    st->bytes = hl7v2_dict_bytes;
}
