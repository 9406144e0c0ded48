/*
 * ack.c — acknowledgment messages.
 *
 * Spec: HL7 v2.5.1 section 2.9 (original and enhanced acknowledgment
 * modes), 2.9.2 (MSH-15/MSH-16 conditions AL, NE, ER, SU), 2.13 (ACK
 * message), 2.14.1 (MSA), 2.14.5 (ERR, ERL data type 2.A.27); for v2.2-2.4
 * the ERR-1 ELD data type; table 0008 (AA AE AR CA CE CR), table 0357
 * (error codes), table 0516 (ERR-4 severity E W I).
 *
 * An ACK is built with the public builder (cw_hl7v2_new, _seg_append,
 * _set, _set_raw), so it is an ordinary message: the caller writes it with
 * cw_hl7v2_write. It uses the inbound message's delimiters, so values
 * copied from the inbound MSH are copied encoded, unchanged.
 *
 * Nothing from the inbound message body is copied, only MSH fields that
 * identify the exchange (applications, facilities, control ID, version);
 * error texts are our own diagnostics (no PHI by the rule of err.h).
 */
#include "hl7v2/hl7v2_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/*
 * What an ACK needs from the inbound message. The slices are encoded with
 * the inbound delimiters 'src'; 'msg' is the parsed inbound message (NULL
 * for a reject of raw input, whose slices hold no escape sequences).
 */
struct ackin {
    struct cw_hl7v2_delims src;
    const struct cw_hl7v2_msg *msg;
    cw_slice app_s, fac_s, app_r, fac_r; /* MSH-3, MSH-4, MSH-5, MSH-6 */
    cw_slice event;                      /* MSH-9.2 */
    cw_slice control_id;                 /* MSH-10 */
    cw_slice proc_id;                    /* MSH-11 */
    cw_slice version;                    /* MSH-12 (whole field) */
    cw_slice version_id;                 /* MSH-12.1 */
    cw_slice charset;                    /* MSH-18 */
    cw_slice accept, app;                /* MSH-15, MSH-16 */
};

/* 10 for "2.1", 31 for "2.3.1", 80 for "2.8": minor * 10 + patch; 51 (2.5.1) when unknown. */
#define V22  20
#define V231 31
#define V25  50
static int version_code(cw_slice v)
{
    v = cw_slice_trim(v);
    if (v.len < 3 || v.ptr[0] != '2' || v.ptr[1] != '.' || v.ptr[2] < '1' || v.ptr[2] > '9')
        return 51;
    int code = (v.ptr[2] - '0') * 10;
    if (v.len >= 5 && v.ptr[3] == '.' && v.ptr[4] >= '0' && v.ptr[4] <= '9') code += v.ptr[4] - '0';
    return code;
}

static bool enhanced_of(const struct ackin *in)
{
    return cw_slice_trim(in->accept).len || cw_slice_trim(in->app).len;
}

static bool wanted(cw_slice cond, bool dflt, enum cw_hl7v2_outcome outcome)
{
    cond = cw_slice_trim(cond);
    if (cond.len == 0) return dflt;
    if (cw_slice_eq_cstr(cond, "NE")) return false;
    if (cw_slice_eq_cstr(cond, "ER")) return outcome != CW_HL7V2_ACCEPT;
    if (cw_slice_eq_cstr(cond, "SU")) return outcome == CW_HL7V2_ACCEPT;
    return true; /* AL and anything unknown */
}

bool cw_hl7v2_ack_enhanced(const struct cw_hl7v2_msg *in)
{
    return cw_slice_trim(hl7v2_msh(in, 15, 0)).len || cw_slice_trim(hl7v2_msh(in, 16, 0)).len;
}

bool cw_hl7v2_ack_wanted(const struct cw_hl7v2_msg *in, enum cw_hl7v2_ack_kind kind,
                         enum cw_hl7v2_outcome outcome)
{
    if (!cw_hl7v2_ack_enhanced(in)) return kind != CW_HL7V2_ACK_COMMIT;
    if (kind == CW_HL7V2_ACK_APPLICATION) return wanted(hl7v2_msh(in, 16, 0), false, outcome);
    return wanted(hl7v2_msh(in, 15, 0), true, outcome);
}

static const char *ack_code(bool commit, enum cw_hl7v2_outcome o)
{
    switch (o) {
    case CW_HL7V2_ACCEPT:
        return commit ? "CA" : "AA";
    case CW_HL7V2_ERROR:
        return commit ? "CE" : "AE";
    default:
        return commit ? "CR" : "AR";
    }
}

/* Replace delimiters and control characters of a diagnostic text by spaces. */
static cw_slice plain_text(struct cw_arena *a, const struct cw_hl7v2_delims *d, const char *s)
{
    size_t n = strlen(s);
    char *t = cw_arena_strndup(a, s, n);
    if (!t) return CW_SLICE_NULL;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if ((unsigned char)c < 0x20 || c == 0x7f || c == d->field || c == d->comp || c == d->rep ||
            (d->esc && c == d->esc) || (d->sub && c == d->sub) || (d->trunc && c == d->trunc))
            t[i] = ' ';
    }
    return (cw_slice){t, n};
}

static void now_ts(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(buf, size, "%Y%m%d%H%M%S+0000", &tm) == 0 && size) buf[0] = '\0';
}

static unsigned long ack_counter;

static void new_control_id(char *buf, size_t size)
{
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &tm) == 0) ts[0] = '\0';
    unsigned long c = __atomic_add_fetch(&ack_counter, 1, __ATOMIC_RELAXED);
    snprintf(buf, size, "A%s%05lu", ts, c % 100000);
}

/* Delimiters an ACK can reuse: all four encoding characters present. */
static bool complete(const struct cw_hl7v2_delims *d)
{
    return d->comp && d->rep && d->esc && d->sub;
}

/* Split s at c into at most max pieces (the last one keeps the rest). */
static uint32_t split_at(cw_slice s, char c, cw_slice *out, uint32_t max)
{
    uint32_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= s.len && n < max; i++) {
        if (i == s.len || (c && s.ptr[i] == c && n + 1 < max)) {
            out[n++] = (cw_slice){s.ptr + start, i - start};
            start = i + 1;
        }
    }
    return n;
}

/*
 * Put inbound value v (a whole field, or a component when comp_level) at
 * path in the ACK. With the same delimiters the encoded text is copied as
 * it is; otherwise every leaf is decoded and set again, escaped for the ACK.
 */
static int put_value(struct cw_arena *a, struct cw_hl7v2_msg *m, const char *path, cw_slice v,
                     const struct ackin *in, bool comp_level, struct cw_err *err)
{
    if (v.len == 0) return 0;
    const struct cw_hl7v2_delims *s = &in->src, *d = &m->delims;
    if (s->field == d->field && s->comp == d->comp && s->rep == d->rep && s->esc == d->esc &&
        s->sub == d->sub && s->trunc == d->trunc)
        return cw_hl7v2_set_raw(a, m, cw_slice_cstr(path), v, err);
    cw_slice reps[8], comps[16], subs[8];
    uint32_t nr = comp_level ? 1 : split_at(v, s->rep, reps, 8);
    if (comp_level) reps[0] = v;
    for (uint32_t r = 0; r < nr; r++) {
        uint32_t nc = comp_level ? 1 : split_at(reps[r], s->comp, comps, 16);
        if (comp_level) comps[0] = reps[r];
        for (uint32_t c = 0; c < nc; c++) {
            uint32_t ns = split_at(comps[c], s->sub, subs, 8);
            for (uint32_t k = 0; k < ns; k++) {
                cw_slice leaf = subs[k];
                if (leaf.len == 0) continue;
                if (in->msg && hl7v2_decode(a, in->msg, leaf, true, &leaf, err) < 0) return -1;
                char p[64];
                if (comp_level)
                    snprintf(p, sizeof p, "%s.%u", path, k + 1);
                else
                    snprintf(p, sizeof p, "%s[%u].%u.%u", path, r + 1, c + 1, k + 1);
                if (cw_hl7v2_set(a, m, cw_slice_cstr(p), leaf, err) < 0) return -1;
            }
        }
    }
    return 0;
}

static cw_slice num(struct cw_arena *a, uint32_t v)
{
    char *t = cw_arena_printf(a, "%u", v);
    return t ? cw_slice_cstr(t) : CW_SLICE_NULL;
}

static int build(struct cw_arena *a, const struct ackin *in, const struct cw_hl7v2_ack_opts *o,
                 const struct cw_err *errs, size_t nerrs, struct cw_hl7v2_msg **out,
                 struct cw_err *err)
{
    struct cw_hl7v2_ack_opts dflt = {0};
    if (!o) o = &dflt;
    *out = NULL;
    /* mirror the inbound delimiters when they are complete, else use |^~\& */
    struct cw_hl7v2_delims dd = complete(&in->src) ? in->src : CW_HL7V2_DELIMS_DEFAULT;
    struct cw_hl7v2_msg *m = cw_hl7v2_new(a, &dd, err);
    if (!m && complete(&in->src)) m = cw_hl7v2_new(a, NULL, err);
    if (!m) return -1;
    int v = version_code(in->version_id);
    bool enhanced = enhanced_of(in);
    bool commit = o->kind == CW_HL7V2_ACK_COMMIT || (o->kind == CW_HL7V2_ACK_AUTO && enhanced);
    const struct cw_hl7v2_delims *d = &m->delims;

    if (put_value(a, m, "MSH-18", in->charset, in, false, err) < 0) return -1;
    m->charset = cw_hl7v2_charset_from_name(
        cw_hl7v2_text(cw_hl7v2_comp(cw_hl7v2_rep(cw_hl7v2_field(&m->segs[0], 18), 1), 1)));
    if (put_value(a, m, "MSH-3", in->app_r, in, false, err) < 0 ||
        put_value(a, m, "MSH-4", in->fac_r, in, false, err) < 0 ||
        put_value(a, m, "MSH-5", in->app_s, in, false, err) < 0 ||
        put_value(a, m, "MSH-6", in->fac_s, in, false, err) < 0)
        return -1;
    char ts[40];
    if (o->timestamp.len) {
        if (cw_hl7v2_set(a, m, CW_LIT("MSH-7"), o->timestamp, err) < 0) return -1;
    } else {
        now_ts(ts, sizeof ts);
        if (d->field == '+' || d->comp == '+' || d->rep == '+' || d->sub == '+' || d->esc == '+' ||
            d->trunc == '+')
            ts[14] = '\0'; /* no "+0000" where '+' is a delimiter */
        if (cw_hl7v2_set(a, m, CW_LIT("MSH-7"), cw_slice_cstr(ts), err) < 0) return -1;
    }
    if (cw_hl7v2_set(a, m, CW_LIT("MSH-9.1"), CW_LIT("ACK"), err) < 0) return -1;
    if (v >= V22 && put_value(a, m, "MSH-9.2", in->event, in, true, err) < 0) return -1;
    if (v >= V231 && cw_hl7v2_set(a, m, CW_LIT("MSH-9.3"), CW_LIT("ACK"), err) < 0) return -1;
    char cid[48];
    if (o->control_id.len) {
        if (cw_hl7v2_set(a, m, CW_LIT("MSH-10"), o->control_id, err) < 0) return -1;
    } else {
        new_control_id(cid, sizeof cid);
        if (cw_hl7v2_set(a, m, CW_LIT("MSH-10"), cw_slice_cstr(cid), err) < 0) return -1;
    }
    if (in->proc_id.len ? put_value(a, m, "MSH-11", in->proc_id, in, false, err)
                        : cw_hl7v2_set(a, m, CW_LIT("MSH-11"), CW_LIT("P"), err))
        return -1;
    if (in->version.len ? put_value(a, m, "MSH-12", in->version, in, false, err)
                        : cw_hl7v2_set(a, m, CW_LIT("MSH-12"), CW_LIT("2.5.1"), err))
        return -1;

    /* MSA */
    long msa = cw_hl7v2_seg_append(a, m, CW_LIT("MSA"), err);
    if (msa < 0) return -1;
    if (cw_hl7v2_set(a, m, CW_LIT("MSA-1"), cw_slice_cstr(ack_code(commit, o->outcome)), err) < 0 ||
        put_value(a, m, "MSA-2", in->control_id, in, false, err) < 0)
        return -1;
    const struct cw_err *first = NULL;
    for (size_t i = 0; i < nerrs && !first; i++)
        if (errs[i].issue != CW_ISSUE_NONE) first = &errs[i];
    if (v < V25) {
        cw_slice text = o->text;
        if (!text.len && first && o->outcome != CW_HL7V2_ACCEPT)
            text = cw_slice_cstr(cw_v2_error_text(cw_err_v2_code(first)));
        if (text.len) {
            cw_slice t = plain_text(a, d, cw_arena_strndup(a, text.ptr, text.len));
            if (!t.ptr || cw_hl7v2_set(a, m, CW_LIT("MSA-3"), t, err) < 0) return -1;
        }
        if (v >= V22 && first) {
            enum cw_v2_error c = cw_err_v2_code(first);
            if (cw_hl7v2_set(a, m, CW_LIT("MSA-6.1"), num(a, (uint32_t)c), err) < 0 ||
                cw_hl7v2_set(a, m, CW_LIT("MSA-6.2"), cw_slice_cstr(cw_v2_error_text(c)), err) <
                    0 ||
                cw_hl7v2_set(a, m, CW_LIT("MSA-6.3"), CW_LIT("HL70357"), err) < 0)
                return -1;
        }
    }

    /* ERR: each one written as one line of plain text (no value needs escaping) */
    if (v >= V22 && first) {
        bool one_err = v < V25; /* 2.2-2.4: one ERR, ERR-1 repeats (ELD) */
        uint32_t max = o->max_errors ? o->max_errors : 100, count = 0;
        struct cw_buf b;
        cw_buf_init(&b, (size_t)1 << 24);
        if (one_err) cw_buf_printf(&b, "ERR%c", d->field);
        for (size_t i = 0; i < nerrs && count < max; i++) {
            const struct cw_err *e = &errs[i];
            if (e->issue == CW_ISSUE_NONE) continue;
            struct cw_hl7v2_path loc;
            bool has_loc =
                e->location[0] && cw_hl7v2_path_parse(cw_slice_cstr(e->location), &loc, NULL) == 0;
            enum cw_v2_error c = cw_err_v2_code(e);
            const char *text = cw_v2_error_text(c);
            char cs = d->comp;
            if (one_err) {
                /* ELD: segment ^ sequence ^ field ^ code & text & HL70357 */
                if (count) cw_buf_putc(&b, d->rep);
                if (has_loc) {
                    cw_buf_printf(&b, "%.3s%c%u%c", loc.seg, cs, loc.occ, cs);
                    if (loc.field) cw_buf_printf(&b, "%u", loc.field);
                    cw_buf_putc(&b, cs);
                } else {
                    cw_buf_printf(&b, "%c%c%c", cs, cs, cs);
                }
                cw_buf_printf(&b, "%d%c%s%cHL70357", (int)c, d->sub, text, d->sub);
                count++;
                continue;
            }
            cw_buf_reset(&b);
            /* ERR-1 empty; ERR-2 ERL: segment ^ sequence ^ field ^ repetition ^ component ^ sub */
            cw_buf_printf(&b, "ERR%c%c", d->field, d->field);
            if (has_loc) {
                cw_buf_printf(&b, "%.3s%c%u", loc.seg, cs, loc.occ);
                if (loc.field) {
                    cw_buf_printf(&b, "%c%u%c%u", cs, loc.field, cs, loc.rep ? loc.rep : 1);
                    if (loc.comp) cw_buf_printf(&b, "%c%u", cs, loc.comp);
                    if (loc.comp && loc.sub) cw_buf_printf(&b, "%c%u", cs, loc.sub);
                }
            }
            const char *sev = e->severity == CW_SEV_WARNING       ? "W"
                              : e->severity == CW_SEV_INFORMATION ? "I"
                                                                  : "E";
            /* ERR-3 code ^ text ^ HL70357; ERR-4 severity; ERR-7 diagnostic */
            cw_buf_printf(&b, "%c%d%c%s%cHL70357%c%s", d->field, (int)c, cs, text, cs, d->field,
                          sev);
            if (e->msg[0]) {
                cw_slice t = plain_text(a, d, e->msg);
                if (!t.ptr) break;
                cw_buf_printf(&b, "%c%c%c", d->field, d->field, d->field);
                cw_buf_put_slice(&b, t);
            }
            if (cw_buf_failed(&b) || hl7v2_seg_append_line(a, m, cw_buf_slice(&b), err) < 0) {
                cw_buf_release(&b);
                return -1;
            }
            count++;
        }
        if (one_err &&
            (cw_buf_failed(&b) || hl7v2_seg_append_line(a, m, cw_buf_slice(&b), err) < 0)) {
            cw_buf_release(&b);
            return -1;
        }
        cw_buf_release(&b);
    }
    *out = m;
    return 0;
}

int cw_hl7v2_ack_build(struct cw_arena *a, const struct cw_hl7v2_msg *in,
                       const struct cw_hl7v2_ack_opts *opts, const struct cw_err *errs,
                       size_t nerrs, struct cw_hl7v2_msg **out, struct cw_err *err)
{
    struct ackin x;
    memset(&x, 0, sizeof x);
    x.src = in->delims;
    x.msg = in;
    x.app_s = hl7v2_msh(in, 3, 0);
    x.fac_s = hl7v2_msh(in, 4, 0);
    x.app_r = hl7v2_msh(in, 5, 0);
    x.fac_r = hl7v2_msh(in, 6, 0);
    x.event = hl7v2_msh(in, 9, 2);
    x.control_id = hl7v2_msh(in, 10, 0);
    x.proc_id = hl7v2_msh(in, 11, 0);
    x.version = hl7v2_msh(in, 12, 0);
    x.version_id = hl7v2_msh(in, 12, 1);
    x.charset = hl7v2_msh(in, 18, 0);
    x.accept = hl7v2_msh(in, 15, 0);
    x.app = hl7v2_msh(in, 16, 0);
    return build(a, &x, opts, errs, nerrs, out, err);
}

/* ------------------------------------------------------------------ */
/* Recovery from unparseable input                                     */
/* ------------------------------------------------------------------ */

/* Printable ASCII without the delimiters of level 'allow' and below (comp allowed if asked). */
static bool plain(cw_slice v, const struct cw_hl7v2_delims *d, bool allow_comp, size_t max)
{
    if (v.len > max) return false;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.ptr[i];
        if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f) return false;
        if (c == d->field || c == d->rep || (d->esc && c == d->esc) || (d->sub && c == d->sub))
            return false;
        if (!allow_comp && c == d->comp) return false;
    }
    return true;
}

int cw_hl7v2_ack_build_raw(struct cw_arena *a, cw_slice input, const struct cw_hl7v2_ack_opts *opts,
                           const struct cw_err *errs, size_t nerrs, struct cw_hl7v2_msg **out,
                           struct cw_err *err)
{
    struct ackin x;
    memset(&x, 0, sizeof x);
    x.src = CW_HL7V2_DELIMS_DEFAULT;
    const char *p = input.ptr, *end = input.ptr + input.len;
    if (input.len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) p += 3;
    while (p < end && ((unsigned char)*p <= 0x20 || *p == 0x1c)) p++;
    const char *le = p;
    while (le < end && *le != '\r' && *le != '\n') le++;
    cw_slice f[19];
    memset(f, 0, sizeof f);
    if (le - p >= 4 && memcmp(p, "MSH", 3) == 0) {
        struct cw_hl7v2_delims d;
        size_t enc;
        bool irr;
        const char *why;
        bool got = hl7v2_read_header(p, le, false, &d, &enc, &irr, &why, NULL) == 0 && d.comp;
        if (!got) {
            /* Unreadable MSH-2 (empty, truncated): MSH-1 still names the field
             * separator; read the header fields with the default encoding
             * characters so MSH-10 can still be echoed in MSA-2. */
            char fs = p[3];
            struct cw_hl7v2_delims dd = CW_HL7V2_DELIMS_DEFAULT;
            if ((unsigned char)fs > 0x20 && fs != 0x7f && !(fs >= '0' && fs <= '9') &&
                !(fs >= 'A' && fs <= 'Z') && !(fs >= 'a' && fs <= 'z') && fs != dd.comp &&
                fs != dd.rep && fs != dd.esc && fs != dd.sub) {
                dd.field = fs;
                const char *e2 = p + 4;
                while (e2 < le && *e2 != fs) e2++;
                d = dd;
                enc = (size_t)(e2 - (p + 4));
                got = true;
            }
        }
        if (got) {
            x.src = d;
            /* fields of the first line: f[n] = MSH-n */
            const char *s = p + 4 + enc;
            uint32_t n = 2;
            while (s < le && *s == d.field && n < 18) {
                const char *e = s + 1;
                while (e < le && *e != d.field) e++;
                f[++n] = (cw_slice){s + 1, (size_t)(e - s - 1)};
                s = e;
            }
        }
    }
    const struct cw_hl7v2_delims *d = &x.src;
    if (plain(f[3], d, true, 227)) x.app_s = f[3];
    if (plain(f[4], d, true, 227)) x.fac_s = f[4];
    if (plain(f[5], d, true, 227)) x.app_r = f[5];
    if (plain(f[6], d, true, 227)) x.fac_r = f[6];
    if (plain(f[10], d, false, 199)) x.control_id = f[10];
    if (plain(f[11], d, true, 3)) x.proc_id = f[11];
    if (plain(f[15], d, false, 2)) x.accept = f[15];
    if (plain(f[16], d, false, 2)) x.app = f[16];
    /* MSH-9.2: letters and digits only */
    const char *c1 = f[9].len ? memchr(f[9].ptr, d->comp, f[9].len) : NULL;
    if (c1) {
        cw_slice ev = {c1 + 1, (size_t)(f[9].ptr + f[9].len - c1 - 1)};
        const char *c2 = memchr(ev.ptr, d->comp, ev.len);
        if (c2) ev.len = (size_t)(c2 - ev.ptr);
        bool ok = ev.len > 0 && ev.len <= 3;
        for (size_t i = 0; i < ev.len; i++) {
            char c = ev.ptr[i];
            ok &= (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        }
        if (ok) x.event = ev;
    }
    /* MSH-12.1: "2.n" or "2.n.m" */
    cw_slice ver = f[12];
    const char *vc = ver.len ? memchr(ver.ptr, d->comp, ver.len) : NULL;
    if (vc) ver.len = (size_t)(vc - ver.ptr);
    bool vok = (ver.len == 3 || ver.len == 5) && ver.ptr[0] == '2' && ver.ptr[1] == '.' &&
               ver.ptr[2] >= '1' && ver.ptr[2] <= '9' &&
               (ver.len == 3 || (ver.ptr[3] == '.' && ver.ptr[4] >= '0' && ver.ptr[4] <= '9'));
    if (vok) x.version = x.version_id = ver;
    struct cw_hl7v2_ack_opts o = opts ? *opts : (struct cw_hl7v2_ack_opts){0};
    o.outcome = CW_HL7V2_REJECT;
    return build(a, &x, &o, errs, nerrs, out, err);
}
