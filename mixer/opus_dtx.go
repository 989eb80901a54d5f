package mixer

import (
	"sync/atomic"

	"github.com/rtpmix/rtpmix/internal/opuspacket"
)

// Silent mixes on Opus chains.
//
// What libopus 1.3 does with a silent input (VoIP, 48 kHz, 20 ms,
// automatic bitrate): without DTX it keeps coding digital silence as full
// hybrid frames of 56–60 bytes, at most of the cost of coding speech; with
// DTX it codes ten more frames (200 ms), then emits TOC-only packets of
// one byte (0x78: hybrid full band 20 ms, a frame of length 0, which RFC
// 6716 §3.2.1 allows and decoders treat as DTX: libopus conceals, fading
// to its comfort noise) with a real comfort-noise frame every 400 ms;
// packets of two bytes or less need not be sent.
//
// A chain whose mix is silent need not run the encoder. After
// dtxFlushFrames real frames (which carry the end of the last talkspurt
// out of the encoder's lookahead and let the decoder follow, as libopus's
// own ten frames do) it sends, without the encoder:
//   - SilenceFrames: a packet of CELT silence frames every ptime
//     (opuspacket.AppendSilence, 3 bytes per 20 ms), which decoders turn
//     into exact digital silence without running the codec: still a
//     continuous stream of encoded silence, as the mode promises.
//   - ComfortNoise: what libopus's DTX sends: the TOC-only frame of the
//     stream's framing (learned from its last real packet) every ptime,
//     and a real frame of the comfort noise every dtxCNInterval, so that
//     receivers' comfort noise follows the conference's level.
//   - Encoder.DTX set: nothing, as libopus's DTX amounts to.
//   - the DTX silence mode: nothing, at once (encode never gets here).
//
// libopus's and ffmpeg's decoders accept all of it
// (TestOpusSilentMixDecodes). The encoder's state stays that of the last
// frame it coded, silence or comfort noise, which is what the receiver's
// decoder conceals from or has decoded, so the next talkspurt is coded on
// without a reset.

// dtxFlushFrames is how many silent frames are coded for real after
// audio before the chain sends DTX frames: the encoder's lookahead (6.5 ms
// at 48 kHz) holds the end of the last talkspurt for one more frame; a
// second lets the decoder's state follow.
const dtxFlushFrames = 2

// dtxCNInterval is how often, in frames, a ComfortNoise chain codes a real
// frame while silent: libopus's DTX refresh (400 ms at 20 ms).
const dtxCNInterval = 20

// opusSilence is an Opus chain's state for silent mixes.
//
// Ownership: the tick goroutine alone.
type opusSilence struct {
	on    bool    // the chain encodes Opus
	quiet int     // silent frames in a row
	celt  [8]byte // CELT silence frames of one ptime (up to 60 ms)
	celtN int
	have  bool    // dtx holds a TOC-only packet of the stream's framing
	dtx   [2]byte // TOC (code 0), or TOC (code 3) and frame count
	dtxN  int     // 1 or 2
}

// init sets the chain up for Opus packets of ptime samples at 48 kHz.
func (s *opusSilence) init(opus bool, ptime48 int) {
	*s = opusSilence{on: opus}
	if opus {
		s.celtN = len(opuspacket.AppendSilence(s.celt[:0], ptime48, false))
	}
}

// learn keeps the framing of a packet the encoder produced, for the DTX
// frames that follow: the TOC's configuration and stereo bit with no frame
// data. A packet of several frames (40 or 60 ms of 20 ms frames) becomes
// a code 3 packet of as many empty frames (RFC 6716 §3.2.5: CBR, no
// padding, zero bytes each), so its duration stays the ptime.
func (s *opusSilence) learn(pkt []byte) {
	if len(pkt) == 0 {
		return
	}
	toc := pkt[0]
	frames := 1
	switch toc & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(pkt) < 2 {
			return
		}
		frames = int(pkt[1] & 0x3f)
	}
	if frames < 1 {
		return
	}
	if frames == 1 {
		s.dtx[0], s.dtxN = toc&^3, 1
	} else {
		s.dtx[0], s.dtx[1], s.dtxN = toc|3, byte(frames), 2
	}
	s.have = true
}

// silent decides what a silent tick of the chain sends without the
// encoder: skip is true when the encoder is not to run, and then payload
// (when ok) is the packet to send; ok false sends nothing. It counts the
// silent frame; heard resets the count.
func (s *opusSilence) silent(mode SilenceMode, dtx bool, skips *atomic.Uint64) (payload []byte, ok, skip bool) {
	s.quiet++
	if !s.on || s.quiet <= dtxFlushFrames {
		return nil, false, false
	}
	switch {
	case dtx:
		payload = nil
	case mode == ComfortNoise:
		if !s.have || (s.quiet-dtxFlushFrames-1)%dtxCNInterval == 0 {
			return nil, false, false // a comfort-noise update, coded for real
		}
		payload = s.dtx[:s.dtxN]
	default:
		if s.celtN == 0 {
			return nil, false, false // a ptime no silence packet has
		}
		payload = s.celt[:s.celtN]
	}
	if skips != nil {
		skips.Add(1)
	}
	return payload, payload != nil, true
}

// heard notes a tick whose mix was not silent.
func (s *opusSilence) heard() { s.quiet = 0 }
