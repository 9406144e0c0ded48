/*
 * convert_dt.c — HL7 v2 data types -> FHIR R4 data types.
 *
 * One function per v2-to-FHIR data type map (HL7 v2-to-FHIR IG, "Data Type
 * Maps": CX[Identifier], XPN[HumanName], XAD[Address], XTN[ContactPoint],
 * CWE[CodeableConcept], HD, EI, XCN[Practitioner], XON[Organization],
 * PL[Location], CQ[Quantity], SN[Quantity/Range/Ratio], ED/RP[Attachment],
 * NA[SampledData], DTM/DT/TM). Each reads one repetition of a field and
 * returns a JSON value (a null node when the repetition holds nothing to
 * map). Which components each converter reads is declared in cv_dt_info
 * (convert_tables.c), so the engine can report the others as unmapped.
 *
 * Values that cannot be converted (a date that is not a date, a number that
 * is not a number) are reported as INVALID_VALUE with v2 code 102 and left
 * out; nothing here fails except on allocation.
 */
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "base/datetime.h"
#include "convert/convert_int.h"
#include "fhir/fhir.h"

/* ---- text access ---- */

cw_slice cv_text(struct cv_ctx *c, const struct cw_hl7v2_node *n)
{
    if (!n || !n->len) return CW_LIT("");
    /* the first leaf below n: a component with subcomponents reads as its first */
    while (n->n && n->kids) n = &n->kids[0];
    cw_slice raw = cw_hl7v2_text(n), out = CW_LIT("");
    if (!raw.len) return out;
    if (!(n->flags & CW_HL7V2_NODE_ESC) && c->m->ascii) return cw_slice_trim(raw); /* nothing to decode */
    if (cw_hl7v2_decode(c->a, c->m, raw, &out, NULL) != 0) {
        c->failed = true;
        return CW_LIT("");
    }
    return cw_slice_trim(out);
}

cw_slice cv_comp(struct cv_ctx *c, const struct cw_hl7v2_node *rep, uint32_t comp)
{
    return cv_text(c, cw_hl7v2_comp(rep, comp));
}

cw_slice cv_sub(struct cv_ctx *c, const struct cw_hl7v2_node *rep, uint32_t comp, uint32_t sub)
{
    const struct cw_hl7v2_node *cn = cw_hl7v2_comp(rep, comp);
    if (!cn) return CW_LIT("");
    return cv_text(c, cw_hl7v2_sub(cn, sub));
}

/* ---- JSON helpers ---- */

struct cw_json cv_str(const char *s)
{
    return cw_json_string(cw_slice_cstr(s));
}

struct cw_json *cv_obj_get(struct cw_json *obj, const char *key)
{
    if (!obj || obj->type != CW_JSON_OBJECT) return NULL;
    for (uint32_t i = 0; i < obj->len; i++)
        if (cw_slice_eq_cstr(obj->u.members[i].key, key)) return &obj->u.members[i].value;
    return NULL;
}

int cv_put(struct cv_ctx *c, struct cw_json *obj, const char *key, struct cw_json v)
{
    if (v.type == CW_JSON_NULL) return 0;
    if (!cw_json_set(c->a, obj, cw_slice_cstr(key), v)) {
        c->failed = true;
        return -1;
    }
    return 0;
}

int cv_put_str(struct cv_ctx *c, struct cw_json *obj, const char *key, cw_slice s)
{
    if (!s.len) return 0;
    return cv_put(c, obj, key, cw_json_string(s));
}

static int arr_add_str(struct cv_ctx *c, struct cw_json *obj, const char *key, cw_slice s)
{
    if (!s.len) return 0;
    struct cw_json *arr = cv_obj_get(obj, key);
    if (!arr) {
        if (cv_put(c, obj, key, cw_json_array()) != 0) return -1;
        arr = cv_obj_get(obj, key);
    }
    if (!cw_json_append(c->a, arr, cw_json_string(s))) {
        c->failed = true;
        return -1;
    }
    return 0;
}

static int arr_add(struct cv_ctx *c, struct cw_json *obj, const char *key, struct cw_json v)
{
    if (v.type == CW_JSON_NULL) return 0;
    struct cw_json *arr = cv_obj_get(obj, key);
    if (!arr) {
        if (cv_put(c, obj, key, cw_json_array()) != 0) return -1;
        arr = cv_obj_get(obj, key);
    }
    if (!cw_json_append(c->a, arr, v)) {
        c->failed = true;
        return -1;
    }
    return 0;
}

static struct cw_json nonempty(struct cw_json o)
{
    return o.len ? o : cw_json_null();
}

static cw_slice cat(struct cv_ctx *c, const char *a, cw_slice b)
{
    char *p = cw_arena_printf(c->a, "%s%.*s", a, CW_SLICE_FMT(b));
    if (!p) {
        c->failed = true;
        return CW_LIT("");
    }
    return cw_slice_cstr(p);
}

/* ---- vocabulary ---- */

const struct cv_vocab *cv_vocab_find(const char *table, cw_slice v2)
{
    if (!table || !v2.len) return NULL;
    for (size_t i = 0; i < cv_nvocab; i++)
        if (strcmp(cv_vocab[i].table, table) == 0 && cw_slice_eq_nocase(cw_slice_cstr(cv_vocab[i].v2), v2))
            return &cv_vocab[i];
    return NULL;
}

const char *cv_system_uri(struct cv_ctx *c, cw_slice name)
{
    if (!name.len) return NULL;
    for (size_t i = 0; i < cv_nsystems; i++)
        if (cw_slice_eq_nocase(cw_slice_cstr(cv_systems[i].v2), name)) return cv_systems[i].uri;
    /* HL7nnnn / HL7-nnnn: a v2 table */
    if (name.len >= 7 && (name.ptr[0] == 'H' || name.ptr[0] == 'h') && (name.ptr[1] == 'L' || name.ptr[1] == 'l') &&
        name.ptr[2] == '7') {
        cw_slice num = cw_slice_sub(name, name.ptr[3] == '-' ? 4 : 3, 4);
        bool digits = num.len == 4;
        for (size_t i = 0; digits && i < 4; i++) digits = num.ptr[i] >= '0' && num.ptr[i] <= '9';
        if (digits) {
            char *p = cw_arena_printf(c->a, "http://terminology.hl7.org/CodeSystem/v2-%.4s", num.ptr);
            if (!p) c->failed = true;
            return p;
        }
    }
    /* an OID or URI given as the coding system name */
    bool oid = true;
    for (size_t i = 0; i < name.len; i++)
        if (!((name.ptr[i] >= '0' && name.ptr[i] <= '9') || name.ptr[i] == '.')) oid = false;
    if (oid && name.len > 2 && memchr(name.ptr, '.', name.len)) {
        cw_slice s = cat(c, "urn:oid:", name);
        return s.ptr;
    }
    return NULL;
}

static const char *v2_table_uri(struct cv_ctx *c, const char *table)
{
    if (!table || strlen(table) != 4) return NULL;
    char *p = cw_arena_printf(c->a, "http://terminology.hl7.org/CodeSystem/v2-%s", table);
    if (!p) c->failed = true;
    return p;
}

/*
 * The system to write for code, or NULL. A code said to come from a code
 * system we hold completely (the HL7 v2 tables, FHIR and v3 code systems of
 * the core package) but that is not in it is a local code: claiming the
 * standard system would give it a meaning it does not have (and the store's
 * validator rejects it), so it is kept without a system and reported
 * (INVALID_VALUE at comp). Systems we do not hold (LOINC, SNOMED CT, OIDs)
 * are trusted as sent.
 */
static const char *checked_system(struct cv_ctx *c, const char *sys, cw_slice code, uint32_t comp)
{
    if (!sys || !code.len) return sys;
    struct cw_fhir_cs cs = cw_fhir_cs_find(cw_slice_cstr(sys));
    if (!cs.set || cw_fhir_cs_content(cs) != CW_FHIR_CS_COMPLETE) return sys;
    if (cw_fhir_cs_lookup(cs, code, NULL) == 0) return sys;
    cv_report(c, CW_CONVERT_INVALID_VALUE, comp, "code not in %s (kept without system)", sys);
    return NULL;
}

/* A Coding of a fixed system (a v2 table) for code, checked (checked_system). */
static struct cw_json table_coding(struct cv_ctx *c, const char *sys, cw_slice code, uint32_t comp)
{
    struct cw_json cd = cw_json_object();
    const char *s = checked_system(c, sys, code, comp);
    if (s) cv_put(c, &cd, "system", cv_str(s));
    cv_put_str(c, &cd, "code", code);
    return cd;
}

/* ---- HD: system URI of an assigning authority ---- */

struct hd {
    cw_slice ns, uid, type;
};

static struct hd hd_read(struct cv_ctx *c, const struct cw_hl7v2_node *rep, uint32_t comp)
{
    struct hd h;
    if (comp == 0) {
        h.ns = cv_comp(c, rep, 1);
        h.uid = cv_comp(c, rep, 2);
        h.type = cv_comp(c, rep, 3);
    } else {
        h.ns = cv_sub(c, rep, comp, 1);
        h.uid = cv_sub(c, rep, comp, 2);
        h.type = cv_sub(c, rep, comp, 3);
    }
    return h;
}

/* The system URI an HD names (ISO OID, UUID, URI), or empty. */
static cw_slice hd_system(struct cv_ctx *c, struct hd h)
{
    if (!h.uid.len) return CW_LIT("");
    if (cw_slice_eq_nocase(h.type, CW_LIT("ISO"))) return cat(c, "urn:oid:", h.uid);
    if (cw_slice_eq_nocase(h.type, CW_LIT("UUID"))) return cat(c, "urn:uuid:", h.uid);
    if (cw_slice_eq_nocase(h.type, CW_LIT("URI")) || cw_slice_eq_nocase(h.type, CW_LIT("URL")))
        return h.uid;
    return CW_LIT("");
}

/* Identifier.system / assigner from an HD; key text (for ids) in *scope. */
static int hd_to_identifier(struct cv_ctx *c, struct cw_json *id, struct hd h)
{
    cw_slice sys = hd_system(c, h);
    if (sys.len) return cv_put_str(c, id, "system", sys);
    if (h.ns.len) {
        struct cw_json as = cw_json_object();
        if (cv_put_str(c, &as, "display", h.ns) != 0) return -1;
        return cv_put(c, id, "assigner", as);
    }
    return 0;
}

/* ---- dates ---- */

static void report_invalid(struct cv_ctx *c, uint32_t comp, const char *what)
{
    cv_report(c, CW_CONVERT_INVALID_VALUE, comp, "%s", what);
}

static int fmt_dt(struct cv_ctx *c, cw_slice text, uint8_t dt, uint32_t comp, struct cw_json *out)
{
    *out = cw_json_null();
    if (!text.len) return 0;
    struct cw_dt v;
    struct cw_err e;
    cw_err_clear(&e);
    if (cw_dt_parse_v2(text, c->m->delims.comp, CW_DT_V2_LONG_FRACTION, &v, &e) != 0) {
        report_invalid(c, comp, "not a valid DTM/DT value");
        return 0;
    }
    if (dt == DT_DATE) {
        if (v.prec > CW_DT_PREC_DAY) v.prec = CW_DT_PREC_DAY;
        v.has_tz = false;
    } else if (dt == DT_INSTANT && v.prec < CW_DT_PREC_SECOND) {
        if (v.prec < CW_DT_PREC_DAY) {
            report_invalid(c, comp, "instant needs at least a day");
            return 0;
        }
        if (v.prec == CW_DT_PREC_DAY) v.hour = v.minute = 0;
        if (v.prec <= CW_DT_PREC_HOUR) v.minute = 0;
        v.second = 0;
        v.prec = CW_DT_PREC_SECOND;
    }
    if (v.prec >= CW_DT_PREC_HOUR) cw_dt_assume_tz(&v, c->o->default_tz_min);
    char buf[CW_DT_TEXT_MAX];
    size_t n = cw_dt_format(&v, CW_DT_FMT_SECONDS, buf, sizeof buf);
    if (!n) {
        report_invalid(c, comp, "date/time cannot be written");
        return 0;
    }
    cw_slice s = cw_arena_dup(c->a, (cw_slice){buf, n});
    if (!s.ptr) {
        c->failed = true;
        return -1;
    }
    *out = cw_json_string(s);
    return 0;
}

/* v2 TM (HHMM[SS[.S+]][+/-ZZZZ]) -> FHIR time hh:mm:ss[.f]. */
static int fmt_tm(struct cv_ctx *c, cw_slice t, struct cw_json *out)
{
    *out = cw_json_null();
    if (!t.len) return 0;
    size_t n = 0;
    while (n < t.len && t.ptr[n] >= '0' && t.ptr[n] <= '9') n++;
    size_t fe = n;
    if (n == 6 && fe < t.len && t.ptr[fe] == '.') {
        fe++;
        while (fe < t.len && t.ptr[fe] >= '0' && t.ptr[fe] <= '9' && fe - n < 10) fe++;
    }
    bool ok = (n == 2 || n == 4 || n == 6) && (fe == t.len || t.ptr[fe] == '+' || t.ptr[fe] == '-');
    int hh = 0, mm = 0, ss = 0;
    if (ok) {
        hh = (t.ptr[0] - '0') * 10 + (t.ptr[1] - '0');
        if (n >= 4) mm = (t.ptr[2] - '0') * 10 + (t.ptr[3] - '0');
        if (n >= 6) ss = (t.ptr[4] - '0') * 10 + (t.ptr[5] - '0');
        ok = hh < 24 && mm < 60 && ss < 60;
    }
    if (!ok) {
        report_invalid(c, 0, "not a valid TM value");
        return 0;
    }
    char *p = cw_arena_printf(c->a, "%02d:%02d:%02d%.*s", hh, mm, ss, (int)(fe - n), t.ptr + n);
    if (!p) {
        c->failed = true;
        return -1;
    }
    *out = cw_json_string(cw_slice_cstr(p));
    return 0;
}

/* ---- numbers ---- */

/* v2 NM -> JSON number text: optional sign, digits, optional fraction; leading
   zeros and '+' dropped, ".5" -> "0.5", "5." -> "5". Empty when not a number. */
static cw_slice nm_text(struct cv_ctx *c, cw_slice s)
{
    s = cw_slice_trim(s);
    if (!s.len || s.len > 64) return CW_LIT("");
    char buf[80];
    size_t o = 0, i = 0;
    if (s.ptr[0] == '+' || s.ptr[0] == '-') {
        if (s.ptr[0] == '-') buf[o++] = '-';
        i++;
    }
    size_t int_start = i;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') i++;
    size_t int_end = i, frac_start = i, frac_end = i;
    if (i < s.len && s.ptr[i] == '.') {
        frac_start = ++i;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') i++;
        frac_end = i;
    }
    if (i != s.len || (int_end == int_start && frac_end == frac_start)) return CW_LIT("");
    size_t z = int_start;
    while (z + 1 < int_end && s.ptr[z] == '0') z++;
    if (int_end == int_start) buf[o++] = '0';
    else {
        memcpy(buf + o, s.ptr + z, int_end - z);
        o += int_end - z;
    }
    if (frac_end > frac_start) {
        buf[o++] = '.';
        memcpy(buf + o, s.ptr + frac_start, frac_end - frac_start);
        o += frac_end - frac_start;
    }
    if (o == 2 && buf[0] == '-' && buf[1] == '0') o = 1, buf[0] = '0';
    cw_slice r = cw_arena_dup(c->a, (cw_slice){buf, o});
    if (!r.ptr) c->failed = true;
    return r;
}

static struct cw_json decimal(struct cv_ctx *c, cw_slice s, uint32_t comp)
{
    if (!s.len) return cw_json_null();
    cw_slice n = nm_text(c, s);
    if (!n.len) {
        report_invalid(c, comp, "not a valid NM value");
        return cw_json_null();
    }
    return cw_json_number_text(n);
}

/* ---- composite converters ---- */

/* HL7 table 0396: "L", "99zzz" (and the common LOCAL) name a local code
   system; such a name says nothing beyond "no standard system", so a code
   kept without a system loses nothing. */
static bool local_system(cw_slice n)
{
    return cw_slice_eq_nocase(n, CW_LIT("L")) || cw_slice_eq_nocase(n, CW_LIT("LOCAL")) ||
           cw_slice_eq_nocase(n, CW_LIT("LOC")) || (n.len >= 2 && n.ptr[0] == '9' && n.ptr[1] == '9');
}

static int coding_of(struct cv_ctx *c, cw_slice code, cw_slice disp, cw_slice sysname,
                     uint32_t sysname_comp, cw_slice version, const char *deftable,
                     struct cw_json *out)
{
    *out = cw_json_null();
    if (!code.len && !disp.len) return 0;
    struct cw_json cd = cw_json_object();
    const char *sys = cv_system_uri(c, sysname);
    if (!sys && !sysname.len && deftable) sys = v2_table_uri(c, deftable);
    if (sys && !(sys = checked_system(c, sys, code, sysname_comp ? sysname_comp : 1))) {
        /* reported: a local code under a standard system's name */
    } else if (sys) cv_put(c, &cd, "system", cv_str(sys));
    else if (sysname.len && sysname_comp && !local_system(sysname))
        /* a local or unknown coding system name has no FHIR URI: the code is
           kept without a system, and the name is reported, not dropped */
        cv_report(c, CW_CONVERT_UNMAPPED_COMPONENT, sysname_comp,
                  "coding system name not known (code kept without system)");
    cv_put_str(c, &cd, "version", version);
    cv_put_str(c, &cd, "code", code);
    cv_put_str(c, &cd, "display", disp);
    *out = cd;
    return c->failed ? -1 : 0;
}

/* CWE/CE/CNE/CF (components, or subcomponents of component 'comp' when comp > 0). */
static int cwe(struct cv_ctx *c, const struct cw_hl7v2_node *rep, uint32_t comp, const char *deftable,
               struct cw_json *out)
{
    cw_slice f[15];
    for (uint32_t i = 1; i <= 14; i++) f[i] = comp ? cv_sub(c, rep, comp, i) : cv_comp(c, rep, i);
    struct cw_json cc = cw_json_object(), cd;
    cw_slice sys1 = f[3];
    if (!sys1.len && f[14].len) sys1 = f[14];
    coding_of(c, f[1], f[2], sys1, comp ? comp : 3, f[7], deftable, &cd);
    arr_add(c, &cc, "coding", cd);
    coding_of(c, f[4], f[5], f[6], comp ? comp : 6, f[8], NULL, &cd);
    arr_add(c, &cc, "coding", cd);
    coding_of(c, f[10], f[11], f[12], comp ? comp : 12, CW_LIT(""), NULL, &cd);
    arr_add(c, &cc, "coding", cd);
    if (f[9].len) cv_put_str(c, &cc, "text", f[9]);
    else if (!f[1].len && f[2].len && !cv_obj_get(&cc, "coding")) cv_put_str(c, &cc, "text", f[2]);
    *out = nonempty(cc);
    return c->failed ? -1 : 0;
}

/* Identifier.type from component comp of rep: an HL7 table 0203 code (checked). */
static void id_type(struct cv_ctx *c, struct cw_json *ident, const struct cw_hl7v2_node *rep, uint32_t comp)
{
    cw_slice t = cv_comp(c, rep, comp);
    if (!t.len) return;
    struct cw_json cc = cw_json_object();
    arr_add(c, &cc, "coding", table_coding(c, "http://terminology.hl7.org/CodeSystem/v2-0203", t, comp));
    cv_put(c, ident, "type", cc);
}

static int cx(struct cv_ctx *c, const struct cw_hl7v2_node *rep, struct cw_json *out)
{
    struct cw_json id = cw_json_object();
    cw_slice v = cv_comp(c, rep, 1);
    if (!v.len) {
        *out = cw_json_null();
        return 0;
    }
    id_type(c, &id, rep, 5);
    hd_to_identifier(c, &id, hd_read(c, rep, 4));
    cw_slice fac = cv_sub(c, rep, 6, 1);
    if (fac.len && !cv_obj_get(&id, "assigner")) {
        /* CX-6 assigning facility: the assigner when CX-4 named a system */
        struct cw_json as = cw_json_object();
        cv_put_str(c, &as, "display", fac);
        cv_put(c, &id, "assigner", as);
    } else if (fac.len)
        cv_report(c, CW_CONVERT_UNMAPPED_COMPONENT, 6, "CX-6 assigning facility not mapped (CX-4 names the assigner)");
    cv_put_str(c, &id, "value", v);
    /* CX-2 check digit and CX-3 its scheme (IG CX[Identifier]) */
    static const char *const cd_ext[2] = {"http://hl7.org/fhir/StructureDefinition/identifier-checkDigit",
                                          "http://hl7.org/fhir/StructureDefinition/namingsystem-checkDigit"};
    for (uint32_t k = 2; k <= 3; k++) {
        cw_slice x = cv_comp(c, rep, k);
        if (!x.len) continue;
        struct cw_json ext = cw_json_object();
        cv_put(c, &ext, "url", cv_str(cd_ext[k - 2]));
        cv_put_str(c, &ext, "valueString", x);
        arr_add(c, &id, "extension", ext);
    }
    struct cw_json per = cw_json_object(), d;
    fmt_dt(c, cv_comp(c, rep, 7), DT_DATETIME, 7, &d);
    cv_put(c, &per, "start", d);
    fmt_dt(c, cv_comp(c, rep, 8), DT_DATETIME, 8, &d);
    cv_put(c, &per, "end", d);
    cv_put(c, &id, "period", nonempty(per));
    *out = id;
    return c->failed ? -1 : 0;
}

static int ei(struct cv_ctx *c, const struct cw_hl7v2_node *rep, uint32_t comp, struct cw_json *out)
{
    cw_slice v = comp ? cv_sub(c, rep, comp, 1) : cv_comp(c, rep, 1);
    if (!v.len) {
        *out = cw_json_null();
        return 0;
    }
    struct cw_json id = cw_json_object();
    struct hd h;
    if (comp) {
        h.ns = cv_sub(c, rep, comp, 2);
        h.uid = cv_sub(c, rep, comp, 3);
        h.type = cv_sub(c, rep, comp, 4);
    } else {
        h.ns = cv_comp(c, rep, 2);
        h.uid = cv_comp(c, rep, 3);
        h.type = cv_comp(c, rep, 4);
    }
    hd_to_identifier(c, &id, h);
    cv_put_str(c, &id, "value", v);
    *out = id;
    return c->failed ? -1 : 0;
}

static int xpn_fields(struct cv_ctx *c, const struct cw_hl7v2_node *rep, uint32_t off,
                      struct cw_json *hn)
{
    /* XPN: 1 family (FN.1), 2 given, 3 middle, 4 suffix, 5 prefix, 6 degree.
       XCN has the same layout shifted by one (off = 1). */
    cv_put_str(c, hn, "family", cv_sub(c, rep, 1 + off, 1));
    arr_add_str(c, hn, "given", cv_comp(c, rep, 2 + off));
    arr_add_str(c, hn, "given", cv_comp(c, rep, 3 + off));
    arr_add_str(c, hn, "prefix", cv_comp(c, rep, 5 + off));
    arr_add_str(c, hn, "suffix", cv_comp(c, rep, 4 + off));
    arr_add_str(c, hn, "suffix", cv_comp(c, rep, 6 + off));
    return c->failed ? -1 : 0;
}

static int xpn(struct cv_ctx *c, const struct cw_hl7v2_node *rep, struct cw_json *out)
{
    struct cw_json hn = cw_json_object(), d;
    cw_slice use = cv_comp(c, rep, 7);
    const struct cv_vocab *u = cv_vocab_find("0200", use);
    if (u) cv_put(c, &hn, "use", cv_str(u->code));
    else if (use.len) cv_report(c, CW_CONVERT_INVALID_VALUE, 7, "name type not in table 0200 map");
    xpn_fields(c, rep, 0, &hn);
    arr_add_str(c, &hn, "suffix", cv_comp(c, rep, 14));
    struct cw_json per = cw_json_object();
    cw_slice st = cv_comp(c, rep, 12), en = cv_comp(c, rep, 13);
    if (!st.len) st = cv_sub(c, rep, 10, 1);
    if (!en.len) en = cv_sub(c, rep, 10, 2);
    fmt_dt(c, st, DT_DATETIME, 12, &d);
    cv_put(c, &per, "start", d);
    fmt_dt(c, en, DT_DATETIME, 13, &d);
    cv_put(c, &per, "end", d);
    cv_put(c, &hn, "period", nonempty(per));
    /* a name with only a use (XPN-7) carries no name */
    if (!cv_obj_get(&hn, "family") && !cv_obj_get(&hn, "given") && !cv_obj_get(&hn, "prefix") &&
        !cv_obj_get(&hn, "suffix"))
        hn = cw_json_object();
    *out = nonempty(hn);
    return c->failed ? -1 : 0;
}

static int xad(struct cv_ctx *c, const struct cw_hl7v2_node *rep, struct cw_json *out)
{
    struct cw_json ad = cw_json_object(), d;
    cw_slice t = cv_comp(c, rep, 7);
    const struct cv_vocab *u = cv_vocab_find("0190", t);
    if (u) {
        if (u->system && strcmp(u->system, "type") == 0) cv_put(c, &ad, "type", cv_str(u->code));
        else cv_put(c, &ad, "use", cv_str(u->code));
    } else if (t.len)
        cv_report(c, CW_CONVERT_INVALID_VALUE, 7, "address type not in table 0190 map");
    arr_add_str(c, &ad, "line", cv_sub(c, rep, 1, 1));
    arr_add_str(c, &ad, "line", cv_comp(c, rep, 2));
    cv_put_str(c, &ad, "city", cv_comp(c, rep, 3));
    cv_put_str(c, &ad, "district", cv_comp(c, rep, 9));
    cv_put_str(c, &ad, "state", cv_comp(c, rep, 4));
    cv_put_str(c, &ad, "postalCode", cv_comp(c, rep, 5));
    cv_put_str(c, &ad, "country", cv_comp(c, rep, 6));
    struct cw_json per = cw_json_object();
    fmt_dt(c, cv_comp(c, rep, 13), DT_DATETIME, 13, &d);
    cv_put(c, &per, "start", d);
    fmt_dt(c, cv_comp(c, rep, 14), DT_DATETIME, 14, &d);
    cv_put(c, &per, "end", d);
    cv_put(c, &ad, "period", nonempty(per));
    if (ad.len == 1 && (cv_obj_get(&ad, "use") || cv_obj_get(&ad, "type"))) ad = cw_json_object();
    *out = nonempty(ad);
    return c->failed ? -1 : 0;
}

static int xtn(struct cv_ctx *c, const struct cw_hl7v2_node *rep, struct cw_json *out)
{
    struct cw_json cp = cw_json_object();
    cw_slice use = cv_comp(c, rep, 2), eq = cv_comp(c, rep, 3), email = cv_comp(c, rep, 4);
    cw_slice cc = cv_comp(c, rep, 5), area = cv_comp(c, rep, 6), local = cv_comp(c, rep, 7),
             ext = cv_comp(c, rep, 8), unf = cv_comp(c, rep, 12), old = cv_comp(c, rep, 1);
    const struct cv_vocab *sv = cv_vocab_find("0202", eq);
    const char *system = sv ? sv->code : NULL;
    if (!sv && eq.len) cv_report(c, CW_CONVERT_INVALID_VALUE, 3, "equipment type not in table 0202 map");
    cw_slice value = CW_LIT("");
    if (email.len && (!system || strcmp(system, "email") == 0)) {
        value = email;
        if (!system) system = "email";
    } else if (local.len) {
        char *p = cw_arena_printf(c->a, "%s%.*s%s%.*s%s%.*s%s%.*s", cc.len ? "+" : "", CW_SLICE_FMT(cc),
                                  cc.len ? " " : "", CW_SLICE_FMT(area), area.len ? " " : "",
                                  CW_SLICE_FMT(local), ext.len ? " ext. " : "", CW_SLICE_FMT(ext));
        if (!p) {
            c->failed = true;
            return -1;
        }
        value = cw_slice_cstr(p);
        if (area.len) {
            p = cw_arena_printf(c->a, "%s%.*s%s(%.*s) %.*s%s%.*s", cc.len ? "+" : "", CW_SLICE_FMT(cc),
                                cc.len ? " " : "", CW_SLICE_FMT(area), CW_SLICE_FMT(local),
                                ext.len ? " ext. " : "", CW_SLICE_FMT(ext));
            if (p) value = cw_slice_cstr(p);
        }
    } else if (unf.len) value = unf;
    else if (old.len) value = old;
    if (!value.len) {
        *out = cw_json_null();
        return 0;
    }
    if (!system) system = "phone";
    cv_put(c, &cp, "system", cv_str(system));
    cv_put_str(c, &cp, "value", value);
    const struct cv_vocab *uv = cv_vocab_find("0201", use);
    if (uv) cv_put(c, &cp, "use", cv_str(uv->code));
    else if (use.len) cv_report(c, CW_CONVERT_INVALID_VALUE, 2, "use code not in table 0201 map");
    if (sv && sv->system && strcmp(sv->system, "mobile") == 0) cv_put(c, &cp, "use", cv_str("mobile"));
    long long rank;
    cw_slice pr = cv_comp(c, rep, 18);
    if (pr.len && cw_slice_to_i64(pr, &rank) == 0 && rank > 0)
        cv_put(c, &cp, "rank", cw_json_number_i64(c->a, rank));
    *out = cp;
    return c->failed ? -1 : 0;
}

/*
 * The unit of a Quantity from a CWE (code, text, coding system name):
 * Quantity.unit is the text (else the code); code and system only
 * together (qty-3: a unit code needs its system), the system from the
 * name, else default_sys when no name was sent. A code whose system is
 * not known is kept only as the unit text when there is no other text,
 * and reported (component sys_comp) when it is lost.
 */
static void put_unit(struct cv_ctx *c, struct cw_json *q, cw_slice code, cw_slice disp, cw_slice sys,
                     const char *default_sys, uint32_t sys_comp)
{
    cv_put_str(c, q, "unit", disp.len ? disp : code);
    const char *su = cv_system_uri(c, sys);
    if (!su && !sys.len && code.len) su = default_sys;
    if (su && code.len) {
        cv_put(c, q, "system", cv_str(su));
        cv_put_str(c, q, "code", code);
    } else if (code.len && disp.len && !cw_slice_eq(code, disp)) {
        cv_report(c, CW_CONVERT_UNMAPPED_COMPONENT, sys_comp,
                  "unit code without a known coding system (unit text kept)");
    }
}

static int cq(struct cv_ctx *c, const struct cw_hl7v2_node *rep, struct cw_json *out)
{
    struct cw_json q = cw_json_object();
    cv_put(c, &q, "value", decimal(c, cv_comp(c, rep, 1), 1));
    cw_slice code = cv_sub(c, rep, 2, 1), disp = cv_sub(c, rep, 2, 2), sys = cv_sub(c, rep, 2, 3);
    put_unit(c, &q, code, disp, sys, NULL, 2);
    *out = nonempty(q);
    return c->failed ? -1 : 0;
}

/* Units from a CWE field (OBX-6) into a Quantity. */
static void units(struct cv_ctx *c, struct cw_json *q)
{
    const struct cw_hl7v2_node *f = cw_hl7v2_field(cw_hl7v2_seg_at(c->m, c->seg_index), 6);
    const struct cw_hl7v2_node *r = cw_hl7v2_rep(f, 1);
    if (!r) return;
    cw_slice code = cv_comp(c, r, 1), disp = cv_comp(c, r, 2), sys = cv_comp(c, r, 3);
    /* OBX-6 without a coding system: UCUM (the IG's default for results);
       a problem is reported at OBX-6.3, not at the value being converted */
    uint32_t fld = c->field, rp = c->rep_;
    c->field = 6;
    c->rep_ = 1;
    put_unit(c, q, code, disp, sys, "http://unitsofmeasure.org", 3);
    c->field = fld;
    c->rep_ = rp;
}

static struct cw_json practitioner_ref(struct cv_ctx *c, const struct cw_hl7v2_node *rep)
{
    cw_slice id = cv_comp(c, rep, 1), fam = cv_sub(c, rep, 2, 1), giv = cv_comp(c, rep, 3);
    if (!id.len && !fam.len && !giv.len) return cw_json_null();
    struct cw_json p = cw_json_object();
    struct hd h = hd_read(c, rep, 9);
    if (id.len) {
        struct cw_json ident = cw_json_object();
        id_type(c, &ident, rep, 13);
        hd_to_identifier(c, &ident, h);
        cv_put_str(c, &ident, "value", id);
        arr_add(c, &p, "identifier", ident);
    }
    struct cw_json hn = cw_json_object();
    cw_slice use = cv_comp(c, rep, 10); /* XCN-10 name type (table 0200) */
    const struct cv_vocab *u = cv_vocab_find("0200", use);
    if (u) cv_put(c, &hn, "use", cv_str(u->code));
    else if (use.len) cv_report(c, CW_CONVERT_INVALID_VALUE, 10, "name type not in table 0200 map");
    xpn_fields(c, rep, 1, &hn);
    if (!cv_obj_get(&hn, "family") && !cv_obj_get(&hn, "given") && !cv_obj_get(&hn, "prefix"))
        hn = cw_json_object(); /* a use alone is no name */
    arr_add(c, &p, "name", nonempty(hn));
    cw_slice scope = h.uid.len ? h.uid : h.ns;
    char *key = cw_arena_printf(c->a, "%.*s|%.*s|%.*s", CW_SLICE_FMT(id), CW_SLICE_FMT(id.len ? CW_LIT("") : fam),
                                CW_SLICE_FMT(id.len ? CW_LIT("") : giv));
    if (!key) {
        c->failed = true;
        return cw_json_null();
    }
    int32_t i = cv_secondary(c, R_PRACTITIONER, scope, cw_slice_cstr(key), &p);
    return i < 0 ? cw_json_null() : cv_reference(c, i);
}

static struct cw_json organization_ref(struct cv_ctx *c, const struct cw_hl7v2_node *rep)
{
    cw_slice name = cv_comp(c, rep, 1), id = cv_comp(c, rep, 10);
    if (!id.len) id = cv_comp(c, rep, 3);
    if (!name.len && !id.len) return cw_json_null();
    struct cw_json o = cw_json_object();
    struct hd h = hd_read(c, rep, 6);
    if (id.len) {
        struct cw_json ident = cw_json_object();
        hd_to_identifier(c, &ident, h);
        cv_put_str(c, &ident, "value", id);
        arr_add(c, &o, "identifier", ident);
    }
    cv_put_str(c, &o, "name", name);
    int32_t i = cv_secondary(c, R_ORGANIZATION, h.uid.len ? h.uid : h.ns, id.len ? id : name, &o);
    return i < 0 ? cw_json_null() : cv_reference(c, i);
}

/* OBX-23 performing organization name (XON) with OBX-24 its address (XAD). */
static struct cw_json obx_perf_org(struct cv_ctx *c, const struct cw_hl7v2_node *seg,
                                   const struct cw_hl7v2_node *rep)
{
    cw_slice name = cv_comp(c, rep, 1), id = cv_comp(c, rep, 10);
    if (!id.len) id = cv_comp(c, rep, 3);
    if (!name.len && !id.len) return cw_json_null();
    struct cw_json o = cw_json_object(), ad;
    struct hd h = hd_read(c, rep, 6);
    if (id.len) {
        struct cw_json ident = cw_json_object();
        id_type(c, &ident, rep, 7);
        hd_to_identifier(c, &ident, h);
        cv_put_str(c, &ident, "value", id);
        arr_add(c, &o, "identifier", ident);
    }
    cv_put_str(c, &o, "name", name);
    const struct cw_hl7v2_node *r24 = cw_hl7v2_rep(cw_hl7v2_field(seg, 24), 1);
    if (r24 && r24->len && xad(c, r24, &ad) == 0) arr_add(c, &o, "address", ad);
    int32_t i = cv_secondary(c, R_ORGANIZATION, h.uid.len ? h.uid : h.ns, id.len ? id : name, &o);
    return i < 0 ? cw_json_null() : cv_reference(c, i);
}

static struct cw_json hd_org_ref(struct cv_ctx *c, const struct cw_hl7v2_node *rep)
{
    struct hd h = hd_read(c, rep, 0);
    if (!h.ns.len && !h.uid.len) return cw_json_null();
    struct cw_json o = cw_json_object();
    cw_slice sys = hd_system(c, h);
    if (sys.len) {
        struct cw_json ident = cw_json_object();
        cv_put(c, &ident, "system", cv_str("urn:ietf:rfc:3986"));
        cv_put_str(c, &ident, "value", sys);
        arr_add(c, &o, "identifier", ident);
    } else if (h.uid.len) {
        struct cw_json ident = cw_json_object();
        cv_put_str(c, &ident, "value", h.uid);
        arr_add(c, &o, "identifier", ident);
    }
    cv_put_str(c, &o, "name", h.ns);
    int32_t i = cv_secondary(c, R_ORGANIZATION, CW_LIT(""), h.uid.len ? h.uid : h.ns, &o);
    return i < 0 ? cw_json_null() : cv_reference(c, i);
}

/*
 * PL (or, when la2, LA2: RXA-11 "administered-at location", whose
 * components 1-8 are those of PL and 9-16 an address) -> a Location,
 * identified by its name.
 */
static struct cw_json location_ref(struct cv_ctx *c, const struct cw_hl7v2_node *rep, bool la2)
{
    cw_slice poc = cv_sub(c, rep, 1, 1), room = cv_sub(c, rep, 2, 1), bed = cv_sub(c, rep, 3, 1),
             fac = cv_sub(c, rep, 4, 1), bld = cv_sub(c, rep, 7, 1), flr = cv_sub(c, rep, 8, 1),
             desc = la2 ? CW_LIT("") : cv_comp(c, rep, 9);
    struct cw_json addr = cw_json_object();
    if (la2) { /* LA2-9 street, 10 other designation, 11 city, 12 state, 13 zip, 14 country,
                  16 other geographic designation */
        arr_add_str(c, &addr, "line", cv_sub(c, rep, 9, 1));
        arr_add_str(c, &addr, "line", cv_comp(c, rep, 10)); /* other designation */
        cv_put_str(c, &addr, "city", cv_comp(c, rep, 11));
        cv_put_str(c, &addr, "state", cv_comp(c, rep, 12));
        cv_put_str(c, &addr, "postalCode", cv_comp(c, rep, 13));
        cv_put_str(c, &addr, "country", cv_comp(c, rep, 14));
        cv_put_str(c, &addr, "district", cv_comp(c, rep, 16));
    }
    bool has_addr = addr.len > 0;
    if (!poc.len && !room.len && !bed.len && !fac.len && !desc.len && !bld.len && !flr.len && !has_addr)
        return cw_json_null();
    char *name = cw_arena_printf(c->a, "%.*s%s%.*s%s%.*s%s%.*s%s%.*s%s%.*s", CW_SLICE_FMT(fac),
                                 fac.len && (bld.len || flr.len || poc.len || room.len || bed.len) ? " " : "",
                                 CW_SLICE_FMT(bld), bld.len && (flr.len || poc.len || room.len || bed.len) ? " " : "",
                                 CW_SLICE_FMT(flr), flr.len && (poc.len || room.len || bed.len) ? " " : "",
                                 CW_SLICE_FMT(poc), poc.len && (room.len || bed.len) ? " " : "",
                                 CW_SLICE_FMT(room), room.len && bed.len ? " " : "", CW_SLICE_FMT(bed));
    if (!name) {
        c->failed = true;
        return cw_json_null();
    }
    struct cw_json l = cw_json_object();
    cw_slice nm = cw_slice_cstr(name);
    cv_put_str(c, &l, "name", nm.len ? nm : desc);
    if (nm.len) cv_put_str(c, &l, "description", desc);
    cv_put(c, &l, "mode", cv_str("instance"));
    if (has_addr) cv_put(c, &l, "address", addr);
    const char *pt = bed.len ? "bd" : room.len ? "ro" : poc.len ? "wa" : bld.len ? "bu" : fac.len ? "si" : NULL;
    if (pt) {
        struct cw_json cc = cw_json_object(), cd = cw_json_object();
        cv_put(c, &cd, "system", cv_str("http://terminology.hl7.org/CodeSystem/location-physical-type"));
        cv_put(c, &cd, "code", cv_str(pt));
        arr_add(c, &cc, "coding", cd);
        cv_put(c, &l, "physicalType", cc);
    }
    cw_slice key = nm.len ? nm : desc;
    if (!key.len) { /* an address only: the address is the identity */
        char *k = cw_arena_printf(c->a, "%.*s|%.*s|%.*s", CW_SLICE_FMT(cv_sub(c, rep, 9, 1)),
                                  CW_SLICE_FMT(cv_comp(c, rep, 11)), CW_SLICE_FMT(cv_comp(c, rep, 13)));
        if (!k) {
            c->failed = true;
            return cw_json_null();
        }
        key = cw_slice_cstr(k);
    }
    int32_t i = cv_secondary(c, R_LOCATION, CW_LIT(""), key, &l);
    return i < 0 ? cw_json_null() : cv_reference(c, i);
}

/* MIME type from ED-2/ED-3 or RP-3/RP-4 (type of data, subtype). */
static cw_slice mime(struct cv_ctx *c, cw_slice type, cw_slice sub)
{
    if (sub.len && memchr(sub.ptr, '/', sub.len)) return sub;
    const char *major = "application";
    if (cw_slice_eq_nocase(type, CW_LIT("IM"))) major = "image";
    else if (cw_slice_eq_nocase(type, CW_LIT("TEXT")) || cw_slice_eq_nocase(type, CW_LIT("TX")))
        major = "text";
    else if (cw_slice_eq_nocase(type, CW_LIT("AU"))) major = "audio";
    else if (cw_slice_eq_nocase(type, CW_LIT("VI"))) major = "video";
    else if (cw_slice_eq_nocase(type, CW_LIT("multipart"))) major = "multipart";
    if (!sub.len) sub = strcmp(major, "text") == 0 ? CW_LIT("plain") : CW_LIT("octet-stream");
    char *p = cw_arena_printf(c->a, "%s/%.*s", major, CW_SLICE_FMT(sub));
    if (!p) {
        c->failed = true;
        return CW_LIT("");
    }
    for (char *q = p; *q; q++) {
        if (*q >= 'A' && *q <= 'Z') *q = (char)(*q + 32);
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '/' || *q == '-' ||
              *q == '+' || *q == '.'))
            *q = '-';
    }
    return cw_slice_cstr(p);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int ed(struct cv_ctx *c, const struct cw_hl7v2_node *rep, struct cw_json *out)
{
    *out = cw_json_null();
    cw_slice type = cv_comp(c, rep, 2), sub = cv_comp(c, rep, 3), enc = cv_comp(c, rep, 4);
    /* the data keeps its own text (escapes decoded, not trimmed of inner spaces) */
    const struct cw_hl7v2_node *dn = cw_hl7v2_comp(rep, 5);
    cw_slice data = cv_text(c, dn);
    if (!data.len) return 0;
    struct cw_json at = cw_json_object();
    cv_put_str(c, &at, "contentType", mime(c, type, sub));
    struct cw_buf b;
    cw_buf_init(&b, (size_t)64 << 20);
    if (cw_slice_eq_nocase(enc, CW_LIT("Base64"))) {
        /* keep as sent, without whitespace (FHIR base64Binary) */
        for (size_t i = 0; i < data.len; i++)
            if (data.ptr[i] != ' ' && data.ptr[i] != '\n' && data.ptr[i] != '\r') cw_buf_putc(&b, data.ptr[i]);
    } else {
        cw_slice raw = data;
        char *bytes = NULL;
        if (cw_slice_eq_nocase(enc, CW_LIT("Hex"))) {
            bytes = cw_arena_alloc_bytes(c->a, data.len / 2 + 1);
            if (!bytes) {
                c->failed = true;
                cw_buf_release(&b);
                return -1;
            }
            size_t n = 0;
            bool ok = data.len % 2 == 0;
            for (size_t i = 0; ok && i + 1 < data.len; i += 2) {
                int hi = hexval(data.ptr[i]), lo = hexval(data.ptr[i + 1]);
                if (hi < 0 || lo < 0) ok = false;
                else bytes[n++] = (char)(hi * 16 + lo);
            }
            if (!ok) {
                report_invalid(c, 5, "ED data is not valid hex");
                cw_buf_release(&b);
                return 0;
            }
            raw = (cw_slice){bytes, n};
        }
        cw_base64_encode_buf(&b, raw, 0);
    }
    if (cw_buf_failed(&b)) {
        cw_buf_release(&b);
        c->failed = true;
        return -1;
    }
    cw_slice enc64 = cw_arena_dup(c->a, cw_buf_slice(&b));
    cw_buf_release(&b);
    if (!enc64.ptr) {
        c->failed = true;
        return -1;
    }
    cv_put_str(c, &at, "data", enc64);
    *out = at;
    return c->failed ? -1 : 0;
}

static int rp(struct cv_ctx *c, const struct cw_hl7v2_node *rep, struct cw_json *out)
{
    cw_slice ptr = cv_comp(c, rep, 1);
    if (!ptr.len) {
        *out = cw_json_null();
        return 0;
    }
    struct cw_json at = cw_json_object();
    cv_put_str(c, &at, "contentType", mime(c, cv_comp(c, rep, 3), cv_comp(c, rep, 4)));
    struct hd h = hd_read(c, rep, 2);
    cw_slice base = cw_slice_eq_nocase(h.type, CW_LIT("URI")) ? h.uid : CW_LIT("");
    if (base.len) {
        char *p = cw_arena_printf(c->a, "%.*s%.*s", CW_SLICE_FMT(base), CW_SLICE_FMT(ptr));
        if (p) ptr = cw_slice_cstr(p);
    }
    cv_put_str(c, &at, "url", ptr);
    *out = at;
    return c->failed ? -1 : 0;
}

/* OBX-5 by OBX-2: an object of members to merge into the Observation. */
static int obx_value(struct cv_ctx *c, const struct cw_hl7v2_node *seg, const struct cw_hl7v2_node *rep,
                     struct cw_json *out)
{
    *out = cw_json_null();
    cw_slice vt = cv_text(c, cw_hl7v2_field(seg, 2));
    const struct cv_vt *t = NULL;
    for (size_t i = 0; i < cv_nvts; i++)
        if (cw_slice_eq_nocase(cw_slice_cstr(cv_vts[i].vt), vt)) t = &cv_vts[i];
    if (!t) {
        cv_report(c, CW_CONVERT_INVALID_VALUE, 0, "OBX-2 value type %s not mapped",
                  vt.len ? "unknown" : "missing");
        return 0;
    }
    struct cw_json v = cw_json_null(), res = cw_json_object();
    const char *elem = t->elem;
    cw_slice c1 = cv_comp(c, rep, 1);
    switch (t->dt) {
    case DT_STRING: {
        /* ST/TX/FT: the whole repetition is text (a stray ^ is kept) */
        cw_slice raw = cw_hl7v2_text(rep), dec = CW_LIT("");
        struct cw_err e;
        if (raw.len && cw_hl7v2_decode(c->a, c->m, raw, &dec, &e) != 0) {
            c->failed = true;
            return -1;
        }
        if (dec.len) v = cw_json_string(dec);
        break;
    }
    case DT_NM_QTY: {
        struct cw_json q = cw_json_object(), d = decimal(c, c1, 1);
        if (d.type == CW_JSON_NULL) {
            if (c1.len) {
                elem = "valueString";
                v = cw_json_string(c1);
            }
            break;
        }
        cv_put(c, &q, "value", d);
        units(c, &q);
        v = q;
        break;
    }
    case DT_CWE:
        cwe(c, rep, 0, NULL, &v);
        break;
    case DT_CQ:
        cq(c, rep, &v);
        break;
    case DT_DATETIME:
        fmt_dt(c, c1, DT_DATETIME, 1, &v);
        break;
    case DT_DATE:
        fmt_dt(c, c1, DT_DATE, 1, &v);
        break;
    case DT_INT: { /* TM */
        fmt_tm(c, c1, &v);
        break;
    }
    case DT_TEXT: { /* SN */
        cw_slice cmp = cv_comp(c, rep, 1), n1 = cv_comp(c, rep, 2), sep = cv_comp(c, rep, 3),
                 n2 = cv_comp(c, rep, 4);
        struct cw_json a1 = decimal(c, n1, 2), a2 = decimal(c, n2, 4);
        if (cw_slice_eq(cmp, CW_LIT("<>")) || cw_slice_eq(sep, CW_LIT("+")) ||
            (n1.len && a1.type == CW_JSON_NULL) || (n2.len && a2.type == CW_JSON_NULL)) {
            char *s = cw_arena_printf(c->a, "%.*s%s%.*s%s%.*s%s%.*s", CW_SLICE_FMT(cmp), cmp.len ? " " : "",
                                      CW_SLICE_FMT(n1), sep.len ? " " : "", CW_SLICE_FMT(sep),
                                      n2.len ? " " : "", CW_SLICE_FMT(n2));
            if (!s) {
                c->failed = true;
                return -1;
            }
            elem = "valueString";
            v = cv_str(s);
        } else if (sep.len && (sep.ptr[0] == ':' || sep.ptr[0] == '/')) {
            struct cw_json r = cw_json_object(), q1 = cw_json_object(), q2 = cw_json_object();
            cv_put(c, &q1, "value", a1);
            cv_put(c, &q2, "value", a2);
            cv_put(c, &r, "numerator", nonempty(q1));
            cv_put(c, &r, "denominator", nonempty(q2));
            elem = "valueRatio";
            v = nonempty(r);
        } else if (sep.len && sep.ptr[0] == '-') {
            struct cw_json r = cw_json_object(), q1 = cw_json_object(), q2 = cw_json_object();
            cv_put(c, &q1, "value", a1);
            units(c, &q1);
            cv_put(c, &q2, "value", a2);
            units(c, &q2);
            cv_put(c, &r, "low", cv_obj_get(&q1, "value") ? q1 : cw_json_null());
            cv_put(c, &r, "high", cv_obj_get(&q2, "value") ? q2 : cw_json_null());
            elem = "valueRange";
            v = nonempty(r);
        } else if (a1.type != CW_JSON_NULL) {
            struct cw_json q = cw_json_object();
            cv_put(c, &q, "value", a1);
            const char *fc = NULL;
            if (cw_slice_eq(cmp, CW_LIT("<")) || cw_slice_eq(cmp, CW_LIT(">")) ||
                cw_slice_eq(cmp, CW_LIT("<=")) || cw_slice_eq(cmp, CW_LIT(">=")))
                fc = cmp.ptr[1] == '=' ? (cmp.ptr[0] == '<' ? "<=" : ">=") : (cmp.ptr[0] == '<' ? "<" : ">");
            else if (cmp.len && !cw_slice_eq(cmp, CW_LIT("=")))
                report_invalid(c, 1, "SN comparator not valid");
            if (fc) cv_put(c, &q, "comparator", cv_str(fc));
            units(c, &q);
            elem = "valueQuantity";
            v = q;
        }
        break;
    }
    case DT_ED:
    case DT_RP: {
        struct cw_json at;
        if (t->dt == DT_ED) ed(c, rep, &at);
        else rp(c, rep, &at);
        if (at.type == CW_JSON_NULL) break;
        struct cw_json ext = cw_json_object();
        cv_put(c, &ext, "url",
               cv_str("https://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.valueAttachment"));
        cv_put(c, &ext, "valueAttachment", at);
        struct cw_json arr = cw_json_array();
        if (!cw_json_append(c->a, &arr, ext)) {
            c->failed = true;
            return -1;
        }
        elem = "extension";
        v = arr;
        break;
    }
    case DT_DECIMAL: { /* NA -> SampledData */
        struct cw_buf b;
        cw_buf_init(&b, 1 << 20);
        uint32_t n = cw_hl7v2_comp_count(rep);
        for (uint32_t i = 1; i <= n; i++) {
            cw_slice x = nm_text(c, cv_comp(c, rep, i));
            if (!x.len) x = CW_LIT("E");
            if (i > 1) cw_buf_putc(&b, ' ');
            cw_buf_put_slice(&b, x);
        }
        cw_slice d = cw_arena_dup(c->a, cw_buf_slice(&b));
        bool bad = cw_buf_failed(&b);
        cw_buf_release(&b);
        if (bad || !d.ptr) {
            c->failed = true;
            return -1;
        }
        if (!n) break;
        struct cw_json sd = cw_json_object(), org = cw_json_object();
        cv_put(c, &org, "value", cw_json_number_text(CW_LIT("0")));
        cv_put(c, &sd, "origin", org);
        cv_put(c, &sd, "period", cw_json_number_text(CW_LIT("0")));
        cv_put(c, &sd, "dimensions", cw_json_number_text(CW_LIT("1")));
        cv_put_str(c, &sd, "data", d);
        v = sd;
        break;
    }
    case DT_BOOL: { /* DR -> Period */
        struct cw_json p = cw_json_object(), d;
        fmt_dt(c, cv_sub(c, rep, 1, 1), DT_DATETIME, 1, &d);
        cv_put(c, &p, "start", d);
        fmt_dt(c, cv_sub(c, rep, 2, 1), DT_DATETIME, 2, &d);
        cv_put(c, &p, "end", d);
        v = nonempty(p);
        break;
    }
    case DT_XAD: { /* NR -> Range */
        struct cw_json r = cw_json_object(), q1 = cw_json_object(), q2 = cw_json_object();
        cv_put(c, &q1, "value", decimal(c, cv_comp(c, rep, 1), 1));
        cv_put(c, &q2, "value", decimal(c, cv_comp(c, rep, 2), 2));
        cv_put(c, &r, "low", nonempty(q1));
        cv_put(c, &r, "high", nonempty(q2));
        v = nonempty(r);
        break;
    }
    default:
        break;
    }
    if (v.type == CW_JSON_NULL) return c->failed ? -1 : 0;
    cv_put(c, &res, elem, v);
    *out = res;
    return c->failed ? -1 : 0;
}

/* ---- converters that build FHIR structures around a v2 value ---- */

static struct cw_json coding_v2(struct cv_ctx *c, const char *system, const char *code)
{
    struct cw_json cd = cw_json_object();
    cv_put(c, &cd, "system", cv_str(system));
    cv_put(c, &cd, "code", cv_str(code));
    return cd;
}

static struct cw_json cc_of(struct cv_ctx *c, struct cw_json coding)
{
    struct cw_json cc = cw_json_object();
    arr_add(c, &cc, "coding", coding);
    return cc;
}

/* US Core race / ethnicity: ombCategory (CDC Race & Ethnicity) + text. */
static int uscore(struct cv_ctx *c, const struct cw_hl7v2_node *rep, const char *url, struct cw_json *out)
{
    cw_slice code = cv_comp(c, rep, 1), disp = cv_comp(c, rep, 2), text = cv_comp(c, rep, 9);
    *out = cw_json_null();
    if (!code.len && !disp.len && !text.len) return 0;
    struct cw_json ext = cw_json_object(), sub = cw_json_array();
    cv_put(c, &ext, "url", cv_str(url));
    if (code.len) {
        struct cw_json e1 = cw_json_object(), cd = cw_json_object();
        cv_put(c, &e1, "url", cv_str("ombCategory"));
        cv_put(c, &cd, "system", cv_str("urn:oid:2.16.840.1.113883.6.238"));
        cv_put_str(c, &cd, "code", code);
        cv_put_str(c, &cd, "display", disp);
        cv_put(c, &e1, "valueCoding", cd);
        if (!cw_json_append(c->a, &sub, e1)) c->failed = true;
    }
    struct cw_json e2 = cw_json_object();
    cv_put(c, &e2, "url", cv_str("text"));
    cv_put_str(c, &e2, "valueString", text.len ? text : disp.len ? disp : code);
    if (!cw_json_append(c->a, &sub, e2)) c->failed = true;
    cv_put(c, &ext, "extension", sub);
    *out = ext;
    return c->failed ? -1 : 0;
}

/* Insurer of an IN1: IN1-3 (CX id), IN1-4 (XON name), IN1-5 address, IN1-7 phone. */
static struct cw_json in1_payor(struct cv_ctx *c, const struct cw_hl7v2_node *seg)
{
    const struct cw_hl7v2_node *r3 = cw_hl7v2_rep(cw_hl7v2_field(seg, 3), 1),
                               *r4 = cw_hl7v2_rep(cw_hl7v2_field(seg, 4), 1),
                               *r5 = cw_hl7v2_rep(cw_hl7v2_field(seg, 5), 1),
                               *r7 = cw_hl7v2_rep(cw_hl7v2_field(seg, 7), 1);
    cw_slice id = cv_comp(c, r3, 1), name = cv_comp(c, r4, 1);
    if (!id.len && !name.len) return cw_json_null();
    struct cw_json o = cw_json_object(), v;
    if (id.len) {
        cx(c, r3, &v);
        arr_add(c, &o, "identifier", v);
    }
    cv_put_str(c, &o, "name", name);
    if (r5 && xad(c, r5, &v) == 0) arr_add(c, &o, "address", v);
    if (r7 && xtn(c, r7, &v) == 0) arr_add(c, &o, "telecom", v);
    struct hd h = hd_read(c, r3, 4);
    int32_t i = cv_secondary(c, R_ORGANIZATION, h.uid.len ? h.uid : h.ns, id.len ? id : name, &o);
    return i < 0 ? cw_json_null() : cv_reference(c, i);
}

/* OBX-5 as a DocumentReference attachment (MDM). */
static int obx_attach(struct cv_ctx *c, const struct cw_hl7v2_node *seg, const struct cw_hl7v2_node *rep,
                      struct cw_json *out)
{
    *out = cw_json_null();
    cw_slice vt = cv_text(c, cw_hl7v2_field(seg, 2));
    if (cw_slice_eq_nocase(vt, CW_LIT("ED"))) return ed(c, rep, out);
    if (cw_slice_eq_nocase(vt, CW_LIT("RP"))) return rp(c, rep, out);
    if (!(cw_slice_eq_nocase(vt, CW_LIT("TX")) || cw_slice_eq_nocase(vt, CW_LIT("FT")) ||
          cw_slice_eq_nocase(vt, CW_LIT("ST")) || !vt.len)) {
        cv_report(c, CW_CONVERT_INVALID_VALUE, 0, "OBX-2 value type not usable as document content");
        return 0;
    }
    cw_slice raw = cw_hl7v2_text(rep), dec = CW_LIT("");
    struct cw_err e;
    if (raw.len && cw_hl7v2_decode(c->a, c->m, raw, &dec, &e) != 0) {
        c->failed = true;
        return -1;
    }
    if (!dec.len) return 0;
    struct cw_buf b;
    cw_buf_init(&b, (size_t)64 << 20);
    cw_base64_encode_buf(&b, dec, 0);
    cw_slice d = cw_arena_dup(c->a, cw_buf_slice(&b));
    bool bad = cw_buf_failed(&b);
    cw_buf_release(&b);
    if (bad || !d.ptr) {
        c->failed = true;
        return -1;
    }
    struct cw_json at = cw_json_object();
    cv_put(c, &at, "contentType", cv_str("text/plain; charset=utf-8"));
    cv_put_str(c, &at, "data", d);
    *out = at;
    return c->failed ? -1 : 0;
}

static struct cw_json participant(struct cv_ctx *c, struct cw_json actor)
{
    if (actor.type == CW_JSON_NULL) return actor;
    struct cw_json p = cw_json_object();
    cv_put(c, &p, "actor", actor);
    cv_put(c, &p, "status", cv_str("accepted"));
    return p;
}

static int dt_more(struct cv_ctx *c, uint8_t dt, const struct cw_hl7v2_node *seg,
                   const struct cw_hl7v2_node *rep, const char *arg, struct cw_json *out)
{
    switch (dt) {
    case DT_EI_TYPED: {
        if (ei(c, rep, 0, out) != 0 || out->type == CW_JSON_NULL) return c->failed ? -1 : 0;
        struct cw_json t = cc_of(c, coding_v2(c, "http://terminology.hl7.org/CodeSystem/v2-0203", arg));
        struct cw_json id = cw_json_object();
        cv_put(c, &id, "type", t);
        for (uint32_t k = 0; k < out->len; k++)
            if (!cw_json_set(c->a, &id, out->u.members[k].key, out->u.members[k].value)) c->failed = true;
        *out = id;
        return c->failed ? -1 : 0;
    }
    case DT_USCORE:
        return uscore(c, rep, arg, out);
    case DT_BIRTHTIME: {
        cw_slice t = cv_comp(c, rep, 1);
        size_t digits = 0;
        while (digits < t.len && t.ptr[digits] >= '0' && t.ptr[digits] <= '9') digits++;
        if (digits <= 8) return 0;
        return fmt_dt(c, t, DT_DATETIME, 0, out);
    }
    case DT_VOCAB_CODING: {
        cw_slice s = cv_comp(c, rep, 1);
        if (!s.len) return 0;
        const struct cv_vocab *v = cv_vocab_find(arg, s);
        if (!v) {
            cv_report(c, CW_CONVERT_INVALID_VALUE, 0, "code not in the map of table %s", arg);
            return 0;
        }
        struct cw_json cd = cw_json_object();
        if (v->system) cv_put(c, &cd, "system", cv_str(v->system));
        cv_put(c, &cd, "code", cv_str(v->code));
        *out = cd;
        return c->failed ? -1 : 0;
    }
    case DT_CC_TEXT: {
        if (cv_comp(c, rep, 3).len) return cwe(c, rep, 0, NULL, out);
        cw_slice t = cv_comp(c, rep, 2).len ? cv_comp(c, rep, 2) : cv_comp(c, rep, 1);
        if (!t.len) return 0;
        struct cw_json cc = cw_json_object();
        cv_put_str(c, &cc, "text", t);
        *out = cc;
        return c->failed ? -1 : 0;
    }
    case DT_XCN_PART: {
        struct cw_json ref = practitioner_ref(c, rep);
        if (ref.type == CW_JSON_NULL) return c->failed ? -1 : 0;
        struct cw_json p = cw_json_object(), types = cw_json_array();
        struct cw_json t = cc_of(c, coding_v2(c, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", arg));
        if (!cw_json_append(c->a, &types, t)) c->failed = true;
        cv_put(c, &p, "type", types);
        cv_put(c, &p, "individual", ref);
        *out = p;
        return c->failed ? -1 : 0;
    }
    case DT_COV_CLASS: {
        cw_slice v = cv_comp(c, rep, 1);
        if (!v.len) return 0;
        struct cw_json cl = cw_json_object();
        cv_put(c, &cl, "type", cc_of(c, coding_v2(c, "http://terminology.hl7.org/CodeSystem/coverage-class", arg)));
        cv_put_str(c, &cl, "value", v);
        cv_put_str(c, &cl, "name", cv_comp(c, rep, 2));
        *out = cl;
        return c->failed ? -1 : 0;
    }
    case DT_IN1_PAYOR:
        *out = in1_payor(c, seg);
        return c->failed ? -1 : 0;
    case DT_UNIT: {
        cw_slice code = cv_comp(c, rep, 1), disp = cv_comp(c, rep, 2), sys = cv_comp(c, rep, 3);
        if (!code.len && !disp.len) return 0;
        struct cw_json q = cw_json_object();
        put_unit(c, &q, code, disp, sys, NULL, 3);
        *out = q;
        return c->failed ? -1 : 0;
    }
    case DT_CWE_ORG_REF: {
        cw_slice code = cv_comp(c, rep, 1), disp = cv_comp(c, rep, 2), sys = cv_comp(c, rep, 3);
        if (!code.len && !disp.len) return 0;
        struct cw_json o = cw_json_object();
        if (code.len) {
            struct cw_json ident = cw_json_object();
            const char *su = cv_system_uri(c, sys);
            if (su) cv_put(c, &ident, "system", cv_str(su));
            cv_put_str(c, &ident, "value", code);
            arr_add(c, &o, "identifier", ident);
        }
        cv_put_str(c, &o, "name", disp);
        int32_t i = cv_secondary(c, R_ORGANIZATION, sys, code.len ? code : disp, &o);
        *out = i < 0 ? cw_json_null() : cv_reference(c, i);
        return c->failed ? -1 : 0;
    }
    case DT_OBX_ATTACH:
        return obx_attach(c, seg, rep, out);
    case DT_TQ_START:
        return fmt_dt(c, cv_sub(c, rep, 4, 1), DT_DATETIME, 4, out);
    case DT_TQ_END:
        return fmt_dt(c, cv_sub(c, rep, 5, 1), DT_DATETIME, 5, out);
    case DT_APPT_CWE: {
        cw_slice t = cv_comp(c, rep, 2).len ? cv_comp(c, rep, 2) : cv_comp(c, rep, 1);
        if (!t.len) return 0;
        struct cw_json a = cw_json_object();
        cv_put_str(c, &a, "display", t);
        *out = participant(c, a);
        return c->failed ? -1 : 0;
    }
    case DT_APPT_PL:
        *out = participant(c, location_ref(c, rep, false));
        return c->failed ? -1 : 0;
    case DT_APPT_XCN:
        *out = participant(c, practitioner_ref(c, rep));
        return c->failed ? -1 : 0;
    case DT_EIP: {
        struct cw_json arr = cw_json_array();
        static const char *types[] = {"PLAC", "FILL"};
        for (uint32_t k = 1; k <= 2; k++) {
            struct cw_json id = cw_json_null();
            if (cw_hl7v2_sub_count(cw_hl7v2_comp(rep, k)) > 1) {
                if (ei(c, rep, k, &id) != 0) return -1;
            } else {
                cw_slice v = cv_comp(c, rep, k);
                if (v.len) {
                    id = cw_json_object();
                    cv_put_str(c, &id, "value", v);
                }
            }
            if (id.type == CW_JSON_NULL) continue;
            struct cw_json t = cc_of(c, coding_v2(c, "http://terminology.hl7.org/CodeSystem/v2-0203", types[k - 1]));
            struct cw_json typed = cw_json_object();
            cv_put(c, &typed, "type", t);
            for (uint32_t m = 0; m < id.len; m++)
                if (!cw_json_set(c->a, &typed, id.u.members[m].key, id.u.members[m].value)) c->failed = true;
            if (!cw_json_append(c->a, &arr, typed)) c->failed = true;
        }
        if (arr.len) *out = arr;
        return c->failed ? -1 : 0;
    }
    case DT_OBX_PERF_ORG:
        *out = obx_perf_org(c, seg, rep);
        return c->failed ? -1 : 0;
    case DT_HD_URI: {
        cw_slice s = hd_system(c, hd_read(c, rep, 0));
        if (s.len) *out = cw_json_string(s);
        return c->failed ? -1 : 0;
    }
    default:
        return 0;
    }
}

int cv_dt_convert(struct cv_ctx *c, uint8_t dt, const struct cw_hl7v2_node *seg,
                  const struct cw_hl7v2_node *rep, const char *arg, struct cw_json *out)
{
    *out = cw_json_null();
    switch (dt) {
    case DT_STRING:
    case DT_TEXT: {
        cw_slice s = cv_comp(c, rep, 1);
        if (s.len) *out = cw_json_string(s);
        return c->failed ? -1 : 0;
    }
    case DT_CODE: {
        cw_slice s = cv_comp(c, rep, 1);
        if (!s.len) return 0;
        const struct cv_vocab *v = cv_vocab_find(arg, s);
        if (!v) {
            cv_report(c, CW_CONVERT_INVALID_VALUE, 0, "code not in the map of table %s", arg ? arg : "?");
            return 0;
        }
        *out = cv_str(v->code);
        return 0;
    }
    case DT_BOOL: {
        cw_slice s = cv_comp(c, rep, 1);
        if (!s.len) return 0;
        if (cw_slice_eq_nocase(s, CW_LIT("Y"))) *out = cw_json_bool(true);
        else if (cw_slice_eq_nocase(s, CW_LIT("N"))) *out = cw_json_bool(false);
        else report_invalid(c, 0, "not Y or N (table 0136)");
        return 0;
    }
    case DT_INT: {
        cw_slice s = cv_comp(c, rep, 1);
        long long v;
        if (!s.len) return 0;
        if (cw_slice_to_i64(s, &v) != 0 || v < INT32_MIN || v > INT32_MAX) {
            report_invalid(c, 0, "not an integer");
            return 0;
        }
        *out = cw_json_number_i64(c->a, v);
        return 0;
    }
    case DT_DECIMAL:
        *out = decimal(c, cv_comp(c, rep, 1), 0);
        return c->failed ? -1 : 0;
    case DT_DATE:
    case DT_DATETIME:
    case DT_INSTANT:
        return fmt_dt(c, cv_comp(c, rep, 1), dt, 0, out);
    case DT_CX:
    case DT_CX_LINK:
        return cx(c, rep, out);
    case DT_EI:
        return ei(c, rep, cw_hl7v2_comp_count(rep) > 0 && cw_hl7v2_sub_count(cw_hl7v2_comp(rep, 1)) > 1 ? 1 : 0,
                  out);
    case DT_HD_ID: {
        struct hd h = hd_read(c, rep, 0);
        cw_slice sys = hd_system(c, h);
        struct cw_json id = cw_json_object();
        if (sys.len) {
            cv_put(c, &id, "system", cv_str("urn:ietf:rfc:3986"));
            cv_put_str(c, &id, "value", sys);
        } else
            cv_put_str(c, &id, "value", h.ns.len ? h.ns : h.uid);
        *out = nonempty(id);
        return c->failed ? -1 : 0;
    }
    case DT_ID_TYPED:
    case DT_DLN: {
        cw_slice s = cv_comp(c, rep, 1);
        if (!s.len) return 0;
        struct cw_json id = cw_json_object(), cc = cw_json_object(), cd = cw_json_object();
        const char *code = dt == DT_DLN ? "DL" : arg;
        cv_put(c, &cd, "system", cv_str("http://terminology.hl7.org/CodeSystem/v2-0203"));
        cv_put(c, &cd, "code", cv_str(code));
        arr_add(c, &cc, "coding", cd);
        cv_put(c, &id, "type", cc);
        if (dt == DT_ID_TYPED && strcmp(arg, "SS") == 0)
            cv_put(c, &id, "system", cv_str("http://hl7.org/fhir/sid/us-ssn"));
        cv_put_str(c, &id, "value", s);
        if (dt == DT_DLN) {
            struct cw_json per = cw_json_object(), d;
            fmt_dt(c, cv_comp(c, rep, 3), DT_DATE, 3, &d);
            cv_put(c, &per, "end", d);
            cv_put(c, &id, "period", nonempty(per));
        }
        *out = id;
        return c->failed ? -1 : 0;
    }
    case DT_XPN:
        return xpn(c, rep, out);
    case DT_XAD:
        return xad(c, rep, out);
    case DT_XTN:
        return xtn(c, rep, out);
    case DT_CWE:
        return cwe(c, rep, 0, arg, out);
    case DT_SPS:
        return cwe(c, rep, cw_hl7v2_sub_count(cw_hl7v2_comp(rep, 1)) > 1 ? 1 : 0, arg, out);
    case DT_CODING: {
        struct cw_json cc;
        if (cwe(c, rep, 0, arg, &cc) != 0) return -1;
        const struct cw_json *cd = cw_json_at(cv_obj_get(&cc, "coding"), 0);
        if (cd) *out = *cd;
        return 0;
    }
    case DT_CQ:
        return cq(c, rep, out);
    case DT_NM_QTY: {
        struct cw_json q = cw_json_object();
        cv_put(c, &q, "value", decimal(c, cv_comp(c, rep, 1), 0));
        *out = nonempty(q);
        return c->failed ? -1 : 0;
    }
    case DT_XCN_REF:
        *out = practitioner_ref(c, rep);
        return c->failed ? -1 : 0;
    case DT_XCN_NAME: {
        struct cw_json hn = cw_json_object();
        xpn_fields(c, rep, 1, &hn);
        *out = nonempty(hn);
        return c->failed ? -1 : 0;
    }
    case DT_XON_REF:
        *out = organization_ref(c, rep);
        return c->failed ? -1 : 0;
    case DT_HD_ORG_REF:
        *out = hd_org_ref(c, rep);
        return c->failed ? -1 : 0;
    case DT_PL_REF:
    case DT_LA2_REF:
        *out = location_ref(c, rep, dt == DT_LA2_REF);
        return c->failed ? -1 : 0;
    case DT_ANNOT: {
        cw_slice raw = cw_hl7v2_text(rep), dec = CW_LIT("");
        struct cw_err e;
        if (raw.len && cw_hl7v2_decode(c->a, c->m, raw, &dec, &e) != 0) {
            c->failed = true;
            return -1;
        }
        if (!dec.len) return 0;
        struct cw_json an = cw_json_object();
        cv_put_str(c, &an, "text", dec);
        *out = an;
        return c->failed ? -1 : 0;
    }
    case DT_OBX_VALUE:
        return obx_value(c, seg, rep, out);
    case DT_ED:
        return ed(c, rep, out);
    case DT_RP:
        return rp(c, rep, out);
    case DT_MSG_EVENT: {
        cw_slice ev = cv_comp(c, rep, 2);
        if (!ev.len) return 0;
        *out = table_coding(c, "http://terminology.hl7.org/CodeSystem/v2-0003", ev, 2);
        return c->failed ? -1 : 0;
    }
    default:
        return dt_more(c, dt, seg, rep, arg, out);
    }
}
