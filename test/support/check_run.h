/*  check_run — runs a Check suite as a test binary's main does: every test
    in its own fork (Check's default), the summary printed, and the exit
    status ctest reads.
*/
#ifndef MK_CHECK_RUN_H
#define MK_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int
check_run (Suite *suite)
{
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
