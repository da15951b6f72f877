/*
 * xen_netif.h: the Xen virtual network interface wire format (io/netif.h)
 * and the one-page shared rings of io/ring.h as netif uses them, x86-64
 * ABI. Sizes and offsets follow the digest (xen-abi.md sections 8 and 10)
 * and are pinned by the _Static_asserts below.
 */
#ifndef GUESTKIT_XEN_NETIF_H
#define GUESTKIT_XEN_NETIF_H

#include "guestkit.h"

/* Flags of a transmit request (frontend -> backend). */
#define NETTXF_csum_blank (1u << 0)     /* L4 checksum not filled in: the backend completes it */
#define NETTXF_data_validated (1u << 1) /* checksums known good */
#define NETTXF_more_data (1u << 2)      /* the packet continues in the next slot */
#define NETTXF_extra_info (1u << 3)     /* the next slot holds a netif_extra_info */

/* Flags of a receive response (backend -> frontend). */
#define NETRXF_data_validated (1u << 0) /* the checksum was verified already */
#define NETRXF_csum_blank (1u << 1)     /* partial checksum: L4 checksum not filled in */
#define NETRXF_more_data (1u << 2)      /* the packet continues in the next slot */
#define NETRXF_extra_info (1u << 3)     /* the next slot holds a netif_extra_info */
#define NETRXF_gso_prefix (1u << 4)     /* deprecated GSO prefix slot */

/* Response statuses; a receive response's non-negative status is its byte count. */
#define NETIF_RSP_DROPPED (-2)
#define NETIF_RSP_ERROR (-1)
#define NETIF_RSP_OKAY 0
#define NETIF_RSP_NULL 1 /* the response of an extra-info slot */

#define XEN_NETIF_MAX_TX_SIZE 0xffff /* largest packet a transmit request may describe */
#define XEN_NETIF_NR_SLOTS_MIN 18    /* slots per packet every backend accepts */

/* Extra-info types (netif_extra_info.type). */
#define XEN_NETIF_EXTRA_TYPE_NONE 0
#define XEN_NETIF_EXTRA_TYPE_GSO 1
#define XEN_NETIF_EXTRA_TYPE_MCAST_ADD 2
#define XEN_NETIF_EXTRA_TYPE_MCAST_DEL 3
#define XEN_NETIF_EXTRA_TYPE_HASH 4
#define XEN_NETIF_EXTRA_FLAG_MORE (1u << 0) /* another extra slot follows */

/* netif_tx_request describes one slot of a packet to send (12 bytes). */
struct netif_tx_request {
	uint32_t gref;   /* grant of the page holding the data (read-only is enough) */
	uint16_t offset; /* data offset in that page */
	uint16_t flags;  /* NETTXF_* */
	uint16_t id;     /* echoed in the response */
	uint16_t size;   /* first slot: whole packet length; later slots: this slot's bytes */
};
_Static_assert(sizeof(struct netif_tx_request) == 12, "netif_tx_request size");
_Static_assert(offsetof(struct netif_tx_request, offset) == 4, "netif_tx_request.offset");
_Static_assert(offsetof(struct netif_tx_request, flags) == 6, "netif_tx_request.flags");
_Static_assert(offsetof(struct netif_tx_request, id) == 8, "netif_tx_request.id");
_Static_assert(offsetof(struct netif_tx_request, size) == 10, "netif_tx_request.size");

/* netif_tx_response answers one transmit slot (4 bytes). */
struct netif_tx_response {
	uint16_t id;    /* the request's id */
	int16_t status; /* NETIF_RSP_* */
};
_Static_assert(sizeof(struct netif_tx_response) == 4, "netif_tx_response size");

/* netif_extra_info is an extra slot after a flagged request or response (8 bytes). */
struct netif_extra_info {
	uint8_t type;   /* XEN_NETIF_EXTRA_TYPE_* */
	uint8_t flags;  /* XEN_NETIF_EXTRA_FLAG_* */
	uint8_t u[6];   /* gso{size u16, type u8, pad u8, features u16}, mcast{addr[6]}, hash */
};
_Static_assert(sizeof(struct netif_extra_info) == 8, "netif_extra_info size");

/* netif_rx_request posts one receive buffer: a whole granted page (8 bytes). */
struct netif_rx_request {
	uint16_t id;  /* echoed in the response */
	uint16_t pad;
	uint32_t gref; /* writable grant of the buffer page */
};
_Static_assert(sizeof(struct netif_rx_request) == 8, "netif_rx_request size");
_Static_assert(offsetof(struct netif_rx_request, gref) == 4, "netif_rx_request.gref");

/* netif_rx_response reports data written into a posted buffer (8 bytes). */
struct netif_rx_response {
	uint16_t id;     /* the buffer's request id */
	uint16_t offset; /* where the data starts in the page */
	uint16_t flags;  /* NETRXF_* */
	int16_t status;  /* bytes in this slot (>= 0) or NETIF_RSP_* error (< 0) */
};
_Static_assert(sizeof(struct netif_rx_response) == 8, "netif_rx_response size");
_Static_assert(offsetof(struct netif_rx_response, offset) == 2, "netif_rx_response.offset");
_Static_assert(offsetof(struct netif_rx_response, flags) == 4, "netif_rx_response.flags");
_Static_assert(offsetof(struct netif_rx_response, status) == 6, "netif_rx_response.status");

/* netif_tx_entry is one transmit ring slot: a request, later its response. */
union netif_tx_entry {
	struct netif_tx_request req;
	struct netif_tx_response rsp;
	struct netif_extra_info extra;
};
_Static_assert(sizeof(union netif_tx_entry) == 12, "tx ring entry size");

/* netif_rx_entry is one receive ring slot: a request, later its response. */
union netif_rx_entry {
	struct netif_rx_request req;
	struct netif_rx_response rsp;
	struct netif_extra_info extra;
};
_Static_assert(sizeof(union netif_rx_entry) == 8, "rx ring entry size");

/* Slots of one-page rings: the largest power of two <= (4096 - 64) / entry size. */
#define NET_TX_RING_SIZE 256
#define NET_RX_RING_SIZE 256

/* netif_tx_sring is the shared transmit ring page (io/ring.h layout). */
struct netif_tx_sring {
	uint32_t req_prod;  /* frontend: requests produced (free-running) */
	uint32_t req_event; /* backend: notify when req_prod passes this */
	uint32_t rsp_prod;  /* backend: responses produced */
	uint32_t rsp_event; /* frontend: notify when rsp_prod passes this */
	uint8_t pvt[4];     /* netif: unused here */
	uint8_t pad[44];
	union netif_tx_entry ring[NET_TX_RING_SIZE];
};
_Static_assert(offsetof(struct netif_tx_sring, ring) == 64, "netif_tx_sring.ring");
_Static_assert(sizeof(struct netif_tx_sring) <= 4096, "netif_tx_sring fits a page");

/* netif_rx_sring is the shared receive ring page (io/ring.h layout). */
struct netif_rx_sring {
	uint32_t req_prod;  /* frontend: buffers posted (free-running) */
	uint32_t req_event; /* backend: notify when req_prod passes this */
	uint32_t rsp_prod;  /* backend: responses produced */
	uint32_t rsp_event; /* frontend: notify when rsp_prod passes this */
	uint8_t pvt[4];
	uint8_t pad[44];
	union netif_rx_entry ring[NET_RX_RING_SIZE];
};
_Static_assert(offsetof(struct netif_rx_sring, ring) == 64, "netif_rx_sring.ring");
_Static_assert(sizeof(struct netif_rx_sring) <= 4096, "netif_rx_sring fits a page");

#endif /* GUESTKIT_XEN_NETIF_H */
