#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int testutil_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

_Noreturn void testutil_child_exit(int code)
{
	char arg[16];
	snprintf(arg, sizeof(arg), "%d", code);
	execl("/bin/sh", "sh", "-c", "exit \"$1\"", "sh", arg, (char *)NULL);
	_exit(code);
}
