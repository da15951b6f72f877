package mem

import "testing"

func BenchmarkTranslate(b *testing.B) {
	benches := []struct {
		name string
		mode pagingMode
		gva  GVA
		size uint64
	}{
		{"long4K", modeLong, 0x400000, 4 << 10},
		{"long2M", modeLong, 0x4000_0000, 2 << 20},
		{"pae4K", modePAE, 0x400000, 4 << 10},
		{"2level4K", mode2, 0x400000, 4 << 10},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			m := newMem(b, ramSize)
			pt := newBuilder(b, m, bb.mode, 0x1000)
			pt.mapPage(bb.gva, 0x200000, bb.size, PTEWritable)
			p := pt.paging()
			for b.Loop() {
				if _, err := m.Translate(p, bb.gva+0x123, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("pagingOff", func(b *testing.B) {
		m := newMem(b, ramSize)
		for b.Loop() {
			if _, err := m.Translate(Paging{}, 0x1234, true); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkLoad32(b *testing.B) {
	m := newMem(b, ramSize)
	for b.Loop() {
		if _, err := m.Load32(0x1000); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadUint32Window(b *testing.B) {
	m := newMem(b, ramSize)
	w, err := m.Slice(0x1000, PageSize)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := LoadUint32(w, 0x40); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCopyFromGuest(b *testing.B) {
	m := newMem(b, ramSize)
	pt := newBuilder(b, m, modeLong, 0x1000)
	pt.mapPage(0x400000, 0x200000, 4<<10, PTEWritable)
	pt.mapPage(0x401000, 0x201000, 4<<10, PTEWritable)
	p := pt.paging()
	buf := make([]byte, 64)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := m.CopyFromGuest(p, 0x400FE0, buf); err != nil {
			b.Fatal(err)
		}
	}
}
