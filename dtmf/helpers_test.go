package dtmf

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/wav"
)

// amp returns the peak amplitude of a sine at level dBm0.
func amp(dBm0 float64) float64 { return 22706 * math.Pow(10, dBm0/20) }

// toneSpec is one DTMF tone burst for the generators: the digit, its
// frequencies' relative offsets, levels per tone and duration.
type toneSpec struct {
	ev       Event
	dfLo     float64 // relative frequency offset of the row tone (0.015 = +1.5 %)
	dfHi     float64
	levLo    float64 // dBm0
	levHi    float64
	duration float64 // seconds
}

// synth appends a tone burst at rate to dst, continuing the phase from
// ph (so that bursts of one digit can be spliced); silence for ev = 255.
func synth(dst []float64, rate int, t toneSpec) []float64 {
	n := int(math.Round(t.duration * float64(rate)))
	if t.ev == 255 {
		return append(dst, make([]float64, n)...)
	}
	lo, hi, ok := t.ev.Frequencies()
	if !ok {
		panic("no frequencies")
	}
	lo *= 1 + t.dfLo
	hi *= 1 + t.dfHi
	al, ah := amp(t.levLo), amp(t.levHi)
	p1, p2 := rand.Float64()*2*math.Pi, rand.Float64()*2*math.Pi
	for i := range n {
		x := float64(i) / float64(rate)
		dst = append(dst, al*math.Sin(2*math.Pi*lo*x+p1)+ah*math.Sin(2*math.Pi*hi*x+p2))
	}
	return dst
}

func pause(dst []float64, rate int, sec float64) []float64 {
	return synth(dst, rate, toneSpec{ev: 255, duration: sec})
}

// addNoise adds white Gaussian noise at level dBm0 (mean square relative
// to a 0 dBm0 sine's), band-limited by nothing: the worst case for the
// filters.
func addNoise(x []float64, dBm0 float64, rng *rand.Rand) {
	sigma := amp(dBm0) / math.Sqrt2
	for i := range x {
		x[i] += sigma * rng.NormFloat64()
	}
}

func toPCM(x []float64) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = int16(max(-32768, min(32767, math.Round(v))))
	}
	return out
}

// detect runs a fresh Detector over pcm in frames of 20 ms and returns
// every notice.
func detect(t testing.TB, rate int, pcm []int16) []Digit {
	t.Helper()
	d, err := NewDetector(DetectorConfig{SampleRate: rate})
	if err != nil {
		t.Fatal(err)
	}
	return runDetector(d, pcm, rate/50)
}

func runDetector(d *Detector, pcm []int16, frame int) []Digit {
	var out []Digit
	for len(pcm) > 0 {
		n := min(frame, len(pcm))
		d.Process(pcm[:n])
		pcm = pcm[n:]
		for g, ok := d.Next(); ok; g, ok = d.Next() {
			out = append(out, g)
		}
	}
	// Trailing silence lets a digit at the very end finish.
	tail := make([]int16, d.rate/10)
	d.Process(tail)
	for g, ok := d.Next(); ok; g, ok = d.Next() {
		out = append(out, g)
	}
	return out
}

// digits returns the events of the Began notices, as a string.
func digits(ns []Digit) string {
	var s []rune
	for _, n := range ns {
		if !n.Ended {
			s = append(s, n.Event.Rune())
		}
	}
	return string(s)
}

// clip reads a speech clip of the repository's testdata at rate.
func clip(t testing.TB, name string, rate int) []int16 {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := wav.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if a.Channels != 1 || a.SampleRate != 48000 {
		t.Fatalf("%s: %d Hz × %d, want 48000 mono", name, a.SampleRate, a.Channels)
	}
	if rate == 48000 {
		return a.Samples
	}
	rs, err := resample.New(48000, rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	return rs.Process(nil, a.Samples)
}
