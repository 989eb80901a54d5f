package mixer

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtp"
)

// The trunk's wire format. A trunk carries one RTP stream per origin
// participant, each with the SSRC its origin part chose for it when it
// joined (stable for the participant's life, whatever SSRCs the talker
// itself uses), the talker's own payload under the payload type the codec
// registry gives its format (codec.Format.PayloadType: 0 PCMU, 8 PCMA, 9
// G.722, 111 Opus), and an RFC 8285 two-byte header extension block
// (profile 0x100X) with these elements:
//
//	ID 1  audio level (RFC 6464), 1 byte: V flag and level, the talker's
//	      own when it sent one, else the level the origin measured (on
//	      the packet itself for G.711, as the origin's tick will)
//	ID 2  origin, 7 bytes: the origin part's ID (uint32, big endian), a
//	      flags byte (bit 0: pre-roll, a packet the origin held back and
//	      sends late, at the start of a run) and, for pre-roll, how long it
//	      was held (uint16, ms): the receiver dates the packet back by as
//	      much, so its jitter buffer sees it as if forwarded at once;
//	      bit 1: keepalive, a packet without payload that a part sends
//	      on a trunk that has carried nothing for trunkKeepalive, under
//	      SSRC = its part ID, so the peer can tell a quiet room from a
//	      dead part
//	ID 3  origin participant ID (1..255 bytes of its Participant ID), on
//	      the first packets of every run and every 50th packet after, so a
//	      receiver names the stream as the origin does
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|       0x10    |    0x00       |           length              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  ID=1         |  len=1        |V|  level      |  ID=2         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  len=7        |              origin part ID ...               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  ... part ID  |    flags      |      held (ms)                |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  ID=3 (opt.)  |  len          |  participant ID ...  | pad (0)|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Why an extension on every packet rather than an SSRC map announced
// once: the map would need its own reliable delivery (a lost
// announcement makes a stream unnamed or, worse, unattributed, and a loop
// undetectable), and it would have to be kept in step with streams that
// start and stop every few seconds as talkers enter and leave the top N.
// Eight bytes per packet make each packet self-describing: a receiver
// recognises its own streams coming back and a stream arriving twice from
// the first packet, whatever was lost before. The name is larger and
// needed once, so it rides only on the first packets of a run.
const (
	trunkLevelExt  = 1
	trunkOriginExt = 2
	trunkNameExt   = 3

	trunkFlagPreRoll   = 1
	trunkFlagKeepalive = 2

	// maxTrunkName bounds the participant ID carried in-band (a two-byte
	// element holds 255 bytes); longer IDs are cut.
	maxTrunkName = 255
	// trunkNamePackets: the name rides on this many packets at the start
	// of each run, then on every trunkNameEvery-th.
	trunkNamePackets = 8
	trunkNameEvery   = 50

	// maxTrunkHeader is the largest header a forwarder writes: the fixed
	// 12 bytes, the block's 4, level 3, origin 9, name 2+255, padding.
	maxTrunkHeader = 12 + 4 + 3 + 9 + 2 + maxTrunkName + 3
)

// trunkHeader is what one forwarded packet says besides its payload.
type trunkHeader struct {
	seq       uint16
	ts, ssrc  uint32
	pt        uint8
	marker    bool
	level     uint8 // 0..127
	voice     bool
	part      uint32 // origin part
	preRoll   bool
	keepalive bool
	held      time.Duration // pre-roll: how long the origin held it
	name      string        // empty: not carried on this packet
}

// appendTrunkPacket writes h and payload as a plain RTP packet into dst,
// which must have room for maxTrunkHeader+len(payload) bytes (the
// forwarder's scratch does), and returns it.
func appendTrunkPacket(dst []byte, h *trunkHeader, payload []byte) []byte {
	name := h.name
	if len(name) > maxTrunkName {
		name = name[:maxTrunkName]
	}
	ext := 3 + 9
	if name != "" {
		ext += 2 + len(name)
	}
	words := (ext + 3) / 4
	n := 12 + 4 + 4*words
	b := dst[:n]
	b[0] = 0x90 // version 2, extension
	b[1] = h.pt & 0x7f
	if h.marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], h.seq)
	binary.BigEndian.PutUint32(b[4:], h.ts)
	binary.BigEndian.PutUint32(b[8:], h.ssrc)
	b[12], b[13] = 0x10, 0x00 // RFC 8285 two-byte header, appbits 0
	binary.BigEndian.PutUint16(b[14:], uint16(words))
	e := b[16:n]
	lvl := h.level & 0x7f
	if h.voice {
		lvl |= 0x80
	}
	e[0], e[1], e[2] = trunkLevelExt, 1, lvl
	e[3], e[4] = trunkOriginExt, 7
	binary.BigEndian.PutUint32(e[5:], h.part)
	e[9], e[10], e[11] = 0, 0, 0
	if h.keepalive {
		e[9] = trunkFlagKeepalive
	}
	if h.preRoll {
		e[9] = trunkFlagPreRoll
		binary.BigEndian.PutUint16(e[10:], uint16(min(h.held/time.Millisecond, 0xffff)))
	}
	i := 12
	if name != "" {
		e[i], e[i+1] = trunkNameExt, uint8(len(name))
		i += 2 + copy(e[i+2:], name)
	}
	clear(e[i:])
	return append(b, payload...)
}

// trunkOrigin reads the origin element of a parsed trunk packet: the
// part, the flags and how long a pre-roll packet was held; ok false when
// the element is missing or malformed.
func trunkOrigin(h *rtp.Header) (part uint32, flags uint8, held time.Duration, ok bool) {
	if !h.Extension {
		return 0, 0, 0, false
	}
	e := h.GetExtension(trunkOriginExt)
	if len(e) != 7 {
		return 0, 0, 0, false
	}
	flags = e[4]
	if flags&trunkFlagPreRoll != 0 {
		held = time.Duration(binary.BigEndian.Uint16(e[5:])) * time.Millisecond
	}
	return binary.BigEndian.Uint32(e), flags, held, true
}
