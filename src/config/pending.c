/*
 * Keys the server does not act on yet. Setting one (in the file, the
 * environment or with --set) is an error naming the key and the issue
 * that will implement it, so nobody believes an inert key is in force.
 * Edit the table as features land.
 */
#include "config/config_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

/* Management-plane keys with no issue filed yet. */
#define MGMT	(-1)

/*
 * Dotted path prefixes (array indexes omitted) and their issue. An entry
 * matches the path itself and every key below it; a trailing '*' matches
 * any continuation of the last component. The longest match wins.
 */
static const struct {
	const char	*prefix;
	int		 issue;
} pending[] = {
	/* Management plane: no issue filed yet. [api], [metrics], the
	 * audit log keys of [logging], [[webhooks]] and [alerting] work
	 * (src/admin, src/obs). */
	{ "connection_pool", MGMT },
};

/* Length of the match of prefix against path, or 0 when it does not. */
static size_t
match(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (n > 0 && prefix[n - 1] == '*') {
		return strncmp(prefix, path, n - 1) == 0 ? n - 1 : 0;
	}
	if (strncmp(prefix, path, n) != 0) {
		return 0;
	}
	return path[n] == '\0' || path[n] == '.' ? n : 0;
}

int
cfg_key_pending(const char *path)
{
	char *up = cfg__unindex(path);
	size_t i, m, best = 0;
	int issue = 0;

	for (i = 0; i < sizeof(pending) / sizeof(pending[0]); i++) {
		m = match(pending[i].prefix, up);
		if (m > best) {
			best = m;
			issue = pending[i].issue;
		}
	}
	free(up);
	return issue;
}

/*
 * Reports ipath as an error when it names a pending key (unless the load
 * allows them). Returns 0, or ERR_INVAL when reported.
 */
int
cfg__pending_check(struct cfg__ld *ld, const char *ipath, const char *where)
{
	int issue;

	if (ld->allow_pending || (issue = cfg_key_pending(ipath)) == 0) {
		return 0;
	}
	if (issue > 0) {
		cfg_diag_error(ld->d, "%s: '%s' is not implemented yet (issue "
		    "#%d); remove it to continue", where, ipath, issue);
	} else {
		cfg_diag_error(ld->d, "%s: '%s' is not implemented yet "
		    "(management plane); remove it to continue", where,
		    ipath);
	}
	return ERR_INVAL;
}
