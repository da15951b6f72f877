package iouring

// Values of the kernel's io_uring ABI (include/uapi/linux/io_uring.h).

// Op is an io_uring operation code (IORING_OP_*).
type Op uint8

// Operations this package issues.
const (
	OpNop        Op = 0  // IORING_OP_NOP: completes at once with res 0
	OpReadFixed  Op = 4  // IORING_OP_READ_FIXED: pread into a registered buffer
	OpWriteFixed Op = 5  // IORING_OP_WRITE_FIXED: pwrite from a registered buffer
	OpFsync      Op = 3  // IORING_OP_FSYNC: fsync or fdatasync
	OpFallocate  Op = 17 // IORING_OP_FALLOCATE: fallocate(2)
	OpRead       Op = 22 // IORING_OP_READ: pread(2)
	OpWrite      Op = 23 // IORING_OP_WRITE: pwrite(2)
)

// Flags is a set of per-entry flags (IOSQE_*).
type Flags uint8

// Entry flags.
const (
	// FixedFile makes the entry's fd an index in the ring's registered
	// file table (IOSQE_FIXED_FILE), which saves the kernel looking the
	// descriptor up and counting references to it for every entry.
	FixedFile Flags = 1 << 0
	// Drain starts the entry only after every entry submitted before it
	// has completed (IOSQE_IO_DRAIN).
	Drain Flags = 1 << 1
	// Link starts the next entry only after this one completed
	// successfully; a failure cancels the rest of the chain with
	// -ECANCELED (IOSQE_IO_LINK).
	Link Flags = 1 << 2
)

// Layout of the kernel's structures.
const (
	sqeSize    = 64  // sizeof(struct io_uring_sqe)
	cqeSize    = 16  // sizeof(struct io_uring_cqe)
	paramsSize = 120 // sizeof(struct io_uring_params)

	// struct io_uring_sqe field offsets.
	sqeOpcode   = 0  // u8 opcode
	sqeFlags    = 1  // u8 flags (IOSQE_*)
	sqeFD       = 4  // s32 fd
	sqeOff      = 8  // u64 off (file offset; fallocate: offset)
	sqeAddr     = 16 // u64 addr (buffer; fallocate: length)
	sqeLen      = 24 // u32 len (buffer length; fallocate: mode)
	sqeOpFlags  = 28 // u32 rw_flags / fsync_flags
	sqeUserData = 32 // u64 user_data
	sqeBufIndex = 40 // u16 buf_index (READ_FIXED, WRITE_FIXED)

	// struct io_uring_cqe field offsets.
	cqeUserData = 0 // u64 user_data
	cqeRes      = 8 // s32 res
	cqeFlags    = 12

	// mmap offsets of the three regions (IORING_OFF_*).
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	setupClamp     = 1 << 4 // IORING_SETUP_CLAMP: clamp ring sizes instead of failing
	enterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS
	featSingleMmap = 1 << 0 // IORING_FEAT_SINGLE_MMAP: SQ and CQ rings share one mapping
	featNoDrop     = 1 << 1 // IORING_FEAT_NODROP: completions are never dropped

	registerFiles         = 2  // IORING_REGISTER_FILES
	registerEventFD       = 4  // IORING_REGISTER_EVENTFD
	registerBuffers2      = 15 // IORING_REGISTER_BUFFERS2 (Linux 5.13)
	registerBuffersUpdate = 16 // IORING_REGISTER_BUFFERS_UPDATE (Linux 5.13)
	rsrcRegisterSparse    = 1  // IORING_RSRC_REGISTER_SPARSE (Linux 5.19)
	rsrcStructSize        = 32 // sizeof(struct io_uring_rsrc_register) and sizeof(struct io_uring_rsrc_update2)
	// struct io_uring_rsrc_register: u32 nr, u32 flags, u64 resv2, u64 data, u64 tags.
	rsrcRegNr, rsrcRegFlags = 0, 4
	// struct io_uring_rsrc_update2: u32 offset, u32 resv, u64 data, u64 tags, u32 nr, u32 resv2.
	rsrcUpdOffset, rsrcUpdData, rsrcUpdNr = 0, 8, 24
	iovecSize                             = 16 // struct iovec: u64 base, u64 len
	// MaxBufferSlots bounds RegisterBufferSlots (the kernel's
	// IORING_MAX_REG_BUFFERS is 16,384).
	MaxBufferSlots = 1 << 14
	registerProbe  = 8 // IORING_REGISTER_PROBE
	probeOpSize    = 8 // sizeof(struct io_uring_probe_op)
	probeHeader    = 16
	opSupported    = 1 << 0 // IO_URING_OP_SUPPORTED

	fsyncDatasync     = 1 << 0 // IORING_FSYNC_DATASYNC
	cqEventFDDisabled = 1 << 0 // IORING_CQ_EVENTFD_DISABLED in the CQ flags
)

// params mirrors struct io_uring_params.
type params struct {
	sqEntries    uint32 // in: hint; out: SQ size
	cqEntries    uint32 // out: CQ size
	flags        uint32 // IORING_SETUP_*
	sqThreadCPU  uint32 // SQPOLL only
	sqThreadIdle uint32 // SQPOLL only
	features     uint32 // out: IORING_FEAT_*
	wqFD         uint32 // ATTACH_WQ only
	resv         [3]uint32
	sqOff        sqOffsets // out: offsets in the SQ ring mapping
	cqOff        cqOffsets // out: offsets in the CQ ring mapping
}

// sqOffsets mirrors struct io_sqring_offsets.
type sqOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqOffsets mirrors struct io_cqring_offsets.
type cqOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// CQE is one completion.
type CQE struct {
	UserData uint64 // the submitter's tag
	Res      int32  // the operation's result: >= 0 as the system call returns, or -errno
	Flags    uint32 // IORING_CQE_F_*
}
