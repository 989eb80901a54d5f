//go:build cgo

package opus

import (
	"errors"

	"github.com/rtpmix/rtpmix/codec"
	hraban "gopkg.in/hraban/opus.v2"
)

const cgoEnabled = true

// encState holds the hraban encoder by value: one allocation fewer and one
// pointer hop less per frame than holding a *hraban.Encoder.
type encState struct{ enc hraban.Encoder }

func (s *encState) init(rate, channels int, app codec.Application) error {
	a := hraban.AppVoIP
	switch app {
	case codec.AppAudio:
		a = hraban.AppAudio
	case codec.AppLowDelay:
		a = hraban.AppRestrictedLowdelay
	}
	return s.enc.Init(rate, channels, a)
}

// encode writes into out, using all of cap(out) as libopus's byte budget.
func (s *encState) encode(pcm []int16, out []byte) (int, error) {
	return s.enc.Encode(pcm, out)
}

func (s *encState) reset() { _ = s.enc.Reset() } // fails only on a bad state pointer, which ready rules out

func (s *encState) setBitrate(bps int) error {
	if bps == 0 {
		return s.enc.SetBitrateToAuto()
	}
	return s.enc.SetBitrate(bps)
}

func (s *encState) setComplexity(c int) error { return s.enc.SetComplexity(c) }
func (s *encState) setFEC(on int) error       { return s.enc.SetInBandFEC(on != 0) }
func (s *encState) setLoss(p int) error       { return s.enc.SetPacketLossPerc(p) }
func (s *encState) setDTX(on int) error       { return s.enc.SetDTX(on != 0) }

func (s *encState) setMaxBandwidth(bw int) error {
	b := hraban.Fullband // libopus has no "auto" for the cap; full band is its default
	switch codec.Bandwidth(bw) {
	case codec.BandwidthNarrow:
		b = hraban.Narrowband
	case codec.BandwidthMedium:
		b = hraban.Mediumband
	case codec.BandwidthWide:
		b = hraban.Wideband
	case codec.BandwidthSuperWide:
		b = hraban.SuperWideband
	}
	return s.enc.SetMaxBandwidth(b)
}

type decState struct {
	dec            hraban.Decoder
	rate, channels int
}

func (s *decState) init(rate, channels int) error {
	s.rate, s.channels = rate, channels
	return s.dec.Init(rate, channels)
}

// decode decodes into pcm, whose capacity is exactly the packet's length:
// hraban passes cap(pcm) to libopus as the frame size.
func (s *decState) decode(payload []byte, pcm []int16) (int, error) {
	n, err := s.dec.Decode(payload, pcm)
	if err != nil {
		s.recover(err)
	}
	return n, err
}

// conceal runs libopus's PLC for cap(pcm)/channels samples.
func (s *decState) conceal(pcm []int16) error {
	err := s.dec.DecodePLC(pcm)
	if err != nil {
		s.recover(err)
	}
	return err
}

// decodeFEC decodes the LBRR data in payload for cap(pcm)/channels samples
// that precede it.
func (s *decState) decodeFEC(payload []byte, pcm []int16) error {
	err := s.dec.DecodeFEC(payload, pcm)
	if err != nil {
		s.recover(err)
	}
	return err
}

// recover leaves the state alone when libopus rejected the packet's framing,
// which it checks before touching any state, and otherwise starts afresh:
// an error from inside SILK or CELT may have left their state half updated.
func (s *decState) recover(err error) {
	var oe hraban.Error
	if errors.As(err, &oe) && oe == hraban.ErrInvalidPacket {
		return
	}
	s.reset()
}

func (s *decState) reset() {
	s.dec = hraban.Decoder{}
	_ = s.dec.Init(s.rate, s.channels) // the same arguments succeeded before
}

func libopusVersion() string { return hraban.Version() }
