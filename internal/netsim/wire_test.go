package netsim

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPacketRTP reads the wire form back with pion/rtp.
func TestPacketRTP(t *testing.T) {
	payload := []byte{1, 2, 3, 4, 5, 6}
	for _, tc := range []struct {
		name  string
		p     Packet
		level bool
	}{
		{"voice with level", Packet{SequenceNumber: 65535, Timestamp: 1 << 31, SSRC: 0xCAFEBABE, Marker: true, AudioLevel: 30, Voice: true, Size: 6}, true},
		{"silence with level", Packet{SequenceNumber: 7, Timestamp: 160, SSRC: 1, AudioLevel: 127, Size: 6}, true},
		{"no level, cut payload", Packet{SequenceNumber: 8, Timestamp: 320, SSRC: 1, AudioLevel: -1, Size: 2}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.p.RTP(0, 3, payload)
			var pkt rtp.Packet
			require.NoError(t, pkt.Unmarshal(b))
			assert.Equal(t, uint8(2), pkt.Version)
			assert.Equal(t, uint8(0), pkt.PayloadType)
			assert.Equal(t, tc.p.Marker, pkt.Marker)
			assert.Equal(t, tc.p.SequenceNumber, pkt.SequenceNumber)
			assert.Equal(t, tc.p.Timestamp, pkt.Timestamp)
			assert.Equal(t, tc.p.SSRC, pkt.SSRC)
			assert.Equal(t, payload[:tc.p.Size], pkt.Payload)
			ext := pkt.GetExtension(3)
			if !tc.level {
				assert.False(t, pkt.Extension)
				return
			}
			var ab rtp.AudioLevelExtension
			require.NoError(t, ab.Unmarshal(ext))
			assert.Equal(t, uint8(tc.p.AudioLevel), ab.Level)
			assert.Equal(t, tc.p.Voice, ab.Voice)
		})
	}
	b := (&Packet{AudioLevel: -1, Size: 1}).RTP(111, 1, payload)
	assert.Equal(t, byte(111), b[1], "payload type")
}
