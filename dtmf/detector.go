package dtmf

import (
	"fmt"
	"math"
	"time"

	"github.com/rtpmix/rtpmix/codec/resample"
)

// DetectorConfig holds a Detector's options; the zero value of each field
// means its default.
type DetectorConfig struct {
	// SampleRate of the PCM given to Process: 8000 (the default), 16000 or
	// 48000. Other rates than 8000 are resampled to 8 kHz inside, which
	// costs more than the detection itself: give the detector a G.711
	// leg's 8 kHz PCM before the mixer resamples it.
	SampleRate int
	// MinLevel is the weakest tone accepted, in dBm0 per frequency.
	// Default -32: Q.24's acceptance range reaches -25 dBm0 (lower for
	// some administrations), and -32 leaves room for the 1.5 dB a tone
	// 1.5 % off frequency loses in the filter.
	MinLevel float64
}

// The detector's analysis, all at 8 kHz:
//
//   - every hop of 40 samples (5 ms), one Goertzel filter per DTMF
//     frequency gives that hop's complex spectrum value, rotated to a
//     common time origin so that consecutive hops add up coherently;
//   - the last winHops = 5 hops (200 samples, 25 ms) summed give each
//     frequency's power over a 25 ms window, whose 40 Hz resolution
//     separates neighbouring DTMF frequencies (73 Hz apart or more) by
//     more than 20 dB;
//   - a window shows a digit when the strongest row and column frequency
//     are each above MinLevel, within the twist limits, 10 dB above the
//     other frequencies of their group, together hold most of the
//     window's energy (the tone-to-total ratio that keeps speech out), and
//     each is closer to its nominal frequency than to 5 % off it (two
//     more Goertzel filters per tone, run over the window only then);
//   - a digit begins after minWindows = 3 consecutive windows show it:
//     25 + 2×5 = 35 ms of tone that passes every test, which any tone of
//     40 ms contains at every alignment to the hops, and no tone of 25 ms
//     or less can (three windows of 200 samples five hops apart need 280
//     samples of the tone, allowing for windows that pass while not
//     quite covered);
//   - a digit ends after offHops = 4 consecutive hops (20 ms) in which
//     either of its frequencies falls 10 dB below its level or the two no
//     longer hold most of the hop's energy: a drop-out of 10 ms spoils at
//     most two hops and is bridged (Q.24), a pause of 40 ms ends the
//     digit; the next digit is counted only from windows that start after
//     the last hop of the previous one, so that the pause is really there.
const (
	detRate    = 8000
	hop        = 40
	winHops    = 5
	winLen     = hop * winHops
	minWindows = 3
	offHops    = 4

	// sideOffset is where the frequency check's side filters sit: a tone
	// closer to them than to the nominal frequency (more than 2.5 % off)
	// is rejected; Q.24 wants 1.5 % accepted and 3.5 % rejected.
	sideOffset = 0.05
	// Twist limits: the column tone may be up to 4 dB stronger than the
	// row tone (reverse twist) or 8 dB weaker (normal twist), Q.24's
	// usual figures; the thresholds sit 2 dB further out because a tone
	// 1.5 % off frequency reads up to 1.5 dB low.
	reverseTwistDB = 6
	normalTwistDB  = 10
	// relPeakDB: every other frequency of a group must be this far below
	// the group's strongest.
	relPeakDB = 10
	// minShare: the two tones must hold this share of the window's
	// energy. A clean tone pair holds 0.95 or more (0.7 when both are
	// 1.5 % off), noise at 15 dB SNR costs 3 %; speech spreads its energy
	// over many harmonics and formants and rarely puts even 30 % in two
	// DTMF frequencies.
	minShare = 0.6
	// minHopFill: every hop of a window must hold at least this share of
	// the window's mean energy per hop.
	minHopFill = 0.5
	// onDB and onShare decide whether a hop still carries the active
	// digit.
	onDB    = 10
	onShare = 0.5

	// dBm0: a sine of 0 dBm0 has a peak of 22706 in 16-bit PCM (G.711's
	// full scale is +3.17 dBm0); powers here are mean squares.
	zeroDBm0 = 22706.0 * 22706.0 / 2
)

// Detector finds DTMF digits in PCM audio: the tones a phone without
// telephone-event sends in its G.711 stream. Feed it the decoded audio of
// one participant in frames of any length with [Detector.Process] and take
// the notices with [Detector.Next]; a digit is reported as begun once 35 ms
// of it has been heard, and as ended 20 ms after its tone stops.
//
// It meets the acceptance figures of ITU-T Q.24 (see the package
// documentation for the table and its tests): frequency within ±1.5 %
// accepted and ±3.5 % rejected, 40 ms accepted and 25 ms rejected, twist
// +4/−8 dB accepted, levels from MinLevel up, pauses of 40 ms recognized
// and drop-outs of 10 ms bridged; and it does not mistake speech, music or
// noise for digits (talk-off).
//
// A Detector allocates nothing after NewDetector. It is not safe for
// concurrent use: one goroutine (the one that decodes the participant)
// calls it.
type Detector struct {
	rate     int
	ratio    uint32 // input samples per 8 kHz sample
	minLevel float64

	rs  *resample.Resampler // nil at 8 kHz
	buf []int16             // resampler output for one chunk

	bank  bank
	hist  [winLen]float32 // the last window's samples, a ring indexed by pos%winLen
	pos   uint64          // 8 kHz samples consumed
	nhop  uint64          // hops completed
	state digitState

	q     digitQueue
	shown uint64 // windows that showed a digit (tests read it: the talk-off margin)
}

// bank is the eight Goertzel filters and what one hop leaves of them.
type bank struct {
	coef  [8]float32 // 2cos(ω)
	s1    [8]float32
	s2    [8]float32
	e     float32 // energy of the hop so far
	n     int     // samples of the hop so far
	cosw  [8]float64
	sinw  [8]float64
	rot   [8]complex128                    // e^{-jω(m+hop-1)} for the hop starting at m
	step  [8]complex128                    // e^{-jω hop}
	trial [8][len(trialOffsets)]complex128 // e^{-jΔω hop} for each trial offset
	hops  [winHops][8]complex128
	hopE  [winHops]float64
	ihop  int
	nhops int
}

// digitState is the decision across windows and hops.
type digitState struct {
	cand      int8 // digit shown by the recent windows, -1 none
	candN     int
	candStart uint64 // first sample of the first window showing cand
	active    int8   // digit in progress, -1 none
	start     uint64
	lastOn    uint64 // end of the last hop that carried the digit
	off       int
	levLo     float64
	levHi     float64
	volume    uint8
	quiet     uint64 // windows are counted only from here (after a digit's end)
}

var allFreqs = [8]float64{697, 770, 852, 941, 1209, 1336, 1477, 1633}

// trialOffsets are the relative frequency offsets tonePower tries.
var trialOffsets = [...]float64{0, -0.01, 0.01, -0.02, 0.02}

// NewDetector returns a Detector for one stream.
func NewDetector(cfg DetectorConfig) (*Detector, error) {
	if cfg.SampleRate == 0 {
		cfg.SampleRate = detRate
	}
	if cfg.MinLevel == 0 {
		cfg.MinLevel = -32
	}
	d := &Detector{rate: cfg.SampleRate, minLevel: zeroDBm0 * math.Pow(10, cfg.MinLevel/10)}
	switch cfg.SampleRate {
	case 8000:
	case 16000, 48000:
		rs, err := resample.New(cfg.SampleRate, detRate, 1)
		if err != nil {
			return nil, err
		}
		d.rs = rs
		d.buf = make([]int16, 0, rs.OutLen(chunkIn(cfg.SampleRate))+8)
	default:
		return nil, fmt.Errorf("%w: %d", errRate, cfg.SampleRate)
	}
	d.ratio = uint32(cfg.SampleRate / detRate)
	for i, f := range allFreqs {
		w := 2 * math.Pi * f / detRate
		d.bank.coef[i] = float32(2 * math.Cos(w))
		d.bank.cosw[i], d.bank.sinw[i] = math.Cos(w), math.Sin(w)
		d.bank.step[i] = complex(math.Cos(w*hop), -math.Sin(w*hop))
		for t, off := range trialOffsets {
			dw := w * off * hop
			d.bank.trial[i][t] = complex(math.Cos(dw), -math.Sin(dw))
		}
	}
	d.Reset()
	return d, nil
}

// chunkIn is how many input samples Process resamples at a time: 20 ms.
func chunkIn(rate int) int { return rate / 50 }

// SampleRate returns the rate of the PCM the Detector takes.
func (d *Detector) SampleRate() int { return d.rate }

// Reset forgets the stream: a digit in progress ends (CauseReset, its
// notice stays queued) and detection starts afresh at sample 0.
func (d *Detector) Reset() {
	if d.state.active >= 0 && d.nhop > 0 {
		d.end(CauseReset)
	}
	if d.rs != nil {
		d.rs.Reset()
	}
	d.bank.s1, d.bank.s2 = [8]float32{}, [8]float32{}
	d.bank.e, d.bank.n = 0, 0
	for i := range d.bank.rot {
		d.bank.rot[i] = complex(math.Cos(allFreqs[i]*2*math.Pi/detRate*(hop-1)), -math.Sin(allFreqs[i]*2*math.Pi/detRate*(hop-1)))
	}
	d.bank.ihop, d.bank.nhops = 0, 0
	d.hist = [winLen]float32{}
	d.pos, d.nhop = 0, 0
	d.state = digitState{cand: -1, active: -1}
}

// Process runs the detector over the next samples of the stream (mono,
// at SampleRate). Notices are queued for Next.
func (d *Detector) Process(pcm []int16) {
	if d.rs == nil {
		d.run(pcm)
		return
	}
	for len(pcm) > 0 {
		n := min(len(pcm), chunkIn(d.rate))
		d.buf = d.rs.Process(d.buf[:0], pcm[:n])
		d.run(d.buf)
		pcm = pcm[n:]
	}
}

// run feeds 8 kHz samples through the filter bank, a hop at a time.
func (d *Detector) run(x []int16) {
	b := &d.bank
	for len(x) > 0 {
		n := min(len(x), hop-b.n)
		b.filter(x[:n], &d.hist, d.pos)
		d.pos += uint64(n)
		b.n += n
		x = x[n:]
		if b.n == hop {
			d.endHop()
		}
	}
}

// filter runs the eight Goertzel recurrences over x (part of one hop) and
// keeps the samples for the frequency check.
func (b *bank) filter(x []int16, hist *[winLen]float32, pos uint64) {
	c := b.coef
	s1, s2 := b.s1, b.s2
	e := b.e
	h := int(pos % winLen)
	for _, v := range x {
		f := float32(v)
		e += f * f
		hist[h] = f
		if h++; h == winLen {
			h = 0
		}
		for k := range 8 {
			s0 := f + c[k]*s1[k] - s2[k]
			s2[k] = s1[k]
			s1[k] = s0
		}
	}
	b.s1, b.s2 = s1, s2
	b.e = e
}

// endHop turns the filters' state into the hop's spectrum values, then
// judges the window that ends with this hop.
func (d *Detector) endHop() {
	b := &d.bank
	slot := &b.hops[b.ihop]
	for k := range 8 {
		// y = s1 - e^{-jω}·s2 = Σ x[n]·e^{jω(hop-1-n)}; times the
		// rotation it is Σ x[n]·e^{-jω(m+n)} for the hop at m.
		s1, s2 := float64(b.s1[k]), float64(b.s2[k])
		y := complex(s1-b.cosw[k]*s2, b.sinw[k]*s2)
		slot[k] = y * b.rot[k]
		r := b.rot[k] * b.step[k]
		// Renormalize so rounding never lets the phasor's length drift.
		b.rot[k] = r / complex(math.Hypot(real(r), imag(r)), 0)
	}
	b.hopE[b.ihop] = float64(b.e)
	hopVals := *slot
	hopE := float64(b.e)
	b.s1, b.s2 = [8]float32{}, [8]float32{}
	b.e, b.n = 0, 0
	b.ihop = (b.ihop + 1) % winHops
	b.nhops = min(b.nhops+1, winHops)
	d.nhop++
	d.judge(&hopVals, hopE)
}

// judge advances the digit decision by one hop.
func (d *Detector) judge(hopVals *[8]complex128, hopE float64) {
	st := &d.state
	hopEnd := d.pos
	if st.active >= 0 {
		if d.hopCarries(hopVals, hopE) {
			st.off = 0
			st.lastOn = hopEnd
		} else if st.off++; st.off >= offHops {
			d.end(CauseEndPacket)
		}
	}
	if d.bank.nhops < winHops {
		return
	}
	winStart := hopEnd - winLen
	dig := int8(-1)
	var lo, hi float64
	if winStart >= st.quiet {
		dig, lo, hi = d.window()
	}
	if dig >= 0 {
		d.shown++
	}
	switch {
	case dig < 0:
		st.cand, st.candN = -1, 0
		return
	case dig == st.cand:
		st.candN++
	default:
		st.cand, st.candN, st.candStart = dig, 1, winStart
	}
	if st.candN < minWindows || dig == st.active {
		return
	}
	if st.active >= 0 {
		d.end(CauseNextEvent)
	}
	st.active, st.start, st.lastOn, st.off = dig, st.candStart, hopEnd, 0
	st.levLo, st.levHi = lo, hi
	st.volume = volumeOf(min(lo, hi))
	d.push(Digit{Event: Event(dig), Start: d.toInput(st.start), Samples: d.toInput(hopEnd - st.start), Volume: st.volume})
}

// window judges the last winLen samples: the digit they show (-1 for
// none) and its row and column tone powers.
func (d *Detector) window() (int8, float64, float64) {
	b := &d.bank
	var p [8]float64
	for k := range 8 {
		var s complex128
		for h := range winHops {
			s += b.hops[h][k]
		}
		p[k] = 2 * (real(s)*real(s) + imag(s)*imag(s)) / (winLen * winLen)
	}
	var e, emin float64 = 0, math.Inf(1)
	for _, v := range b.hopE {
		e += v
		emin = min(emin, v)
	}
	// A steady tone fills every hop alike; a window that only partly
	// covers a burst (or speech, whose energy comes and goes) does not.
	// This is what makes the duration threshold sharp.
	if emin < minHopFill*e/winHops {
		return -1, 0, 0
	}
	e /= winLen
	lo, hi := peak(p[:4]), 4+peak(p[4:])
	for k := range 8 {
		if k != lo && k != hi && (k < 4 && p[k]*relPeak > p[lo] || k >= 4 && p[k]*relPeak > p[hi]) {
			return -1, 0, 0
		}
	}
	pl, ph := d.tonePower(lo), d.tonePower(hi)
	switch {
	case pl < d.minLevel || ph < d.minLevel:
		return -1, 0, 0
	case ph > pl*reverseTwist || pl > ph*normalTwist:
		return -1, 0, 0
	case pl+ph < minShare*e:
		return -1, 0, 0
	}
	dig := int8(keypad[lo][hi-4])
	// The digit in progress passed the frequency check when it began and
	// its hops are followed on their own: checking it again on every
	// window of a long tone would only cost time.
	if dig != d.state.active && (!d.onFrequency(allFreqs[lo]) || !d.onFrequency(allFreqs[hi])) {
		return -1, 0, 0
	}
	return dig, pl, ph
}

// tonePower returns the power of the tone near frequency k over the
// window: the hops summed coherently after undoing the rotation that a
// tone up to 2 % off frequency gives them from hop to hop. The plain sum
// would lose up to 6 dB for a tone 1.5 % off (1633 Hz + 1.5 % is 0.6 of
// the window's bin width away), which would spoil the level, twist and
// energy tests for tones Q.24 wants accepted; the frequency test is
// onFrequency's.
func (d *Detector) tonePower(k int) float64 {
	b := &d.bank
	var best float64
	for t := range trialOffsets {
		var s complex128
		r := complex(1, 0)
		for h := range winHops {
			s += b.hops[(b.ihop+h)%winHops][k] * r
			r *= b.trial[k][t]
		}
		best = max(best, real(s)*real(s)+imag(s)*imag(s))
	}
	return 2 * best / (winLen * winLen)
}

// onFrequency reports whether the window's tone near f is closer to f
// than to f·(1±sideOffset): run only for a window that passed the other
// tests, so its cost (four filters over 200 samples) is paid while a
// digit sounds, not during speech.
func (d *Detector) onFrequency(f float64) bool {
	c := goertzel(&d.hist, d.pos, f)
	return c >= goertzel(&d.hist, d.pos, f*(1+sideOffset)) && c >= goertzel(&d.hist, d.pos, f*(1-sideOffset))
}

// goertzel returns the power at f of the window in hist (oldest sample at
// pos%winLen).
func goertzel(hist *[winLen]float32, pos uint64, f float64) float64 {
	w := 2 * math.Pi * f / detRate
	c := float32(2 * math.Cos(w))
	var s1, s2 float32
	h := int(pos % winLen)
	for _, seg := range [2][]float32{hist[h:], hist[:h]} {
		for _, v := range seg {
			s1, s2 = v+c*s1-s2, s1
		}
	}
	a, b := float64(s1), float64(s2)
	return a*a + b*b - float64(c)*a*b
}

// hopCarries reports whether one hop still carries the active digit.
func (d *Detector) hopCarries(v *[8]complex128, hopE float64) bool {
	st := &d.state
	low, high, _ := Event(st.active).Frequencies()
	var pl, ph float64
	for k, f := range allFreqs {
		p := 2 * (real(v[k])*real(v[k]) + imag(v[k])*imag(v[k])) / (hop * hop)
		if f == low {
			pl = p
		} else if f == high {
			ph = p
		}
	}
	return pl*onRatio >= st.levLo && ph*onRatio >= st.levHi && pl+ph >= onShare*hopE/hop
}

func (d *Detector) end(cause Cause) {
	st := &d.state
	d.push(Digit{Event: Event(st.active), Ended: true, Cause: cause, Start: d.toInput(st.start),
		Samples: d.toInput(st.lastOn - st.start), Volume: st.volume})
	st.active, st.off = -1, 0
	st.cand, st.candN = -1, 0
	st.quiet = st.lastOn
}

func (d *Detector) push(g Digit) {
	g.Duration = samplesToDuration(g.Samples, d.rate)
	d.q.push(g)
}

// toInput converts an 8 kHz sample count to the input's rate.
func (d *Detector) toInput(n uint64) uint32 { return uint32(n * uint64(d.ratio)) }

// Active returns the digit in progress, if any.
func (d *Detector) Active() (Event, bool) {
	return Event(max(d.state.active, 0)), d.state.active >= 0
}

// Next returns the oldest notice not yet taken. The Detector keeps up to
// 16; call Next until it returns false after each Process.
func (d *Detector) Next() (Digit, bool) { return d.q.pop() }

// Dropped returns how many notices were lost because Next was not called.
func (d *Detector) Dropped() uint64 { return d.q.dropped }

// Position returns how much audio the Detector has taken, in time.
func (d *Detector) Position() time.Duration {
	return samplesToDuration(uint32(min(d.pos, math.MaxUint32)), detRate)
}

func peak(p []float64) int {
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}

func dbPow(db float64) float64 { return math.Pow(10, db/10) }

// The thresholds as power ratios.
var (
	reverseTwist = dbPow(reverseTwistDB)
	normalTwist  = dbPow(normalTwistDB)
	relPeak      = dbPow(relPeakDB)
	onRatio      = dbPow(onDB)
)

// volumeOf converts a tone power to -dBm0 for Digit.Volume.
func volumeOf(p float64) uint8 {
	v := -10 * math.Log10(p/zeroDBm0)
	return uint8(max(0, min(MaxVolume, math.Round(v))))
}
