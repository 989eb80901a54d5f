package mixer

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteHeaderParsesWithPion(t *testing.T) {
	cases := []struct {
		name string
		h    outHeader
	}{
		{"plain", outHeader{payloadType: 0, seq: 65535, timestamp: 1<<32 - 1, ssrc: 42}},
		{"marker and csrc", outHeader{marker: true, payloadType: 111, seq: 7, timestamp: 960, ssrc: 1, csrc: []uint32{10, 20, 30}}},
		{"audio level", outHeader{payloadType: 8, ssrc: 9, levelID: 1, level: 33, voice: true}},
		{"both extensions", outHeader{payloadType: 111, ssrc: 9, csrc: []uint32{5, 6}, levelID: 1, level: 127,
			csrcLevelsID: 2, csrcLevels: []uint8{10, 90}}},
		{"fifteen csrcs", outHeader{payloadType: 111, ssrc: 9, csrc: make([]uint32, 15), csrcLevelsID: 3, csrcLevels: make([]uint8, 15)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, maxHeaderSize+4)
			n := writeHeader(buf, &tc.h)
			copy(buf[n:], "abcd")
			var p rtp.Packet
			require.NoError(t, p.Unmarshal(buf[:n+4]))
			assert.Equal(t, tc.h.marker, p.Marker)
			assert.Equal(t, tc.h.payloadType, p.PayloadType)
			assert.Equal(t, tc.h.seq, p.SequenceNumber)
			assert.Equal(t, tc.h.timestamp, p.Timestamp)
			assert.Equal(t, tc.h.ssrc, p.SSRC)
			assert.Equal(t, len(tc.h.csrc), len(p.CSRC))
			assert.Equal(t, "abcd", string(p.Payload))
			if tc.h.levelID != 0 {
				e := p.GetExtension(tc.h.levelID)
				require.Len(t, e, 1)
				assert.Equal(t, tc.h.level, e[0]&0x7f)
				assert.Equal(t, tc.h.voice, e[0]&0x80 != 0)
			}
			if tc.h.csrcLevelsID != 0 {
				assert.Equal(t, tc.h.csrcLevels, []uint8(p.GetExtension(tc.h.csrcLevelsID)))
			}
		})
	}
}
