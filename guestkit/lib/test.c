/* test.c: the guestkit test protocol over port 0xc8. */
#include "guestkit.h"

unsigned long gk_tests_passed, gk_tests_failed;

void gk_t_report(unsigned kind, const char *file, int line, const char *msg, uint64_t value)
{
	register uint64_t r10 __asm__("r10") = (uint64_t)msg;
	register uint64_t r8 __asm__("r8") = value;
	uint64_t rax = XENOLITH_TEST_OP_REPORT;
	uint64_t rdi = kind, rsi = (uint64_t)file, rdx = (uint64_t)(int64_t)line;
	__asm__ volatile("outl %%eax, %[port]"
			 : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8)
			 : [port] "i"(XENOLITH_PORT_TEST)
			 : "memory");
}

void gk_t_expect(int ok, const char *file, int line, const char *expr)
{
	if (ok) {
		__atomic_add_fetch(&gk_tests_passed, 1, __ATOMIC_RELAXED);
		gk_t_report(XENOLITH_TEST_PASS, file, line, expr, 0);
		return;
	}
	__atomic_add_fetch(&gk_tests_failed, 1, __ATOMIC_RELAXED);
	char msg[XENOLITH_TEST_MAX_MSG];
	snprintf(msg, sizeof msg, "expected %s", expr);
	printf("FAIL %s:%d: %s\n", file, line, msg);
	gk_t_report(XENOLITH_TEST_FAIL, file, line, msg, 0);
}

void gk_t_expect_eq(int64_t a, int64_t b, const char *file, int line, const char *ea,
		    const char *eb)
{
	char msg[XENOLITH_TEST_MAX_MSG];
	if (a == b) {
		__atomic_add_fetch(&gk_tests_passed, 1, __ATOMIC_RELAXED);
		snprintf(msg, sizeof msg, "%s == %s", ea, eb);
		gk_t_report(XENOLITH_TEST_PASS, file, line, msg, 0);
		return;
	}
	__atomic_add_fetch(&gk_tests_failed, 1, __ATOMIC_RELAXED);
	snprintf(msg, sizeof msg, "%s == %s: got %ld (%#lx), want %ld (%#lx)", ea, eb, a,
		 (uint64_t)a, b, (uint64_t)b);
	printf("FAIL %s:%d: %s\n", file, line, msg);
	gk_t_report(XENOLITH_TEST_FAIL, file, line, msg, 0);
}

void gk_t_abort(const char *file, int line, const char *msg)
{
	printf("ABORT %s:%d: %s\n", file, line, msg);
	gk_t_report(XENOLITH_TEST_ABORT, file, line, msg, 0);
	exit(1);
}
