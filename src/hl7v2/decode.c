/*
 * decode.c — escape sequences and character sets (HL7 v2.5.1 sections 2.7
 * and 2.15.9.18 / table 0211), in both directions.
 *
 * Decoding is done per leaf value and only when asked for (the parser only
 * checks that escape sequences are well formed). It runs in two steps:
 * escapes are replaced by the bytes they stand for, still in the message's
 * character set (\Xhh\ gives raw bytes, so both kinds of text must go
 * through the same conversion), then the bytes are converted to UTF-8.
 *
 * Invariants: the decoded text is valid UTF-8 (bytes that cannot be read
 * become U+FFFD, or ISO 8859-1 characters in the default character set);
 * output never exceeds 3 bytes per input byte plus 16, which sizes the one
 * arena allocation up front.
 */
#include "hl7v2/hl7v2_int.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hexval(s[i]) < 0) return false;
    return true;
}

/* Optional spaces, optional sign, digits (possibly none). */
static bool num_arg(const char *s, size_t n, bool sign)
{
    size_t i = 0;
    while (i < n && s[i] == ' ') i++;
    if (sign && i < n && (s[i] == '+' || s[i] == '-')) i++;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

bool hl7v2_escape_valid(const char *s, size_t n, const struct cw_hl7v2_delims *d)
{
    if (n == 0) return false;
    if (n == 1) {
        switch (s[0]) {
        case 'F':
        case 'S':
        case 'T':
        case 'R':
        case 'E':
        case 'H':
        case 'N':
            return true;
        case 'P':
            return d->trunc != 0;
        default:
            return false;
        }
    }
    switch (s[0]) {
    case 'X':
        return (n - 1) % 2 == 0 && all_hex(s + 1, n - 1);
    case 'C':
        return n == 5 && all_hex(s + 1, 4);
    case 'M':
        return (n == 5 || n == 7) && all_hex(s + 1, n - 1);
    case 'Z':
        return true;
    case '.':
        if (n < 3) return false;
        if (n == 3 && (memcmp(s, ".br", 3) == 0 || memcmp(s, ".ce", 3) == 0 ||
                       memcmp(s, ".fi", 3) == 0 || memcmp(s, ".nf", 3) == 0))
            return true;
        if (memcmp(s, ".sp", 3) == 0 || memcmp(s, ".sk", 3) == 0)
            return num_arg(s + 3, n - 3, false);
        if (memcmp(s, ".in", 3) == 0 || memcmp(s, ".ti", 3) == 0)
            return num_arg(s + 3, n - 3, true);
        return false;
    default:
        return false;
    }
}

/* Repeat count of \.sp n\ / \.sk n\ (default 1), capped to keep the output bound. */
static unsigned repeat_arg(const char *s, size_t n)
{
    unsigned v = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            any = true;
            if (v < 1000) v = v * 10 + (unsigned)(s[i] - '0');
        }
    }
    if (!any) v = 1;
    return v > 2 ? 2 : v; /* see "Invariants": 3 bytes per input byte */
}

/*
 * Replace escapes in text by the bytes they stand for. out has room for
 * text.len + 16 bytes. Returns the length.
 */
static size_t unescape(const struct cw_hl7v2_delims *d, cw_slice text, char *out)
{
    const char *p = text.ptr, *end = text.ptr + text.len;
    size_t o = 0;
    char esc = d->esc;
    while (p < end) {
        const char *e = esc ? memchr(p, esc, (size_t)(end - p)) : NULL;
        if (!e) {
            memcpy(out + o, p, (size_t)(end - p));
            o += (size_t)(end - p);
            break;
        }
        memcpy(out + o, p, (size_t)(e - p));
        o += (size_t)(e - p);
        const char *close = memchr(e + 1, esc, (size_t)(end - e - 1));
        if (!close || !hl7v2_escape_valid(e + 1, (size_t)(close - e - 1), d)) {
            /* malformed: keep the escape character as text and go on after it */
            out[o++] = esc;
            p = e + 1;
            continue;
        }
        const char *s = e + 1;
        size_t n = (size_t)(close - s);
        p = close + 1;
        if (n == 1) {
            char c = 0;
            switch (s[0]) {
            case 'F':
                c = d->field;
                break;
            case 'S':
                c = d->comp;
                break;
            case 'T':
                c = d->sub;
                break;
            case 'R':
                c = d->rep;
                break;
            case 'E':
                c = d->esc;
                break;
            case 'P':
                c = d->trunc;
                break;
            default:
                break; /* \H\ \N\: highlighting, dropped */
            }
            if (c) out[o++] = c;
            continue;
        }
        switch (s[0]) {
        case 'X':
            for (size_t i = 1; i + 1 < n; i += 2)
                out[o++] = (char)(hexval(s[i]) * 16 + hexval(s[i + 1]));
            break;
        case '.':
            if (memcmp(s, ".br", 3) == 0) {
                out[o++] = '\n';
            } else if (memcmp(s, ".sp", 3) == 0) {
                for (unsigned k = repeat_arg(s + 3, n - 3); k; k--) out[o++] = '\n';
            } else if (memcmp(s, ".sk", 3) == 0) {
                for (unsigned k = repeat_arg(s + 3, n - 3); k; k--) out[o++] = ' ';
            }
            break; /* .in .ti .ce .fi .nf: layout only, dropped */
        default:
            /* \C..\ \M..\ (ISO 2022 switching) and \Z..\ (local): verbatim */
            memcpy(out + o, e, n + 2);
            o += n + 2;
            break;
        }
    }
    return o;
}

static const uint16_t latin9_hi[8][2] = {
    {0xa4, 0x20ac}, {0xa6, 0x0160}, {0xa8, 0x0161}, {0xb4, 0x017d},
    {0xb8, 0x017e}, {0xbc, 0x0152}, {0xbd, 0x0153}, {0xbe, 0x0178},
};

static size_t put_cp(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* Convert bytes in charset cs to UTF-8 in out (room for 3 * n). Returns the length. */
static size_t to_utf8(enum cw_hl7v2_charset cs, const unsigned char *p, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            out[o++] = (char)c;
            i++;
            continue;
        }
        if (cs == CW_HL7V2_CS_LATIN1 || cs == CW_HL7V2_CS_LATIN9) {
            uint32_t cp = c;
            if (cs == CW_HL7V2_CS_LATIN9)
                for (int k = 0; k < 8; k++)
                    if (latin9_hi[k][0] == c) cp = latin9_hi[k][1];
            o += put_cp(out + o, cp);
            i++;
            continue;
        }
        size_t ok = hl7v2_utf8_valid_prefix(p + i, n - i);
        if (ok) {
            memcpy(out + o, p + i, ok);
            o += ok;
            i += ok;
            continue;
        }
        /* not UTF-8: ISO 8859-1 in the default set, U+FFFD otherwise */
        o += put_cp(out + o, (cs == CW_HL7V2_CS_UTF8 || cs == CW_HL7V2_CS_ASCII) ? 0xfffd : c);
        i++;
    }
    return o;
}

int hl7v2_decode(struct cw_arena *a, const struct cw_hl7v2_msg *m, cw_slice text, bool has_esc,
                 cw_slice *out, struct cw_err *err)
{
    bool plain = m->ascii ||
                 (m->utf8 && m->charset != CW_HL7V2_CS_LATIN1 && m->charset != CW_HL7V2_CS_LATIN9);
    if (!has_esc && plain) {
        *out = text;
        return 0;
    }
    if (text.len > (SIZE_MAX - 64) / 4)
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "",
                          "value too large to decode");
    char *buf = cw_arena_alloc_bytes(a, 4 * text.len + 64);
    if (!buf)
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "",
                          "arena exhausted while decoding");
    /* unescape into the upper part, convert into the lower part */
    char *raw = buf + 3 * text.len + 48;
    size_t n = text.len;
    const char *src = text.ptr;
    if (has_esc && m->delims.esc && memchr(text.ptr, m->delims.esc, text.len)) {
        n = unescape(&m->delims, text, raw);
        src = raw;
    }
    bool ascii = true;
    for (size_t i = 0; i < n && ascii; i++) ascii = (unsigned char)src[i] < 0x80;
    if (ascii) {
        if (src != raw) {
            *out = text;
            return 0;
        }
        memmove(buf, raw, n);
        *out = (cw_slice){buf, n};
        return 0;
    }
    size_t o = to_utf8(m->charset, (const unsigned char *)src, n, buf);
    *out = (cw_slice){buf, o};
    return 0;
}

int cw_hl7v2_decode(struct cw_arena *a, const struct cw_hl7v2_msg *m, cw_slice text, cw_slice *out,
                    struct cw_err *err)
{
    bool esc = m->delims.esc && text.len && memchr(text.ptr, m->delims.esc, text.len) != NULL;
    return hl7v2_decode(a, m, text, esc, out, err);
}

/* ------------------------------------------------------------------ */
/* Escaping (writer side)                                              */
/* ------------------------------------------------------------------ */

static int put_hex_escape(struct cw_buf *out, char esc, unsigned char byte)
{
    static const char hex[] = "0123456789ABCDEF";
    char t[5] = {esc, 'X', hex[byte >> 4], hex[byte & 15], esc};
    return cw_buf_append(out, t, 5);
}

int cw_hl7v2_escape(const struct cw_hl7v2_msg *m, cw_slice text, struct cw_buf *out,
                    struct cw_err *err)
{
    const struct cw_hl7v2_delims *d = &m->delims;
    const unsigned char *p = (const unsigned char *)text.ptr;
    size_t n = text.len, i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            char e = 0;
            if (c == (unsigned char)d->field)
                e = 'F';
            else if (d->comp && c == (unsigned char)d->comp)
                e = 'S';
            else if (d->sub && c == (unsigned char)d->sub)
                e = 'T';
            else if (d->rep && c == (unsigned char)d->rep)
                e = 'R';
            else if (d->esc && c == (unsigned char)d->esc)
                e = 'E';
            else if (d->trunc && c == (unsigned char)d->trunc)
                e = 'P';
            bool ctl = (c < 0x20 && c != '\t') || c == 0x7f;
            if ((e || ctl) && !d->esc)
                return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_VALUE, "",
                                  "the value holds a delimiter or control character and the "
                                  "message has no escape character");
            if (e) {
                char t[3] = {d->esc, e, d->esc};
                cw_buf_append(out, t, 3);
            } else if (ctl) {
                put_hex_escape(out, d->esc, c);
            } else {
                cw_buf_putc(out, (char)c);
            }
            i++;
            continue;
        }
        size_t ok = hl7v2_utf8_valid_prefix(p + i, n - i);
        if (ok == 0)
            return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_VALUE, "",
                              "the value is not valid UTF-8 (byte %zu)", i + 1);
        /* one character */
        size_t clen = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        uint32_t cp = c & (clen == 2 ? 0x1f : clen == 3 ? 0x0f : 0x07);
        for (size_t k = 1; k < clen; k++) cp = (cp << 6) | (p[i + k] & 0x3f);
        switch (m->charset) {
        case CW_HL7V2_CS_LATIN1:
        case CW_HL7V2_CS_LATIN9: {
            int byte = -1;
            if (m->charset == CW_HL7V2_CS_LATIN9) {
                for (int k = 0; k < 8; k++)
                    if (latin9_hi[k][1] == cp) byte = latin9_hi[k][0];
                bool replaced = false;
                for (int k = 0; k < 8; k++) replaced |= latin9_hi[k][0] == cp;
                if (byte < 0 && cp <= 0xff && !replaced) byte = (int)cp;
            } else if (cp <= 0xff) {
                byte = (int)cp;
            }
            if (byte < 0)
                return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_CODE_INVALID, "",
                                  "character U+%04X cannot be written in the message's "
                                  "character set (MSH-18)",
                                  (unsigned)cp);
            cw_buf_putc(out, (char)byte);
            break;
        }
        case CW_HL7V2_CS_ASCII:
            return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_CODE_INVALID, "",
                              "character U+%04X cannot be written in an ASCII message (MSH-18)",
                              (unsigned)cp);
        default:
            cw_buf_append(out, p + i, clen);
            break;
        }
        i += clen;
    }
    if (cw_buf_failed(out))
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "", "output buffer full");
    return 0;
}
