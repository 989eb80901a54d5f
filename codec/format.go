package codec

import (
	"strconv"
	"strings"
	"time"
)

// Format describes an RTP audio encoding as SDP names it.
type Format struct {
	// Name is the SDP encoding name, e.g. "PCMU", "PCMA", "opus".
	Name string
	// ClockRate is the RTP timestamp clock in Hz (48000 for Opus whatever
	// rate it is decoded at, 8000 for G.722 although its audio is 16 kHz).
	ClockRate int
	// SampleRate is the rate of the codec's own PCM when it differs from
	// ClockRate, 0 otherwise. G.722 sets 16000: RFC 3551 §4.5.2 keeps its
	// RTP clock at 8000 Hz for historical reasons, so a 20 ms frame is 320
	// samples of audio but advances the timestamp by 160. See NaturalRate.
	SampleRate int
	// Channels is the channel count of the SDP rtpmap (2 for Opus by RFC
	// 7587, even for mono streams).
	Channels int
	// PayloadType is the static payload type (0 PCMU, 8 PCMA) or a
	// conventional dynamic one (111 for Opus).
	PayloadType uint8
	// Fmtp holds the default SDP a=fmtp parameters, without the payload type.
	Fmtp string
}

// SDPName returns the rtpmap form used as the registry key: "PCMU/8000",
// "opus/48000/2". The channel count is left out when it is 1, as RFC 4566
// allows.
func (f Format) SDPName() string {
	s := f.Name + "/" + strconv.Itoa(f.ClockRate)
	if f.Channels > 1 {
		s += "/" + strconv.Itoa(f.Channels)
	}
	return s
}

// String returns SDPName.
func (f Format) String() string { return f.SDPName() }

// FrameSamples returns the samples per channel in one frame of ptime at
// sampleRate Hz. ptime 20 ms at 8 kHz is 160; at 48 kHz, 960.
func FrameSamples(sampleRate int, ptime time.Duration) int {
	return int(int64(sampleRate) * int64(ptime) / int64(time.Second))
}

// NaturalRate returns the PCM rate the codec works at when a Config leaves
// SampleRate 0: SampleRate when set (16000 for G.722), else ClockRate.
func (f Format) NaturalRate() int {
	if f.SampleRate > 0 {
		return f.SampleRate
	}
	return f.ClockRate
}

// FrameSamples returns the RTP timestamp increment of one frame of ptime,
// that is the samples per channel at the format's clock rate (160 for 20 ms
// of G.722, whose 320 samples of audio run at twice the clock).
func (f Format) FrameSamples(ptime time.Duration) int {
	return FrameSamples(f.ClockRate, ptime)
}

// canonicalName normalises an SDP rtpmap name: encoding names compare
// case-insensitively (RFC 4855 §3) and a channel count of 1 may be omitted.
func canonicalName(sdp string) string {
	parts := strings.Split(strings.TrimSpace(sdp), "/")
	if len(parts) == 3 && parts[2] == "1" {
		parts = parts[:2]
	}
	parts[0] = strings.ToLower(parts[0])
	return strings.Join(parts, "/")
}
