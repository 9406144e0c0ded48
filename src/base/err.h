/*
 * err.h — one error type for every layer.
 *
 * A fallible function returns int (0 ok, -1 failed) and fills a struct
 * cw_err. The error carries everything each edge needs to answer in its own
 * wire format, so errors are translated exactly once:
 *   - server/ writes an OperationOutcome (severity, issue code, expression)
 *     with the HTTP status from cw_err_http_status();
 *   - ingest/ writes an HL7 v2 ACK (AE/AR) with an ERR segment carrying the
 *     v2 error code (HL7 table 0357) and the location.
 *
 * The diagnostic text must never contain patient data (field values): say
 * what is wrong and where, not what the value was.
 *
 * A cw_err is plain storage owned by the caller (usually on the stack); it
 * holds no pointers and needs no release.
 */
#ifndef CW_BASE_ERR_H
#define CW_BASE_ERR_H

#include <stdarg.h>
#include <stddef.h>

#include "base/slice.h"

/* FHIR R4 IssueSeverity (valueset-issue-severity). */
enum cw_severity {
    CW_SEV_FATAL = 1,
    CW_SEV_ERROR,
    CW_SEV_WARNING,
    CW_SEV_INFORMATION,
};

/* FHIR R4 IssueType (valueset-issue-type), the codes we use. */
enum cw_issue {
    CW_ISSUE_NONE = 0,
    CW_ISSUE_INVALID,        /* invalid */
    CW_ISSUE_STRUCTURE,      /* structure: syntax / structural error */
    CW_ISSUE_REQUIRED,       /* required */
    CW_ISSUE_VALUE,          /* value: wrong value / format */
    CW_ISSUE_INVARIANT,      /* invariant */
    CW_ISSUE_SECURITY,       /* security */
    CW_ISSUE_LOGIN,          /* login */
    CW_ISSUE_UNKNOWN,        /* unknown: unknown user */
    CW_ISSUE_EXPIRED,        /* expired */
    CW_ISSUE_FORBIDDEN,      /* forbidden */
    CW_ISSUE_SUPPRESSED,     /* suppressed */
    CW_ISSUE_PROCESSING,     /* processing */
    CW_ISSUE_NOT_SUPPORTED,  /* not-supported */
    CW_ISSUE_DUPLICATE,      /* duplicate */
    CW_ISSUE_MULTIPLE_MATCHES, /* multiple-matches */
    CW_ISSUE_NOT_FOUND,      /* not-found */
    CW_ISSUE_DELETED,        /* deleted */
    CW_ISSUE_TOO_LONG,       /* too-long */
    CW_ISSUE_CODE_INVALID,   /* code-invalid */
    CW_ISSUE_EXTENSION,      /* extension */
    CW_ISSUE_TOO_COSTLY,     /* too-costly: a limit was hit */
    CW_ISSUE_BUSINESS_RULE,  /* business-rule */
    CW_ISSUE_CONFLICT,       /* conflict */
    CW_ISSUE_TRANSIENT,      /* transient */
    CW_ISSUE_LOCK_ERROR,     /* lock-error */
    CW_ISSUE_NO_STORE,       /* no-store */
    CW_ISSUE_EXCEPTION,      /* exception: internal error */
    CW_ISSUE_TIMEOUT,        /* timeout */
    CW_ISSUE_INCOMPLETE,     /* incomplete */
    CW_ISSUE_THROTTLED,      /* throttled */
    CW_ISSUE_INFORMATIONAL,  /* informational */
};

/* HL7 v2 table 0357 (message error condition codes). */
enum cw_v2_error {
    CW_V2_OK = 0,
    CW_V2_SEGMENT_SEQUENCE = 100,
    CW_V2_REQUIRED_MISSING = 101,
    CW_V2_DATA_TYPE = 102,
    CW_V2_TABLE_VALUE = 103,
    CW_V2_VALUE_TOO_LONG = 104,
    CW_V2_UNSUPPORTED_MESSAGE_TYPE = 200,
    CW_V2_UNSUPPORTED_EVENT = 201,
    CW_V2_UNSUPPORTED_PROCESSING_ID = 202,
    CW_V2_UNSUPPORTED_VERSION = 203,
    CW_V2_UNKNOWN_KEY = 204,
    CW_V2_DUPLICATE_KEY = 205,
    CW_V2_RECORD_LOCKED = 206,
    CW_V2_INTERNAL = 207,
};

#define CW_ERR_LOCATION_MAX 128
#define CW_ERR_MSG_MAX 256

struct cw_err {
    enum cw_severity severity;
    enum cw_issue issue;
    enum cw_v2_error v2_code;
    int http_status;   /* 0: derive from 'issue' (see cw_err_http_status) */
    unsigned line;     /* 1-based position in a text input, 0 if none */
    unsigned column;
    char location[CW_ERR_LOCATION_MAX]; /* "PID-3[2].1", "Observation.value", "" */
    char msg[CW_ERR_MSG_MAX];           /* diagnostic, no PHI */
};

/* Reset to "no error". */
void cw_err_clear(struct cw_err *e);

/*
 * Record an error of the given issue type (severity error) with a printf-style
 * diagnostic. Everything the error held before (location, position, status,
 * v2 code) is cleared first; set those after this call. The format
 * arguments may point into e (they are read before e is cleared). Returns -1 so callers can write `return cw_err_set(...)`.
 * e may be NULL (the error is then dropped).
 */
int cw_err_set(struct cw_err *e, enum cw_issue issue, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cw_err_vset(struct cw_err *e, enum cw_issue issue, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Set the location (copied, truncated to fit). */
void cw_err_at(struct cw_err *e, const char *location);
void cw_err_at_slice(struct cw_err *e, cw_slice location);

/* Prepend a path element: "entry[2]" + "resource.id" -> "entry[2].resource.id". */
void cw_err_prefix(struct cw_err *e, const char *prefix, char sep);

/* True when e holds an error (issue != NONE). */
static inline int cw_err_is_set(const struct cw_err *e)
{
    return e->issue != CW_ISSUE_NONE;
}

/* The FHIR code for an issue type ("invalid", "too-costly", ...). */
const char *cw_issue_code(enum cw_issue issue);

/* The FHIR code for a severity ("fatal", "error", ...). */
const char *cw_severity_code(enum cw_severity sev);

/*
 * The HTTP status an error should be answered with: e->http_status when set,
 * otherwise derived from the issue type (FHIR R4 http.html, "HTTP Status
 * Codes"): structure/invalid/value/required 400, invariant/business-rule 422,
 * login/security 401, forbidden 403, not-found 404, deleted 410,
 * conflict/duplicate 409, multiple-matches 412, too-long/too-costly 413,
 * throttled 429, timeout 504, exception/transient 500; anything else 400.
 */
int cw_err_http_status(const struct cw_err *e);

/* The HL7 v2 error code for an error: e->v2_code or 207 (internal) / 102. */
enum cw_v2_error cw_err_v2_code(const struct cw_err *e);

/* Human text for a table 0357 code ("Required field missing"). */
const char *cw_v2_error_text(enum cw_v2_error code);

#endif
