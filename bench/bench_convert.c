/*
 * bench_convert.c — HL7 v2 -> FHIR conversion throughput (src/convert).
 *
 *   bench_convert hl7v2-to-fhir-oru --reps R --warmup W [--messages N]
 *   bench_convert hl7v2-to-fhir --reps R --warmup W DIR...
 *
 * hl7v2-to-fhir-oru: N synthetic ORU^R01 messages (default 2000), each with
 * PID, PV1, ORC, OBR and 5-20 OBX (NM with units and reference range, some
 * ST and CWE), made from a fixed seed so every run converts the same bytes.
 * hl7v2-to-fhir: every message under DIR, split like the peers split them
 * (hl7v2_peer_split.h). One item = one message: parse -> cw_convert_v2 ->
 * Bundle JSON text (compact). One arena, reset per message, as a pipeline
 * worker would reuse it. W untimed passes, then R timed passes; "seconds"
 * is the median pass. Single-threaded. Not a peer task (the peers have no
 * v2 -> FHIR converter); the line uses the peers' format. Extras: entries
 * (bundle entries per pass), json_bytes, failed (messages the converter
 * refused), full (messages converted with nothing unmapped).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "hl7v2_peer_split.h"
#include "convert/convert.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void gen_oru(struct peer_msgs *out, size_t n)
{
    static const char *codes[][3] = {
        {"2345-7", "Glucose", "mg/dL"},     {"2951-2", "Sodium", "mmol/L"},
        {"2823-3", "Potassium", "mmol/L"},  {"2075-0", "Chloride", "mmol/L"},
        {"2028-9", "CO2", "mmol/L"},        {"3094-0", "BUN", "mg/dL"},
        {"2160-0", "Creatinine", "mg/dL"},  {"17861-6", "Calcium", "mg/dL"},
        {"2885-2", "Protein", "g/dL"},      {"1751-7", "Albumin", "g/dL"},
        {"1975-2", "Bilirubin", "mg/dL"},   {"6768-6", "ALP", "U/L"},
        {"1742-6", "ALT", "U/L"},           {"1920-8", "AST", "U/L"},
        {"718-7", "Hemoglobin", "g/dL"},    {"4544-3", "Hematocrit", "%"},
        {"6690-2", "WBC", "10*3/uL"},       {"777-3", "Platelets", "10*3/uL"},
        {"789-8", "RBC", "10*6/uL"},        {"787-2", "MCV", "fL"},
    };
    char buf[16384];
    for (size_t i = 0; i < n; i++) {
        int o = snprintf(buf, sizeof buf,
                         "MSH|^~\\&|LAB|ACME^2.16.840.1.113883.19.4.6^ISO|EHR|HOSP|20240102030405-0500||"
                         "ORU^R01^ORU_R01|MSG%06zu|P|2.5.1\r"
                         "PID|1||%06u^^^HOSP^MR||Doe%u^Jane^Q||19%02u0101|F|||%u Main St^^Springfield^IL^62701"
                         "||^PRN^PH^^^217^555%04u\r"
                         "PV1|1|O|CLINIC^%u||||1234^Welby^Marcus||||||||||||V%06zu^^^HOSP^VN\r"
                         "ORC|RE|PL%06zu^EHR|FL%06zu^LAB||CM\r"
                         "OBR|1|PL%06zu^EHR|FL%06zu^LAB|24323-8^Comprehensive metabolic panel^LN|||"
                         "202401020300-0500|||||||||1234^Welby^Marcus||||||20240102040000-0500|||F\r",
                         i, rnd(1000000), rnd(1000), 40 + rnd(60), rnd(9999), rnd(10000), rnd(50), i, i,
                         i, i, i);
        unsigned nobx = 5 + rnd(16);
        for (unsigned k = 0; k < nobx && o < (int)sizeof buf - 512; k++) {
            unsigned c = rnd(20), kind = rnd(10);
            if (kind < 8)
                o += snprintf(buf + o, sizeof buf - (size_t)o,
                              "OBX|%u|NM|%s^%s^LN||%u.%u|%s^^UCUM|10-100|%s|||F|||202401020300-0500\r", k + 1,
                              codes[c][0], codes[c][1], rnd(200), rnd(10), codes[c][2], rnd(4) ? "N" : "H");
            else if (kind == 8)
                o += snprintf(buf + o, sizeof buf - (size_t)o,
                              "OBX|%u|ST|%s^%s^LN||Specimen slightly hemolyzed||||||F\r", k + 1, codes[c][0],
                              codes[c][1]);
            else
                o += snprintf(buf + o, sizeof buf - (size_t)o,
                              "OBX|%u|CWE|%s^%s^LN||260385009^Negative^SCT||||||F\r", k + 1, codes[c][0],
                              codes[c][1]);
        }
        peer_push(out, "synthetic", buf, (size_t)o - 1); /* no trailing \r, as the peers join */
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_convert hl7v2-to-fhir-oru --reps R --warmup W [--messages N]\n"
                    "       bench_convert hl7v2-to-fhir --reps R --warmup W DIR...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    const char *task = argv[1];
    bool oru = strcmp(task, "hl7v2-to-fhir-oru") == 0;
    if (!oru && strcmp(task, "hl7v2-to-fhir") != 0) return usage();
    int reps = 10, warmup = 2;
    long long nmsg = 2000, v;
    struct peer_msgs msgs = {0};
    size_t ndirs = 0;
    double t0 = cw_bench_now();
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = cw_slice_to_i64(cw_slice_cstr(argv[++i]), &v) == 0 && v > 0 && v < 100000 ? (int)v : -1;
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
            warmup = cw_slice_to_i64(cw_slice_cstr(argv[++i]), &v) == 0 && v >= 0 && v < 100000 ? (int)v : -1;
        else if (!strcmp(argv[i], "--messages") && i + 1 < argc)
            nmsg = cw_slice_to_i64(cw_slice_cstr(argv[++i]), &v) == 0 && v > 0 && v < 10000000 ? v : -1;
        else if (!oru) {
            if (peer_load(&msgs, argv[i]) < 0) fprintf(stderr, "bench_convert: cannot read %s\n", argv[i]);
            ndirs++;
        } else
            return usage();
    }
    if (oru) gen_oru(&msgs, nmsg > 0 ? (size_t)nmsg : 0);
    if (reps < 1 || warmup < 0 || msgs.n == 0 || (!oru && !ndirs)) return usage();
    double setup = cw_bench_now() - t0;
    size_t bytes = 0;
    for (size_t i = 0; i < msgs.n; i++) bytes += msgs.v[i].len;

    struct cw_arena *a = cw_arena_new(0);
    struct cw_buf out;
    cw_buf_init(&out, 0);
    double *times = calloc((size_t)reps, sizeof *times);
    if (!a || !times) return 1;
    size_t errors = 0, failed = 0, full = 0, entries = 0, json_bytes = 0;
    for (int pass = 0; pass < warmup + reps; pass++) {
        errors = failed = full = entries = json_bytes = 0;
        double s = cw_bench_now();
        for (size_t i = 0; i < msgs.n; i++) {
            cw_arena_reset(a);
            struct cw_hl7v2_msg *m = NULL;
            struct cw_convert_result r;
            struct cw_err err;
            if (cw_hl7v2_parse(a, (cw_slice){msgs.v[i].data, msgs.v[i].len}, NULL, &m, &err) < 0) {
                errors++;
                continue;
            }
            if (cw_convert_v2(a, m, NULL, &r, &err) < 0) {
                failed++;
                continue;
            }
            cw_buf_reset(&out);
            if (cw_json_write(&out, r.bundle, 0) < 0) {
                errors++;
                continue;
            }
            entries += r.nresources;
            json_bytes += out.len;
            full += cw_convert_report_full(&r.report);
        }
        double dt = cw_bench_now() - s;
        if (pass >= warmup) times[pass - warmup] = dt;
        fprintf(stderr, "bench_convert: %s pass %d: %.4fs\n", task, pass + 1, dt);
    }
    double tmin = times[0];
    for (int i = 1; i < reps; i++)
        if (times[i] < tmin) tmin = times[i];
    double med = cw_bench_median(times, reps);
    char extra[512];
    snprintf(extra, sizeof extra,
             "\"reps\":%d,\"warmup\":%d,\"seconds_min\":%.6f,\"setup_s\":%.3f,\"entries\":%zu,"
             "\"json_bytes\":%zu,\"failed\":%zu,\"full\":%zu",
             reps, warmup, tmin, setup, entries, json_bytes, failed, full);
    cw_bench_report(task, "c", msgs.n, bytes, med, errors, extra);
    free(times);
    cw_buf_release(&out);
    cw_arena_destroy(a);
    peer_free(&msgs);
    return 0;
}
