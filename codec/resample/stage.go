package resample

// stage is one polyphase FIR rate change by L/M. Output n is the prototype
// applied at intermediate time t = n·M of the input zero-stuffed by L: phase
// p = t mod L of the prototype against input samples up to i = t div L.
//
// Each channel has a buffer whose first samples are history; the read
// position (start, phase) is shared by the channels because they advance in
// step.
type stage struct {
	kind   kernelKind
	l, m   int
	taps   int       // per phase, a multiple of 8
	coefs  []float32 // phase p at [p*taps:(p+1)*taps], oldest sample first
	groups []group   // indexed by the phase of the first of four outputs
	delay  float64   // group delay in this stage's output samples
	maxIn  int       // most input samples per channel per call of run

	avail int // samples in each buffer, history included
	start int // first sample of the window of the next output
	phase int // phase of the next output
	buf   [2][]float32
}

// kernelKind picks the AVX2 kernel; all compute the same outputs.
type kernelKind int

const (
	kindGeneral kernelKind = iota // any L/M, four outputs per group
	kindInterp2                   // L=2, M=1: two positions × two phases share loads
	kindInterp3                   // L=3, M=1: two positions × three phases share loads
	kindDecim                     // L=1: four outputs share the coefficient loads
)

// slack covers the reads of the up to three outputs that the kernels
// compute beyond the wanted count to fill a group of four (each moves on by
// at most ceil(M/L) ≤ 6 samples) and their writes.
const slack = 32

func newStage(p *prototype, l, m, maxIn, channels int) *stage {
	n := len(p.taps)
	perPhase := (n + l - 1) / l
	taps := (perPhase + 7) &^ 7
	st := &stage{l: l, m: m, taps: taps, maxIn: maxIn}
	switch {
	case l == 2 && m == 1:
		st.kind = kindInterp2
	case l == 3 && m == 1:
		st.kind = kindInterp3
	case l == 1:
		st.kind = kindDecim
	}
	st.coefs = make([]float32, l*taps)
	for ph := 0; ph < l; ph++ {
		row := st.coefs[ph*taps : (ph+1)*taps]
		// Coefficient k of phase ph weighs input i-k; stored reversed so
		// that the dot product runs forward through the window, and scaled
		// by L to make up for the zeros the interpolation stuffs in.
		for k := 0; ph+k*l < n; k++ {
			row[taps-1-k] = float32(float64(p.taps[ph+k*l]) * float64(l))
		}
	}
	st.groups = make([]group, l)
	for ph := range st.groups {
		g := &st.groups[ph]
		q, adv := ph, 0
		for j := 0; j < 4; j++ {
			g.xoff[j] = int64(adv * 4)
			g.coff[j] = int64(q * taps * 4)
			q += m
			adv += q / l
			q %= l
		}
		g.adv, g.next = int64(adv), int64(q)
	}
	st.delay = float64(n-1) / 2 / float64(m)
	for c := 0; c < channels; c++ {
		st.buf[c] = make([]float32, taps+maxIn+slack)
	}
	st.reset()
	return st
}

// reset starts a new stream: the window of the first output ends on the
// first input sample, behind taps-1 samples of silence.
func (st *stage) reset() {
	for c := range st.buf {
		clear(st.buf[c])
	}
	st.avail = st.taps - 1
	st.start = 0
	st.phase = 0
}

// count returns how many outputs the stage can produce once k more samples
// per channel are in its buffers. Over a stream that has taken N samples in
// all, the stage has produced ceil(N·L/M) outputs, whatever the split.
func (st *stage) count(k int) int {
	r := st.avail + k - st.taps - st.start
	if r < 0 {
		return 0
	}
	return ((r+1)*st.l - st.phase + st.m - 1) / st.m
}

// maxOut bounds the outputs per channel for maxIn inputs.
func (st *stage) maxOut() int {
	return (st.maxIn*st.l+st.m-1)/st.m + 1
}

// kernelSpan returns, for n outputs, how many samples of dst the kernels
// may write and how far into the buffer they may read: whole groups are
// computed, the spare outputs of the last one included.
func (st *stage) kernelSpan(n int) (writes, reads int) {
	g := (n + 3) / 4
	writes = 4 * g
	reads = st.start + (st.phase+(4*g-1)*st.m)/st.l + st.taps
	if st.kind == kindInterp3 {
		// Groups of six outputs (two positions), eight floats stored.
		g6 := (n + 5) / 6
		writes = max(writes, 6*g6+2)
		reads = max(reads, st.start+2*g6-1+st.taps)
	}
	return writes, reads
}

// run computes n outputs of channel c into dst.
func (st *stage) run(generic bool, c int, dst []float32, n int) {
	if n <= 0 {
		return
	}
	if (st.kind == kindInterp2 || st.kind == kindInterp3) && st.phase != 0 {
		// With M = 1 every input sample releases all L phases, so a run
		// always starts at phase 0; the specialised kernels rely on it.
		panic("resample: interpolator not at phase 0")
	}
	// The AVX2 kernels do not check bounds: this does, once per run.
	writes, reads := st.kernelSpan(n)
	if reads > len(st.buf[c]) || writes > len(dst) {
		panic("resample: internal buffer bound violated")
	}
	polyphase(generic, st, c, dst, n)
}

// advance moves the read position past n outputs and drops the samples no
// later output needs.
func (st *stage) advance(n, channels int) {
	t := st.phase + n*st.m
	st.start += t / st.l
	st.phase = t % st.l
	for c := 0; c < channels; c++ {
		copy(st.buf[c], st.buf[c][st.start:st.avail])
	}
	st.avail -= st.start
	st.start = 0
}
