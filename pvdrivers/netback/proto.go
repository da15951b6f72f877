package netback

import "encoding/binary"

// Ring geometry (io/netif.h, DEFINE_RING_TYPES(netif_tx/netif_rx)).
const (
	// PageSize is the size of a ring page and of a granted buffer page.
	PageSize = 4096
	// TxEntrySize is a tx ring slot: the union of netif_tx_request (12
	// bytes) and netif_tx_response (4 bytes).
	TxEntrySize = 12
	// RxEntrySize is an rx ring slot: netif_rx_request and
	// netif_rx_response are both 8 bytes.
	RxEntrySize = 8
	// MaxFrame is the largest frame a tx packet may describe
	// (XEN_NETIF_MAX_TX_SIZE).
	MaxFrame = 0xFFFF
	// MinFrame is the smallest frame accepted: an Ethernet header.
	MinFrame = 14
	// MaxTxSlots is the most data slots one tx packet may use; netif.h
	// asks backends to accept at least XEN_NETIF_NR_SLOTS_MIN (18).
	MaxTxSlots = 64
	// MaxExtras is the most extra-info slots one tx packet may carry: one
	// of each type (XEN_NETIF_EXTRA_TYPE_MAX - 1).
	MaxExtras = 4
)

// NETTXF_* flags of a tx request.
const (
	TxCsumBlank     = 1 << 0 // NETTXF_csum_blank: the L4 checksum is left to the backend
	TxDataValidated = 1 << 1 // NETTXF_data_validated: the checksum was verified
	TxMoreData      = 1 << 2 // NETTXF_more_data: the packet continues in the next slot
	TxExtraInfo     = 1 << 3 // NETTXF_extra_info: extra-info slots follow this one
)

// NETRXF_* flags of an rx response.
const (
	RxDataValidated = 1 << 0 // NETRXF_data_validated
	RxCsumBlank     = 1 << 1 // NETRXF_csum_blank
	RxMoreData      = 1 << 2 // NETRXF_more_data: the frame continues in the next slot
	RxExtraInfo     = 1 << 3 // NETRXF_extra_info
)

// XEN_NETIF_EXTRA_TYPE_* and XEN_NETIF_EXTRA_FLAG_MORE.
const (
	ExtraNone     = 0 // invalid
	ExtraGSO      = 1 // u.gso
	ExtraMcastAdd = 2 // u.mcast
	ExtraMcastDel = 3 // u.mcast
	ExtraHash     = 4 // u.hash
	ExtraTypeMax  = 5
	ExtraFlagMore = 1 << 0 // another extra-info slot follows
)

// NETIF_RSP_* status values.
const (
	RspDropped = -2 // NETIF_RSP_DROPPED
	RspError   = -1 // NETIF_RSP_ERROR
	RspOkay    = 0  // NETIF_RSP_OKAY
	RspNull    = 1  // NETIF_RSP_NULL: the answer to an extra-info slot
)

// TxRequest is a netif_tx_request.
type TxRequest struct {
	Gref   uint32 // grant of the buffer page
	Offset uint16 // offset of the data in the page
	Flags  uint16 // NETTXF_*
	ID     uint16 // echoed in the response
	Size   uint16 // first slot: the whole packet's size; others: this slot's
}

// DecodeTxRequest decodes a tx slot; b must hold TxEntrySize bytes.
func DecodeTxRequest(b []byte) TxRequest {
	_ = b[TxEntrySize-1]
	return TxRequest{
		Gref:   binary.LittleEndian.Uint32(b[0:]),
		Offset: binary.LittleEndian.Uint16(b[4:]),
		Flags:  binary.LittleEndian.Uint16(b[6:]),
		ID:     binary.LittleEndian.Uint16(b[8:]),
		Size:   binary.LittleEndian.Uint16(b[10:]),
	}
}

// Encode writes the request into a TxEntrySize-byte slot (for frontends
// and tests).
func (r TxRequest) Encode(b []byte) {
	_ = b[TxEntrySize-1]
	binary.LittleEndian.PutUint32(b[0:], r.Gref)
	binary.LittleEndian.PutUint16(b[4:], r.Offset)
	binary.LittleEndian.PutUint16(b[6:], r.Flags)
	binary.LittleEndian.PutUint16(b[8:], r.ID)
	binary.LittleEndian.PutUint16(b[10:], r.Size)
}

// ExtraInfo is a netif_extra_info slot; the type-specific union is kept raw.
type ExtraInfo struct {
	Type  uint8   // XEN_NETIF_EXTRA_TYPE_*
	Flags uint8   // XEN_NETIF_EXTRA_FLAG_*
	Data  [6]byte // u: gso {size u16, type u8, pad u8, features u16}, mcast {addr[6]}
}

// DecodeExtraInfo decodes an extra-info slot (at least 8 bytes).
func DecodeExtraInfo(b []byte) ExtraInfo {
	_ = b[7]
	e := ExtraInfo{Type: b[0], Flags: b[1]}
	copy(e.Data[:], b[2:8])
	return e
}

// Encode writes the extra into a slot of at least 8 bytes.
func (e ExtraInfo) Encode(b []byte) {
	_ = b[7]
	b[0], b[1] = e.Type, e.Flags
	copy(b[2:8], e.Data[:])
}

// TxResponse is a netif_tx_response.
type TxResponse struct {
	ID     uint16 // the request's id
	Status int16  // NETIF_RSP_*
}

// Encode writes the response into the first 4 bytes of b; the rest of the
// slot is left alone.
func (r TxResponse) Encode(b []byte) {
	_ = b[3]
	binary.LittleEndian.PutUint16(b[0:], r.ID)
	binary.LittleEndian.PutUint16(b[2:], uint16(r.Status))
}

// DecodeTxResponse decodes a tx response (for frontends and tests).
func DecodeTxResponse(b []byte) TxResponse {
	_ = b[3]
	return TxResponse{ID: binary.LittleEndian.Uint16(b[0:]), Status: int16(binary.LittleEndian.Uint16(b[2:]))}
}

// RxRequest is a netif_rx_request.
type RxRequest struct {
	ID   uint16 // echoed in the response
	Gref uint32 // grant of the buffer page
}

// DecodeRxRequest decodes an rx slot (RxEntrySize bytes).
func DecodeRxRequest(b []byte) RxRequest {
	_ = b[RxEntrySize-1]
	return RxRequest{ID: binary.LittleEndian.Uint16(b[0:]), Gref: binary.LittleEndian.Uint32(b[4:])}
}

// Encode writes the request into an rx slot (for frontends and tests).
func (r RxRequest) Encode(b []byte) {
	_ = b[RxEntrySize-1]
	binary.LittleEndian.PutUint16(b[0:], r.ID)
	binary.LittleEndian.PutUint16(b[2:], 0)
	binary.LittleEndian.PutUint32(b[4:], r.Gref)
}

// RxResponse is a netif_rx_response.
type RxResponse struct {
	ID     uint16 // the request's id
	Offset uint16 // where the data starts in the page
	Flags  uint16 // NETRXF_*
	Status int16  // bytes in this slot, or a negative NETIF_RSP_*
}

// Encode writes the response into an rx slot.
func (r RxResponse) Encode(b []byte) {
	_ = b[RxEntrySize-1]
	binary.LittleEndian.PutUint16(b[0:], r.ID)
	binary.LittleEndian.PutUint16(b[2:], r.Offset)
	binary.LittleEndian.PutUint16(b[4:], r.Flags)
	binary.LittleEndian.PutUint16(b[6:], uint16(r.Status))
}

// DecodeRxResponse decodes an rx response (for frontends and tests).
func DecodeRxResponse(b []byte) RxResponse {
	_ = b[RxEntrySize-1]
	return RxResponse{
		ID:     binary.LittleEndian.Uint16(b[0:]),
		Offset: binary.LittleEndian.Uint16(b[2:]),
		Flags:  binary.LittleEndian.Uint16(b[4:]),
		Status: int16(binary.LittleEndian.Uint16(b[6:])),
	}
}
