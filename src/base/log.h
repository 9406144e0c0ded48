/*
 * log.h — structured logging: one JSON object per line on stderr.
 *
 *   cw_log(CW_LOG_INFO, "http.listen", CW_LOG_STR("addr", "0.0.0.0"), CW_LOG_INT("port", 8080));
 *   -> {"ts":"2026-11-25T06:40:00.123Z","level":"info","event":"http.listen","addr":"0.0.0.0","port":8080}
 *
 * Rule (security): log events, codes, ids, counts, sizes and locations —
 * never field values from messages or resources (they are PHI). The API
 * makes this a review question: every string field passed here must be
 * something we would print on a public dashboard.
 *
 * Thread safety: each line is formatted on the stack and written with one
 * write(2), so lines from different threads do not interleave.
 */
#ifndef CW_BASE_LOG_H
#define CW_BASE_LOG_H

#include <stdbool.h>

enum cw_log_level {
    CW_LOG_DEBUG = 0,
    CW_LOG_INFO,
    CW_LOG_WARN,
    CW_LOG_ERROR,
    CW_LOG_OFF,
};

enum cw_log_kind { CW_LOG_K_STR = 1, CW_LOG_K_INT, CW_LOG_K_DBL, CW_LOG_K_BOOL, CW_LOG_K_SLICE };

struct cw_log_field {
    const char *key;
    enum cw_log_kind kind;
    union {
        const char *s;
        long long i;
        double d;
        bool b;
    } v;
    int len; /* CW_LOG_K_SLICE: length of v.s */
};

#define CW_LOG_STR(k, x) ((struct cw_log_field){.key = (k), .kind = CW_LOG_K_STR, .v.s = (x)})
#define CW_LOG_INT(k, x) ((struct cw_log_field){.key = (k), .kind = CW_LOG_K_INT, .v.i = (long long)(x)})
#define CW_LOG_DBL(k, x) ((struct cw_log_field){.key = (k), .kind = CW_LOG_K_DBL, .v.d = (double)(x)})
#define CW_LOG_BOOL(k, x) ((struct cw_log_field){.key = (k), .kind = CW_LOG_K_BOOL, .v.b = (x)})
#define CW_LOG_SLICE(k, sl)                                                                        \
    ((struct cw_log_field){.key = (k), .kind = CW_LOG_K_SLICE, .v.s = (sl).ptr, .len = (int)(sl).len})

/* Emit one line if 'level' passes the threshold. Prefer the cw_log macro. */
void cw_log_emit(enum cw_log_level level, const char *event, const struct cw_log_field *fields,
                 int nfields);

#define cw_log(level, event, ...)                                                                  \
    do {                                                                                           \
        if ((level) >= cw_log_threshold) {                                                         \
            const struct cw_log_field cw_log_f_[] = {{0}, __VA_ARGS__};                            \
            cw_log_emit((level), (event), cw_log_f_ + 1,                                           \
                        (int)(sizeof cw_log_f_ / sizeof cw_log_f_[0]) - 1);                        \
        }                                                                                          \
    } while (0)

/* Lines below this level are dropped (default CW_LOG_INFO). */
extern enum cw_log_level cw_log_threshold;

/* Parse "debug" | "info" | "warn" | "error" | "off"; -1 if unknown. */
int cw_log_level_parse(const char *s);

/* Send lines to this file descriptor instead of stderr (tests). */
void cw_log_set_fd(int fd);

#endif
