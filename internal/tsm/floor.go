package tsm

import (
	"math"

	"github.com/rtpmix/rtpmix/internal/pcm"
)

// The silence decision: a stretch of audio may be cut or repeated freely,
// whatever its waveform, when its energy is close to the sender's
// background. The background is estimated by minimum statistics (Martin,
// "Noise power spectral density estimation based on optimal smoothing and
// minimum statistics", 2001, reduced to one band): the lowest 5 ms block
// energy seen over the last 1.6 s. Speech has gaps between syllables and
// words far more often than that, so the minimum settles on the background
// and follows it within 1.6 s when it changes, up or down.
const (
	floorBlockMs = 5
	floorWinMs   = 200 // one sub-window of the minimum search
	floorWins    = 8   // sub-windows: the minimum spans 1.6 s

	// Mean squares relative to full scale (2^30, as pcm.DBov counts).
	fullScale = float64(1 << 30)
	// floorMin (-75 dBFS): blocks quieter than this (digital silence,
	// decoder ramp-downs) carry no information about the background and
	// are ignored, so a DTX gap does not pull the floor to nothing.
	floorMin = fullScale * 3.16e-8
	// floorMax (-40 dBFS): the floor never rises above this, so loud
	// continuous audio is never taken for background.
	floorMax = fullScale * 1e-4
	// floorInit (-55 dBFS, a quiet office) fills the sub-windows of a new
	// stream, so that for its first 1.6 s a stretch counts as background
	// only when it is that quiet or quieter than anything seen so far: the
	// first syllables are not taken for background before the estimate
	// exists.
	floorInit = fullScale * 3.16e-6
	// silenceMin (-60 dBFS): at or below this, audio is silence whatever
	// the floor says.
	silenceMin = fullScale * 1e-6
	// aboveFloor: audio within 9 dB of the floor is background, the margin
	// WebRTC NetEq's speech detection uses for its background-noise energy.
	aboveFloor = 8.0
)

type noiseFloor struct {
	win       [floorWins]float64 // minimum block mean square per sub-window
	cur       float64            // minimum in the current sub-window
	next      int                // win index the current sub-window goes to
	blocks    int                // blocks counted in the current sub-window
	perWin    int                // blocks per sub-window
	blockLen  int                // samples per block
	partE     uint64             // energy of the block being filled
	partN     int                // samples in it
	threshold float64            // cached silence threshold (mean square)
}

func (nf *noiseFloor) init(rate int) {
	*nf = noiseFloor{
		perWin:   floorWinMs / floorBlockMs,
		blockLen: rate * floorBlockMs / 1000,
		cur:      math.Inf(1),
	}
	for i := range nf.win {
		nf.win[i] = floorInit
	}
	nf.threshold = aboveFloor * floorInit
}

// observe feeds written samples, in blocks that continue across calls so
// the estimate does not depend on how the caller cuts its frames.
func (nf *noiseFloor) observe(p []int16) {
	for len(p) > 0 {
		k := min(len(p), nf.blockLen-nf.partN)
		nf.partE += pcm.Energy(p[:k])
		nf.partN += k
		p = p[k:]
		if nf.partN < nf.blockLen {
			return
		}
		if ms := float64(nf.partE) / float64(nf.partN); ms >= floorMin {
			nf.cur = min(nf.cur, ms)
		}
		nf.partE, nf.partN = 0, 0
		if nf.blocks++; nf.blocks == nf.perWin {
			nf.win[nf.next] = nf.cur
			nf.next = (nf.next + 1) % floorWins
			nf.cur, nf.blocks = math.Inf(1), 0
		}
		nf.update()
	}
}

// update recomputes the threshold. While no block of the last 1.6 s said
// anything (all digital silence), the last estimate stands.
func (nf *noiseFloor) update() {
	m := nf.cur
	for _, w := range nf.win {
		m = min(m, w)
	}
	if math.IsInf(m, 1) {
		return
	}
	m = min(m, floorMax)
	nf.threshold = max(silenceMin, aboveFloor*m)
}

// silent reports whether energy over n samples is background.
func (nf *noiseFloor) silent(energy uint64, n int) bool {
	return float64(energy) <= nf.threshold*float64(n)
}
