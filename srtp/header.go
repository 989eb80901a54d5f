package srtp

import "encoding/binary"

// RFC 8285 header extension profiles, and the element IDs that end the
// one-byte form.
const (
	extProfileOneByte = 0xBEDE
	extProfileTwoByte = 0x1000
	extIDPadding      = 0x0
	extIDReserved     = 0xF
)

// checkRTPHeader returns the length of the RTP header at the start of pkt,
// refusing exactly what pion/rtp's Header.Unmarshal refuses, so that both
// backends take and refuse the same packets: ErrShortPacket when the fixed
// header, the CSRCs or the extension run past pkt (rtpHeaderLen), and
// errExtension when an RFC 8285 element runs past its extension block.
// The element walk is RFC 8285 §4.2 (one-byte: ID 0 with length 0 is
// padding, ID 15 ends the list) and §4.3 (two-byte: ID 0 is padding):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|       0xBE    |    0xDE       |           length=3            |
//	|  ID   | L=0   |     data      |  ID   |  L=1  |   data...
//	|    ...data    |    0 (pad)    |    0 (pad)    |  ID   | L=3   |
//	|                          data                                 |
//
// It allocates nothing.
func checkRTPHeader(pkt []byte) (int, error) {
	n, ok := rtpHeaderLen(pkt)
	if !ok {
		return 0, ErrShortPacket
	}
	if pkt[0]&0x10 == 0 {
		return n, nil
	}
	start := 12 + 4*int(pkt[0]&0x0f)
	profile := binary.BigEndian.Uint16(pkt[start:])
	if profile != extProfileOneByte && profile != extProfileTwoByte {
		return n, nil
	}
	for i := start + 4; i < n; {
		if pkt[i] == extIDPadding {
			i++
			continue
		}
		var size int
		if profile == extProfileOneByte {
			id := pkt[i] >> 4
			size = int(pkt[i]&0x0f) + 1
			i++
			if id == extIDReserved || id == extIDPadding {
				break
			}
		} else {
			i++
			if i >= n {
				return 0, errExtension
			}
			size = int(pkt[i])
			i++
		}
		if i+size > n {
			return 0, errExtension
		}
		i += size
	}
	return n, nil
}
