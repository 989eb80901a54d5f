package mixer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rtpmix/rtpmix/codec"
)

// PayloadType is an RTP payload type set explicitly in a ParticipantConfig,
// or, as the zero value, left to the format: codec.Format.PayloadType (0
// for PCMU, 8 for PCMA, 111 for Opus). Set one with PT.
//
// It is not a plain uint8 because 0 is a real payload type, PCMU's: a
// uint8 field could not tell "use the format's" from "PCMU's 0", and Join
// needs to know whether a payload type was chosen (it refuses to guess a
// dynamic one for a codec with a static assignment).
type PayloadType struct {
	v   uint8
	set bool
}

// PT returns payload type n, set explicitly. Join accepts 0..127.
func PT(n uint8) PayloadType { return PayloadType{v: n, set: true} }

// Value returns the payload type and whether it was set.
func (p PayloadType) Value() (n uint8, ok bool) { return p.v, p.set }

// String returns the number, or "unset".
func (p PayloadType) String() string {
	if !p.set {
		return "unset"
	}
	return strconv.Itoa(int(p.v))
}

// staticPT lists RFC 3551's static payload type assignments (tables 4 and
// 5): a format on one of these numbers that is not the one assigned there
// would be decoded as the wrong codec by any peer.
var staticPT = map[uint8]codec.Format{
	0: {Name: "PCMU", ClockRate: 8000}, 3: {Name: "GSM", ClockRate: 8000},
	4: {Name: "G723", ClockRate: 8000}, 5: {Name: "DVI4", ClockRate: 8000},
	6: {Name: "DVI4", ClockRate: 16000}, 7: {Name: "LPC", ClockRate: 8000},
	8: {Name: "PCMA", ClockRate: 8000}, 9: {Name: "G722", ClockRate: 8000},
	10: {Name: "L16", ClockRate: 44100, Channels: 2}, 11: {Name: "L16", ClockRate: 44100},
	12: {Name: "QCELP", ClockRate: 8000}, 13: {Name: "CN", ClockRate: 8000},
	14: {Name: "MPA", ClockRate: 90000}, 15: {Name: "G728", ClockRate: 8000},
	16: {Name: "DVI4", ClockRate: 11025}, 17: {Name: "DVI4", ClockRate: 22050},
	18: {Name: "G729", ClockRate: 8000}, 25: {Name: "CelB", ClockRate: 90000},
	26: {Name: "JPEG", ClockRate: 90000}, 28: {Name: "nv", ClockRate: 90000},
	31: {Name: "H261", ClockRate: 90000}, 32: {Name: "MPV", ClockRate: 90000},
	33: {Name: "MP2T", ClockRate: 90000}, 34: {Name: "H263", ClockRate: 90000},
}

// sameFormat compares formats as SDP does: names without case, a channel
// count of 0 or 1 alike.
func sameFormat(a, b codec.Format) bool {
	return strings.EqualFold(a.Name, b.Name) && a.ClockRate == b.ClockRate && max(a.Channels, 1) == max(b.Channels, 1)
}

// staticTypeOf returns the static payload type RFC 3551 assigns to f, if any.
func staticTypeOf(f codec.Format) (uint8, bool) {
	for pt, sf := range staticPT {
		if sameFormat(sf, f) {
			return pt, true
		}
	}
	return 0, false
}

// resolvePayloadType returns the payload type a stream of f uses: p when
// set, else the format's. dir names the stream in errors.
func resolvePayloadType(dir string, f codec.Format, p PayloadType) (uint8, error) {
	if n, ok := p.Value(); ok {
		return n, checkPayloadType(dir, f, n)
	}
	n := f.PayloadType
	if s, ok := staticTypeOf(f); ok && n != s {
		// A format value that puts a statically assigned codec on another
		// number is a guess (a hand-built Format, or one copied from an SDP
		// line meant for one peer): the peer may expect the static number.
		return 0, fmt.Errorf("%w: %s %s has payload type %d in its Format, not its static %d: set %sPayloadType explicitly",
			ErrConfig, dir, f.SDPName(), n, s, fieldPrefix(dir))
	}
	return n, checkPayloadType(dir, f, n)
}

func fieldPrefix(dir string) string {
	if dir == "inbound" {
		return "In"
	}
	return "Out"
}

// checkPayloadType refuses payload types no peer can take for f.
func checkPayloadType(dir string, f codec.Format, n uint8) error {
	switch {
	case n > 127:
		return fmt.Errorf("%w: %s payload type %d (want 0..127)", ErrConfig, dir, n)
	case n >= 64 && n <= 95:
		// RFC 5761 §4: on a port that carries RTP and RTCP, which WriteRTP
		// demultiplexes and a Sink receives by default, a packet of these
		// types with the marker bit reads as RTCP (packet types 192..223);
		// RFC 3551 §6 reserves 72..76 for that reason, and none of 64..95
		// is a dynamic type.
		return fmt.Errorf("%w: %s payload type %d collides with RTCP on a port that carries both (RFC 5761: 64..95)", ErrConfig, dir, n)
	}
	if sf, ok := staticPT[n]; ok && !sameFormat(sf, f) {
		return fmt.Errorf("%w: %s %s on payload type %d, which RFC 3551 assigns to %s", ErrConfig, dir, f.SDPName(), n, sf.SDPName())
	}
	return nil
}

// cnFormat is RFC 3389 comfort noise at 8 kHz, the one with a static type.
var cnFormat = codec.Format{Name: "CN", ClockRate: 8000}

// resolvePayloadTypes applies the payload type defaults of cfg and refuses
// combinations that cannot work: two formats on one number, comfort noise
// on the media's number. The error names the numbers.
func resolvePayloadTypes(cfg *ParticipantConfig) error {
	in, err := resolvePayloadType("inbound", cfg.In, cfg.InPayloadType)
	if err != nil {
		return err
	}
	out, err := resolvePayloadType("outbound", cfg.Out, cfg.OutPayloadType)
	if err != nil {
		return err
	}
	if in == out && !sameFormat(cfg.In, cfg.Out) {
		return fmt.Errorf("%w: payload type %d would be %s inbound and %s outbound (one number, one format per session)",
			ErrConfig, in, cfg.In.SDPName(), cfg.Out.SDPName())
	}
	if cn := cfg.CNPayloadType; cn != 0 {
		if err := checkPayloadType("comfort noise", cnFormat, cn); err != nil {
			return err
		}
		if cn == in || cn == out {
			return fmt.Errorf("%w: comfort noise payload type %d is also the media's (inbound %d, outbound %d)",
				ErrConfig, cn, in, out)
		}
	}
	cfg.InPayloadType, cfg.OutPayloadType = PT(in), PT(out)
	return nil
}
