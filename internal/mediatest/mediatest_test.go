package mediatest

import (
	"math"
	"testing"
)

func TestToneShare(t *testing.T) {
	const rate = 8000
	x := make([]int16, rate)
	for i := range x {
		x[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/rate))
	}
	if s := ToneShare(x, rate, 1000); s < 0.99 || s > 1.01 {
		t.Errorf("pure 1000 Hz tone: share at 1000 Hz %.4f, want ≈ 1", s)
	}
	if s := ToneShare(x, rate, 440); s > 1e-4 {
		t.Errorf("pure 1000 Hz tone: share at 440 Hz %.2g, want ≈ 0", s)
	}
	if s := ToneShare(make([]int16, 100), rate, 440); s != 0 {
		t.Errorf("silence: %v, want 0", s)
	}
}

func TestFreeUDPPortPair(t *testing.T) {
	p := FreeUDPPortPair(t)
	if p%2 != 0 || p <= 0 {
		t.Errorf("port %d: want an even port", p)
	}
}
