package dtmf

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReportWire(t *testing.T) {
	for _, c := range []struct {
		r    Report
		wire []byte
	}{
		{Report{Event: 1, Volume: 10, Duration: 320}, []byte{0x01, 0x0a, 0x01, 0x40}},
		{Report{Event: 11, End: true, Volume: 10, Duration: 2560}, []byte{0x0b, 0x8a, 0x0a, 0x00}},
		{Report{Event: 16, End: true, Volume: 63, Duration: 0xFFFF}, []byte{0x10, 0xbf, 0xff, 0xff}},
	} {
		assert.Equal(t, c.wire, c.r.Marshal())
		var r Report
		require.NoError(t, r.Unmarshal(c.wire))
		assert.Equal(t, c.r, r)
	}
	// The R bit is ignored; a volume over 63 is written as 63.
	var r Report
	require.NoError(t, r.Unmarshal([]byte{5, 0x40 | 0x80 | 12, 0, 160}))
	assert.Equal(t, Report{Event: 5, End: true, Volume: 12, Duration: 160}, r)
	assert.Equal(t, byte(63), Report{Volume: 200}.Marshal()[1])
	_, err := r.MarshalTo(make([]byte, 3))
	assert.ErrorIs(t, err, io.ErrShortBuffer)
	assert.True(t, errors.Is(r.Unmarshal([]byte{1, 2}), ErrShortPayload))
	assert.Equal(t, ReportSize, r.MarshalSize())
}

func TestParsePayload(t *testing.T) {
	p := payload(Report{Event: 3, End: true, Duration: 640}, Report{Event: 6, Duration: 160})
	var arr [4]Report
	got, err := ParsePayload(arr[:0], p)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, uint32(1000+640), ReportStart(1000, got, 1))
	assert.Equal(t, uint32(1000), ReportStart(1000, got, 0))
	for _, bad := range [][]byte{nil, {}, {1, 2, 3}, {1, 2, 3, 4, 5, 6}} {
		out, err := ParsePayload(arr[:0], bad)
		assert.ErrorIs(t, err, ErrShortPayload)
		assert.Empty(t, out)
	}
}

func TestEvents(t *testing.T) {
	for i, r := range "0123456789*#ABCD!" {
		ev, err := ParseDigit(r)
		require.NoError(t, err)
		assert.Equal(t, Event(i), ev)
		assert.Equal(t, r, ev.Rune())
		assert.Equal(t, string(r), ev.String())
		assert.True(t, ev.IsDigit())
		_, _, ok := ev.Frequencies()
		assert.Equal(t, ev != EventFlash, ok)
	}
	ev, err := ParseDigit('c')
	require.NoError(t, err)
	assert.Equal(t, EventC, ev)
	_, err = ParseDigit('x')
	assert.ErrorIs(t, err, ErrEvent)
	assert.Equal(t, "event 32", Event(32).String())
	assert.Equal(t, rune(0), Event(32).Rune())
	lo, hi, _ := Event(5).Frequencies()
	assert.Equal(t, [2]float64{770, 1336}, [2]float64{lo, hi})
}

func TestEventSet(t *testing.T) {
	for in, out := range map[string]string{"0-16": "0-16", "": "0-15", "0-15,32,36-38": "0-15,32,36-38", "16,0-15": "0-16", "255": "255"} {
		s, err := ParseEventSet(in)
		require.NoError(t, err, in)
		assert.Equal(t, out, s.String(), in)
	}
	for _, bad := range []string{"x", "0-", "5-3", "256", "1,,2"} {
		_, err := ParseEventSet(bad)
		assert.ErrorIs(t, err, ErrEvent, bad)
	}
	assert.Equal(t, "0-16", DigitEvents().String())
	assert.True(t, EventSet{}.IsZero())
}
