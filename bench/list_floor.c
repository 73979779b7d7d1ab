/* bench/list_floor.c - the system calls a warm `rover list` cannot do
 * without, and nothing else: read the row cache (STORE/.list-rows) whole,
 * read the entries of STORE/tasks, fstatat each task's description.json
 * (the check that its cached row is still right) and write the cache's
 * bytes to stdout.  No parsing, no rendering, libc only.  bench/startup.sh
 * builds it static and dynamic, so rover's start-up is shown against what
 * these calls alone cost a process of either kind; it asserts nothing.
 *
 *     list_floor STORE */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char cache[1 << 20];

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: list_floor STORE\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/.list-rows", argv[1]);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = fd >= 0 ? read(fd, cache, sizeof(cache)) : -1;
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/tasks", argv[1]);
	int tasks = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = tasks >= 0 ? fdopendir(dup(tasks)) : NULL;
	if (!d || len < 0) {
		fprintf(stderr, "list_floor: no store with a row cache at %s\n", argv[1]);
		return 1;
	}
	struct dirent *e;
	struct stat st;
	while ((e = readdir(d)))
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
			char rel[300];
			snprintf(rel, sizeof(rel), "%s/description.json", e->d_name);
			(void)fstatat(tasks, rel, &st, AT_SYMLINK_NOFOLLOW);
		}
	closedir(d);
	close(tasks);
	return write(STDOUT_FILENO, cache, (size_t)len) == len ? 0 : 1;
}
