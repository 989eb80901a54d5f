package mixer

import (
	"errors"
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/srtp"
)

type recordSink struct {
	pkts [][]byte
	err  error
}

func (s *recordSink) WriteRTP(p []byte) error {
	s.pkts = append(s.pkts, append([]byte(nil), p...))
	return s.err
}

// newTestStream returns a stream delivering to sink as a hand-driven
// conference does: at once.
func newTestStream(sink Sink) *outStream {
	return &outStream{ssrc: 0x1234, seq: 65534, ts: 1000, tsStep: 160, marker: true, pt: 96,
		levelID: 1, csrcLevelsID: 2, sink: sink, dl: newDelivery(nil, 1, true, nil), pkt: make([]byte, 0, maxHeaderSize+maxPayload+srtpOverhead)}
}

func parse(t *testing.T, b []byte) rtp.Packet {
	t.Helper()
	var p rtp.Packet
	require.NoError(t, p.Unmarshal(b))
	return p
}

// TestOutStreamNumbering: sequence numbers run on (and wrap) only with
// packets sent, timestamps with time, and the marker starts the stream and
// each talkspurt: after a gap, or when voice follows silence.
func TestOutStreamNumbering(t *testing.T) {
	sink := &recordSink{}
	o := newTestStream(sink)
	payload := []byte{1, 2, 3, 4}
	csrc, lvl := []uint32{7, 8}, []uint8{20, 30}
	o.send(0, payload, true, false, 25, csrc, lvl)     // 0: first packet
	o.send(0, payload, true, false, 25, csrc, lvl)     // 1
	o.send(0, nil, false, true, 127, nil, nil)         // DTX: nothing
	o.send(0, payload, true, true, 127, nil, nil)      // 2: after a gap, silence
	o.send(0, payload, true, true, 127, nil, nil)      // 3
	o.send(0, payload, true, false, 25, csrc[:1], lvl) // 4: voice after silence
	require.Len(t, sink.pkts, 5)
	wantSeq := []uint16{65534, 65535, 0, 1, 2}
	wantTS := []uint32{1000, 1160, 1480, 1640, 1800}
	wantMarker := []bool{true, false, true, false, true}
	for i, b := range sink.pkts {
		p := parse(t, b)
		assert.Equal(t, wantSeq[i], p.SequenceNumber, i)
		assert.Equal(t, wantTS[i], p.Timestamp, i)
		assert.Equal(t, wantMarker[i], p.Marker, i)
		assert.Equal(t, uint8(96), p.PayloadType)
		assert.Equal(t, uint32(0x1234), p.SSRC)
		assert.Equal(t, payload, p.Payload)
	}
	p := parse(t, sink.pkts[0])
	assert.Equal(t, csrc, p.CSRC)
	assert.Equal(t, []byte{0x80 | 25}, p.GetExtension(1), "RFC 6464: voice, level 25")
	assert.Equal(t, []byte{20, 30}, p.GetExtension(2), "RFC 6465: a level per CSRC")
	p = parse(t, sink.pkts[2])
	assert.Empty(t, p.CSRC)
	assert.Equal(t, []byte{127}, p.GetExtension(1), "silence, no voice flag")
	assert.Equal(t, uint64(5), o.dl.rtp.packets.Load())
	total := 0
	for _, b := range sink.pkts {
		total += len(b)
	}
	assert.Equal(t, uint64(total), o.dl.rtp.bytes.Load())
}

// TestOutStreamProtectsAndCounts: with SRTP keys the sink gets packets the
// peer can unprotect; sink errors are counted, never fatal.
func TestOutStreamProtectsAndCounts(t *testing.T) {
	keys, err := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	require.NoError(t, err)
	sink := &recordSink{err: errors.New("network down")}
	o := newTestStream(sink)
	o.protect, err = srtp.NewProtector(keys)
	require.NoError(t, err)
	un, err := srtp.NewUnprotector(keys)
	require.NoError(t, err)
	payload := make([]byte, maxPayload) // the largest payload still fits with the tag
	for i := range 3 {
		o.send(0, payload, true, false, 30, nil, nil)
		var h rtp.Header
		plain, err := un.UnprotectRTP(nil, sink.pkts[i], &h)
		require.NoError(t, err, i)
		assert.Equal(t, payload, plain[h.MarshalSize():])
	}
	assert.Equal(t, uint64(3), o.dl.rtp.packets.Load())
	assert.Equal(t, uint64(3), o.dl.rtp.sinkErrors.Load())
	assert.Zero(t, o.protectErrors.Load())
}
