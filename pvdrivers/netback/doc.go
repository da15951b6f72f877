// Package netback is the monitor's Xen network backend (io/netif.h): it
// serves one vif's transmit and receive rings, turning the guest's tx
// requests into Ethernet frames for a Network (an in-process switch, a tap
// device) and copying frames from the Network into the guest's posted
// receive buffers (rx-copy mode).
//
// # Transmit
//
// A packet is a chain of tx requests: the first carries the total size,
// NETTXF_more_data links the next, NETTXF_extra_info on the first is
// followed by netif_extra_info slots (XEN_NETIF_EXTRA_FLAG_MORE links
// more). Each slot is checked (offset+size within the page, the sizes add
// up, at most MaxTxSlots data slots, frame at least an Ethernet header)
// before its data is copied out of the grant; a packet that breaks a rule is
// dropped whole, every one of its slots answered NETIF_RSP_ERROR (extras
// NETIF_RSP_NULL), and the vif's error count grows. When a connection's
// errors reach Config.AbuseLimit, Serve stops with ErrAbuse and the vif is
// disconnected. GSO extras are skipped (feature-gso-* is not offered; the
// frame is forwarded as it is); multicast add/del extras are accepted and
// the dummy packet carrying them is answered NETIF_RSP_OKAY and not sent.
//
// NETTXF_csum_blank means the guest left the TCP or UDP checksum for the
// backend: the backend computes it (IPv4 and IPv6, from scratch, whatever the
// field held) before the frame leaves, so every frame on a Network carries a
// complete checksum. Frames it cannot complete (another protocol, IP
// options that do not parse) are sent as they are and counted.
//
// # Receive
//
// Frames from the Network wait in a bounded queue (Config.RxQueue frames;
// overflow is dropped and counted). Each is copied into the pages of as many
// posted rx requests as it needs (one when the frontend did not ask for
// feature-sg, which limits frames to one page), at offset 0, and answered in
// the request's own ring slot, NETRXF_more_data linking the slots. A frame
// whose grant cannot be written is answered NETIF_RSP_ERROR.
//
// # Notifications
//
// Both rings follow io/ring.h's rules: responses are pushed once per batch
// and the guest is notified only when rsp_event asks; before sleeping the
// backend sets req_event (RING_FINAL_CHECK_FOR_REQUESTS) on the tx ring,
// and on the rx ring when frames wait for buffers, so that a busy link costs
// far fewer than one notification per packet in each direction.
package netback
