package ogg

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/ogg/oggcheck"
)

// ffmpegOpus is a 60 ms Ogg/Opus file written by ffmpeg 5.1 (libavformat's
// Ogg muxer, -fflags +bitexact so the serial number is 0):
//
//	ffmpeg -f lavfi -i sine=frequency=440:sample_rate=48000:duration=0.06 -ac 1 \
//	  -c:a libopus -b:a 16k -fflags +bitexact -flags:a +bitexact out.opus
//
// Three pages (OpusHead, OpusTags, four audio packets), each with a CRC
// computed by an implementation that is not ours.
const ffmpegOpus = "" +
	"4f6767530002000000000000000000000000000000000228b57201134f707573486561640101380180bb00000000004f" +
	"6767530000000000000000000000000000010000004995be54012e4f707573546167730600000066666d706567010000" +
	"0014000000656e636f6465723d4c617663206c69626f7075734f6767530004780c000000000000000000000200000081" +
	"62b3100445373622788201b76c4724ea02466ffab6038c8134d6e85e01eb1bb15eefc97818f20ab32141ccd1a69fe18a" +
	"9b869d6b81ea049eeb408a2b47502809d0465300744db69f7ac3f400f978a33ff7ac9885035c260aabff415a10469562" +
	"c4b217d9990ff89089f215428062d73796b693ef7bb14b4fcb89e498771597ef0e94e9e5789ba312514500ace3d5accc" +
	"e1dc799c2503c79386d360e29ca69e08dde411be33a35ddc9fc4a9639b5295ae4dd7b2cfe5fd3e94298b7883c8df05af" +
	"f8d7e53a6489b913ebae209ec472d53503e125ddf7b2b87d05906267"

// TestChecksumMatchesFFmpeg: our CRC of each of ffmpeg's pages is the one
// ffmpeg stored, and rewriting ffmpeg's packets with the same serial,
// granule positions and page breaks gives ffmpeg's bytes exactly.
func TestChecksumMatchesFFmpeg(t *testing.T) {
	file, err := hex.DecodeString(ffmpegOpus)
	require.NoError(t, err)
	s, err := oggcheck.Parse(file)
	require.NoError(t, err)
	require.Len(t, s.Pages, 3)
	for i, p := range s.Pages {
		page := bytes.Clone(file[p.Offset : p.Offset+p.Size])
		binary.LittleEndian.PutUint32(page[22:], 0)
		assert.Equal(t, p.CRC, Checksum(page), "page %d", i)
	}

	var out bytes.Buffer
	w := NewWriter(&out, s.Pages[0].Serial)
	for i, pk := range s.Packets {
		require.NoError(t, w.WritePacket(pk.Data, pk.PageGranule))
		if pk.LastOnPage && i < len(s.Packets)-1 {
			require.NoError(t, w.Flush())
		}
	}
	require.NoError(t, w.Close())
	assert.Equal(t, file, out.Bytes())
}

// write packs packets of the given sizes (packet i filled with byte i, at
// granule 1000+i), flushing after the indexes in flushAfter.
func write(t testing.TB, sizes []int, flushAfter map[int]bool) ([]byte, [][]byte) {
	var out bytes.Buffer
	w := NewWriter(&out, 0xC0FFEE)
	var pkts [][]byte
	for i, n := range sizes {
		p := bytes.Repeat([]byte{byte(i)}, n)
		pkts = append(pkts, p)
		require.NoError(t, w.WritePacket(p, int64(1000+i)))
		if flushAfter[i] {
			require.NoError(t, w.Flush())
		}
	}
	require.NoError(t, w.Close())
	return out.Bytes(), pkts
}

func TestWriterLacing(t *testing.T) {
	many := make([]int, 600)
	for i := range many {
		many[i] = i % 40
	}
	tests := []struct {
		name  string
		sizes []int
		flush map[int]bool
		pages int
	}{
		{name: "none", sizes: nil, pages: 1},
		{name: "empty packet", sizes: []int{0}, pages: 1},
		{name: "lacing edges", sizes: []int{254, 255, 256, 510, 0, 1}, pages: 1},
		{name: "flushed", sizes: []int{19, 100, 3}, flush: map[int]bool{0: true, 1: true}, pages: 3},
		{name: "flush of nothing", sizes: []int{5}, flush: map[int]bool{0: true}, pages: 2},
		{name: "255 segments exactly", sizes: []int{254 * 255}, pages: 1},
		{name: "full page", sizes: []int{255 * 255}, pages: 2},
		{name: "continued over three pages", sizes: []int{3, 255*255*2 + 17, 9}, pages: 4},
		{name: "segment table overflow", sizes: many, pages: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, pkts := write(t, tc.sizes, tc.flush)
			s, err := oggcheck.Parse(b)
			require.NoError(t, err)
			assert.Len(t, s.Pages, tc.pages)
			require.Len(t, s.Packets, len(pkts))
			for i, p := range s.Packets {
				assert.Equal(t, pkts[i], p.Data, "packet %d", i)
				if p.LastOnPage {
					assert.Equal(t, int64(1000+i), p.PageGranule, "granule of page %d", p.Page)
				}
			}
			for i, p := range s.Pages {
				assert.Equal(t, uint32(0xC0FFEE), p.Serial)
				assert.LessOrEqual(t, len(p.Segments), MaxSegments)
				assert.Equal(t, i == len(s.Pages)-1, p.EOS(), "EOS on page %d", i)
			}
		})
	}
}

type failWriter struct{ after, n int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n >= f.after {
		return 0, errDisk
	}
	f.n++
	return len(p), nil
}

func TestWriterErrorsStick(t *testing.T) {
	w := NewWriter(&failWriter{after: 1}, 1)
	require.NoError(t, w.WritePacket([]byte("head"), 0))
	require.NoError(t, w.Flush())
	require.NoError(t, w.WritePacket([]byte("x"), 1))
	err := w.Flush()
	assert.ErrorIs(t, err, errDisk)
	assert.ErrorIs(t, w.WritePacket([]byte("y"), 2), errDisk)
	assert.ErrorIs(t, w.Close(), errDisk)
	assert.ErrorIs(t, w.Close(), errDisk)

	w = NewWriter(&bytes.Buffer{}, 1)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "Close is idempotent")
	assert.ErrorIs(t, w.WritePacket(nil, 0), ErrClosed)
	assert.ErrorIs(t, w.Flush(), ErrClosed)
}

func TestWriterDoesNotAllocate(t *testing.T) {
	var out bytes.Buffer
	out.Grow(1 << 20)
	w := NewWriter(&out, 7)
	pkt := make([]byte, 120)
	g := int64(0)
	page := func() {
		for range 50 {
			g += 960
			_ = w.WritePacket(pkt, g)
		}
		_ = w.Flush()
		out.Reset()
	}
	page() // grows the page buffers
	assert.Zero(t, testing.AllocsPerRun(50, page))
}

// FuzzWriter writes packets of sizes taken from the input, with flushes
// where the input says, and checks the pages with the independent parser.
func FuzzWriter(f *testing.F) {
	f.Add([]byte{0, 1, 254, 255, 0x80})
	f.Add([]byte{0xff, 0xff, 0xff, 0x81, 3})
	f.Fuzz(func(t *testing.T, in []byte) {
		var sizes []int
		flush := map[int]bool{}
		for i := 0; i+1 < len(in) && len(sizes) < 64; i += 2 {
			// Sizes up to about 2.5 pages, in steps that land on lacing edges.
			sizes = append(sizes, int(in[i])*int(in[i+1]&0x7f)*10/3)
			if in[i+1]&0x80 != 0 {
				flush[len(sizes)-1] = true
			}
		}
		b, pkts := write(t, sizes, flush)
		s, err := oggcheck.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Packets) != len(pkts) {
			t.Fatalf("%d packets, wrote %d", len(s.Packets), len(pkts))
		}
		for i, p := range s.Packets {
			if !bytes.Equal(p.Data, pkts[i]) {
				t.Fatalf("packet %d differs", i)
			}
			if p.LastOnPage && p.PageGranule != int64(1000+i) {
				t.Fatalf("page %d granule %d, want %d", p.Page, p.PageGranule, 1000+i)
			}
		}
	})
}
