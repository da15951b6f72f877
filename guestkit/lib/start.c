/* start.c: CPL3 entry points, command-line parsing and exit. */
#include "gk_pv.h"
#include "kernel.h"

#define MAX_ARGS 64
#define CMDLINE_MAX 4096

const struct hvm_start_info *gk_start_info;
static char cmdline[CMDLINE_MAX];
static char *argv_buf[MAX_ARGS + 1];

/* is_prog_name reports whether word names this program (name, path/name, name.elf). */
static int is_prog_name(const char *word)
{
	const char *base = word;
	for (const char *p = word; *p; p++)
		if (*p == '/')
			base = p + 1;
	size_t n = strlen(gk_prog_name);
	if (strncmp(base, gk_prog_name, n) != 0)
		return 0;
	return base[n] == '\0' || strcmp(base + n, ".elf") == 0;
}

/*
 * parse_args splits the start_info command line on spaces. argv[0] is the
 * program name; a leading word that already names the program is taken as
 * argv[0] rather than repeated.
 */
static int parse_args(const struct hvm_start_info *si)
{
	int argc = 0;
	argv_buf[argc++] = (char *)gk_prog_name;
	if (!si || si->magic != XEN_HVM_START_MAGIC_VALUE || !si->cmdline_paddr ||
	    si->cmdline_paddr >= (1ull << 32))
		goto done;
	const char *src = (const char *)si->cmdline_paddr;
	size_t len = strnlen(src, CMDLINE_MAX - 1);
	memcpy(cmdline, src, len);
	cmdline[len] = '\0';
	char *p = cmdline;
	int first = 1;
	while (*p && argc < MAX_ARGS) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			*p++ = '\0';
		if (!*p)
			break;
		char *word = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';
		if (first && is_prog_name(word))
			argv_buf[0] = word;
		else
			argv_buf[argc++] = word;
		first = 0;
	}
done:
	argv_buf[argc] = NULL;
	return argc;
}

/* gk_user_start is the first CPL3 code on vCPU 0; it never returns. */
void gk_user_start(uint64_t start_info)
{
	gk_start_info = (const struct hvm_start_info *)start_info;
	int argc = parse_args(gk_start_info);
	T_MARK("main");
	exit(main(argc, argv_buf));
}

void exit(int code)
{
	/* A nonzero status ends the VM as a crash; the status itself reaches
	 * the monitor as the "exit_code" metric and on the console. */
	if (code != 0) {
		printf("exit status %d\n", code);
		T_METRIC("exit_code", (uint64_t)(int64_t)code);
	}
	console_flush(); /* the PV console backend drains asynchronously */
	gk_syscall6(GK_SYS_exit, (uint64_t)(int64_t)code, 0, 0, 0, 0, 0);
	for (;;)
		sys_halt();
}

uint64_t gk_arg_u64(int argc, char **argv, const char *key, uint64_t def)
{
	size_t k = strlen(key);
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') {
			int ok;
			uint64_t v = strtou64(argv[i] + k + 1, &ok);
			if (ok)
				return v;
		}
	}
	return def;
}
