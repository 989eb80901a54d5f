package netsim

import "encoding/binary"

// RTP returns the packet as a sender puts it on the wire, for consumers
// that feed a real receiver (the mixer's tests, bench): a 12-byte RTP
// header (version 2, payload type pt, the packet's marker, sequence
// number, timestamp and SSRC); when the packet has an audio level, an
// RFC 8285 one-byte header extension with the RFC 6464 level under
// levelID (the V bit set for voice); then payload, cut to the packet's
// Size. It allocates the packet it returns.
func (p *Packet) RTP(pt, levelID uint8, payload []byte) []byte {
	payload = payload[:min(p.Size, len(payload))]
	b := make([]byte, 12, 20+len(payload))
	b[0], b[1] = 0x80, pt&0x7F
	if p.Marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], p.SequenceNumber)
	binary.BigEndian.PutUint32(b[4:], p.Timestamp)
	binary.BigEndian.PutUint32(b[8:], p.SSRC)
	if p.AudioLevel >= 0 {
		lvl := byte(p.AudioLevel)
		if p.Voice {
			lvl |= 0x80
		}
		b[0] |= 0x10 // X: one extension element of one byte, padded to a word
		b = append(b, 0xBE, 0xDE, 0, 1, levelID<<4, lvl, 0, 0)
	}
	return append(b, payload...)
}
