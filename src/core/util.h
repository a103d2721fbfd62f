/* Small helpers: checked allocation, secret wiping, constant-time compare. */
#ifndef SKS5_CORE_UTIL_H
#define SKS5_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Allocation that aborts on out-of-memory (the only fatal condition). */
void	*xmalloc(size_t n);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t n);
void	*xreallocarray(void *p, size_t n, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
/* asprintf that aborts on failure; returns a heap string. */
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Overwrites memory in a way the compiler cannot remove. */
void	 util_wipe(void *p, size_t n);
/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t util_mono_ms(void);
/* Wipes and frees a NUL-terminated heap string; NULL is a no-op. */
void	 util_free_secret(char *s);
/* Constant-time comparison of two byte strings of length n: 0 if equal. */
int	 util_ct_memcmp(const void *a, const void *b, size_t n);

#endif /* SKS5_CORE_UTIL_H */
