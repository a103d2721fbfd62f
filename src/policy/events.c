/* Stream events: see events.h. */
#include "policy/events.h"

#include <stddef.h>

static struct {
	stream_hook_fn	 fn;
	void		*arg;
} hooks[STREAM_HOOKS_MAX];
static int nhooks;
static struct {
	auth_hook_fn	 fn;
	void		*arg;
} ahooks[STREAM_HOOKS_MAX];
static int nahooks;
static struct {
	admin_hook_fn	 fn;
	void		*arg;
} dhooks[STREAM_HOOKS_MAX];
static int ndhooks;

int
stream_hook_add(stream_hook_fn fn, void *arg)
{
	if (fn == NULL || nhooks >= STREAM_HOOKS_MAX)
		return -1;
	hooks[nhooks].fn = fn;
	hooks[nhooks].arg = arg;
	nhooks++;
	return 0;
}

void
stream_hooks_clear(void)
{
	nhooks = 0;
	nahooks = 0;
	ndhooks = 0;
}

void
stream_emit(const struct stream_event *ev)
{
	int i;

	for (i = 0; i < nhooks; i++)
		hooks[i].fn(ev, hooks[i].arg);
}

const char *
stream_phase_str(enum stream_phase p)
{
	switch (p) {
	case STREAM_START:
		return "start";
	case STREAM_END:
		return "end";
	case STREAM_REFUSED:
		return "refused";
	}
	return "?";
}

int
auth_hook_add(auth_hook_fn fn, void *arg)
{
	if (fn == NULL || nahooks >= STREAM_HOOKS_MAX)
		return -1;
	ahooks[nahooks].fn = fn;
	ahooks[nahooks].arg = arg;
	nahooks++;
	return 0;
}

void
auth_emit(const struct auth_event *ev)
{
	int i;

	for (i = 0; i < nahooks; i++)
		ahooks[i].fn(ev, ahooks[i].arg);
}

int
admin_hook_add(admin_hook_fn fn, void *arg)
{
	if (fn == NULL || ndhooks >= STREAM_HOOKS_MAX)
		return -1;
	dhooks[ndhooks].fn = fn;
	dhooks[ndhooks].arg = arg;
	ndhooks++;
	return 0;
}

void
admin_emit(const struct admin_event *ev)
{
	int i;

	for (i = 0; i < ndhooks; i++)
		dhooks[i].fn(ev, dhooks[i].arg);
}
