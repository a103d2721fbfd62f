/*
 * Bounded byte buffer. Every buffer has a maximum size set at creation;
 * growing past it fails with ERR_TOO_LARGE. Data is read from the front
 * (the read offset moves) and appended at the back.
 */
#ifndef SKS5_CORE_BUF_H
#define SKS5_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	unsigned char	*data;
	size_t		 off;	/* first unread byte */
	size_t		 len;	/* one past the last byte */
	size_t		 cap;	/* allocated bytes */
	size_t		 max;	/* hard limit on cap */
	int		 secret; /* wipe memory when freed or shrunk */
};

/* Initialises an empty buffer that may grow to max bytes. */
void	buf_init(struct buf *b, size_t max);
/* Like buf_init, but the contents are wiped on reset and cleanup. */
void	buf_init_secret(struct buf *b, size_t max);
/* Releases the memory (wiping it first for a secret buffer). */
void	buf_cleanup(struct buf *b);
/* Drops all contents but keeps the allocation. */
void	buf_reset(struct buf *b);

/* Bytes available to read. */
size_t	buf_len(const struct buf *b);
/* Pointer to the first unread byte; valid until the buffer changes. */
const unsigned char *buf_ptr(const struct buf *b);

/* Appends bytes. 0, ERR_TOO_LARGE or ERR_NOMEM. */
int	buf_put(struct buf *b, const void *p, size_t n);
int	buf_put_u8(struct buf *b, uint8_t v);
int	buf_put_u16(struct buf *b, uint16_t v);	/* network order */
int	buf_put_str(struct buf *b, const char *s);

/* Consumes bytes from the front. 0 or ERR_INCOMPLETE (nothing consumed). */
int	buf_get(struct buf *b, void *p, size_t n);
int	buf_get_u8(struct buf *b, uint8_t *v);
int	buf_get_u16(struct buf *b, uint16_t *v);	/* network order */
/* Discards n bytes. 0 or ERR_INCOMPLETE. */
int	buf_consume(struct buf *b, size_t n);

/* Reserves room for n more bytes; returns a pointer to write into, or
 * NULL (limit or memory). Call buf_commit with the count written. */
unsigned char *buf_reserve(struct buf *b, size_t n);
void	buf_commit(struct buf *b, size_t n);

#endif /* SKS5_CORE_BUF_H */
