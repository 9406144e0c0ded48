/*
 * bench_hl7v2.c — the peers' "hl7v2-parse" task for Causeway's HL7 v2 parser.
 *
 *   bench_hl7v2 hl7v2-parse --reps R --warmup W DIR...
 *   bench_hl7v2 hl7v2-tables      (start-up cost of the definition tables)
 *   bench_hl7v2 hl7v2-validate --reps R --warmup W DIR...
 *                                 (ours, not a peer task: parse + validate + ACK)
 *
 * Contract: ../shared/bench/peers/README.md ("Plugging in the C
 * implementation", "Input rules"). Inputs are split exactly like the peers
 * split them (hl7v2_peer_split.h) and read before timing. One item = one
 * message: a full parse (the whole tree down to subcomponents, not lazy),
 * then reading MSH-9.1, MSH-10, PID-3.1, PID-5.1 and every OBX-5, decoded
 * (escapes and character set), whose lengths are summed into "check" as the
 * peers do. W untimed passes, then R timed passes; "seconds" is the median
 * pass. Single-threaded. One arena, reset per message (as a server would
 * reuse one per connection). Prints one JSON line on stdout; progress on
 * stderr.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "hl7v2_peer_split.h"
#include "hl7v2/hl7v2.h"

static size_t value_len(struct cw_arena *a, const struct cw_hl7v2_msg *m,
                        const struct cw_hl7v2_path *p)
{
    const struct cw_hl7v2_node *n = cw_hl7v2_lookup(m, p);
    if (!n) return 0;
    if (n->n) return n->len; /* composite: encoded text, as cw_hl7v2_get returns it */
    cw_slice v;
    if (cw_hl7v2_decode(a, m, cw_hl7v2_text(n), &v, NULL) < 0) return 0;
    return v.len;
}

struct paths {
    struct cw_hl7v2_path msh9_1, msh10, pid3_1, pid5_1;
};

/* hl7v2-validate: parse, validate, build and write the ACK. Returns the issue count. */
static long work_validate(struct cw_arena *a, const struct peer_msg *msg)
{
    struct cw_hl7v2_msg *m = NULL, *ack = NULL;
    cw_slice in = {msg->data, msg->len};
    struct cw_hl7v2_issues is = {0};
    if (cw_hl7v2_parse(a, in, NULL, &m, NULL) < 0) {
        struct cw_err e;
        cw_err_clear(&e);
        cw_err_set(&e, CW_ISSUE_STRUCTURE, "unparseable");
        if (cw_hl7v2_ack_build_raw(a, in, NULL, &e, 1, &ack, NULL) < 0) return -1;
    } else {
        if (cw_hl7v2_validate(a, m, NULL, &is, NULL) < 0) return -1;
        struct cw_hl7v2_ack_opts o = {.outcome = is.errors ? CW_HL7V2_ERROR : CW_HL7V2_ACCEPT};
        if (cw_hl7v2_ack_build(a, m, &o, is.items, is.n, &ack, NULL) < 0) return -1;
    }
    struct cw_buf b;
    cw_buf_init(&b, 0);
    int r = cw_hl7v2_write(ack, CW_HL7V2_WRITE_CR, &b, NULL);
    cw_buf_release(&b);
    return r < 0 ? -1 : (long)is.n;
}

/* One item: parse and read. Returns -1 when the message does not parse. */
static long work(struct cw_arena *a, const struct peer_msg *msg, const struct paths *p)
{
    struct cw_hl7v2_msg *m = NULL;
    if (cw_hl7v2_parse(a, (cw_slice){msg->data, msg->len}, NULL, &m, NULL) < 0) return -1;
    long n = (long)value_len(a, m, &p->msh9_1) + (long)value_len(a, m, &p->msh10);
    n += (long)value_len(a, m, &p->pid3_1) + (long)value_len(a, m, &p->pid5_1);
    for (uint32_t i = 0; i < m->nsegs; i++) {
        const struct cw_hl7v2_node *s = &m->segs[i];
        const struct cw_hl7v2_node *id = &s->kids[0];
        if (id->len != 3 || memcmp(id->ptr, "OBX", 3) != 0) continue;
        const struct cw_hl7v2_node *f = cw_hl7v2_field(s, 5);
        if (!f) continue;
        if (f->n) {
            n += (long)f->len;
        } else {
            cw_slice v;
            if (cw_hl7v2_decode(a, m, cw_hl7v2_text(f), &v, NULL) == 0) n += (long)v.len;
        }
    }
    return n;
}

/*
 * Start-up cost of the generated definition tables: they are constant data,
 * so the only cost is the first touch of their pages. Times the first
 * validation in this (fresh) process against the following ones.
 */
static int tables_task(void)
{
    static const char msg[] = "MSH|^~\\&|S|F|R|F|20240101120000||ORU^R01^ORU_R01|1|P|2.5.1\r"
                              "PID|1||123^^^H^MR||Doe^John||19800101|M\r"
                              "OBR|1||A|1234-5^Glucose^LN\r"
                              "OBX|1|NM|1234-5^Glucose^LN||5.5|mmol/L|3.5-6.1|N|||F\r";
    struct cw_arena *a = cw_arena_new(0);
    struct cw_hl7v2_msg *m = NULL;
    if (!a || cw_hl7v2_parse(a, CW_LIT(msg), NULL, &m, NULL) < 0) return 2;
    struct cw_hl7v2_issues is;
    double t0 = cw_bench_now();
    if (cw_hl7v2_validate(a, m, NULL, &is, NULL) < 0) return 2;
    double first = cw_bench_now() - t0;
    int n = 2000;
    t0 = cw_bench_now();
    for (int i = 0; i < n; i++)
        if (cw_hl7v2_validate(a, m, NULL, &is, NULL) < 0) return 2;
    double warm = (cw_bench_now() - t0) / n;
    struct cw_hl7v2_dict_stats st;
    cw_hl7v2_dict_stats(&st);
    printf("{\"task\":\"hl7v2-tables\",\"peer\":\"c\",\"table_bytes\":%zu,\"versions\":%u,"
           "\"segments\":%u,\"field_rows\":%u,\"structures\":%u,\"structure_nodes\":%u,"
           "\"tables\":%u,\"table_values\":%u,\"load_s\":0,\"first_validate_s\":%.6f,"
           "\"validate_s\":%.7f,\"issues\":%u}\n",
           st.bytes, st.versions, st.segments, st.fields, st.structures, st.nodes, st.tables,
           st.table_values, first, warm, is.n);
    cw_arena_destroy(a);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "hl7v2-tables") == 0) return tables_task();
    if (argc < 2) {
        fprintf(stderr, "usage: bench_hl7v2 hl7v2-parse --reps R --warmup W DIR...\n");
        return 2;
    }
    const char *task = argv[1];
    int reps = 10, warmup = 2;
    struct peer_msgs msgs = {0};
    int ndirs = 0;
    for (int i = 2; i < argc; i++) {
        long long v;
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = cw_slice_to_i64(cw_slice_cstr(argv[++i]), &v) == 0 && v > 0 && v < 100000
                       ? (int)v
                       : -1;
        } else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) {
            warmup = cw_slice_to_i64(cw_slice_cstr(argv[++i]), &v) == 0 && v >= 0 && v < 100000
                         ? (int)v
                         : -1;
        } else if ((!strcmp(argv[i], "--exprs") || !strcmp(argv[i], "--queries")) && i + 1 < argc)
            i++;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "bench_hl7v2: unknown option %s\n", argv[i]);
            return 2;
        } else {
            if (peer_load(&msgs, argv[i]) < 0)
                fprintf(stderr, "warning: cannot read %s\n", argv[i]);
            ndirs++;
        }
    }
    bool validate = strcmp(task, "hl7v2-validate") == 0;
    if (strcmp(task, "hl7v2-parse") != 0 && !validate) {
        fprintf(stderr, "bench_hl7v2: only the hl7v2-parse task is implemented here, not %s\n",
                task);
        return 2;
    }
    if (reps < 1 || warmup < 0 || ndirs == 0 || msgs.n == 0) {
        fprintf(stderr, "bench_hl7v2: need --reps >= 1 and folders with messages\n");
        return 2;
    }
    double t0 = cw_bench_now();
    struct paths p;
    if (cw_hl7v2_path_parse(CW_LIT("MSH-9.1"), &p.msh9_1, NULL) < 0 ||
        cw_hl7v2_path_parse(CW_LIT("MSH-10"), &p.msh10, NULL) < 0 ||
        cw_hl7v2_path_parse(CW_LIT("PID-3.1"), &p.pid3_1, NULL) < 0 ||
        cw_hl7v2_path_parse(CW_LIT("PID-5.1"), &p.pid5_1, NULL) < 0)
        return 2;
    struct cw_arena *a = cw_arena_new(0);
    if (!a) return 2;
    double setup = cw_bench_now() - t0;
    size_t bytes = 0;
    for (size_t i = 0; i < msgs.n; i++) bytes += msgs.v[i].len;
    fprintf(stderr, "bench_hl7v2: %zu messages, %zu bytes from %zu files\n", msgs.n, bytes,
            msgs.nfiles);

    double *times = calloc((size_t)reps, sizeof *times);
    size_t errors = 0;
    long check = 0;
    for (int pass = 0; pass < warmup + reps; pass++) {
        size_t e = 0;
        long c = 0;
        double s = cw_bench_now();
        for (size_t i = 0; i < msgs.n; i++) {
            cw_arena_reset(a);
            long r = validate ? work_validate(a, &msgs.v[i]) : work(a, &msgs.v[i], &p);
            if (r < 0)
                e++;
            else
                c += r;
        }
        double dt = cw_bench_now() - s;
        if (pass >= warmup) times[pass - warmup] = dt;
        errors = e;
        check = c;
    }
    double tmin = times[0];
    for (int i = 1; i < reps; i++)
        if (times[i] < tmin) tmin = times[i];
    double med = cw_bench_median(times, reps);
    char extra[256];
    snprintf(extra, sizeof extra,
             "\"reps\":%d,\"warmup\":%d,\"seconds_min\":%.6f,\"check\":%ld,\"setup_s\":%.3f,"
             "\"parse\":\"full\"",
             reps, warmup, tmin, check, setup);
    cw_bench_report(task, "c", msgs.n, bytes, med, errors, extra);
    free(times);
    cw_arena_destroy(a);
    peer_free(&msgs);
    return 0;
}
