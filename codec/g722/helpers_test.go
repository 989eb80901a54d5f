package g722

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/wav"
)

// readGz returns a gzip-compressed file from testdata, uncompressed.
func readGz(tb testing.TB, name string) []byte {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func leWords(b []byte) []uint16 {
	w := make([]uint16, len(b)/2)
	for i := range w {
		w[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return w
}

func leSamples(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

func leBytes[T int16 | uint16](s []T) []byte {
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, s)
	return buf.Bytes()
}

// ituSpeech is the ITU's 6.1 s speech input (inpsp.bin, 16 kHz).
var ituSpeech = sync.OnceValue(func() []int16 {
	f, err := os.Open("testdata/itu/inpsp.bin.gz")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		panic(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		panic(err)
	}
	return leSamples(b)
})

// speech16k returns one of the repository's speech clips taken down to
// 16 kHz by the project's resampler.
func speech16k(tb testing.TB, name string) []int16 {
	tb.Helper()
	a, err := wav.ReadFile(filepath.Join("..", "..", "testdata", name+".wav"))
	if err != nil {
		tb.Fatal(err)
	}
	r, err := resample.New(a.SampleRate, 16000, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return r.Process(nil, a.Samples)
}
