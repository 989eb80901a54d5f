//go:build cgo

package opus

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/packets.txt from libopus")

// seedConfigs are the encoder settings whose packets seed the fuzzers and
// the pure-Go framing tests: every mode, frame-count code and flag libopus
// produces. Bitrates are low where that keeps packets short, because the
// fuzzers' input minimisation costs the square of the input length.
var seedConfigs = []struct {
	name string
	cfg  codec.Config
}{
	{"silk-nb-20ms", codec.Config{SampleRate: 8000, Bitrate: 12000}},
	{"silk-wb-20ms-fec", codec.Config{SampleRate: 16000, Bitrate: 24000, FEC: true, PacketLossPercent: 20}},
	{"silk-wb-60ms-fec", codec.Config{SampleRate: 16000, Bitrate: 24000, FEC: true, PacketLossPercent: 20, Ptime: 60 * time.Millisecond}},
	{"silk-wb-40ms", codec.Config{SampleRate: 16000, Bitrate: 20000, Ptime: 40 * time.Millisecond}},
	{"hybrid-fb-20ms-fec", codec.Config{Bitrate: 32000, FEC: true, PacketLossPercent: 20}},
	{"hybrid-fb-40ms", codec.Config{Bitrate: 32000, Ptime: 40 * time.Millisecond}},
	{"hybrid-fb-10ms", codec.Config{Bitrate: 32000, Ptime: 10 * time.Millisecond}},
	{"celt-fb-20ms", codec.Config{Application: codec.AppLowDelay, Bitrate: 16000}},
	{"celt-fb-60ms", codec.Config{Application: codec.AppLowDelay, Bitrate: 8000, Ptime: 60 * time.Millisecond}},
	{"celt-fb-2.5ms", codec.Config{Application: codec.AppLowDelay, Bitrate: 64000, Ptime: 2500 * time.Microsecond}},
	{"stereo-hybrid-20ms-fec", codec.Config{Channels: 2, Bitrate: 48000, FEC: true, PacketLossPercent: 20}},
	{"stereo-celt-20ms", codec.Config{Channels: 2, Application: codec.AppLowDelay, Bitrate: 24000}},
}

// TestGoldenPackets checks that every packet in testdata/packets.txt decodes
// to its recorded duration; with -update it first rewrites the file from
// this libopus. The file lets the pure-Go tests and the fuzzers, which may
// run without cgo, start from real packets. It is not compared with fresh
// encoder output: libopus's bits vary with its version and with the CPU
// paths it picks at run time.
func TestGoldenPackets(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Real Opus packets from libopus " + strings.TrimPrefix(libopusVersion(), "libopus ") + ", one per line: name, duration at 48 kHz, hex.\n")
	b.WriteString("# Regenerate with: go test -tags nolibopusfile ./codec/opus -run TestGoldenPackets -update\n")
	for _, sc := range seedConfigs {
		enc := mustEncoder(t, sc.cfg)
		pcm := clip(t, enc.SampleRate())
		if enc.Channels() == 2 {
			st := make([]int16, 2*len(pcm))
			for i, v := range pcm {
				st[2*i], st[2*i+1] = v, v/2
			}
			pcm = st
		}
		pkts := encodeAll(t, enc, pcm[:enc.SampleRate()*enc.Channels()*4])
		// Speech at 0.3, 0.75, 2.5 and 3 s; the pause at 1.45 s.
		seen := map[string]bool{}
		for _, ms := range []int{300, 750, 1450, 2500, 3000} {
			p := pkts[ms*int(time.Millisecond)/int(enc.Ptime())]
			if seen[string(p)] {
				continue
			}
			seen[string(p)] = true
			d, err := PacketDuration(p)
			require.NoError(t, err)
			fmt.Fprintf(&b, "%s %d %s\n", sc.name, d, hex.EncodeToString(p))
		}
	}
	// A DTX packet, as libopus sends in silence.
	enc := mustEncoder(t, codec.Config{DTX: true})
	var p []byte
	for i := 0; i < 30; i++ {
		var err error
		p, err = enc.Encode(nil, make([]int16, 960))
		require.NoError(t, err)
	}
	require.True(t, IsDTX(p))
	fmt.Fprintf(&b, "dtx 960 %s\n", hex.EncodeToString(p))

	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(seedPath, []byte(b.String()), 0o644))
	}
	seeds := seedPackets(t)
	require.NotEmpty(t, seeds)
	dec := mustDecoder(t, codec.Config{Channels: 2})
	for _, sp := range seeds {
		out, err := dec.Decode(nil, sp.Data)
		require.NoError(t, err, sp.Name)
		assert.Len(t, out, 2*sp.Samples48, sp.Name)
	}
}
