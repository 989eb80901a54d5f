package resample

import "fmt"

// Resampler converts a stream of 16-bit PCM from one sample rate to another.
// It keeps the filter history between calls, so a stream cut into frames of
// any length resamples to exactly the same samples as the whole stream at
// once.
//
// A Resampler is not safe for concurrent use: one goroutine at a time may
// call its methods (one per stream, as the mixer does per participant).
// Different Resamplers share nothing mutable.
type Resampler struct {
	inRate, outRate, channels int
	stages                    []*stage
	// out holds the last stage's float output per channel and out16 its
	// conversion, which stereo then interleaves.
	out   [2][]float32
	out16 [2][]int16
	// A stereo call with an odd number of samples leaves half a frame here.
	pending    [2]int16
	hasPending bool
	// generic selects the portable reference kernels (tests compare them
	// with the AVX2 ones).
	generic bool
}

// Rates lists the sample rates New accepts, in Hz.
func Rates() []int { return []int{8000, 16000, 24000, 32000, 48000} }

func supported(rate int) bool {
	switch rate {
	case 8000, 16000, 24000, 32000, 48000:
		return true
	}
	return false
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// New returns a resampler from inRate to outRate Hz (each 8000, 16000,
// 24000, 32000 or 48000; equal rates copy) for interleaved PCM with 1 or 2
// channels.
func New(inRate, outRate, channels int) (*Resampler, error) {
	if !supported(inRate) || !supported(outRate) {
		return nil, fmt.Errorf("%w: %d Hz to %d Hz (want 8000, 16000, 24000, 32000 or 48000)", errRate, inRate, outRate)
	}
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("%w: got %d", errChannels, channels)
	}
	r := &Resampler{inRate: inRate, outRate: outRate, channels: channels}
	g := gcd(inRate, outRate)
	l, m := outRate/g, inRate/g
	// Input is processed in pieces of at most 20 ms per channel so that the
	// buffers stay small and need no growing for long inputs.
	chunk := inRate / 50
	type step struct {
		p    *prototype
		l, m int
	}
	var plan []step
	switch {
	case l == m:
	case l == 6 && m == 1:
		// 8 → 48 kHz: the sharp filter runs at 8→16 kHz on a third of the
		// samples a single ×6 stage would need, then a short ×3 filter
		// removes the images around 16 and 32 kHz.
		plan = []step{{&sharp2, 2, 1}, {&relax3, 3, 1}}
	case l == 1 && m == 6:
		// 48 → 8 kHz: a short ÷3 filter keeps 12–20 kHz from folding
		// onto 0–4 kHz, then the sharp ÷2 filter runs at 16 kHz.
		plan = []step{{&relax3, 1, 3}, {&sharp2, 1, 2}}
	default:
		p := map[int]*prototype{2: &sharp2, 3: &sharp3, 4: &sharp4}[max(l, m)]
		plan = []step{{p, l, m}}
	}
	in := chunk
	for _, s := range plan {
		st := newStage(s.p, s.l, s.m, in, channels)
		r.stages = append(r.stages, st)
		in = st.maxOut()
	}
	for c := 0; c < channels; c++ {
		r.out[c] = make([]float32, in+slack)
		r.out16[c] = make([]int16, in+slack)
	}
	return r, nil
}

// InRate returns the input sample rate in Hz.
func (r *Resampler) InRate() int { return r.inRate }

// OutRate returns the output sample rate in Hz.
func (r *Resampler) OutRate() int { return r.outRate }

// Channels returns the number of interleaved channels.
func (r *Resampler) Channels() int { return r.channels }

// OutLen returns exactly how many samples (all channels, interleaved) the
// next Process call appends for an input of inSamples samples. It depends on
// the samples taken so far, not only on inSamples: it is at most
// ceil(F·outRate/inRate)·channels, where F is the number of whole frames
// the call completes (inSamples/channels, plus one when a half stereo frame
// held from the previous call is completed). Over a stream of N frames the
// total output is exactly ceil(N·outRate/inRate) frames, so each 20 ms
// frame at one supported rate gives exactly a 20 ms frame at another (160
// samples at 8 kHz become 960 at 48 kHz).
func (r *Resampler) OutLen(inSamples int) int {
	if inSamples <= 0 {
		return 0
	}
	n := inSamples
	if r.hasPending {
		n++
	}
	n /= r.channels
	for _, st := range r.stages {
		n = st.count(n)
	}
	return n * r.channels
}

// Delay returns the group delay in output samples (per channel): an input
// impulse at the start of the stream comes out centred this many samples
// into the output. The filters have linear phase, so every frequency is
// delayed by the same amount. It is a whole number for most pairs and a
// multiple of a half sample for the others.
func (r *Resampler) Delay() float64 {
	d := 0.0
	for _, st := range r.stages {
		d = d*float64(st.l)/float64(st.m) + st.delay
	}
	return d
}

// Reset forgets the stream: the next Process starts from silence as after
// New. Buffers are reused.
func (r *Resampler) Reset() {
	for _, st := range r.stages {
		st.reset()
	}
	r.hasPending = false
}

// Process resamples src (interleaved, any length) and appends the result to
// dst[:0], returning it; it allocates only when cap(dst) < OutLen(len(src)).
// The output trails the input by the filter delay (see Delay); the samples
// still inside the filter come out with the next calls. With two channels a
// trailing odd sample is held until the next call completes its frame.
func (r *Resampler) Process(dst, src []int16) []int16 {
	n := r.OutLen(len(src))
	if cap(dst) < n {
		dst = make([]int16, n)
	}
	dst = dst[:n]
	w := 0
	if r.hasPending && len(src) > 0 {
		r.pending[1] = src[0]
		src = src[1:]
		r.hasPending = false
		w = r.frames(dst, w, r.pending[:])
	}
	full := len(src) - len(src)%r.channels
	w = r.frames(dst, w, src[:full])
	if full < len(src) {
		r.pending[0] = src[full]
		r.hasPending = true
	}
	return dst[:w]
}

// frames resamples whole interleaved frames into dst from index w, in
// pieces that fit the first stage's buffers.
func (r *Resampler) frames(dst []int16, w int, src []int16) int {
	if len(r.stages) == 0 {
		return w + copy(dst[w:], src)
	}
	per := r.stages[0].maxIn * r.channels
	for len(src) > 0 {
		k := min(len(src), per)
		w = r.chunk(dst, w, src[:k])
		src = src[k:]
	}
	return w
}

func (r *Resampler) chunk(dst []int16, w int, src []int16) int {
	ch := r.channels
	k := len(src) / ch
	s0 := r.stages[0]
	if ch == 1 {
		s16ToF32(r.generic, s0.buf[0][s0.avail:s0.avail+k], src)
	} else {
		b0 := s0.buf[0][s0.avail : s0.avail+k]
		b1 := s0.buf[1][s0.avail : s0.avail+k]
		for i := range b0 {
			b0[i] = float32(src[2*i])
			b1[i] = float32(src[2*i+1])
		}
	}
	s0.avail += k
	n := 0
	for i, st := range r.stages {
		n = st.count(0)
		last := i == len(r.stages)-1
		for c := 0; c < ch; c++ {
			if last {
				st.run(r.generic, c, r.out[c], n)
			} else {
				nx := r.stages[i+1]
				st.run(r.generic, c, nx.buf[c][nx.avail:], n)
			}
		}
		st.advance(n, ch)
		if !last {
			r.stages[i+1].avail += n
		}
	}
	if ch == 1 {
		f32ToS16(r.generic, dst[w:w+n], r.out[0][:n])
		return w + n
	}
	f32ToS16(r.generic, r.out16[0][:n], r.out[0][:n])
	f32ToS16(r.generic, r.out16[1][:n], r.out[1][:n])
	d := dst[w : w+2*n]
	for i := 0; i < n; i++ {
		d[2*i] = r.out16[0][i]
		d[2*i+1] = r.out16[1][i]
	}
	return w + 2*n
}

// CopyStateFrom makes r continue exactly where src is: the same filter
// history, phase and pending samples, as if r had processed src's stream.
// Both must convert between the same rates with the same channels. The
// mixer uses it when a listener moves from a shared output stream to its
// own, so that its audio continues without a transient. It allocates
// nothing.
func (r *Resampler) CopyStateFrom(src *Resampler) error {
	if r.inRate != src.inRate || r.outRate != src.outRate || r.channels != src.channels || len(r.stages) != len(src.stages) {
		return fmt.Errorf("%w: copy state from %d→%d Hz ×%d into %d→%d Hz ×%d", errRate,
			src.inRate, src.outRate, src.channels, r.inRate, r.outRate, r.channels)
	}
	for i, st := range r.stages {
		s := src.stages[i]
		st.avail, st.start, st.phase = s.avail, s.start, s.phase
		for c := range st.buf {
			copy(st.buf[c], s.buf[c])
		}
	}
	r.pending, r.hasPending = src.pending, src.hasPending
	return nil
}
