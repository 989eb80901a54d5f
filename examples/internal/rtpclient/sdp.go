package rtpclient

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	_ "github.com/rtpmix/rtpmix/codec/g711" // PCMU, PCMA
	_ "github.com/rtpmix/rtpmix/codec/opus" // opus/48000/2 (cgo)
	"github.com/rtpmix/rtpmix/srtp"
)

// AudioLevelURI names the RFC 6464 client-to-mixer audio level extension in
// a=extmap.
const AudioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// maxSDP bounds what ParseAnswer reads: an answer with one m-line is a few
// hundred bytes.
const maxSDP = 64 << 10

// Codec is a format with the payload type it is offered or answered with.
type Codec struct {
	Format      codec.Format
	PayloadType uint8
}

// Offer is an SDP offer with one audio m-line.
type Offer struct {
	// IP and Port are where this end receives media (c= and m=).
	IP   string
	Port int
	// Codecs in order of preference.
	Codecs []Codec
	// Crypto lines (SDES); any makes the transport RTP/SAVP.
	Crypto []srtp.Crypto
	// AudioLevelID, 1..14, offers the RFC 6464 extension with that ID.
	AudioLevelID uint8
	// RTCPMux asks for RTCP on the RTP port (RFC 5761).
	RTCPMux bool
	// Ptime, when non-zero, adds a=ptime.
	Ptime time.Duration
	// Direction: "sendrecv" when empty; "recvonly" for a listener.
	Direction string
}

// String writes the offer with CRLF line ends, as RFC 8866 asks.
func (o Offer) String() string {
	var b strings.Builder
	proto := "RTP/AVP"
	if len(o.Crypto) > 0 {
		proto = "RTP/SAVP"
	}
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	line("v=0")
	line("o=- %d 1 IN IP4 %s", o.Port, o.IP)
	line("s=rtpmix")
	line("c=IN IP4 %s", o.IP)
	line("t=0 0")
	pts := make([]string, len(o.Codecs))
	for i, c := range o.Codecs {
		pts[i] = strconv.Itoa(int(c.PayloadType))
	}
	line("m=audio %d %s %s", o.Port, proto, strings.Join(pts, " "))
	for _, c := range o.Codecs {
		line("a=rtpmap:%d %s", c.PayloadType, c.Format.SDPName())
		if c.Format.Fmtp != "" {
			line("a=fmtp:%d %s", c.PayloadType, c.Format.Fmtp)
		}
	}
	if o.Ptime > 0 {
		line("a=ptime:%d", o.Ptime.Milliseconds())
	}
	if o.AudioLevelID != 0 {
		line("a=extmap:%d %s", o.AudioLevelID, AudioLevelURI)
	}
	if o.RTCPMux {
		line("a=rtcp-mux")
	}
	for _, c := range o.Crypto {
		line("%s", c.SDPLine())
	}
	dir := o.Direction
	if dir == "" {
		dir = "sendrecv"
	}
	line("a=%s", dir)
	return b.String()
}

// Answer is what a client needs from an SDP answer's first audio m-line.
type Answer struct {
	// IP and Port are where to send media.
	IP   net.IP
	Port int
	// Proto is the m-line transport, e.g. "RTP/AVP" or "RTP/SAVP".
	Proto string
	// Codec is the first payload type of the m-line whose format this
	// client knows (static 0 and 8 need no rtpmap).
	Codec Codec
	// Crypto is the first a=crypto line that parses, nil when none.
	Crypto *srtp.Crypto
	// AudioLevelID is the ID of the RFC 6464 a=extmap, 0 when absent.
	AudioLevelID uint8
	RTCPMux      bool
	Ptime        time.Duration
}

// ParseAnswer reads an SDP answer (or any SDP with an audio m-line). Lines
// other than v, c, m and the attributes it knows are skipped, as RFC 8866
// asks of parsers; a malformed line it reads is an error naming it.
func ParseAnswer(sdp string) (Answer, error) {
	var a Answer
	if len(sdp) > maxSDP {
		return a, fmt.Errorf("%w: %d bytes (max %d)", errSDP, len(sdp), maxSDP)
	}
	var (
		sessionIP, mediaIP net.IP
		inAudio, seenAudio bool
		pts                []int
		rtpmaps            = map[int]string{}
	)
	for n, ln := range strings.Split(sdp, "\n") {
		ln = strings.TrimRight(ln, "\r")
		if ln == "" {
			continue
		}
		if len(ln) < 2 || ln[1] != '=' {
			return a, fmt.Errorf("%w: line %d %q is not type=value", errSDP, n+1, clip(ln))
		}
		val := ln[2:]
		switch ln[0] {
		case 'm':
			if seenAudio {
				inAudio = false // only the first audio m-line counts
				continue
			}
			f := strings.Fields(val)
			if len(f) < 4 || f[0] != "audio" {
				if len(f) < 3 {
					return a, fmt.Errorf("%w: line %d m=%q", errSDP, n+1, clip(val))
				}
				continue
			}
			port, _, _ := strings.Cut(f[1], "/")
			p, err := strconv.Atoi(port)
			if err != nil || p < 0 || p > 65535 {
				return a, fmt.Errorf("%w: line %d m= port %q", errSDP, n+1, clip(f[1]))
			}
			a.Port, a.Proto = p, f[2]
			for _, s := range f[3:] {
				pt, err := strconv.Atoi(s)
				if err != nil || pt < 0 || pt > 127 {
					return a, fmt.Errorf("%w: line %d payload type %q", errSDP, n+1, clip(s))
				}
				pts = append(pts, pt)
			}
			inAudio, seenAudio = true, true
		case 'c':
			ip, err := parseConnection(val)
			if err != nil {
				return a, fmt.Errorf("%w: line %d: %v", errSDP, n+1, err)
			}
			if inAudio {
				mediaIP = ip
			} else if !seenAudio {
				sessionIP = ip
			}
		case 'a':
			if !inAudio {
				continue
			}
			if err := a.attribute(val, rtpmaps); err != nil {
				return a, fmt.Errorf("%w: line %d: %v", errSDP, n+1, err)
			}
		}
	}
	if !seenAudio {
		return a, errNoAudio
	}
	if a.IP = mediaIP; a.IP == nil {
		a.IP = sessionIP
	}
	if a.IP == nil {
		return a, fmt.Errorf("%w: no c= line for the audio", errSDP)
	}
	for _, pt := range pts {
		name, ok := rtpmaps[pt]
		if !ok {
			switch pt {
			case 0:
				name = "PCMU/8000"
			case 8:
				name = "PCMA/8000"
			}
		}
		if f, ok := codec.Lookup(name); ok {
			a.Codec = Codec{Format: f, PayloadType: uint8(pt)}
			return a, nil
		}
	}
	return a, fmt.Errorf("%w: payload types %v", errNoCodec, pts)
}

func (a *Answer) attribute(val string, rtpmaps map[int]string) error {
	name, rest, _ := strings.Cut(val, ":")
	switch name {
	case "rtpmap":
		pt, enc, ok := strings.Cut(rest, " ")
		n, err := strconv.Atoi(pt)
		if !ok || err != nil || n < 0 || n > 127 {
			return fmt.Errorf("rtpmap %q", clip(rest))
		}
		rtpmaps[n] = strings.TrimSpace(enc)
	case "crypto":
		if a.Crypto != nil {
			return nil
		}
		c, err := srtp.ParseSDES(rest)
		if err != nil {
			return err
		}
		a.Crypto = &c
	case "extmap":
		id, uri, ok := strings.Cut(rest, " ")
		id, _, _ = strings.Cut(id, "/")
		n, err := strconv.Atoi(id)
		if !ok || err != nil || n < 1 || n > 255 {
			return fmt.Errorf("extmap %q", clip(rest))
		}
		if uri, _, _ = strings.Cut(strings.TrimSpace(uri), " "); uri == AudioLevelURI && n <= 14 {
			a.AudioLevelID = uint8(n)
		}
	case "rtcp-mux":
		a.RTCPMux = true
	case "ptime":
		ms, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || ms <= 0 || ms > 1000 {
			return fmt.Errorf("ptime %q", clip(rest))
		}
		a.Ptime = time.Duration(ms) * time.Millisecond
	}
	return nil
}

// parseConnection reads "IN IP4 <addr>" (or IP6).
func parseConnection(val string) (net.IP, error) {
	f := strings.Fields(val)
	if len(f) < 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return nil, fmt.Errorf("c=%q", clip(val))
	}
	host, _, _ := strings.Cut(f[2], "/") // multicast TTL
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, fmt.Errorf("c= address %q", clip(host))
	}
	return ip, nil
}

// clip shortens attacker-supplied text quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
