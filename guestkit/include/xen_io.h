/*
 * xen_io.h: Xen's shared-page protocols guestkit speaks: the xenstore wire
 * format and ring (io/xs_wire.h), the PV console ring (io/console.h) and
 * the xenbus device states (io/xenbus.h).
 */
#ifndef GUESTKIT_XEN_IO_H
#define GUESTKIT_XEN_IO_H

#include <stddef.h>
#include <stdint.h>

/* ---- xenstore (io/xs_wire.h) ---- */

/* Message types. */
#define XS_CONTROL 0
#define XS_DIRECTORY 1
#define XS_READ 2
#define XS_GET_PERMS 3
#define XS_WATCH 4
#define XS_UNWATCH 5
#define XS_TRANSACTION_START 6
#define XS_TRANSACTION_END 7
#define XS_INTRODUCE 8
#define XS_RELEASE 9
#define XS_GET_DOMAIN_PATH 10
#define XS_WRITE 11
#define XS_MKDIR 12
#define XS_RM 13
#define XS_SET_PERMS 14
#define XS_WATCH_EVENT 15
#define XS_ERROR 16
#define XS_IS_DOMAIN_INTRODUCED 17
#define XS_RESUME 18
#define XS_SET_TARGET 19
#define XS_RESET_WATCHES 21
#define XS_DIRECTORY_PART 22

/* xsd_sockmsg: the header in front of every payload. */
struct xsd_sockmsg {
	uint32_t type;   /* XS_* */
	uint32_t req_id; /* chosen by the client, echoed in the reply */
	uint32_t tx_id;  /* transaction, 0 = none */
	uint32_t len;    /* payload bytes that follow */
};
_Static_assert(sizeof(struct xsd_sockmsg) == 16, "xsd_sockmsg size");

#define XENSTORE_PAYLOAD_MAX 4096
#define XENSTORE_RING_SIZE 1024

/* xenstore_domain_interface: the ring page (HVM_PARAM_STORE_PFN). */
struct xenstore_domain_interface {
	char req[XENSTORE_RING_SIZE]; /* guest -> store byte stream */
	char rsp[XENSTORE_RING_SIZE]; /* store -> guest: replies and watch events */
	uint32_t req_cons;            /* store's read index (free-running) */
	uint32_t req_prod;            /* guest's write index */
	uint32_t rsp_cons;            /* guest's read index */
	uint32_t rsp_prod;            /* store's write index */
	uint32_t server_features;     /* XENSTORE_SERVER_FEATURE_* */
	uint32_t connection;          /* XENSTORE_CONNECTED or XENSTORE_RECONNECT */
	uint32_t error;               /* XENSTORE_ERROR_* */
	uint32_t evtchn_port;         /* dom0less only */
};
_Static_assert(offsetof(struct xenstore_domain_interface, rsp) == 1024, "xs ring.rsp");
_Static_assert(offsetof(struct xenstore_domain_interface, req_cons) == 2048, "xs ring.req_cons");
_Static_assert(offsetof(struct xenstore_domain_interface, rsp_prod) == 2060, "xs ring.rsp_prod");
_Static_assert(offsetof(struct xenstore_domain_interface, error) == 2072, "xs ring.error");
_Static_assert(sizeof(struct xenstore_domain_interface) == 2080, "xs ring size");

/* ---- PV console (io/console.h) ---- */

/* xencons_interface: the console ring page (HVM_PARAM_CONSOLE_PFN). */
struct xencons_interface {
	char in[1024];      /* backend -> guest (input) */
	char out[2048];     /* guest -> backend (output) */
	uint32_t in_cons;   /* guest's read index (free-running) */
	uint32_t in_prod;   /* backend's write index */
	uint32_t out_cons;  /* backend's read index */
	uint32_t out_prod;  /* guest's write index */
	uint8_t connection; /* XENCONSOLE_CONNECTED (0) or XENCONSOLE_DISCONNECTED (1) */
};
_Static_assert(offsetof(struct xencons_interface, out) == 1024, "xencons.out");
_Static_assert(offsetof(struct xencons_interface, in_cons) == 3072, "xencons.in_cons");
_Static_assert(offsetof(struct xencons_interface, out_prod) == 3084, "xencons.out_prod");
_Static_assert(offsetof(struct xencons_interface, connection) == 3088, "xencons.connection");

/* ---- xenbus states (io/xenbus.h), stored as decimal strings in <dir>/state ---- */
enum xenbus_state {
	XenbusStateUnknown = 0,
	XenbusStateInitialising = 1,
	XenbusStateInitWait = 2,    /* backend waits for the frontend's details */
	XenbusStateInitialised = 3, /* frontend published its details */
	XenbusStateConnected = 4,
	XenbusStateClosing = 5,
	XenbusStateClosed = 6,
	XenbusStateReconfiguring = 7,
	XenbusStateReconfigured = 8,
};

#endif /* GUESTKIT_XEN_IO_H */
