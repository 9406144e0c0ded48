/*
 * test_vec.c — typed vector on the heap and in an arena: push/add/append,
 * growth keeps contents, the element maximum, arena ceilings, release.
 */
#include "testutil.h"

#include "base/arena.h"
#include "base/vec.h"

#include <string.h>

typedef CW_VEC(int) int_vec;
typedef CW_VEC(cw_slice) slice_vec;

struct pair {
    long a;
    char b[24];
};
typedef CW_VEC(struct pair) pair_vec;

static void run_ints(struct cw_arena *arena)
{
    int_vec v;
    cw_vec_init(&v, arena, 0);
    assert_int_equal(v.len, 0);
    for (int i = 0; i < 100000; i++) assert_int_equal(cw_vec_push(&v, i * 3), 0);
    assert_int_equal(v.len, 100000);
    assert_true(v.cap >= v.len);
    for (int i = 0; i < 100000; i++) assert_int_equal(v.ptr[i], i * 3);
    assert_int_equal(cw_vec_last(&v), 299997);
    assert_int_equal(cw_vec_pop(&v), 299997);
    assert_int_equal(v.len, 99999);
    static const int more[] = {1, 2, 3};
    assert_int_equal(cw_vec_append(&v, more, 3), 0);
    assert_int_equal(cw_vec_append(&v, more, 0), 0);
    assert_int_equal(v.len, 100002);
    assert_int_equal(v.ptr[100001], 3);
    size_t cap = v.cap;
    cw_vec_clear(&v);
    assert_int_equal(v.len, 0);
    assert_int_equal(v.cap, cap);
    cw_vec_release(&v);
    assert_null(v.ptr);
    assert_int_equal(v.cap, 0);
    /* Usable again after release. */
    assert_int_equal(cw_vec_push(&v, 7), 0);
    assert_int_equal(v.ptr[0], 7);
    cw_vec_release(&v);
}

static void test_heap_and_arena(void **state)
{
    (void)state;
    run_ints(NULL);
    struct cw_arena *a = cw_arena_new(0);
    run_ints(a);
    cw_arena_destroy(a);
}

static void test_structs_and_slices(void **state)
{
    (void)state;
    pair_vec v;
    cw_vec_init(&v, NULL, 0);
    for (int i = 0; i < 1000; i++) {
        struct pair *p = cw_vec_add(&v);
        assert_non_null(p);
        assert_int_equal(p->a, 0); /* zero-filled */
        assert_int_equal(p->b[0], 0);
        p->a = i;
        memcpy(p->b, "x", 2);
    }
    for (int i = 0; i < 1000; i++) assert_int_equal(v.ptr[i].a, i);
    cw_vec_release(&v);

    struct cw_arena *a = cw_arena_new(0);
    slice_vec s;
    cw_vec_init(&s, a, 0);
    assert_int_equal(cw_vec_push(&s, CW_LIT("PID")), 0);
    assert_int_equal(cw_vec_push(&s, CW_LIT("OBX")), 0);
    assert_slice_equal(s.ptr[1], "OBX");
    cw_vec_release(&s);
    cw_arena_destroy(a);
}

static void test_limits(void **state)
{
    (void)state;
    int_vec v;
    cw_vec_init(&v, NULL, 10);
    for (int i = 0; i < 10; i++) assert_int_equal(cw_vec_push(&v, i), 0);
    assert_int_equal(cw_vec_push(&v, 10), -1);
    assert_int_equal(v.len, 10);
    assert_true(v.cap <= 10);
    assert_null(cw_vec_add(&v));
    static const int two[] = {1, 2};
    assert_int_equal(cw_vec_append(&v, two, 2), -1);
    assert_int_equal(cw_vec_reserve(&v, SIZE_MAX), -1);
    for (int i = 0; i < 10; i++) assert_int_equal(v.ptr[i], i);
    cw_vec_release(&v);

    /* An arena ceiling stops growth cleanly. */
    struct cw_arena *a = cw_arena_new(4096);
    cw_vec_init(&v, a, 0);
    int pushed = 0;
    while (cw_vec_push(&v, pushed) == 0) pushed++;
    assert_true(pushed > 100 && pushed < 1024);
    assert_int_equal(v.len, (size_t)pushed);
    for (int i = 0; i < pushed; i++) assert_int_equal(v.ptr[i], i);
    assert_true(cw_arena_exceeded(a));
    cw_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_and_arena),
        cmocka_unit_test(test_structs_and_slices),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
