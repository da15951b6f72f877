/* xs_internal.h: what xenstore.c offers the other xenstore files. */
#ifndef GUESTKIT_XS_INTERNAL_H
#define GUESTKIT_XS_INTERNAL_H

#include "gk_pv.h"

/* xs_iov is one piece of a request payload. */
struct xs_iov {
	const void *base; /* bytes */
	size_t len;       /* length */
};

/*
 * xs_talk sends one request and waits for its reply, queueing watch events
 * that come first. The reply payload (up to outsize bytes) goes to out;
 * returns its full length, or the negative errno of an ERROR reply.
 */
int xs_talk(uint32_t type, xs_tx_t tx, const struct xs_iov *iov, unsigned niov, char *out,
	    size_t outsize);

#endif /* GUESTKIT_XS_INTERNAL_H */
