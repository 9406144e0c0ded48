/*
 * log.c — JSON line formatter for log.h.
 *
 * A line is capped at 4 KiB; a line that would be longer is replaced by a
 * short one with "truncated":true rather than cut mid-token.
 */
#include "base/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum cw_log_level cw_log_threshold = CW_LOG_INFO;
static int log_fd = 2;

void cw_log_set_fd(int fd)
{
    log_fd = fd;
}

int cw_log_level_parse(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, names[i]) == 0) return i;
    return -1;
}

struct line {
    char buf[4096];
    size_t len;
    bool cut;
};

static void put(struct line *l, const char *p, size_t n)
{
    /* Keep 2 bytes for "}\n". */
    size_t room = sizeof l->buf - 2 - l->len;
    if (n > room) {
        n = room;
        l->cut = true;
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
}

static void put_str(struct line *l, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put(l, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(l, e, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(l, e, 6);
        } else {
            put(l, (const char *)&c, 1);
        }
    }
    put(l, "\"", 1);
}

static void put_key(struct line *l, const char *k)
{
    put(l, ",", 1);
    put_str(l, k, strlen(k));
    put(l, ":", 1);
}

void cw_log_emit(enum cw_log_level level, const char *event, const struct cw_log_field *f,
                 int n)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (level < cw_log_threshold || level >= CW_LOG_OFF) return;
    struct line l = {.len = 0, .cut = false};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char tmp[64];
    int k = snprintf(tmp, sizeof tmp, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000);
    put(&l, tmp, (size_t)k);
    put_key(&l, "level");
    put_str(&l, names[level], strlen(names[level]));
    put_key(&l, "event");
    put_str(&l, event, strlen(event));
    for (int i = 0; i < n; i++) {
        put_key(&l, f[i].key);
        switch (f[i].kind) {
        case CW_LOG_K_STR:
            if (f[i].v.s)
                put_str(&l, f[i].v.s, strlen(f[i].v.s));
            else
                put(&l, "null", 4);
            break;
        case CW_LOG_K_SLICE: put_str(&l, f[i].v.s, f[i].len > 0 ? (size_t)f[i].len : 0); break;
        case CW_LOG_K_INT:
            k = snprintf(tmp, sizeof tmp, "%lld", f[i].v.i);
            put(&l, tmp, (size_t)k);
            break;
        case CW_LOG_K_DBL:
            k = snprintf(tmp, sizeof tmp, "%.6g", f[i].v.d);
            put(&l, tmp, (size_t)k);
            break;
        case CW_LOG_K_BOOL: put(&l, f[i].v.b ? "true" : "false", f[i].v.b ? 4 : 5); break;
        default: put(&l, "null", 4); break;
        }
    }
    if (l.cut) {
        /* Drop any half-written token: fall back to a clean marker line. */
        l.len = 0;
        l.cut = false;
        k = snprintf(tmp, sizeof tmp, "{\"level\":\"%s\",\"event\":", names[level]);
        put(&l, tmp, (size_t)k);
        put_str(&l, event, strlen(event) > 200 ? 200 : strlen(event));
        put(&l, ",\"truncated\":true", 17);
    }
    l.buf[l.len++] = '}';
    l.buf[l.len++] = '\n';
    ssize_t w = write(log_fd, l.buf, l.len);
    (void)w;
}
