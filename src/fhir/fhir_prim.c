/*
 * fhir_prim.c — checkers for the FHIR R4 primitive types.
 *
 * Spec: datatypes.html "Primitive Types" and the value regexes of the R4
 * StructureDefinitions (tests/fhir/test_fhir_prim.c runs every checker
 * against those regexes with PCRE2). Where we are deliberately stricter
 * than a regex, the rule is in the table below and the test lists it:
 *   - no empty values (json.html: a primitive has a value or extensions;
 *     "" is not a value) — the uri/url/canonical regex \S* admits "";
 *   - real calendar days (datatypes.html "SHALL be valid dates");
 *   - no leap second ":60" (kept in step with src/base/datetime.h);
 *   - integers within 32 bits (datatypes.html integer, positiveInt,
 *     unsignedInt ranges);
 *   - base64 padding only at the end, at most two '=';
 *   - string: at most 1 MiB (maxLength 1048576 of string.value).
 * Warnings (SHOULD rules): control characters other than TAB, CR and LF in
 * strings and markdown.
 *
 * Owns: nothing. Messages say what is wrong and at which byte position,
 * never the value (a birth date or a name is patient data).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "fhir/fhir_int.h"

static int bad(struct cw_err *err, const char *type, size_t pos, const char *what)
{
    if (err) {
        cw_err_set(err, CW_ISSUE_VALUE, "not a valid %s: %s (at position %zu)", type, what,
                   pos + 1);
        err->column = (unsigned)(pos + 1);
    }
    return -1;
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Java/XML-Schema \s: space, TAB, LF, VT, FF, CR. */
static bool ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
}

/*
 * Date/time primitives are checked by the one FHIR date/time parser in
 * base/datetime.h (strict FHIR: flags 0), so validation and search agree
 * on what a valid value is.
 */
int fhir_dt_check(cw_slice s, enum fhir_dt_kind kind, struct cw_err *err)
{
    static const enum cw_dt_type types[] = {
        [FHIR_DT_DATE] = CW_DT_DATE,
        [FHIR_DT_DATETIME] = CW_DT_DATETIME,
        [FHIR_DT_INSTANT] = CW_DT_INSTANT,
        [FHIR_DT_TIME] = CW_DT_TIME,
    };
    struct cw_dt dt;
    return cw_dt_parse(s, types[kind], 0, &dt, err) < 0 ? -1 : 0;
}

/* ---- numbers ---- */

/* -?(0|[1-9][0-9]*) with optional sign; range check to int32. */
static int check_int(cw_slice s, const char *type, bool allow_minus, long long lo,
                     struct cw_err *err)
{
    size_t i = 0;
    bool neg = false;
    if (s.len == 0) return bad(err, type, 0, "empty");
    if (s.ptr[0] == '-') {
        if (!allow_minus) return bad(err, type, 0, "no sign allowed");
        neg = true;
        i++;
    }
    if (i == s.len || !digit(s.ptr[i])) return bad(err, type, i, "digits expected");
    if (s.ptr[i] == '0' && i + 1 < s.len) return bad(err, type, i, "no leading zeros");
    long long v = 0;
    for (; i < s.len; i++) {
        if (!digit(s.ptr[i])) return bad(err, type, i, "only digits allowed");
        v = v * 10 + (s.ptr[i] - '0');
        if (v > 2147483648LL) return bad(err, type, i, "out of the 32-bit range");
    }
    if (neg) v = -v;
    if (v > 2147483647LL || v < -2147483648LL) return bad(err, type, 0, "out of the 32-bit range");
    if (v < lo) return bad(err, type, 0, lo == 1 ? "must be 1 or more" : "must be 0 or more");
    return 0;
}

static int check_decimal(cw_slice s, struct cw_err *err)
{
    const char *type = "decimal";
    size_t i = 0;
    if (s.len == 0) return bad(err, type, 0, "empty");
    if (s.ptr[0] == '-') i++;
    if (i == s.len || !digit(s.ptr[i])) return bad(err, type, i, "digits expected");
    if (s.ptr[i] == '0') {
        i++;
        if (i < s.len && digit(s.ptr[i])) return bad(err, type, i, "no leading zeros");
    } else {
        while (i < s.len && digit(s.ptr[i])) i++;
    }
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        size_t st = i;
        while (i < s.len && digit(s.ptr[i])) i++;
        if (i == st) return bad(err, type, i, "digits expected after '.'");
    }
    if (i < s.len && (s.ptr[i] == 'e' || s.ptr[i] == 'E')) {
        i++;
        if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-')) i++;
        size_t st = i;
        while (i < s.len && digit(s.ptr[i])) i++;
        if (i == st) return bad(err, type, i, "exponent digits expected");
    }
    if (i != s.len) return bad(err, type, i, "unexpected character");
    return 0;
}

/* ---- strings ---- */

#define STRING_MAX ((size_t)1 << 20)

/* [ \r\n\t\S]+ : anything but VT and FF; warn on other control characters. */
static int check_string(cw_slice s, const char *type, bool cap, struct cw_err *err)
{
    if (s.len == 0) return bad(err, type, 0, "empty");
    size_t chars = 0;
    size_t warn_at = (size_t)-1;
    size_t i = 0;
    if (!cap || s.len <= STRING_MAX) {
        /* the character count cannot pass the cap: skip 8-byte blocks
           without a byte below 0x20 (hasless(x, 0x20), bit-twiddling) */
        for (; i + 8 <= s.len; i += 8) {
            uint64_t x;
            memcpy(&x, s.ptr + i, 8);
            if ((x - 0x2020202020202020ull) & ~x & 0x8080808080808080ull) break;
        }
    }
    for (; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if ((c & 0xC0) != 0x80) chars++;
        if (c == 0x0B || c == '\f') return bad(err, type, i, "vertical tab or form feed");
        if (c < 0x20 && c != '\t' && c != '\r' && c != '\n' && warn_at == (size_t)-1) warn_at = i;
    }
    if (cap && chars > STRING_MAX)
        return bad(err, type, STRING_MAX, "longer than 1048576 characters");
    if (warn_at != (size_t)-1) {
        if (err) {
            cw_err_set(err, CW_ISSUE_VALUE,
                       "%s contains a control character (at position %zu); only TAB, CR and LF "
                       "should be used",
                       type, warn_at + 1);
            err->severity = CW_SEV_WARNING;
            err->column = (unsigned)(warn_at + 1);
        }
        return 1;
    }
    return 0;
}

/* [^\s]+(\s[^\s]+)* */
static int check_code(cw_slice s, struct cw_err *err)
{
    if (s.len == 0) return bad(err, "code", 0, "empty");
    for (size_t i = 0; i < s.len; i++) {
        if (!ws((unsigned char)s.ptr[i])) continue;
        if (i == 0 || i + 1 == s.len) return bad(err, "code", i, "leading or trailing whitespace");
        if (ws((unsigned char)s.ptr[i + 1]))
            return bad(err, "code", i, "more than one whitespace in a row");
    }
    return 0;
}

/* [A-Za-z0-9\-\.]{1,64} */
static int check_id(cw_slice s, struct cw_err *err)
{
    if (s.len == 0) return bad(err, "id", 0, "empty");
    if (s.len > 64) return bad(err, "id", 64, "longer than 64 characters");
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || digit(c) || c == '-' || c == '.'))
            return bad(err, "id", i, "only A-Z a-z 0-9 - . allowed");
    }
    return 0;
}

/* \S* and not empty (uri, url, canonical). */
static int check_uri(cw_slice s, const char *type, struct cw_err *err)
{
    if (s.len == 0) return bad(err, type, 0, "empty");
    for (size_t i = 0; i < s.len; i++)
        if (ws((unsigned char)s.ptr[i])) return bad(err, type, i, "whitespace");
    return 0;
}

/* urn:oid:[0-2](\.(0|[1-9][0-9]*))+ */
static int check_oid(cw_slice s, struct cw_err *err)
{
    static const char pfx[] = "urn:oid:";
    size_t i = sizeof pfx - 1;
    if (s.len < i || memcmp(s.ptr, pfx, i) != 0)
        return bad(err, "oid", 0, "must start with urn:oid:");
    if (i >= s.len || s.ptr[i] < '0' || s.ptr[i] > '2')
        return bad(err, "oid", i, "first arc must be 0, 1 or 2");
    i++;
    int arcs = 0;
    while (i < s.len) {
        if (s.ptr[i] != '.') return bad(err, "oid", i, "expected '.'");
        i++;
        if (i >= s.len || !digit(s.ptr[i])) return bad(err, "oid", i, "digits expected");
        if (s.ptr[i] == '0' && i + 1 < s.len && digit(s.ptr[i + 1]))
            return bad(err, "oid", i, "no leading zeros in an arc");
        while (i < s.len && digit(s.ptr[i])) i++;
        arcs++;
    }
    if (arcs == 0) return bad(err, "oid", i, "at least two arcs");
    return 0;
}

/* urn:uuid:8-4-4-4-12 lower-case hex */
static int check_uuid(cw_slice s, struct cw_err *err)
{
    static const char pfx[] = "urn:uuid:";
    size_t p = sizeof pfx - 1;
    if (s.len != p + 36 || memcmp(s.ptr, pfx, p) != 0)
        return bad(err, "uuid", 0, "must be urn:uuid: and 36 characters");
    for (size_t k = 0; k < 36; k++) {
        char c = s.ptr[p + k];
        bool dash = k == 8 || k == 13 || k == 18 || k == 23;
        if (dash ? c != '-' : !(digit(c) || (c >= 'a' && c <= 'f')))
            return bad(err, "uuid", p + k, dash ? "expected '-'" : "lower-case hex digit expected");
    }
    return 0;
}

/* (\s*([0-9a-zA-Z\+/=]){4}\s*)+ with padding only at the end. */
static int check_base64(cw_slice s, struct cw_err *err)
{
    size_t n = 0, pad = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (ws(c)) {
            if (n % 4 != 0)
                return bad(err, "base64Binary", i, "whitespace inside a 4-character group");
            continue;
        }
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || digit((char)c) ||
                     c == '+' || c == '/';
        if (c == '=') {
            pad++;
        } else if (!alpha) {
            return bad(err, "base64Binary", i, "not a base64 character");
        } else if (pad) {
            return bad(err, "base64Binary", i, "'=' padding before the end");
        }
        n++;
    }
    if (n == 0) return bad(err, "base64Binary", 0, "empty");
    if (n % 4 != 0) return bad(err, "base64Binary", s.len, "length is not a multiple of 4");
    if (pad > 2) return bad(err, "base64Binary", s.len, "more than two '='");
    return 0;
}

/* ---- xhtml (narrative.html) ---- */

#define XHTML_DEPTH 256

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit(c) || c == '_' || c == ':' ||
           c == '-' || c == '.' || (unsigned char)c >= 0x80;
}

/* Elements narrative.html forbids (scripts, forms, frames, objects, head/body, base/link). */
static bool forbidden_element(cw_slice n)
{
    static const cw_slice bad_names[] = {
        CW_LIT("script"), CW_LIT("object"), CW_LIT("applet"),   CW_LIT("embed"),
        CW_LIT("form"),   CW_LIT("input"),  CW_LIT("button"),   CW_LIT("select"),
        CW_LIT("textarea"), CW_LIT("iframe"), CW_LIT("frame"),  CW_LIT("frameset"),
        CW_LIT("head"),   CW_LIT("body"),   CW_LIT("html"),     CW_LIT("base"),
        CW_LIT("link"),   CW_LIT("meta")};
    if (n.len < 4 || n.len > 8) return false; /* lengths of the names above */
    for (size_t k = 0; k < sizeof bad_names / sizeof bad_names[0]; k++)
        if (bad_names[k].len == n.len && cw_slice_eq_nocase(n, bad_names[k])) return true;
    return false;
}

/* A character reference at s[i] == '&'; returns its length or 0. */
static size_t char_ref(cw_slice s, size_t i)
{
    static const cw_slice named[] = {CW_LIT("amp;"), CW_LIT("lt;"), CW_LIT("gt;"),
                                     CW_LIT("quot;"), CW_LIT("apos;")};
    size_t r = s.len - i - 1;
    const char *p = s.ptr + i + 1;
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        size_t l = named[k].len;
        if (r >= l && memcmp(p, named[k].ptr, l) == 0) return l + 1;
    }
    if (r >= 3 && p[0] == '#') {
        size_t j = 1;
        bool hex = p[1] == 'x';
        if (hex) j++;
        size_t st = j;
        while (j < r && (digit(p[j]) ||
                         (hex && ((p[j] >= 'a' && p[j] <= 'f') || (p[j] >= 'A' && p[j] <= 'F')))))
            j++;
        if (j > st && j < r && p[j] == ';' && j - st <= 8) return j + 2;
    }
    return 0;
}

/* info != NULL: forbidden elements and event attributes are noted in
   info->disallowed instead of failing, and info->text tells whether the
   narrative has content (non-whitespace text, a character reference, an
   <img>) */
static int check_xhtml_ex(cw_slice s, struct cw_err *err, struct fhir_xhtml_info *info)
{
    const char *type = "xhtml";
    cw_slice stack[XHTML_DEPTH];
    int depth = 0;
    bool root_seen = false, root_closed = false;
    size_t i = 0;
    while (i < s.len) {
        char c = s.ptr[i];
        if (c != '<') {
            if (c == '&') {
                size_t l = char_ref(s, i);
                if (!l)
                    return bad(err, type, i,
                               "'&' that is not a character reference (only &amp; &lt; &gt; &quot; "
                               "&apos; &#N; are defined)");
                if (info && depth > 0) info->text = true;
                i += l;
                continue;
            }
            if ((depth == 0) && !ws((unsigned char)c))
                return bad(err, type, i, "text outside the root <div>");
            if (info && depth > 0 && !ws((unsigned char)c)) info->text = true;
            i++;
            continue;
        }
        cw_slice rest = {s.ptr + i, s.len - i};
        if (cw_slice_starts_with(rest, CW_LIT("<!--"))) {
            const char *e = memmem(s.ptr + i + 4, s.len - i - 4, "-->", 3);
            if (!e) return bad(err, type, i, "unterminated comment");
            i = (size_t)(e - s.ptr) + 3;
            continue;
        }
        if (cw_slice_starts_with(rest, CW_LIT("<![CDATA["))) {
            if (depth == 0) return bad(err, type, i, "CDATA outside the root <div>");
            const char *e = memmem(s.ptr + i + 9, s.len - i - 9, "]]>", 3);
            if (!e) return bad(err, type, i, "unterminated CDATA section");
            i = (size_t)(e - s.ptr) + 3;
            continue;
        }
        if (i + 1 < s.len && (s.ptr[i + 1] == '!' || s.ptr[i + 1] == '?'))
            return bad(err, type, i,
                       "DOCTYPE, declarations and processing instructions are not allowed");
        bool end = i + 1 < s.len && s.ptr[i + 1] == '/';
        size_t j = i + (end ? 2 : 1);
        size_t ns = j;
        while (j < s.len && name_char(s.ptr[j])) j++;
        cw_slice name = {s.ptr + ns, j - ns};
        if (name.len == 0) return bad(err, type, i, "'<' that does not start a tag");
        if (end) {
            while (j < s.len && ws((unsigned char)s.ptr[j])) j++;
            if (j >= s.len || s.ptr[j] != '>') return bad(err, type, j, "malformed end tag");
            if (depth == 0 || !cw_slice_eq(stack[depth - 1], name))
                return bad(err, type, i, "end tag does not match the open element");
            depth--;
            i = j + 1;
            if (depth == 0) root_closed = true;
            continue;
        }
        if (root_closed) return bad(err, type, i, "content after the root <div>");
        if (depth == 0) {
            if (root_seen) return bad(err, type, i, "more than one root element");
            if (!cw_slice_eq(name, CW_LIT("div")))
                return bad(err, type, i, "the root element must be <div>");
            root_seen = true;
        }
        if (forbidden_element(name)) {
            if (!info) return bad(err, type, i, "element not allowed in a narrative");
            info->disallowed = true;
        }
        if (info && cw_slice_eq_nocase(name, CW_LIT("img"))) info->text = true;
        bool xmlns_ok = false;
        bool self_close = false;
        for (;;) {
            size_t w = j;
            while (j < s.len && ws((unsigned char)s.ptr[j])) j++;
            if (j >= s.len) return bad(err, type, j, "unterminated start tag");
            if (s.ptr[j] == '>') {
                j++;
                break;
            }
            if (s.ptr[j] == '/' && j + 1 < s.len && s.ptr[j + 1] == '>') {
                self_close = true;
                j += 2;
                break;
            }
            if (w == j) return bad(err, type, j, "attributes must be separated by whitespace");
            size_t an = j;
            while (j < s.len && name_char(s.ptr[j])) j++;
            cw_slice aname = {s.ptr + an, j - an};
            if (aname.len == 0) return bad(err, type, j, "attribute name expected");
            if (aname.len > 2 && (aname.ptr[0] == 'o' || aname.ptr[0] == 'O') &&
                (aname.ptr[1] == 'n' || aname.ptr[1] == 'N')) {
                if (!info) return bad(err, type, an, "event attributes (on*) are not allowed");
                info->disallowed = true;
            }
            while (j < s.len && ws((unsigned char)s.ptr[j])) j++;
            if (j >= s.len || s.ptr[j] != '=')
                return bad(err, type, j, "attribute without a value");
            j++;
            while (j < s.len && ws((unsigned char)s.ptr[j])) j++;
            if (j >= s.len || (s.ptr[j] != '"' && s.ptr[j] != '\''))
                return bad(err, type, j, "attribute values must be quoted");
            char q = s.ptr[j++];
            size_t vs = j;
            while (j < s.len && s.ptr[j] != q) {
                if (s.ptr[j] == '<') return bad(err, type, j, "'<' in an attribute value");
                if (s.ptr[j] == '&') {
                    size_t l = char_ref(s, j);
                    if (!l) return bad(err, type, j, "'&' that is not a character reference");
                    j += l;
                    continue;
                }
                j++;
            }
            if (j >= s.len) return bad(err, type, j, "unterminated attribute value");
            cw_slice aval = {s.ptr + vs, j - vs};
            j++;
            if (cw_slice_eq(aname, CW_LIT("xmlns")) &&
                cw_slice_eq(aval, CW_LIT("http://www.w3.org/1999/xhtml")))
                xmlns_ok = true;
        }
        if (depth == 0 && !xmlns_ok)
            return bad(err, type, i,
                       "the root <div> must declare xmlns=\"http://www.w3.org/1999/xhtml\"");
        if (self_close) {
            if (depth == 0) root_closed = true;
        } else {
            if (depth == XHTML_DEPTH) return bad(err, type, i, "elements nested too deeply");
            stack[depth++] = name;
        }
        i = j;
    }
    if (!root_seen) return bad(err, type, 0, "no <div> element");
    if (depth != 0) return bad(err, type, s.len, "unclosed element");
    return 0;
}

static int check_xhtml(cw_slice s, struct cw_err *err)
{
    return check_xhtml_ex(s, err, NULL);
}

int fhir_xhtml_info(cw_slice s, struct fhir_xhtml_info *info)
{
    struct cw_err err;
    memset(info, 0, sizeof *info);
    return check_xhtml_ex(s, &err, info) < 0 ? -1 : 0;
}

/* ---- dispatch ---- */

enum prim {
    P_BOOLEAN = 1,
    P_INTEGER,
    P_POSITIVE_INT,
    P_UNSIGNED_INT,
    P_DECIMAL,
    P_STRING,
    P_MARKDOWN,
    P_CODE,
    P_ID,
    P_URI,
    P_URL,
    P_CANONICAL,
    P_OID,
    P_UUID,
    P_BASE64,
    P_DATE,
    P_DATETIME,
    P_INSTANT,
    P_TIME,
    P_XHTML,
};

static const struct {
    const char *name;
    enum prim p;
} prims[] = {
    {"boolean", P_BOOLEAN},
    {"integer", P_INTEGER},
    {"positiveInt", P_POSITIVE_INT},
    {"unsignedInt", P_UNSIGNED_INT},
    {"decimal", P_DECIMAL},
    {"string", P_STRING},
    {"markdown", P_MARKDOWN},
    {"code", P_CODE},
    {"id", P_ID},
    {"uri", P_URI},
    {"url", P_URL},
    {"canonical", P_CANONICAL},
    {"oid", P_OID},
    {"uuid", P_UUID},
    {"base64Binary", P_BASE64},
    {"date", P_DATE},
    {"dateTime", P_DATETIME},
    {"instant", P_INSTANT},
    {"time", P_TIME},
    {"xhtml", P_XHTML},
};

static enum prim prim_by_name(struct cw_fhir_sd t)
{
    cw_slice n = cw_fhir_sd_type_name(t);
    for (size_t k = 0; k < sizeof prims / sizeof prims[0]; k++)
        if (cw_slice_eq_cstr(n, prims[k].name)) return prims[k].p;
    return 0;
}

/* The checker of each base-set type, by SD index (0: not a primitive): built
   once, read-only afterwards. Saves a scan of name comparisons per value. */
#define PRIM_TAB_MAX 4096
static uint8_t prim_tab[PRIM_TAB_MAX];
static pthread_once_t prim_once = PTHREAD_ONCE_INIT;

static void prim_tab_init(void)
{
    for (uint32_t i = 0; i < cw_fhir_base_set.n_sds && i < PRIM_TAB_MAX; i++)
        prim_tab[i] = (uint8_t)prim_by_name((struct cw_fhir_sd){&cw_fhir_base_set, i});
}

static enum prim prim_of(struct cw_fhir_sd t)
{
    t = cw_fhir_sd_type(t);
    if (t.set == &cw_fhir_base_set && t.i < PRIM_TAB_MAX) {
        pthread_once(&prim_once, prim_tab_init);
        return (enum prim)prim_tab[t.i];
    }
    return prim_by_name(t);
}

int cw_fhir_check_primitive(struct cw_fhir_sd t, cw_slice s, struct cw_err *err)
{
    switch (prim_of(t)) {
    case P_BOOLEAN:
        if (cw_slice_eq(s, CW_LIT("true")) || cw_slice_eq(s, CW_LIT("false"))) return 0;
        return bad(err, "boolean", 0, "must be true or false");
    case P_INTEGER:
        return check_int(s, "integer", true, -2147483648LL, err);
    case P_POSITIVE_INT:
        return check_int(s, "positiveInt", false, 1, err);
    case P_UNSIGNED_INT:
        return check_int(s, "unsignedInt", false, 0, err);
    case P_DECIMAL:
        return check_decimal(s, err);
    case P_STRING:
        return check_string(s, "string", true, err);
    case P_MARKDOWN:
        return check_string(s, "markdown", false, err);
    case P_CODE:
        return check_code(s, err);
    case P_ID:
        return check_id(s, err);
    case P_URI:
        return check_uri(s, "uri", err);
    case P_URL:
        return check_uri(s, "url", err);
    case P_CANONICAL:
        return check_uri(s, "canonical", err);
    case P_OID:
        return check_oid(s, err);
    case P_UUID:
        return check_uuid(s, err);
    case P_BASE64:
        return check_base64(s, err);
    case P_DATE:
        return fhir_dt_check(s, FHIR_DT_DATE, err);
    case P_DATETIME:
        return fhir_dt_check(s, FHIR_DT_DATETIME, err);
    case P_INSTANT:
        return fhir_dt_check(s, FHIR_DT_INSTANT, err);
    case P_TIME:
        return fhir_dt_check(s, FHIR_DT_TIME, err);
    case P_XHTML:
        return check_xhtml(s, err);
    }
    return cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "not a primitive type: %.*s",
                      CW_SLICE_FMT(cw_fhir_sd_type_name(t)));
}

int cw_fhir_check_json_primitive(struct cw_fhir_sd t, const struct cw_json *v, struct cw_err *err)
{
    if (!v) return cw_err_set(err, CW_ISSUE_STRUCTURE, "no value");
    enum cw_fhir_json_kind want = cw_fhir_sd_json_kind(cw_fhir_sd_type(t));
    /* the type name only for messages (a strlen per value otherwise) */
#define TN CW_SLICE_FMT(cw_fhir_sd_type_name(t))
    switch (want) {
    case CW_FHIR_JSON_BOOLEAN:
        if (v->type == CW_JSON_TRUE || v->type == CW_JSON_FALSE) return 0;
        return cw_err_set(err, CW_ISSUE_VALUE, "a %.*s must be JSON true or false", TN);
    case CW_FHIR_JSON_NUMBER:
        if (v->type != CW_JSON_NUMBER)
            return cw_err_set(err, CW_ISSUE_VALUE, "a %.*s must be a JSON number", TN);
        return cw_fhir_check_primitive(t, cw_json_text(v), err);
    case CW_FHIR_JSON_STRING:
        if (v->type != CW_JSON_STRING)
            return cw_err_set(err, CW_ISSUE_VALUE, "a %.*s must be a JSON string", TN);
        return cw_fhir_check_primitive(t, cw_json_text(v), err);
    case CW_FHIR_JSON_OBJECT:
        break;
    }
    return cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "not a primitive type: %.*s", TN);
#undef TN
}
