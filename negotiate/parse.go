package negotiate

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/rtpmix/rtpmix/codec"
)

// encoding is an a=rtpmap encoding: name/clock[/channels].
type encoding struct {
	name     string
	clock    int
	channels int // 0 when not given (1 for audio, RFC 8866 §6.6)
}

func (e encoding) String() string {
	s := e.name + "/" + strconv.Itoa(e.clock)
	if e.channels > 1 {
		s += "/" + strconv.Itoa(e.channels)
	}
	return s
}

// is reports whether e names f: encoding names compare case-insensitively
// (RFC 4855 §3) and an absent channel count means one.
func (e encoding) is(f codec.Format) bool {
	return strings.EqualFold(e.name, f.Name) && e.clock == f.ClockRate && max(e.channels, 1) == max(f.Channels, 1)
}

// named reports whether e is the encoding name (such as "telephone-event"),
// whatever its clock.
func (e encoding) named(name string) bool { return strings.EqualFold(e.name, name) }

// parseEncoding reads "name/clock[/channels]".
func parseEncoding(s string) (encoding, bool) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return encoding{}, false
	}
	e := encoding{name: parts[0]}
	var err error
	if e.clock, err = strconv.Atoi(parts[1]); err != nil || e.clock <= 0 || e.clock > 10_000_000 {
		return encoding{}, false
	}
	if len(parts) == 3 {
		if e.channels, err = strconv.Atoi(parts[2]); err != nil || e.channels < 1 || e.channels > 255 {
			return encoding{}, false
		}
	}
	return e, true
}

// staticEncodings are the audio payload types RFC 3551 §6 assigns, which an
// offer may use without an a=rtpmap line.
var staticEncodings = map[uint8]encoding{
	0: {"PCMU", 8000, 0}, 3: {"GSM", 8000, 0}, 4: {"G723", 8000, 0}, 5: {"DVI4", 8000, 0},
	6: {"DVI4", 16000, 0}, 7: {"LPC", 8000, 0}, 8: {"PCMA", 8000, 0}, 9: {"G722", 8000, 0},
	10: {"L16", 44100, 2}, 11: {"L16", 44100, 0}, 12: {"QCELP", 8000, 0}, 13: {"CN", 8000, 0},
	14: {"MPA", 90000, 0}, 15: {"G728", 8000, 0}, 16: {"DVI4", 11025, 0}, 17: {"DVI4", 22050, 0},
	18: {"G729", 8000, 0},
}

// format is one payload type of an m-line.
type format struct {
	pt    uint8
	enc   encoding
	known bool // enc is set: from a=rtpmap or the static table
	fmtp  string
}

func (f format) String() string {
	if f.known {
		return f.enc.String()
	}
	return strconv.Itoa(int(f.pt))
}

// media is what this package reads from one audio m-line of a remote
// description, with session-level defaults applied.
type media struct {
	proto   string
	port    int
	addr    netip.Addr     // connection address; unspecified for a comedia or held stream
	rtcp    netip.AddrPort // RTCP destination when not multiplexed
	mux     bool
	formats []format
	cryptos []string // a=crypto values, in order
	// levelID is the ID of the RFC 6464 extension if it is usable with
	// one-byte headers (1..14), else 0; levelParams follow its URI.
	levelID     uint8
	levelParams string
	dir         Direction // as the remote side wrote it
	ptime       time.Duration
	maxptime    time.Duration
	mid         string
}

// parse reads an SDP body with pion/sdp. A missing final line break is
// accepted, and so are bare LF line ends.
func parse(body []byte) (*sdp.SessionDescription, error) {
	if len(body) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrMalformed, len(body), MaxSize)
	}
	s := strings.TrimSpace(string(body))
	if s == "" {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	// pion/sdp needs every line terminated, the last one included; many
	// hand-written and some generated descriptions end without it.
	s += "\r\n"
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &sd, nil
}

// isRTP reports whether proto carries RTP, whose formats are payload types.
func isRTP(proto string) bool { return strings.Contains(proto, "RTP/") }

// readMedia reads the m-line md of sd. Errors wrap ErrMalformed.
func readMedia(sd *sdp.SessionDescription, md *sdp.MediaDescription) (*media, error) {
	m := &media{proto: strings.Join(md.MediaName.Protos, "/"), port: md.MediaName.Port.Value}
	if m.port < 1 || m.port > 65535 {
		return nil, fmt.Errorf("%w: m= port %d out of range", ErrMalformed, m.port)
	}
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return nil, fmt.Errorf("%w: no c= line for the audio stream", ErrMalformed)
	}
	var err error
	if m.addr, err = parseAddr(ci.AddressType, ci.Address.Address); err != nil {
		return nil, fmt.Errorf("%w: c= %v", ErrMalformed, err)
	}

	byPT := map[uint8]int{}
	if isRTP(m.proto) {
		for _, f := range md.MediaName.Formats {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 || n > 127 {
				return nil, fmt.Errorf("%w: m= format %.20q is not a payload type", ErrMalformed, f)
			}
			pt := uint8(n)
			if _, dup := byPT[pt]; dup {
				continue
			}
			enc, ok := staticEncodings[pt]
			byPT[pt] = len(m.formats)
			m.formats = append(m.formats, format{pt: pt, enc: enc, known: ok})
		}
	}

	rtcpPort, rtcpAddr := 0, m.addr
	for _, a := range sd.Attributes {
		if err := m.attribute(a); err != nil { // session level: direction and extmap
			return nil, err
		}
	}
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap", "fmtp":
			pt, rest, ok := splitPT(a.Value)
			if !ok {
				if a.Key == "fmtp" {
					continue // a parameter we could not use anyway
				}
				return nil, fmt.Errorf("%w: a=rtpmap:%.40s", ErrMalformed, a.Value)
			}
			i, listed := byPT[pt]
			if !listed {
				continue // RFC 8866 §6.6: maps for other payload types are ignored
			}
			if a.Key == "fmtp" {
				m.formats[i].fmtp = rest
				continue
			}
			enc, ok := parseEncoding(rest)
			if !ok {
				return nil, fmt.Errorf("%w: a=rtpmap:%.40s (want <pt> <name>/<clock>[/<channels>])", ErrMalformed, a.Value)
			}
			m.formats[i].enc, m.formats[i].known = enc, true
		case "crypto":
			m.cryptos = append(m.cryptos, a.Value)
		case "rtcp-mux":
			m.mux = true
		case "rtcp":
			if rtcpPort, rtcpAddr, err = parseRTCP(a.Value, m.addr); err != nil {
				return nil, err
			}
		case "ptime", "maxptime":
			// Unreadable values are ignored: a packet-time hint is no
			// reason to refuse a call.
			if d, ok := parseMillis(a.Value); ok {
				if a.Key == "ptime" {
					m.ptime = d
				} else {
					m.maxptime = d
				}
			}
		case "mid":
			if !strings.ContainsAny(a.Value, " \t") && a.Value != "" {
				m.mid = a.Value
			}
		default:
			if err := m.attribute(a); err != nil {
				return nil, err
			}
		}
	}
	// m.rtcp is where RTCP goes without mux: the a=rtcp port, which an
	// offer of rtcp-mux gives for an answerer that declines (RFC 5761
	// §5.1.1), or the next port.
	switch {
	case rtcpPort != 0:
		m.rtcp = netip.AddrPortFrom(rtcpAddr, uint16(rtcpPort))
	case m.port < 65535:
		m.rtcp = netip.AddrPortFrom(m.addr, uint16(m.port+1))
	default:
		m.rtcp = netip.AddrPortFrom(m.addr, uint16(m.port))
	}
	return m, nil
}

// attribute reads the attributes that may appear at session or media
// level: direction and a=extmap.
func (m *media) attribute(a sdp.Attribute) error {
	if d, ok := parseDirection(a.Key); ok {
		m.dir = d
		return nil
	}
	if a.Key != "extmap" {
		return nil
	}
	f := strings.Fields(a.Value)
	if len(f) < 2 || f[1] != AudioLevelURI {
		return nil // other extensions are not used, whatever their syntax
	}
	idText, _, _ := strings.Cut(f[0], "/")
	id, err := strconv.Atoi(idText)
	if err != nil || id < 1 || id > 255 {
		return fmt.Errorf("%w: a=extmap:%.60s (IDs are 1..255)", ErrMalformed, a.Value)
	}
	// IDs 15..255 need two-byte headers (RFC 8285), which RFC 6464 senders
	// rarely use and the mixer does not write: the extension is left out.
	if id <= 14 {
		m.levelID = uint8(id)
		m.levelParams = strings.Join(f[2:], " ")
	} else {
		m.levelID, m.levelParams = 0, ""
	}
	return nil
}

// parseAddr reads a c= connection address of the given address type. A
// multicast address's /ttl and /count are dropped.
func parseAddr(addrType, s string) (netip.Addr, error) {
	host, _, _ := strings.Cut(s, "/")
	ip, err := netip.ParseAddr(host)
	switch addrType {
	case "IP4":
		if err != nil || !ip.Is4() {
			return netip.Addr{}, fmt.Errorf("address %.60q is not an IPv4 address (host names are not resolved)", s)
		}
	case "IP6":
		if err != nil || !ip.Is6() {
			return netip.Addr{}, fmt.Errorf("address %.60q is not an IPv6 address (host names are not resolved)", s)
		}
	default:
		return netip.Addr{}, fmt.Errorf("address type %.10q", addrType)
	}
	return ip, nil
}

// parseRTCP reads an RFC 3605 a=rtcp value: port [nettype addrtype addr].
func parseRTCP(v string, def netip.Addr) (int, netip.Addr, error) {
	f := strings.Fields(v)
	if len(f) != 1 && len(f) != 4 {
		return 0, def, fmt.Errorf("%w: a=rtcp:%.60s (want <port> [IN IP4|IP6 <address>])", ErrMalformed, v)
	}
	p, err := strconv.Atoi(f[0])
	if err != nil || p < 1 || p > 65535 {
		return 0, def, fmt.Errorf("%w: a=rtcp:%.60s: port out of range", ErrMalformed, v)
	}
	if len(f) == 1 {
		return p, def, nil
	}
	if f[1] != "IN" {
		return 0, def, fmt.Errorf("%w: a=rtcp:%.60s: network type", ErrMalformed, v)
	}
	ip, err := parseAddr(f[2], f[3])
	if err != nil {
		return 0, def, fmt.Errorf("%w: a=rtcp: %v", ErrMalformed, err)
	}
	return p, ip, nil
}

// splitPT splits "<pt> <rest>" as in rtpmap and fmtp values.
func splitPT(v string) (uint8, string, bool) {
	head, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.Atoi(head)
	if err != nil || n < 0 || n > 127 {
		return 0, "", false
	}
	return uint8(n), strings.TrimSpace(rest), true
}

// parseMillis reads a ptime value in milliseconds ("20", "20.0", "22.5").
func parseMillis(v string) (time.Duration, bool) {
	ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(ms) || ms <= 0 || ms > 10_000 {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// fmtpParams splits "a=1;b=2" (RFC 7587 style) into a map with lower-case
// keys.
func fmtpParams(fmtp string) map[string]string {
	out := map[string]string{}
	for p := range strings.SplitSeq(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if k != "" {
			out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return out
}
