// Command codecchain transcodes a speech clip PCMU → Opus → PCMA through
// rtpmix's codecs and resampler, 20 ms frame by frame as a gateway would,
// and prints per stage the bitrate, the time per frame and the SNR against
// the original.
//
//	go run -tags nolibopusfile ./examples/codecchain [-in testdata/alice.wav] [-out out/]
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	_ "github.com/rtpmix/rtpmix/codec/g711"
	_ "github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/wav"
)

func main() {
	in := flag.String("in", "testdata/alice.wav", "48 kHz mono 16-bit WAV to transcode")
	outDir := flag.String("out", "out", "directory for each stage's decoded audio (WAV)")
	bitrate := flag.Int("opus-bitrate", 32000, "Opus bitrate in bit/s")
	flag.Parse()
	if err := run(*in, *outDir, *bitrate); err != nil {
		log.Fatal(err)
	}
}

// stage is one codec hop: PCM at the codec's rate in, PCM out.
type stage struct {
	name    string
	sdp     string
	rate    int
	cfg     codec.Config
	bytes   int
	frames  int
	elapsed time.Duration
}

func run(in, outDir string, bitrate int) error {
	clip, err := wav.ReadFile(in)
	if err != nil {
		return err
	}
	if clip.SampleRate != 48000 || clip.Channels != 1 {
		return fmt.Errorf("%s: want 48 kHz mono, got %d Hz × %d", in, clip.SampleRate, clip.Channels)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	orig := clip.Samples
	stages := []*stage{
		{name: "PCMU", sdp: "PCMU/8000", rate: 8000},
		{name: "Opus", sdp: "opus/48000/2", rate: 48000, cfg: codec.Config{Bitrate: bitrate, Complexity: 5}},
		{name: "PCMA", sdp: "PCMA/8000", rate: 8000},
	}
	fmt.Printf("rtpmix codec chain: %s (%.2f s, 48 kHz) → PCMU → Opus %d kbit/s → PCMA, 20 ms frames\n\n",
		filepath.Base(in), clip.Duration(), bitrate/1000)
	fmt.Printf("%-6s %-14s %8s %10s %12s %14s %16s\n", "stage", "format", "kbit/s", "µs/frame", "resample µs", "SNR vs orig dB", "SNR vs input dB")

	cur, curRate := orig, 48000
	for _, st := range stages {
		var resTime time.Duration
		if curRate != st.rate {
			cur, resTime, err = resampleAll(cur, curRate, st.rate)
			if err != nil {
				return err
			}
			curRate = st.rate
		}
		dec, err := st.transcode(cur)
		if err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		hop := snrAligned(cur, dec, st.rate/50)
		cur = dec
		ref, _, err := resampleAll(orig, 48000, st.rate)
		if err != nil {
			return err
		}
		snr := snrAligned(ref, cur, st.rate/50)
		secs := float64(st.frames) * 0.020
		fmt.Printf("%-6s %-14s %8.1f %10.2f %12.2f %14.1f %16.1f\n", st.name, st.sdp,
			float64(st.bytes*8)/secs/1000,
			float64(st.elapsed.Microseconds())/float64(st.frames),
			float64(resTime.Microseconds())/float64(st.frames),
			snr, hop)
		path := filepath.Join(outDir, "codecchain-"+st.name+".wav")
		if err := wav.WriteFile(path, &wav.Audio{SampleRate: st.rate, Channels: 1, Samples: cur}); err != nil {
			return err
		}
	}
	fmt.Printf("\nµs/frame is encode+decode of one 20 ms frame (Opus at complexity 5). SNR vs orig compares with\n")
	fmt.Printf("the original clip at the stage's rate, so it includes the 4 kHz band limit of G.711 and accumulates\n")
	fmt.Printf("along the chain; SNR vs input is that hop alone. Both after aligning for codec delay.\n")
	fmt.Printf("Each stage's decoded audio is in %s/codecchain-*.wav.\n", outDir)
	return nil
}

// transcode encodes and decodes pcm frame by frame, timing both.
func (st *stage) transcode(pcm []int16) ([]int16, error) {
	st.cfg.SampleRate, st.cfg.Channels = st.rate, 1
	enc, err := codec.NewEncoder(st.sdp, st.cfg)
	if err != nil {
		return nil, err
	}
	dec, err := codec.NewDecoder(st.sdp, codec.Config{SampleRate: st.rate, Channels: 1})
	if err != nil {
		return nil, err
	}
	n := enc.FrameSamples()
	out := make([]int16, 0, len(pcm))
	payload := make([]byte, 0, 1500)
	frame := make([]int16, 0, 5760)
	for off := 0; off+n <= len(pcm); off += n {
		t0 := time.Now()
		payload, err = enc.Encode(payload[:0], pcm[off:off+n])
		if err != nil {
			return nil, err
		}
		frame, err = dec.Decode(frame[:0], payload)
		if err != nil {
			return nil, err
		}
		st.elapsed += time.Since(t0)
		st.bytes += len(payload)
		st.frames++
		out = append(out, frame...)
	}
	return out, nil
}

// resampleAll converts in 20 ms pieces, as the mixer does, and times it.
func resampleAll(pcm []int16, from, to int) ([]int16, time.Duration, error) {
	r, err := resample.New(from, to, 1)
	if err != nil {
		return nil, 0, err
	}
	step := from / 50
	out := make([]int16, 0, len(pcm)*to/from+to/50)
	buf := make([]int16, 0, to/50*2)
	var elapsed time.Duration
	for off := 0; off < len(pcm); off += step {
		end := min(off+step, len(pcm))
		t0 := time.Now()
		buf = r.Process(buf[:0], pcm[off:end])
		elapsed += time.Since(t0)
		out = append(out, buf...)
	}
	return out, elapsed, nil
}

// snrAligned finds the delay (0..maxLag samples) that best aligns got with
// ref and returns the SNR there, with the gain matched by least squares.
func snrAligned(ref, got []int16, maxLag int) float64 {
	best := math.Inf(-1)
	for lag := 0; lag <= maxLag; lag++ {
		n := min(len(ref), len(got)-lag)
		var rr, rg, gg float64
		for i := 0; i < n; i++ {
			r, g := float64(ref[i]), float64(got[i+lag])
			rr += r * r
			rg += r * g
			gg += g * g
		}
		if rr == 0 {
			continue
		}
		a := rg / rr // gain of got relative to ref
		noise := gg - 2*a*rg + a*a*rr
		if noise <= 0 {
			return math.Inf(1)
		}
		if snr := 10 * math.Log10(a*a*rr/noise); snr > best {
			best = snr
		}
	}
	return best
}
