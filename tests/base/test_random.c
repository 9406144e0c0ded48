/*
 * test_random.c — cw_random_bytes fills every byte even when the kernel
 * returns short reads (getrandom gives at most 32 MiB - 1 per call) and
 * when a signal interrupts the call (EINTR / partial counts).
 */
#include "testutil.h"

#include "base/random.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* No 4 KiB block of random output is all zeros (probability 2^-32768). */
static void check_filled(const unsigned char *p, size_t n)
{
    static const unsigned char zero[4096];
    for (size_t off = 0; off + sizeof zero <= n; off += sizeof zero)
        if (memcmp(p + off, zero, sizeof zero) == 0) fail_msg("block at %zu left unfilled", off);
}

static void test_large_and_interrupted(void **state)
{
    (void)state;
    size_t n = (size_t)80 << 20; /* > 32 MiB: needs at least three calls */
    unsigned char *buf = calloc(1, n);
    assert_non_null(buf);
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_random_bytes(buf, n, &err), 0);
    check_filled(buf, n);

    /* Interrupt it with a fast timer and no SA_RESTART. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval it = {.it_interval = {0, 200}, .it_value = {0, 200}};
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
    for (int round = 0; round < 3; round++) {
        memset(buf, 0, n);
        assert_int_equal(cw_random_bytes(buf, n, &err), 0);
        check_filled(buf, n);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_DFL);
    printf("random: 4 x %zu MiB filled, %d signals delivered during the reads\n", n >> 20, (int)alarms);
    assert_true(alarms > 0);
    free(buf);

    /* Small and empty requests. */
    uint64_t a = 0, b = 0;
    assert_int_equal(cw_random_u64(&a, NULL), 0);
    assert_int_equal(cw_random_u64(&b, NULL), 0);
    assert_true(a != b);
    assert_int_equal(cw_random_bytes(NULL, 0, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_and_interrupted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
