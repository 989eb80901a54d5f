package opuspacket

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/opus"
)

// realPackets reads the libopus packets codec/opus keeps in its testdata:
// every mode, bandwidth, frame duration and frame-count code.
func realPackets(tb testing.TB) (durs []int, pkts [][]byte) {
	tb.Helper()
	f, err := os.Open("../../codec/opus/testdata/packets.txt")
	require.NoError(tb, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		require.Len(tb, fields, 3, line)
		d, err := strconv.Atoi(fields[1])
		require.NoError(tb, err)
		p, err := hex.DecodeString(fields[2])
		require.NoError(tb, err)
		durs, pkts = append(durs, d), append(pkts, p)
	}
	require.NoError(tb, sc.Err())
	require.NotEmpty(tb, pkts)
	return durs, pkts
}

func TestDurationOfRealPackets(t *testing.T) {
	durs, pkts := realPackets(t)
	for i, p := range pkts {
		d, err := Duration(p)
		require.NoError(t, err, "packet %d %x", i, p)
		assert.Equal(t, durs[i], d, "packet %d", i)
	}
}

func TestDurationOfEveryConfig(t *testing.T) {
	ms := []float64{
		10, 20, 40, 60, 10, 20, 40, 60, 10, 20, 40, 60, // SILK NB, MB, WB
		10, 20, 10, 20, // hybrid SWB, FB
		2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20, // CELT
	}
	for cfg, want := range ms {
		for _, stereo := range []byte{0, 4} {
			toc := byte(cfg<<3) | stereo
			d, err := Duration([]byte{toc, 0xAA})
			require.NoError(t, err)
			assert.Equal(t, int(want*48), d, "config %d", cfg)
			d, err = Duration([]byte{toc | 1, 0xAA, 0xBB})
			require.NoError(t, err)
			assert.Equal(t, int(2*want*48), d, "config %d, code 1", cfg)
		}
	}
}

func TestDurationRejects(t *testing.T) {
	for name, p := range map[string][]byte{
		"empty":                {},
		"code 1 odd":           {0x01, 1, 2, 3},
		"code 2 no length":     {0x02},
		"code 2 short":         {0x02, 5, 1},
		"code 3 no count":      {0x03},
		"code 3 zero frames":   {0x03, 0x00},
		"code 3 over 120 ms":   {0x1B, 0x04}, // 4 × 60 ms SILK
		"code 3 CBR uneven":    {0x03, 0x02, 1, 2, 3},
		"code 3 padding":       {0x03, 0x41, 10},
		"code 3 VBR lengths":   {0x03, 0x82, 9, 1},
		"code 0 frame too big": append([]byte{0x00}, make([]byte, MaxFrameBytes+1)...),
	} {
		_, err := Duration(p)
		assert.ErrorIs(t, err, codec.ErrCorrupt, name)
		_, ref := opus.PacketDuration(p)
		assert.Error(t, ref, "%s: codec/opus accepts it", name)
	}
}

func TestDurationDoesNotAllocate(t *testing.T) {
	_, pkts := realPackets(t)
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range pkts {
			d, _ := Duration(p)
			sink += d
		}
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, sink)
}

func TestSamplesDoesNotAllocateOnBadPackets(t *testing.T) {
	bad := [][]byte{{}, {0x01, 1, 2, 3}, {0x02}, {0x03, 0x00}, {0x1B, 0x04}, {0x03, 0x82, 9, 1}}
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range bad {
			if Samples(p) != 0 {
				panic("accepted")
			}
		}
	})
	assert.Zero(t, allocs)
}

// FuzzDuration holds Duration to codec/opus.PacketDuration: the same
// duration for every packet one accepts, and an error from one exactly when
// the other errs.
func FuzzDuration(f *testing.F) {
	_, pkts := realPackets(f)
	for _, p := range pkts {
		if len(p) <= 64 {
			f.Add(p)
		}
	}
	for _, p := range [][]byte{{}, {0x7b}, {0x03, 0x41, 255, 0}, {0x7a, 252}, {0x7b, 0xC3, 1, 2}} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := Duration(p)
		ref, refErr := opus.PacketDuration(p)
		if (err == nil) != (refErr == nil) || d != ref {
			t.Fatalf("Duration(%x) = %d, %v; codec/opus says %d, %v", p, d, err, ref, refErr)
		}
		if s := Samples(p); s != d {
			t.Fatalf("Samples(%x) = %d, Duration %d, %v", p, s, d, err)
		}
		if err != nil && !errors.Is(err, codec.ErrCorrupt) {
			t.Fatalf("error %v does not wrap codec.ErrCorrupt", err)
		}
		if err == nil && (d <= 0 || d > MaxSamples) {
			t.Fatalf("duration %d out of range", d)
		}
	})
}
