/* Error codes shared by every module: 0 is success, errors are negative. */
#ifndef SKS5_CORE_ERR_H
#define SKS5_CORE_ERR_H

enum {
	ERR_OK = 0,
	ERR_NOMEM = -1,		/* allocation failed */
	ERR_INCOMPLETE = -2,	/* parser: need more bytes, nothing consumed */
	ERR_PROTO = -3,		/* parser: malformed input */
	ERR_TOO_LARGE = -4,	/* a bounded buffer or limit would be exceeded */
	ERR_INVAL = -5,		/* bad argument or bad value */
	ERR_IO = -6,		/* system call failed; see errno */
	ERR_NOTFOUND = -7,	/* lookup found nothing */
	ERR_EXISTS = -8,	/* target already exists */
	ERR_DENIED = -9,	/* refused by policy */
	ERR_TIMEOUT = -10,	/* deadline passed */
	ERR_AGAIN = -11,	/* would block; retry later */
};

/* Returns a short static description of an ERR_* code. */
const char	*err_str(int code);

#endif /* SKS5_CORE_ERR_H */
