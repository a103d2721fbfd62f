/* Descriptions of the shared error codes. */
#include "core/err.h"

/* Returns a short static description of an ERR_* code. */
const char *
err_str(int code)
{
	switch (code) {
	case ERR_OK:
		return "success";
	case ERR_NOMEM:
		return "out of memory";
	case ERR_INCOMPLETE:
		return "incomplete input";
	case ERR_PROTO:
		return "protocol error";
	case ERR_TOO_LARGE:
		return "too large";
	case ERR_INVAL:
		return "invalid value";
	case ERR_IO:
		return "input/output error";
	case ERR_NOTFOUND:
		return "not found";
	case ERR_EXISTS:
		return "already exists";
	case ERR_DENIED:
		return "denied";
	case ERR_TIMEOUT:
		return "timed out";
	case ERR_AGAIN:
		return "try again";
	default:
		return "unknown error";
	}
}
