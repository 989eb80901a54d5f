package mixer

import "sync/atomic"

// Silent mixes on Opus chains.
//
// What libopus 1.3 does with a silent input (VoIP, 48 kHz, 20 ms): without
// DTX it keeps coding digital silence as full frames of 56–60 bytes at the
// automatic bitrate, at most of the cost of coding speech; with DTX it codes
// ten more frames (200 ms), then emits TOC-only packets of one byte (e.g.
// 0x78, hybrid full band 20 ms, a frame of length 0) with a real
// comfort-noise update every 400 ms. RFC 6716 §3.2.1 allows a frame of
// length 0, and a decoder treats it as DTX: libopus runs its concealment,
// which fades to silence (and to SILK's comfort noise), and ffmpeg's
// decoders do the same (TestOpusDTXFramesDecode holds both to it).
//
// A chain whose mix is silent therefore need not run the encoder: after
// dtxFlushFrames real frames (which carry the end of the last talkspurt out
// of the encoder's lookahead and let the decoder settle, as libopus's own
// ten frames do) it sends the same TOC-only frame libopus would, built from
// the TOC of its last real packet, so the frame duration, and the mode the
// decoder conceals in, are the stream's. Under SilenceFrames that frame goes
// out every ptime, so the stream stays continuous for NATs and strict
// endpoints; under ComfortNoise a real frame of the comfort noise is coded
// every dtxCNInterval so that receivers' comfort noise follows it, as
// libopus's updates do; with Encoder.DTX nothing is sent (what libopus's
// own DTX amounts to, since packets of two bytes or less need not be sent);
// under the DTX silence mode nothing is sent at once, as before.
//
// The encoder's state stays that of the last frame it coded, which was
// silence (or comfort noise), and that is what the receiver's decoder
// conceals from, so the next talkspurt is coded on without a reset.

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
	on     bool    // the chain encodes Opus
	quiet  int     // silent frames in a row
	have   bool    // frame holds a TOC-only packet of the stream's framing
	frame  [2]byte // the DTX packet: TOC (code 0), or TOC (code 3) and count
	frameN int     // its length: 1 or 2
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
		s.frame[0], s.frameN = toc&^3, 1
	} else {
		s.frame[0], s.frame[1], s.frameN = toc|3, byte(frames), 2
	}
	s.have = true
}

// silent decides what a silent tick of the chain sends without the
// encoder: skip is true when the encoder is not to run, and then payload
// (when ok) is the DTX frame to send; ok false sends nothing. It counts
// the silent frame; heard resets the count.
func (s *opusSilence) silent(mode SilenceMode, dtx bool, skips *atomic.Uint64) (payload []byte, ok, skip bool) {
	s.quiet++
	if !s.on || !s.have || s.quiet <= dtxFlushFrames {
		return nil, false, false
	}
	if mode == ComfortNoise && (s.quiet-dtxFlushFrames-1)%dtxCNInterval == 0 {
		return nil, false, false // a comfort-noise update, coded for real
	}
	if skips != nil {
		skips.Add(1)
	}
	if dtx {
		return nil, false, true
	}
	return s.frame[:s.frameN], true, true
}

// heard notes a tick whose mix was not silent.
func (s *opusSilence) heard() { s.quiet = 0 }
