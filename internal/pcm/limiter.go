package pcm

import (
	"fmt"
	"math"
	"time"
)

// Limiter defaults.
const (
	// DefaultThreshold is the output peak the Limiter holds to: −1 dBFS,
	// round(32767 · 10^(−1/20)).
	DefaultThreshold = 29204
	// DefaultAttack is how fast the gain falls: within one attack period.
	DefaultAttack = time.Millisecond
	// DefaultRelease is the time constant of the gain's exponential return
	// to unity: 63 % of a reduction is undone after one Release, 90 %
	// after 2.3, and the gain snaps back to exactly unity once it is
	// within 0.001 dB of it (8 to 9 Releases, 0.7 s at the default, after
	// 6 to 14 dB of reduction).
	DefaultRelease = 80 * time.Millisecond
	// DefaultHold is how long the gain stays down after the last block that
	// needed it before release starts, so that the gain does not creep up
	// between the waveform peaks of a low voice (one period at 100 Hz).
	DefaultHold = 10 * time.Millisecond
	// DefaultLimiterRate is the sample rate a zero-value Limiter assumes.
	DefaultLimiterRate = 48000
)

// snapUnity is how close to 1 the envelope must come before it returns to
// exactly 1, where Process takes the bit-exact SubSaturate fast path again.
// 1.2e-4 is 0.001 dB, and the jump it causes is at most 4 LSB at full scale.
const snapUnity = 1.2e-4

// LimiterConfig configures a Limiter; zero fields take the defaults.
type LimiterConfig struct {
	// SampleRate in Hz, 8000 to 192000; 0 means 48000.
	SampleRate int
	// Threshold is the output peak, in int16 units, above which the
	// limiter reduces gain: 1 to 32766; 0 means DefaultThreshold.
	Threshold int
	// Attack, up to 10 ms, is the length of the blocks over which the gain
	// moves linearly, so a reduction takes at most one attack (see Limiter
	// for frame starts); 0 means DefaultAttack. It is rounded to whole
	// samples, at least one.
	Attack time.Duration
	// Release, up to 5 s, is the time constant of the gain's recovery;
	// 0 means DefaultRelease.
	Release time.Duration
	// Hold, up to 1 s, delays the release after the last block that needed
	// reduction; 0 means DefaultHold, negative means no hold.
	Hold time.Duration
}

// Limiter turns one output's int32 mix into int16: dst = limit((acc − own) ·
// gain). When the output would peak above the threshold it lowers the gain
// smoothly instead of clipping, and a final saturation guarantees that no
// input, however extreme, wraps around.
//
// The gain (the envelope) is piecewise linear over blocks of one attack
// period. Because Process sees a whole frame at once, the envelope looks one
// block ahead within the frame: the gain at the start of each block is
// already at or below what that block and the next need, so inside a frame
// the output never exceeds the threshold (by more than one LSB of float32
// rounding). The first block of a frame, which
// the previous frame could not see, is scanned sample by sample instead:
// the gain reaches the needed value before the first sample that would
// exceed the threshold, but never faster than over a quarter of the attack,
// so a sudden onset right at a frame start can overshoot for at most that
// quarter, and saturation bounds what is left. The gain is continuous across
// frames, so a join adds no step of its own. After the hold time, release is
// exponential toward unity.
//
// At unity envelope and Unity output gain, when nothing exceeds the
// threshold, Process is bit-exact with SubSaturate and costs little more.
// Other gains use float32 arithmetic that rounds to nearest (see
// applyFGeneric); the fixed-point kernels round half up, so the two can
// differ by one LSB on exact halves.
//
// The zero value is a 48 kHz limiter with the defaults. A Limiter is not
// safe for concurrent use: one goroutine (the tick producing that output)
// calls Process; Reduction and Envelope read the same state and belong to
// that goroutine too. A Limiter holds no pointers and may be copied before
// first use, e.g. into a slice of per-output structs.
type Limiter struct {
	threshold float64 // output peak, int16 units
	thr16     int32   // threshold for the integer fast-path check
	block     int     // samples per attack block
	invBlock  float64 // 1/block: the per-sample step of a full block's ramp
	minRamp   int     // shortest gain ramp at a frame start, samples
	hold      int     // hold time, samples
	alpha     float64 // release factor over one full block
	tau       float64 // release time constant in samples
	env       float64 // envelope gain, 1 = unity
	held      int     // hold samples left before release may start
	ready     bool    // configured (defaults for a zero value)
	ref       bool    // tests: use the reference kernels
}

// NewLimiter returns a limiter with cfg, or an error wrapping the field that
// is out of range.
func NewLimiter(cfg LimiterConfig) (*Limiter, error) {
	rate := cfg.SampleRate
	if rate == 0 {
		rate = DefaultLimiterRate
	}
	if rate < 8000 || rate > 192000 {
		return nil, fmt.Errorf("%w: sample rate %d Hz, want 8000..192000", errLimiterConfig, cfg.SampleRate)
	}
	thr := cfg.Threshold
	if thr == 0 {
		thr = DefaultThreshold
	}
	if thr < 1 || thr > math.MaxInt16-1 {
		return nil, fmt.Errorf("%w: threshold %d, want 1..32766", errLimiterConfig, cfg.Threshold)
	}
	attack := cfg.Attack
	if attack == 0 {
		attack = DefaultAttack
	}
	if attack < 0 || attack > 10*time.Millisecond {
		return nil, fmt.Errorf("%w: attack %v, want 0..10ms", errLimiterConfig, cfg.Attack)
	}
	release := cfg.Release
	if release == 0 {
		release = DefaultRelease
	}
	if release < 0 || release > 5*time.Second {
		return nil, fmt.Errorf("%w: release %v, want 0..5s", errLimiterConfig, cfg.Release)
	}
	hold := cfg.Hold
	switch {
	case hold == 0:
		hold = DefaultHold
	case hold < 0:
		hold = 0
	case hold > time.Second:
		return nil, fmt.Errorf("%w: hold %v, want up to 1s", errLimiterConfig, cfg.Hold)
	}
	l := &Limiter{}
	l.configure(rate, thr, attack, release, hold)
	return l, nil
}

func (l *Limiter) configureDefaults() {
	l.configure(DefaultLimiterRate, DefaultThreshold, DefaultAttack, DefaultRelease, DefaultHold)
}

func (l *Limiter) configure(rate, thr int, attack, release, hold time.Duration) {
	l.threshold = float64(thr)
	l.thr16 = int32(thr)
	l.block = max(1, int(math.Round(attack.Seconds()*float64(rate))))
	l.invBlock = 1 / float64(l.block)
	l.minRamp = max(1, l.block/4)
	l.hold = int(math.Round(hold.Seconds() * float64(rate)))
	l.tau = release.Seconds() * float64(rate)
	l.alpha = math.Exp(-float64(l.block) / l.tau)
	l.env = 1
	l.held = 0
	l.ready = true
}

// Reset returns the envelope to unity, as for a new stream; the
// configuration stays.
func (l *Limiter) Reset() {
	if !l.ready {
		l.configureDefaults()
	}
	l.env = 1
	l.held = 0
}

// Envelope returns the current limiter gain in Q16: Unity when not limiting.
// It does not include the output gain passed to Process.
func (l *Limiter) Envelope() int32 {
	if !l.ready {
		return Unity
	}
	return int32(math.Round(l.env * float64(Unity)))
}

// Reduction returns the current gain reduction in dB, ≥ 0; 0 when the
// limiter is not acting.
func (l *Limiter) Reduction() float64 {
	if !l.ready || l.env >= 1 {
		return 0
	}
	return -20 * math.Log10(l.env)
}

// Process writes dst[i] = limit((acc[i] − own[i]) · gain) for i < n, n =
// min(len(dst), len(acc), len(own)), or without own when own is nil. gain
// is a Q16 output gain, clamped to [0, MaxGain]. acc and own are read only;
// dst must not overlap them.
func (l *Limiter) Process(dst []int16, acc []int32, own []int16, gain int32) {
	n := min(len(dst), len(acc))
	if own != nil {
		n = min(n, len(own))
		own = own[:n]
	}
	if n == 0 {
		return
	}
	if !l.ready {
		l.configureDefaults()
	}
	dst, acc = dst[:n], acc[:n]
	gain = clampGain(gain)
	if gain == 0 {
		clear(dst)
		l.release(n)
		return
	}
	if l.env == 1 {
		if gain == Unity {
			// Optimistic: most frames are not overloaded, and when the
			// saturated result stays within the threshold, nothing was
			// saturated (the threshold is below 32767).
			if own != nil {
				l.subSaturate(dst, acc, own)
			} else {
				l.saturate(dst, acc)
			}
			if l.peakAbs16(dst) <= l.thr16 {
				return
			}
		} else if float64(l.peakF(acc, own))*float64(gain) <= l.threshold*float64(Unity) {
			l.applyF(dst, acc, own, float32(gain)/float32(Unity), 0)
			return
		}
	}
	l.limit(dst, acc, own, float64(gain)/float64(Unity))
}

// release moves the envelope toward unity over n samples of silence,
// after what is left of the hold.
func (l *Limiter) release(n int) {
	if l.env == 1 {
		return
	}
	h := min(max(l.held, 0), n)
	l.held -= h
	l.env = 1 - (1-l.env)*math.Exp(-float64(n-h)/l.tau)
	if 1-l.env < snapUnity {
		l.env = 1
		l.held = 0
	}
}

// need returns the envelope gain a block with output peak p allows.
func (l *Limiter) need(p float64) float64 {
	if p <= l.threshold {
		return 1
	}
	return l.threshold / p
}

// maxBatch bounds how many blocks one batched kernel call covers, so that
// the per-block peaks and gains live in arrays on the stack: 64 blocks of
// 1 ms hold a 60 ms frame.
const maxBatch = 64

// limit runs the block-wise envelope over the frame; g is the output gain.
// Peaks of all blocks come from one kernel call, the envelope is computed
// per block in Go, and one more call applies every block's gain ramp.
func (l *Limiter) limit(dst []int16, acc []int32, own []int16, g float64) {
	n := len(dst)
	B := l.block
	b := l.env
	var peaks [maxBatch + 1]float32
	var g0s, steps [maxBatch]float32
	sub := func(s, e int) []int16 {
		if own == nil {
			return nil
		}
		return own[s:e]
	}
	for c := 0; c < n; {
		nb := min((n-c+B-1)/B, maxBatch) // blocks in this batch; the frame's last may be partial
		end := min(c+nb*B, n)
		full := (end - c) / B
		l.blockPeaksF(peaks[:full], acc[c:c+full*B], sub(c, c+full*B), B)
		if full < nb {
			peaks[full] = l.peakF(acc[c+full*B:end], sub(c+full*B, end))
		}
		ahead := end < n // the next batch's first block is the lookahead
		if ahead {
			e2 := min(end+B, n)
			peaks[nb] = l.peakF(acc[end:e2], sub(end, e2))
		}
		done := 0 // leading blocks already written (a split first block)
		for j := range nb {
			s := c + j*B
			L := min(B, end-s)
			needCur := l.need(float64(peaks[j]) * g)
			needNext := 1.0
			if j+1 < nb || ahead {
				needNext = l.need(float64(peaks[j+1]) * g)
			}
			alpha, inv := l.alpha, l.invBlock
			if L != B {
				alpha, inv = math.Exp(-float64(L)/l.tau), 1/float64(L)
			}
			target := b // held
			if l.held <= 0 {
				target = 1 - (1-b)*alpha
			}
			need := min(needCur, needNext)
			e := min(target, need)
			if need < 1 && need <= target {
				// This block sets the gain (also while held at exactly its
				// need): the hold starts again.
				l.held = l.hold
			} else {
				l.held -= L
			}
			g0s[j], steps[j] = float32(b*g), float32((e-b)*g*inv)
			if b > needCur {
				// Within a frame b ≤ needCur already (the previous block
				// looked ahead); only a frame's first block can start above
				// what it needs. Reach e before the first sample that would
				// exceed the threshold, but over at least minRamp samples.
				r := min(max(l.firstOver(acc[s:s+L], sub(s, s+L), b*g), l.minRamp), L)
				l.applyF(dst[s:s+r], acc[s:s+r], sub(s, s+r), float32(b*g), float32((e-b)*g/float64(r)))
				if r < L {
					l.applyF(dst[s+r:s+L], acc[s+r:s+L], sub(s+r, s+L), float32(e*g), 0)
				}
				done = j + 1
			}
			b = e
		}
		if s, e := c+done*B, c+full*B; e > s {
			l.applyBlocksF(dst[s:e], acc[s:e], sub(s, e), B, g0s[done:full], steps[done:full])
		}
		if full < nb && done <= full {
			s := c + full*B
			l.applyF(dst[s:end], acc[s:end], sub(s, end), g0s[full], steps[full])
		}
		c = end
	}
	if 1-b < snapUnity {
		b = 1
		l.held = 0
	}
	l.env = b
}

// firstOver returns the index of the first sample whose output at gain g
// would exceed the threshold, or len(acc).
func (l *Limiter) firstOver(acc []int32, own []int16, g float64) int {
	lim := l.threshold / g
	for i := range acc {
		x := float64(acc[i])
		if own != nil {
			x -= float64(own[i])
		}
		if math.Abs(x) > lim {
			return i
		}
	}
	return len(acc)
}

// Kernel selection: tests flip ref to compare the Limiter on the reference
// kernels with the fast ones; the branch is per call, not per sample.

func (l *Limiter) subSaturate(dst []int16, acc []int32, own []int16) {
	if l.ref {
		subSaturateGeneric(dst, acc, own)
		return
	}
	subSaturate(dst, acc, own)
}

func (l *Limiter) saturate(dst []int16, acc []int32) {
	if l.ref {
		saturateGeneric(dst, acc)
		return
	}
	saturate(dst, acc)
}

func (l *Limiter) peakAbs16(src []int16) int32 {
	if l.ref {
		return peakAbs16Generic(src)
	}
	return peakAbs16(src)
}

func (l *Limiter) peakF(acc []int32, own []int16) float32 {
	if l.ref {
		return peakFGeneric(acc, own)
	}
	return peakF(acc, own)
}

func (l *Limiter) blockPeaksF(out []float32, acc []int32, own []int16, block int) {
	if l.ref {
		blockPeaksFGeneric(out, acc, own, block)
		return
	}
	blockPeaksF(out, acc, own, block)
}

func (l *Limiter) applyBlocksF(dst []int16, acc []int32, own []int16, block int, g0s, steps []float32) {
	if l.ref {
		applyBlocksFGeneric(dst, acc, own, block, g0s, steps)
		return
	}
	applyBlocksF(dst, acc, own, block, g0s, steps)
}

func (l *Limiter) applyF(dst []int16, acc []int32, own []int16, g0, step float32) {
	if l.ref {
		applyFGeneric(dst, acc, own, g0, step, 0)
		return
	}
	applyF(dst, acc, own, g0, step)
}
