package mixer

import (
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/dtmf"
	"github.com/rtpmix/rtpmix/internal/pcm"
)

// inband runs a dtmf.Detector over a participant's decoded audio, at the
// decoder's own rate (8 kHz for G.711: the cheapest input, before the
// mixer resamples it), frame by frame as decodeQueue decodes. Frames that
// are not consecutive are never joined: a tick in which the participant is
// not decoded resets it (a digit in progress ends, CauseReset), and so
// does a quiet frame while no digit sounds, so that a participant that is
// decoded but silent (a G.711 phone without RFC 6464 levels between its
// words) costs a peak scan, not the filter bank.
//
// Ownership: the tick goroutine alone (it is the decodeQueue's).
type inband struct {
	det  *dtmf.Detector
	rate int                 // the PCM rate feed takes
	res  *resample.Resampler // rate → 8 kHz, for rates the detector does not take
	buf  []int16
	fed  bool // fed since the last reset
	// fresh: fed this tick; its notices are still to be taken.
	fresh bool
}

// quietPeak: a frame whose peak is below this holds no digit the detector
// would accept (its floor is -32 dBm0 per tone, a peak of 570).
const quietPeak = 400

// prepare sets the detector up for PCM at rate, building it (and a
// resampler to 8 kHz for a rate it does not take) when the rate changed.
func (b *inband) prepare(rate int) error {
	if b.det != nil && b.rate == rate {
		return nil
	}
	detRate := rate
	var res *resample.Resampler
	switch rate {
	case 8000, 16000, 48000:
	default:
		r, err := resample.New(rate, 8000, 1)
		if err != nil {
			return err
		}
		res, detRate = r, 8000
		b.buf = make([]int16, 0, r.OutLen(maxDecoded))
	}
	det, err := dtmf.NewDetector(dtmf.DetectorConfig{SampleRate: detRate})
	if err != nil {
		return err
	}
	b.det, b.res, b.rate, b.fed = det, res, rate, false
	return nil
}

// active reports whether a digit sounds.
func (b *inband) active() bool {
	if b.det == nil {
		return false
	}
	_, on := b.det.Active()
	return on
}

// feed runs the detector over the next decoded frame, at rate. A new
// rate (the inbound format changed, or the conference rate that Opus
// decodes at) rebuilds the detector: the one allocation, with the
// decoders the same change rebuilt.
func (b *inband) feed(rate int, x []int16) {
	if rate != b.rate {
		b.reset()
		if b.prepare(rate) != nil {
			return
		}
	}
	if !b.active() && pcm.PeakAbs16(x) < quietPeak {
		b.reset()
		return
	}
	if b.res != nil {
		x = b.res.Process(b.buf[:0], x)
	}
	b.det.Process(x)
	b.fed, b.fresh = true, true
}

// gap runs the detector over n samples of silence at rate (a DTX or
// comfort noise gap in a decoded tick): a digit in progress ends as its
// tone stops; otherwise there is nothing to find.
func (b *inband) gap(rate, n int) {
	if b.det == nil || !b.active() || rate != b.rate {
		b.reset()
		return
	}
	for n > 0 {
		k := min(n, len(zeroPCM))
		b.feed(rate, zeroPCM[:k])
		n -= k
	}
}

// reset forgets the stream (a tick not decoded, a quiet frame), at the
// cost of a Reset only when something was fed since the last one.
func (b *inband) reset() {
	if !b.fed || b.det == nil {
		return
	}
	b.det.Reset()
	if b.res != nil {
		b.res.Reset()
	}
	b.fed, b.fresh = false, true // a digit in progress has ended
}

// zeroPCM is silence to feed the detector over a gap; never written.
var zeroPCM [960]int16

// detect runs the in-band detector, if any, over a frame s decoded (at
// s's decoder rate); frames of the previous format's decoder, during an
// Update's overlap, end a digit rather than mix two streams.
func (q *decodeQueue) detect(s *decoderSlot, out []int16) {
	if q.inband == nil {
		return
	}
	if s != &q.cur {
		q.inband.reset()
		return
	}
	q.inband.feed(s.decRate, out)
}

// detectGap runs the in-band detector, if any, over a gap of n samples at
// the conference rate that the tick fills with silence.
func (q *decodeQueue) detectGap(n int) {
	if q.inband != nil {
		q.inband.gap(q.cur.decRate, q.decodedLen(&q.cur, n, q.rate))
	}
}
