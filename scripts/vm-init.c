// SPDX-License-Identifier: GPL-2.0
/*
 * /init of a test VM without busybox (the s390x profile of scripts/vm.sh,
 * where Debian has no static s390x busybox). Built static by vm.sh with the
 * target's cross compiler; does what scripts/vm-init.sh does:
 *
 * Runs the entries of /etc/vm-tests, one a line:
 *   NAME TIMEOUT_SECONDS COMMAND [ARGS...]
 * with stdin from /dev/null and stdout/stderr on the console, framing each
 * program's output with the markers the host parses:
 *   @@@ START, then @@@ BEGIN NAME / @@@ END NAME rc=N per entry, @@@ DONE,
 * and powers off. A program still running after its timeout is killed with
 * its whole process group and ends with rc=124, as timeout(1) reports it; one
 * killed by a signal ends with rc=128+SIG. COMMAND is a path or a name looked
 * up in /tests, /bin and /sbin; there is no shell, so no shell syntax.
 *
 * With shadow.shell on the kernel command line (or an empty list) it reads
 * command lines from the console instead and runs each one (no timeout);
 * 'exit' or 'poweroff' or end of input powers off.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAX_ARGS 64
#define LINE_MAX_LEN 4096

static volatile pid_t running;
static volatile sig_atomic_t fired;

/* Unbuffered, so markers and program output never interleave wrongly. */
static void say(const char *fmt, ...)
{
	char buf[LINE_MAX_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		memmove(buf, buf + w, n - w);
		n -= w;
	}
}

static void try_mount(const char *src, const char *dir, const char *type,
		      const char *opts)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, 0, opts) && errno != EBUSY)
		say("init: mount %s on %s: %s\n", type, dir, strerror(errno));
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0)
		say("init: write %s: %s\n", path, strerror(errno));
	close(fd);
}

static void setup(void)
{
	int fd;

	try_mount("proc", "/proc", "proc", NULL);
	try_mount("sys", "/sys", "sysfs", NULL);
	try_mount("dev", "/dev", "devtmpfs", NULL);
	try_mount("debugfs", "/sys/kernel/debug", "debugfs", NULL);
	try_mount("tmp", "/tmp", "tmpfs", NULL);
	mkdir("/dev/hugepages", 0755);
	mount("none", "/dev/hugepages", "hugetlbfs", 0, NULL);
	write_file("/proc/sys/vm/nr_hugepages", "64\n");

	/* The kernel gives init the console only if /dev/console existed. */
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0) {
		fd = open("/dev/console", O_RDWR);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			if (fd > STDERR_FILENO)
				close(fd);
		}
	}
	setenv("PATH", "/bin:/sbin:/usr/bin:/tests", 1);
	setenv("HOME", "/tmp", 1);
	if (chdir("/tmp"))
		say("init: chdir /tmp: %s\n", strerror(errno));
}

static void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* Not reached; a returning init would panic the kernel. */
	for (;;)
		pause();
}

/* Split LINE in place on blanks; returns the number of words. */
static int split(char *line, char **argv, int max)
{
	int n = 0;
	char *p = line;

	while (*p && n < max - 1) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			*p++ = '\0';
		if (!*p)
			break;
		argv[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
	}
	argv[n] = NULL;
	return n;
}

static void exec_cmd(char **argv)
{
	static const char *const dirs[] = { "/tests", "/bin", "/sbin" };
	char path[LINE_MAX_LEN];
	unsigned int i;

	if (strchr(argv[0], '/')) {
		execv(argv[0], argv);
	} else {
		for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dirs[i], argv[0]);
			if (access(path, X_OK) == 0)
				execv(path, argv);
		}
		errno = ENOENT;
	}
	say("init: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static void on_alarm(int sig)
{
	pid_t pid = running;

	(void)sig;
	fired = 1;
	if (pid > 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
}

/*
 * Run ARGV in its own process group, stdin from /dev/null unless
 * KEEP_STDIN; kill the group after TMO seconds (0: no limit). Returns the
 * exit status as a shell reports it.
 */
static int run(char **argv, unsigned int tmo, int keep_stdin)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	int status, fd, timed_out;
	pid_t pid, w;

	sigaction(SIGALRM, &sa, NULL);
	pid = fork();
	if (pid < 0) {
		say("init: fork: %s\n", strerror(errno));
		return 126;
	}
	if (pid == 0) {
		setpgid(0, 0);
		sa.sa_handler = SIG_DFL;
		sigaction(SIGALRM, &sa, NULL);
		if (!keep_stdin) {
			fd = open("/dev/null", O_RDONLY);
			if (fd >= 0) {
				dup2(fd, STDIN_FILENO);
				close(fd);
			}
		}
		dup2(STDOUT_FILENO, STDERR_FILENO);
		exec_cmd(argv);
	}
	setpgid(pid, pid);
	fired = 0;
	running = pid;
	if (tmo)
		alarm(tmo);
	for (;;) {
		w = waitpid(pid, &status, 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			status = 126 << 8;
			break;
		}
	}
	alarm(0);
	running = 0;
	timed_out = fired;
	/* Whatever the program left behind in its group goes too. */
	kill(-pid, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (timed_out)
		return 124;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 126;
}

static int want_shell(void)
{
	char buf[LINE_MAX_LEN] = "";
	ssize_t n;
	int fd;

	fd = open("/proc/cmdline", O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0)
		buf[n] = '\0';
	return strstr(buf, "shadow.shell") != NULL;
}

static void shell(void)
{
	char line[LINE_MAX_LEN], *argv[MAX_ARGS];
	ssize_t n;
	int rc = 0;

	say("shadow test VM (no shell): type a program and its arguments, "
	    "programs in /tests; 'poweroff' to leave\n");
	for (;;) {
		say("[%d]# ", rc);
		n = read(STDIN_FILENO, line, sizeof(line) - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		line[n] = '\0';
		if (!split(line, argv, MAX_ARGS))
			continue;
		if (!strcmp(argv[0], "exit") || !strcmp(argv[0], "poweroff"))
			break;
		rc = run(argv, 0, 1);
	}
}

int main(void)
{
	char line[LINE_MAX_LEN], *argv[MAX_ARGS];
	unsigned long tmo;
	struct stat st;
	char *end;
	FILE *list;
	int n;

	setup();
	if (want_shell() || stat("/etc/vm-tests", &st) || st.st_size == 0) {
		shell();
		power_off();
	}
	list = fopen("/etc/vm-tests", "r");
	if (!list) {
		say("init: /etc/vm-tests: %s\n", strerror(errno));
		power_off();
	}
	say("@@@ START\n");
	while (fgets(line, sizeof(line), list)) {
		n = split(line, argv, MAX_ARGS);
		if (n == 0 || argv[0][0] == '#')
			continue;
		say("@@@ BEGIN %s\n", argv[0]);
		tmo = n >= 2 ? strtoul(argv[1], &end, 10) : 0;
		if (n < 3 || *end || tmo == 0) {
			say("init: bad entry '%s': want NAME TIMEOUT COMMAND\n",
			    argv[0]);
			say("@@@ END %s rc=2\n", argv[0]);
			continue;
		}
		say("@@@ END %s rc=%d\n", argv[0], run(argv + 2, tmo, 0));
	}
	fclose(list);
	say("@@@ DONE\n");
	power_off();
	return 0;
}
