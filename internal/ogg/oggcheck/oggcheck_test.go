package oggcheck

import (
	"encoding/binary"
	"testing"
)

// page builds one page by hand (segments and body as given, CRC computed).
func page(flags byte, granule int64, seq uint32, segs []byte, body []byte) []byte {
	b := make([]byte, 27, 27+len(segs)+len(body))
	copy(b, "OggS")
	b[5] = flags
	binary.LittleEndian.PutUint64(b[6:], uint64(granule))
	binary.LittleEndian.PutUint32(b[14:], 42)
	binary.LittleEndian.PutUint32(b[18:], seq)
	b[26] = byte(len(segs))
	b = append(append(b, segs...), body...)
	binary.LittleEndian.PutUint32(b[22:], crc(b))
	return b
}

func TestParse(t *testing.T) {
	body := make([]byte, 300)
	good := append(page(2, -1, 0, []byte{255}, body[:255]), page(1|4, 9, 1, []byte{45, 3}, body[:48])...)
	s, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pages) != 2 || len(s.Packets) != 2 || len(s.Packets[0].Data) != 300 || s.Packets[1].PageGranule != 9 {
		t.Fatalf("parsed %+v", s)
	}
	bad := map[string][]byte{
		"empty":         nil,
		"no EOS":        page(2, 0, 0, []byte{1}, body[:1]),
		"no BOS":        page(4, 0, 0, []byte{1}, body[:1]),
		"open packet":   page(2|4, -1, 0, []byte{255}, body[:255]),
		"granule":       page(2|4, 5, 0, []byte{255}, body[:255]),
		"sequence":      append(page(2, 0, 0, []byte{1}, body[:1]), page(4, 0, 2, []byte{1}, body[:1])...),
		"continued":     append(page(2, 0, 0, []byte{1}, body[:1]), page(1|4, 0, 1, []byte{1}, body[:1])...),
		"not continued": append(page(2, -1, 0, []byte{255}, body[:255]), page(4, 0, 1, []byte{1}, body[:1])...),
		"truncated":     page(2|4, 0, 0, []byte{1}, body[:1])[:27],
		"trailing":      append(page(2|4, 0, 0, []byte{1}, body[:1]), 'O'),
	}
	for name, b := range bad {
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	corrupt := page(2|4, 0, 0, []byte{1}, body[:1])
	corrupt[27+1] ^= 1
	if _, err := Parse(corrupt); err == nil {
		t.Error("a flipped bit passed the CRC")
	}
}

// FuzzParse: the parser never panics, and what it accepts is a stream of
// pages that cover the input exactly, each with a CRC that matches.
func FuzzParse(f *testing.F) {
	body := make([]byte, 300)
	f.Add(append(page(2, -1, 0, []byte{255}, body[:255]), page(1|4, 9, 1, []byte{45, 3}, body[:48])...))
	f.Add(page(2|4, 0, 0, []byte{1, 0}, body[:1]))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		off := 0
		for _, p := range s.Pages {
			if p.Offset != off {
				t.Fatalf("page at %d, expected %d", p.Offset, off)
			}
			if crc(b[off:off+p.Size]) != p.CRC {
				t.Fatal("accepted a page with a bad CRC")
			}
			off += p.Size
		}
		if off != len(b) {
			t.Fatalf("pages cover %d of %d bytes", off, len(b))
		}
	})
}
