/*
 * err.c — filling and translating struct cw_err.
 */
#include "base/err.h"

#include <stdio.h>
#include <string.h>

void cw_err_clear(struct cw_err *e)
{
    memset(e, 0, sizeof *e);
}

int cw_err_vset(struct cw_err *e, enum cw_issue issue, const char *fmt, va_list ap)
{
    if (!e) return -1;
    /* A new error replaces the previous one entirely: a reused cw_err must
     * not carry an old status, location or position into the new answer.
     * Callers set location/line/column/status after this call. */
    char msg[CW_ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    memset(e, 0, sizeof *e);
    e->issue = issue;
    e->severity = CW_SEV_ERROR;
    memcpy(e->msg, msg, sizeof msg);
    return -1;
}

int cw_err_set(struct cw_err *e, enum cw_issue issue, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cw_err_vset(e, issue, fmt, ap);
    va_end(ap);
    return -1;
}

void cw_err_at_slice(struct cw_err *e, cw_slice loc)
{
    if (!e) return;
    size_t n = loc.len < sizeof e->location - 1 ? loc.len : sizeof e->location - 1;
    if (n) memcpy(e->location, loc.ptr, n);
    e->location[n] = '\0';
}

void cw_err_at(struct cw_err *e, const char *location)
{
    cw_err_at_slice(e, cw_slice_cstr(location));
}

void cw_err_prefix(struct cw_err *e, const char *prefix, char sep)
{
    if (!e) return;
    char tmp[CW_ERR_LOCATION_MAX];
    size_t cap = sizeof tmp - 1, n = 0;
    for (const char *p = prefix; *p && n < cap; p++) tmp[n++] = *p;
    if (e->location[0] && sep && n < cap) tmp[n++] = sep;
    for (const char *p = e->location; *p && n < cap; p++) tmp[n++] = *p;
    tmp[n] = '\0';
    memcpy(e->location, tmp, n + 1);
}

static const char *const issue_codes[] = {
    [CW_ISSUE_NONE] = "informational",
    [CW_ISSUE_INVALID] = "invalid",
    [CW_ISSUE_STRUCTURE] = "structure",
    [CW_ISSUE_REQUIRED] = "required",
    [CW_ISSUE_VALUE] = "value",
    [CW_ISSUE_INVARIANT] = "invariant",
    [CW_ISSUE_SECURITY] = "security",
    [CW_ISSUE_LOGIN] = "login",
    [CW_ISSUE_UNKNOWN] = "unknown",
    [CW_ISSUE_EXPIRED] = "expired",
    [CW_ISSUE_FORBIDDEN] = "forbidden",
    [CW_ISSUE_SUPPRESSED] = "suppressed",
    [CW_ISSUE_PROCESSING] = "processing",
    [CW_ISSUE_NOT_SUPPORTED] = "not-supported",
    [CW_ISSUE_DUPLICATE] = "duplicate",
    [CW_ISSUE_MULTIPLE_MATCHES] = "multiple-matches",
    [CW_ISSUE_NOT_FOUND] = "not-found",
    [CW_ISSUE_DELETED] = "deleted",
    [CW_ISSUE_TOO_LONG] = "too-long",
    [CW_ISSUE_CODE_INVALID] = "code-invalid",
    [CW_ISSUE_EXTENSION] = "extension",
    [CW_ISSUE_TOO_COSTLY] = "too-costly",
    [CW_ISSUE_BUSINESS_RULE] = "business-rule",
    [CW_ISSUE_CONFLICT] = "conflict",
    [CW_ISSUE_TRANSIENT] = "transient",
    [CW_ISSUE_LOCK_ERROR] = "lock-error",
    [CW_ISSUE_NO_STORE] = "no-store",
    [CW_ISSUE_EXCEPTION] = "exception",
    [CW_ISSUE_TIMEOUT] = "timeout",
    [CW_ISSUE_INCOMPLETE] = "incomplete",
    [CW_ISSUE_THROTTLED] = "throttled",
    [CW_ISSUE_INFORMATIONAL] = "informational",
};

const char *cw_issue_code(enum cw_issue issue)
{
    if ((unsigned)issue < sizeof issue_codes / sizeof issue_codes[0] && issue_codes[issue])
        return issue_codes[issue];
    return "exception";
}

const char *cw_severity_code(enum cw_severity sev)
{
    switch (sev) {
    case CW_SEV_FATAL: return "fatal";
    case CW_SEV_WARNING: return "warning";
    case CW_SEV_INFORMATION: return "information";
    case CW_SEV_ERROR:
    default: return "error";
    }
}

int cw_err_http_status(const struct cw_err *e)
{
    if (e->http_status) return e->http_status;
    switch (e->issue) {
    case CW_ISSUE_NONE:
    case CW_ISSUE_INFORMATIONAL: return 200;
    case CW_ISSUE_INVARIANT:
    case CW_ISSUE_BUSINESS_RULE: return 422;
    case CW_ISSUE_LOGIN:
    case CW_ISSUE_UNKNOWN:
    case CW_ISSUE_EXPIRED:
    case CW_ISSUE_SECURITY: return 401;
    case CW_ISSUE_FORBIDDEN:
    case CW_ISSUE_SUPPRESSED: return 403;
    case CW_ISSUE_NOT_FOUND: return 404;
    case CW_ISSUE_DELETED: return 410;
    case CW_ISSUE_CONFLICT:
    case CW_ISSUE_DUPLICATE:
    case CW_ISSUE_LOCK_ERROR: return 409;
    case CW_ISSUE_MULTIPLE_MATCHES: return 412;
    case CW_ISSUE_TOO_LONG:
    case CW_ISSUE_TOO_COSTLY: return 413;
    case CW_ISSUE_THROTTLED: return 429;
    case CW_ISSUE_TIMEOUT: return 504;
    case CW_ISSUE_EXCEPTION:
    case CW_ISSUE_TRANSIENT:
    case CW_ISSUE_NO_STORE:
    case CW_ISSUE_INCOMPLETE: return 500;
    default: return 400;
    }
}

enum cw_v2_error cw_err_v2_code(const struct cw_err *e)
{
    if (e->v2_code) return e->v2_code;
    switch (e->issue) {
    case CW_ISSUE_REQUIRED: return CW_V2_REQUIRED_MISSING;
    case CW_ISSUE_VALUE:
    case CW_ISSUE_STRUCTURE:
    case CW_ISSUE_INVALID: return CW_V2_DATA_TYPE;
    case CW_ISSUE_CODE_INVALID: return CW_V2_TABLE_VALUE;
    case CW_ISSUE_TOO_LONG: return CW_V2_VALUE_TOO_LONG;
    case CW_ISSUE_DUPLICATE: return CW_V2_DUPLICATE_KEY;
    case CW_ISSUE_NOT_FOUND: return CW_V2_UNKNOWN_KEY;
    case CW_ISSUE_LOCK_ERROR: return CW_V2_RECORD_LOCKED;
    default: return CW_V2_INTERNAL;
    }
}

const char *cw_v2_error_text(enum cw_v2_error code)
{
    switch (code) {
    case CW_V2_OK: return "Message accepted";
    case CW_V2_SEGMENT_SEQUENCE: return "Segment sequence error";
    case CW_V2_REQUIRED_MISSING: return "Required field missing";
    case CW_V2_DATA_TYPE: return "Data type error";
    case CW_V2_TABLE_VALUE: return "Table value not found";
    case CW_V2_VALUE_TOO_LONG: return "Value too long";
    case CW_V2_UNSUPPORTED_MESSAGE_TYPE: return "Unsupported message type";
    case CW_V2_UNSUPPORTED_EVENT: return "Unsupported event code";
    case CW_V2_UNSUPPORTED_PROCESSING_ID: return "Unsupported processing id";
    case CW_V2_UNSUPPORTED_VERSION: return "Unsupported version id";
    case CW_V2_UNKNOWN_KEY: return "Unknown key identifier";
    case CW_V2_DUPLICATE_KEY: return "Duplicate key identifier";
    case CW_V2_RECORD_LOCKED: return "Application record locked";
    case CW_V2_INTERNAL:
    default: return "Application internal error";
    }
}
