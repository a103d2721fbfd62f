/* Bounded byte buffer. */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

/* Initialises an empty buffer that may grow to max bytes. */
void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/* Initialises an empty buffer whose contents are wiped on release. */
void
buf_init_secret(struct buf *b, size_t max)
{
	buf_init(b, max);
	b->secret = 1;
}

/* Releases the memory. */
void
buf_cleanup(struct buf *b)
{
	if (b->data != NULL && b->secret)
		util_wipe(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

/* Drops all contents but keeps the allocation. */
void
buf_reset(struct buf *b)
{
	if (b->data != NULL && b->secret)
		util_wipe(b->data, b->cap);
	b->off = b->len = 0;
}

/* Bytes available to read. */
size_t
buf_len(const struct buf *b)
{
	return b->len - b->off;
}

/* Pointer to the first unread byte. */
const unsigned char *
buf_ptr(const struct buf *b)
{
	return b->data + b->off;
}

/* Makes room for n more bytes at the end; compacts before growing. */
unsigned char *
buf_reserve(struct buf *b, size_t n)
{
	size_t used = b->len - b->off, ncap;
	unsigned char *nd = NULL;

	if (n > b->max || used > b->max - n)
		return NULL;
	if (b->cap - b->len >= n)
		return b->data + b->len;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, used);
		if (b->secret)
			util_wipe(b->data + used, b->len - used);
		b->off = 0;
		b->len = used;
		if (b->cap - b->len >= n)
			return b->data + b->len;
	}
	ncap = b->cap < 256 ? 256 : b->cap;
	while (ncap - used < n)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if (ncap > b->max)
		ncap = b->max;
	if ((nd = malloc(ncap)) == NULL)
		return NULL;
	if (used > 0)
		memcpy(nd, b->data, used);
	if (b->data != NULL && b->secret)
		util_wipe(b->data, b->cap);
	free(b->data);
	b->data = nd;
	b->cap = ncap;
	return b->data + b->len;
}

/* Records n bytes written after buf_reserve. */
void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

/* Appends bytes. */
int
buf_put(struct buf *b, const void *p, size_t n)
{
	unsigned char *dst = NULL;

	if (n == 0)
		return 0;
	if ((dst = buf_reserve(b, n)) == NULL)
		return n > b->max || buf_len(b) > b->max - n ?
		    ERR_TOO_LARGE : ERR_NOMEM;
	memcpy(dst, p, n);
	b->len += n;
	return 0;
}

int
buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int
buf_put_u16(struct buf *b, uint16_t v)
{
	unsigned char x[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	return buf_put(b, x, 2);
}

int
buf_put_str(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

/* Consumes n bytes into p. */
int
buf_get(struct buf *b, void *p, size_t n)
{
	if (buf_len(b) < n)
		return ERR_INCOMPLETE;
	if (n > 0)
		memcpy(p, b->data + b->off, n);
	b->off += n;
	return 0;
}

int
buf_get_u8(struct buf *b, uint8_t *v)
{
	return buf_get(b, v, 1);
}

int
buf_get_u16(struct buf *b, uint16_t *v)
{
	unsigned char x[2];
	int r;

	if ((r = buf_get(b, x, 2)) != 0)
		return r;
	*v = (uint16_t)((x[0] << 8) | x[1]);
	return 0;
}

/* Discards n bytes. */
int
buf_consume(struct buf *b, size_t n)
{
	if (buf_len(b) < n)
		return ERR_INCOMPLETE;
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
	return 0;
}
