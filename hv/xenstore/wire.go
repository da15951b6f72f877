package xenstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
)

// MsgType is the type field of a message header (enum xsd_sockmsg_type in
// xen/include/public/io/xs_wire.h).
type MsgType uint32

// Message types. Numbers are fixed by the ABI; 20 (XS_RESTRICT) was removed
// and is invalid.
const (
	TypeControl            MsgType = 0  // XS_CONTROL (alias XS_DEBUG): daemon control, unsupported here
	TypeDirectory          MsgType = 1  // XS_DIRECTORY: list a node's children
	TypeRead               MsgType = 2  // XS_READ: read a node's value
	TypeGetPerms           MsgType = 3  // XS_GET_PERMS: read a node's permissions
	TypeWatch              MsgType = 4  // XS_WATCH: register a watch
	TypeUnwatch            MsgType = 5  // XS_UNWATCH: remove a watch
	TypeTransactionStart   MsgType = 6  // XS_TRANSACTION_START
	TypeTransactionEnd     MsgType = 7  // XS_TRANSACTION_END: commit (T) or abort (F)
	TypeIntroduce          MsgType = 8  // XS_INTRODUCE: privileged
	TypeRelease            MsgType = 9  // XS_RELEASE: privileged
	TypeGetDomainPath      MsgType = 10 // XS_GET_DOMAIN_PATH
	TypeWrite              MsgType = 11 // XS_WRITE
	TypeMkdir              MsgType = 12 // XS_MKDIR
	TypeRm                 MsgType = 13 // XS_RM: recursive
	TypeSetPerms           MsgType = 14 // XS_SET_PERMS
	TypeWatchEvent         MsgType = 15 // XS_WATCH_EVENT: server to client only
	TypeError              MsgType = 16 // XS_ERROR: server to client only
	TypeIsDomainIntroduced MsgType = 17 // XS_IS_DOMAIN_INTRODUCED: privileged
	TypeResume             MsgType = 18 // XS_RESUME: privileged
	TypeSetTarget          MsgType = 19 // XS_SET_TARGET: privileged
	TypeResetWatches       MsgType = 21 // XS_RESET_WATCHES
	TypeDirectoryPart      MsgType = 22 // XS_DIRECTORY_PART
	TypeGetFeature         MsgType = 23 // XS_GET_FEATURE
	TypeSetFeature         MsgType = 24 // XS_SET_FEATURE: unsupported here
	TypeGetQuota           MsgType = 25 // XS_GET_QUOTA: unsupported here
	TypeSetQuota           MsgType = 26 // XS_SET_QUOTA: unsupported here
	TypeInvalid            MsgType = 0xffff
)

var typeNames = map[MsgType]string{
	TypeControl: "CONTROL", TypeDirectory: "DIRECTORY", TypeRead: "READ",
	TypeGetPerms: "GET_PERMS", TypeWatch: "WATCH", TypeUnwatch: "UNWATCH",
	TypeTransactionStart: "TRANSACTION_START", TypeTransactionEnd: "TRANSACTION_END",
	TypeIntroduce: "INTRODUCE", TypeRelease: "RELEASE", TypeGetDomainPath: "GET_DOMAIN_PATH",
	TypeWrite: "WRITE", TypeMkdir: "MKDIR", TypeRm: "RM", TypeSetPerms: "SET_PERMS",
	TypeWatchEvent: "WATCH_EVENT", TypeError: "ERROR",
	TypeIsDomainIntroduced: "IS_DOMAIN_INTRODUCED", TypeResume: "RESUME",
	TypeSetTarget: "SET_TARGET", TypeResetWatches: "RESET_WATCHES",
	TypeDirectoryPart: "DIRECTORY_PART", TypeGetFeature: "GET_FEATURE",
	TypeSetFeature: "SET_FEATURE", TypeGetQuota: "GET_QUOTA", TypeSetQuota: "SET_QUOTA",
	TypeInvalid: "INVALID",
}

// String returns the type's name without the XS_ prefix.
func (t MsgType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "type(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// Wire limits (xs_wire.h).
const (
	// HeaderSize is the size of struct xsd_sockmsg.
	HeaderSize = 16
	// PayloadMax is XENSTORE_PAYLOAD_MAX: the largest payload in either
	// direction. A client exceeding it loses its connection.
	PayloadMax = 4096
	// AbsPathMax is XENSTORE_ABS_PATH_MAX: the longest absolute path.
	AbsPathMax = 3072
	// RelPathMax is XENSTORE_REL_PATH_MAX: the longest path below
	// /local/domain/<domid>/ that an unprivileged domain may use.
	RelPathMax = 2048
)

// Header is struct xsd_sockmsg, the 16-byte header of every message.
type Header struct {
	Type  MsgType // @0: XS_* message type
	ReqID uint32  // @4: chosen by the client, echoed in the reply
	TxID  uint32  // @8: transaction id, 0 for none
	Len   uint32  // @12: payload length in bytes
}

// DecodeHeader decodes the header at the start of b. It returns
// ErrShortMessage if b is shorter than HeaderSize and ErrPayloadTooLarge if
// the length field exceeds PayloadMax (the header is returned as well).
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShortMessage
	}
	h := Header{
		Type:  MsgType(binary.LittleEndian.Uint32(b[0:])),
		ReqID: binary.LittleEndian.Uint32(b[4:]),
		TxID:  binary.LittleEndian.Uint32(b[8:]),
		Len:   binary.LittleEndian.Uint32(b[12:]),
	}
	if h.Len > PayloadMax {
		return h, fmt.Errorf("%w: length %d", ErrPayloadTooLarge, h.Len)
	}
	return h, nil
}

// Append appends the encoded header to b.
func (h Header) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(h.Type))
	b = binary.LittleEndian.AppendUint32(b, h.ReqID)
	b = binary.LittleEndian.AppendUint32(b, h.TxID)
	return binary.LittleEndian.AppendUint32(b, h.Len)
}

// Message is one protocol message: a header without its length field, and
// the payload.
type Message struct {
	Type    MsgType // XS_* type
	ReqID   uint32  // request id, echoed in replies; 0 in watch events
	TxID    uint32  // transaction id; 0 outside transactions and in watch events
	Payload []byte  // at most PayloadMax bytes
}

// ParseMessage decodes the message at the start of b and returns it with the
// number of bytes it occupies. The payload aliases b. It returns
// ErrShortMessage if b does not hold the whole message yet, and
// ErrPayloadTooLarge for a length field over PayloadMax.
func ParseMessage(b []byte) (Message, int, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return Message{}, 0, err
	}
	end := HeaderSize + int(h.Len)
	if len(b) < end {
		return Message{}, 0, ErrShortMessage
	}
	return Message{Type: h.Type, ReqID: h.ReqID, TxID: h.TxID, Payload: b[HeaderSize:end:end]}, end, nil
}

// Append appends the encoded message to b. It returns ErrPayloadTooLarge
// (and b unchanged) if the payload exceeds PayloadMax.
func (m Message) Append(b []byte) ([]byte, error) {
	if len(m.Payload) > PayloadMax {
		return b, fmt.Errorf("%w: length %d", ErrPayloadTooLarge, len(m.Payload))
	}
	b = Header{Type: m.Type, ReqID: m.ReqID, TxID: m.TxID, Len: uint32(len(m.Payload))}.Append(b)
	return append(b, m.Payload...), nil
}

// encode returns the message as a fresh byte slice. The caller guarantees
// len(Payload) <= PayloadMax.
func (m Message) encode() []byte {
	b := make([]byte, 0, HeaderSize+len(m.Payload))
	b = Header{Type: m.Type, ReqID: m.ReqID, TxID: m.TxID, Len: uint32(len(m.Payload))}.Append(b)
	return append(b, m.Payload...)
}

// splitStrings splits a payload into its NUL-terminated strings, as
// xenstored's get_strings: bytes after the last NUL do not form a string.
// The returned slices alias p.
func splitStrings(p []byte) [][]byte {
	var out [][]byte
	for len(p) > 0 {
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			break
		}
		out = append(out, p[:i])
		p = p[i+1:]
	}
	return out
}

// countNULs returns the number of NUL bytes in p (xenstore_count_strings).
func countNULs(p []byte) int {
	return bytes.Count(p, []byte{0})
}

// oneArg returns the single string of a payload that must consist of
// exactly one NUL-terminated string (xenstored's onearg).
func oneArg(p []byte) (string, bool) {
	if len(p) == 0 || bytes.IndexByte(p, 0) != len(p)-1 {
		return "", false
	}
	return string(p[:len(p)-1]), true
}

// joinStrings builds a payload of NUL-terminated strings.
func joinStrings(s ...string) []byte {
	n := 0
	for _, x := range s {
		n += len(x) + 1
	}
	b := make([]byte, 0, n)
	for _, x := range s {
		b = append(b, x...)
		b = append(b, 0)
	}
	return b
}

// xenstore_domain_interface layout (xs_wire.h; docs/misc/xenstore-ring.txt).
const (
	RingSize          = 1024 // XENSTORE_RING_SIZE: bytes in each direction
	RingReqOff        = 0    // req[1024]: guest to server stream
	RingRspOff        = 1024 // rsp[1024]: server to guest stream
	RingReqConsOff    = 2048 // req_cons: server's read position
	RingReqProdOff    = 2052 // req_prod: guest's write position
	RingRspConsOff    = 2056 // rsp_cons: guest's read position
	RingRspProdOff    = 2060 // rsp_prod: server's write position
	RingFeaturesOff   = 2064 // server_features: bitmap the server offers
	RingConnectionOff = 2068 // connection: Connected or Reconnect
	RingErrorOff      = 2072 // error: why the server stopped talking
	RingEvtchnOff     = 2076 // evtchn_port: dom0less only, unused here
	RingInterfaceSize = 2080 // size of struct xenstore_domain_interface
)

// Server feature bits (XENSTORE_SERVER_FEATURE_*).
const (
	FeatureReconnection = 1 << 0 // the guest may ask for a ring reset
	FeatureError        = 1 << 1 // the error field is maintained
	FeatureWatchDepth   = 1 << 2 // XS_WATCH accepts a depth argument
	FeatureDomIDAny     = 1 << 3 // permissions may name DOMID_ANY
)

// ServerFeatures is the feature bitmap this store offers on every ring.
const ServerFeatures = FeatureReconnection | FeatureError | FeatureWatchDepth | FeatureDomIDAny

// Values of the connection field.
const (
	RingConnected = 0 // XENSTORE_CONNECTED: steady state
	RingReconnect = 1 // XENSTORE_RECONNECT: guest asks for a reset
)

// Values of the error field (XENSTORE_ERROR_*).
const (
	RingErrorNone    = 0 // connection valid
	RingErrorComm    = 1 // communication problem
	RingErrorRingIdx = 2 // inconsistent producer or consumer index
	RingErrorProto   = 3 // protocol violation (payload too long)
)
