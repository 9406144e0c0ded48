/*
 * datetime.h — FHIR R4 date, dateTime, instant and time; HL7 v2 DTM/TS.
 *
 * A parsed value (struct cw_dt) keeps what was written: its precision (year
 * down to fractional seconds of any length), whether a time zone was given,
 * and which form ("Z", "+01:00", "-00:00"). From it you get:
 *   - the range it covers, [low, high) in microseconds since
 *     1970-01-01T00:00:00Z (int64; cw_dt_range), "2024" covering the whole
 *     year and "10:00:00.5" covering 100 ms;
 *   - FHIR search matching on ranges (cw_dt_search_match, R4 search.html
 *     "date" and "prefix");
 *   - FHIRPath comparison that answers "unknown" when the precisions make
 *     the answer unknowable (cw_dt_compare);
 *   - canonical text at the original precision (cw_dt_format), v2 text
 *     (cw_dt_format_v2) and normalization to UTC (cw_dt_to_utc).
 *
 * Grammar (FHIR R4 datatypes.html, regexes of the R4 StructureDefinitions):
 *   date      YYYY[-MM[-DD]]                        no time zone
 *   dateTime  YYYY[-MM[-DD[Thh:mm:ss[.f+](Z|+hh:mm|-hh:mm)]]]
 *             "If hours and minutes are specified, a time zone SHALL be
 *             populated"; seconds are required with a time.
 *   instant   YYYY-MM-DDThh:mm:ss[.f+](Z|+hh:mm|-hh:mm)
 *   time      hh:mm:ss[.f+]                         no time zone
 * with year 0001-9999 (the regex excludes 0000), valid calendar days
 * ("Dates SHALL be valid dates": no Feb 30, Feb 29 only in leap years),
 * hour 00-23, and offsets up to +/-14:00. The R4 regexes admit second 60;
 * we reject leap seconds because nothing downstream (POSIX time, SQL, the
 * ranges below) can represent them — this is deliberate and stricter than
 * the regex.
 *
 * HL7 v2 (v2.5+ chapter 2A, DTM; TS = DTM ^ degree-of-precision):
 *   YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]
 *
 * Errors: parsers return -1 and fill cw_err with issue "value", a message
 * that says what is wrong and the 1-based position (also in err->column).
 * The text itself is never echoed: a birth date is patient data.
 *
 * Ownership: struct cw_dt is a plain value (no pointers); nothing here
 * allocates except cw_dt_format_buf, which appends to the caller's buffer.
 * Thread safety: all functions are pure or touch only their arguments.
 */
#ifndef CW_BASE_DATETIME_H
#define CW_BASE_DATETIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"

/* The FHIR primitive a text is parsed as. */
enum cw_dt_type {
    CW_DT_DATE = 1,
    CW_DT_DATETIME,
    CW_DT_INSTANT,
    CW_DT_TIME,
};

/* The finest component present. */
enum cw_dt_prec {
    CW_DT_PREC_YEAR = 1,
    CW_DT_PREC_MONTH,
    CW_DT_PREC_DAY,
    CW_DT_PREC_HOUR,   /* only from v2 or CW_DT_PARTIAL_TIME */
    CW_DT_PREC_MINUTE, /* only from v2 or CW_DT_PARTIAL_TIME */
    CW_DT_PREC_SECOND,
    CW_DT_PREC_FRACTION, /* fractional seconds: see frac_digits */
};

struct cw_dt {
    int16_t year;        /* 1..9999; 0 for a time of day */
    uint8_t month;       /* 1..12; 0 when absent */
    uint8_t day;         /* 1..31; 0 when absent */
    uint8_t hour;        /* 0..23 */
    uint8_t minute;      /* 0..59 */
    uint8_t second;      /* 0..59 */
    uint8_t prec;        /* enum cw_dt_prec */
    uint8_t frac_digits; /* digits written after '.', saturating at 255 */
    bool time_only;      /* a FHIR time (no date part) */
    bool has_tz;         /* a time zone was written (or assumed) */
    char tz_form;        /* 'Z', '+' or '-' as written ("-00:00" keeps '-') */
    int16_t tz_min;      /* offset east of UTC in minutes, -840..840 */
    uint32_t nanos;      /* fractional second, truncated to nanoseconds */
};

/* Parse flags (cw_dt_parse). Strict FHIR is flags == 0. */
#define CW_DT_PARTIAL_TIME 0x1u /* dateTime/time: accept hh or hh:mm without seconds */
#define CW_DT_OPTIONAL_TZ 0x2u  /* dateTime: accept a time without a time zone */
/* Search parameter values and FHIRPath literals need both. */
#define CW_DT_LENIENT (CW_DT_PARTIAL_TIME | CW_DT_OPTIONAL_TZ)

/*
 * Parse s as the FHIR primitive 'type' (flags apply to dateTime and time
 * only; instant is always strict). The whole slice must match: no
 * surrounding whitespace. Fractional seconds may have any number of digits;
 * nanoseconds are kept and frac_digits remembers how many were written.
 * Returns 0, or -1 with err (issue "value", position in err->column).
 */
int cw_dt_parse(cw_slice s, enum cw_dt_type type, unsigned flags, struct cw_dt *out,
                struct cw_err *err);

/* cw_dt_parse_v2 flags. */
#define CW_DT_V2_LONG_FRACTION 0x10u /* accept more than 4 fraction digits */

/*
 * Parse an HL7 v2 DTM (or the first component of a TS): the value ends at
 * the first 'component_sep' when that is non-zero (the TS degree-of-
 * precision component after it is ignored, as v2.5 deprecates it). An hour
 * without minutes is accepted (v2.5 DTM). The same calendar, leap-second,
 * hour-24 and +/-14:00 rules as FHIR apply. Returns 0 or -1 with err.
 */
int cw_dt_parse_v2(cw_slice s, char component_sep, unsigned flags, struct cw_dt *out,
                   struct cw_err *err);

/* True for Gregorian leap years (divisible by 4, except centuries not
 * divisible by 400): 1900 no, 2000 yes, 2024 yes. */
bool cw_dt_is_leap_year(int year);

/* Days in month (1..12) of year; 0 for a month out of range. */
int cw_dt_days_in_month(int year, int month);

/* ---- ranges ------------------------------------------------------------ */

/* Microseconds since 1970-01-01T00:00:00Z. */
typedef int64_t cw_dt_us;

/* Open ends of a Period (a missing start or end). */
#define CW_DT_US_MIN INT64_MIN
#define CW_DT_US_MAX INT64_MAX

/* The half-open interval [low, high) a value covers. */
struct cw_dt_range {
    cw_dt_us low;
    cw_dt_us high;
};

/*
 * The range v covers. A value without a time zone (every date, and times
 * parsed leniently) is placed at default_tz_min minutes east of UTC: FHIR
 * search says to assume the server's local time (R4 search.html#date);
 * pass 0 for UTC. The width follows the precision: a year, a month, a day,
 * an hour, a minute, a second, or 10^-d s for d fraction digits (1 us at
 * most resolution: 7+ digits give a 1 us range around the truncated value).
 * For a time of day (time_only) the range is in microseconds since
 * midnight and no offset applies.
 */
struct cw_dt_range cw_dt_range(const struct cw_dt *v, int default_tz_min);

/* The current time (CLOCK_REALTIME) in microseconds since the epoch. */
cw_dt_us cw_dt_now_us(void);

/*
 * The UTC instant 'us' as a value: precision SECOND when frac_digits is 0,
 * else FRACTION with frac_digits (1..6) digits; time zone "Z". Returns 0, or
 * -1 with err when the instant lies outside years 0001-9999.
 */
int cw_dt_from_unix_us(cw_dt_us us, int frac_digits, struct cw_dt *out, struct cw_err *err);

/* ---- FHIR search (R4 search.html#prefix, #date) ------------------------ */

enum cw_dt_prefix {
    CW_DT_EQ = 0,
    CW_DT_NE,
    CW_DT_GT,
    CW_DT_LT,
    CW_DT_GE,
    CW_DT_LE,
    CW_DT_SA,
    CW_DT_EB,
    CW_DT_AP,
};

/*
 * Strip a search prefix ("ge2024" -> GE, value "2024") from *value. A value
 * without one of the nine prefixes is left alone and gives EQ (the default).
 */
enum cw_dt_prefix cw_dt_prefix_split(cw_slice *value);

/* The two-letter code of a prefix ("eq", "ap", ...). */
const char *cw_dt_prefix_code(enum cw_dt_prefix p);

/*
 * Does a resource value whose range is 'target' match the search value
 * whose range is 'search' under prefix op? Per R4 search.html#date, with
 * S = search and T = target, both half-open:
 *   eq  S fully contains T                 S.low <= T.low && T.high <= S.high
 *   ne  not eq
 *   gt  the range above S overlaps T       T.high > S.high
 *   lt  the range below S overlaps T       T.low < S.low
 *   ge  gt or eq
 *   le  lt or eq
 *   sa  T starts after S ends (no overlap) T.low >= S.high
 *   eb  T ends before S starts             T.high <= S.low
 *   ap  S and T overlap                    T.low < S.high && S.low < T.high
 * For ap the spec recommends widening S by 10% of the gap between now and
 * the value: pass S through cw_dt_range_approx first. Targets from a
 * Period with a missing end use CW_DT_US_MIN / CW_DT_US_MAX.
 */
bool cw_dt_search_match(enum cw_dt_prefix op, struct cw_dt_range search, struct cw_dt_range target);

/* S widened on both sides by 10% of its distance from now_us (0 when now
 * lies inside S), saturating at the open ends. */
struct cw_dt_range cw_dt_range_approx(struct cw_dt_range search, cw_dt_us now_us);

/* ---- FHIRPath comparison ------------------------------------------------- */

enum cw_dt_order {
    CW_DT_LESS = -1,
    CW_DT_SAME = 0,
    CW_DT_GREATER = 1,
    CW_DT_UNKNOWN = 2, /* FHIRPath empty result: {} */
};

/*
 * FHIRPath comparison (FHIRPath N1 "Comparison" and "Equality" for Date,
 * DateTime, Time): components are compared from the year down; the first
 * difference decides; if one value runs out of precision before the other
 * while all shared components are equal, the answer is UNKNOWN. Seconds and
 * their fraction are one precision compared as a decimal (10:00:00 equals
 * 10:00:00.000). Both values are read in one frame, default_tz_min minutes
 * east of UTC (the engine's/server's zone, as for search): a value with a
 * time of day is shifted from its own zone into that frame (a missing zone
 * means it is already there); a date, having no zone, is taken as written.
 * So two dateTimes compare as instants, and 2023-12-31T23:30:00-05:00 is in
 * the year 2024 when the frame is UTC. An hour-precision value shifted by a
 * non-whole-hour offset becomes minute precision. A time of day against a
 * date or dateTime is UNKNOWN. '=' is SAME, '!=' is not SAME
 * (both UNKNOWN-propagating); '~' (equivalence) is SAME, treating UNKNOWN
 * as false.
 */
enum cw_dt_order cw_dt_compare(const struct cw_dt *a, const struct cw_dt *b, int default_tz_min);

/* ---- formatting and normalization ---------------------------------------- */

/* Bytes cw_dt_format and cw_dt_format_v2 may need, NUL included. */
#define CW_DT_TEXT_MAX 40

/* cw_dt_format flags. */
#define CW_DT_FMT_SECONDS 0x1u /* pad hh / hh:mm with zeros to hh:mm:ss (FHIR dateTime) */

/*
 * Write v as FHIR text at its own precision: YYYY, YYYY-MM, YYYY-MM-DD,
 * YYYY-MM-DDThh[:mm[:ss[.f]]] plus the zone as written, or hh:mm:ss[.f]
 * for a time. Up to 9 fraction digits are reproduced (digits beyond the
 * ninth are below nanoseconds and were not kept). A zone on a value with
 * no time (possible from v2) is dropped: FHIR dates have none. Writes a
 * NUL; returns the length, or 0 when cap is too small (CW_DT_TEXT_MAX
 * always suffices).
 */
size_t cw_dt_format(const struct cw_dt *v, unsigned flags, char *dst, size_t cap);

/* Append cw_dt_format's text to b; -1 when b fails (sticky, see buf.h). */
int cw_dt_format_buf(struct cw_buf *b, const struct cw_dt *v, unsigned flags);

/*
 * Write v as an HL7 v2 DTM: YYYY[MM[DD[HH[MM[SS[.ffff]]]]]][+/-ZZZZ]
 * (at most 4 fraction digits, truncated; "Z" becomes +0000). Returns the
 * length or 0 when cap is too small. A time of day gives HHMM[SS[.ffff]]
 * (v2 TM).
 */
size_t cw_dt_format_v2(const struct cw_dt *v, char *dst, size_t cap);

/*
 * Whether formatting v gives valid text of the FHIR type (e.g. a v2 value
 * with minutes but no seconds fits a dateTime only with CW_DT_FMT_SECONDS,
 * and only if it has a zone — see cw_dt_assume_tz).
 */
bool cw_dt_fits(const struct cw_dt *v, enum cw_dt_type type, unsigned fmt_flags);

/* Give a value with a time of day but no zone the offset tz_min (what a
 * converter does with v2 times sent in "local time"). No-op otherwise. */
void cw_dt_assume_tz(struct cw_dt *v, int tz_min);

/*
 * The same instant expressed in UTC ("Z"), precision kept. Values without a
 * time of day (dates, times) are copied unchanged. A value without a zone is
 * taken at default_tz_min. An hour-precision value with a non-whole-hour
 * offset becomes minute precision (the only exact form). Returns 0, or -1
 * with err when the result leaves years 0001-9999.
 */
int cw_dt_to_utc(const struct cw_dt *in, int default_tz_min, struct cw_dt *out, struct cw_err *err);

#endif
