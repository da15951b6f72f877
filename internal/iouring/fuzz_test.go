package iouring

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzOps runs an arbitrary sequence of reads, writes, fdatasyncs and
// nops, several per submission, against a file and checks every result
// against a model of its contents.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add(bytes.Repeat([]byte{1, 0x80, 0x10, 0xff}, 16))
	f.Add([]byte{2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, prog []byte) {
		const size = 64 << 10
		r := newRing(t, 8)
		file := tempFile(t, size)
		model := make([]byte, size)
		file.ReadAt(model, 0)
		fd := int(file.Fd())
		type op struct {
			read    bool
			buf     []byte
			off     int64
			want    int32
			wantBuf []byte
		}
		var batch []op
		flush := func() {
			if len(batch) == 0 {
				return
			}
			cs := reapAll(t, r, len(batch))
			for _, c := range cs {
				o := batch[c.UserData]
				if c.Res != o.want {
					t.Fatalf("op %d (%+v): res %d, want %d", c.UserData, o.off, c.Res, o.want)
				}
				if o.read && !bytes.Equal(o.buf[:max(c.Res, 0)], o.wantBuf) {
					t.Fatalf("op %d read at %d: data differs from the model", c.UserData, o.off)
				}
			}
			batch = batch[:0]
		}
		for len(prog) >= 4 {
			kind, arg := prog[0]%4, binary.LittleEndian.Uint16(prog[1:3])
			n := (int(prog[3]) + 1) * 64
			prog = prog[4:]
			off := int64(arg) * 4 % size
			var o op
			switch kind {
			case 0: // read (may be short at the end)
				end := min(off+int64(n), size)
				o = op{read: true, buf: make([]byte, n), off: off, want: int32(end - off)}
				o.wantBuf = append([]byte(nil), model[off:end]...)
				// Reads in a batch must not overlap earlier writes of the
				// same batch (no ordering): submit those first.
				flush()
				r.Read(fd, o.buf, off, 0, uint64(len(batch)))
			case 1: // write inside the file
				n = min(n, int(size-off))
				b := bytes.Repeat([]byte{byte(arg)}, n)
				flush()
				copy(model[off:], b)
				o = op{buf: b, off: off, want: int32(n)}
				r.Write(fd, b, off, 0, uint64(len(batch)))
			case 2:
				o = op{}
				r.Fsync(fd, true, 0, uint64(len(batch)))
			case 3:
				o = op{}
				r.Nop(0, uint64(len(batch)))
			}
			batch = append(batch, o)
			if len(batch) == int(r.Entries()) {
				flush()
			}
		}
		flush()
	})
}
