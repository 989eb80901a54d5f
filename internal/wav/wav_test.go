package wav

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadSpeechClips(t *testing.T) {
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		t.Run(name, func(t *testing.T) {
			a, err := ReadFile("../../testdata/" + name + ".wav")
			require.NoError(t, err)
			assert.Equal(t, 48000, a.SampleRate)
			assert.Equal(t, 1, a.Channels)
			assert.Greater(t, a.Duration(), 6.0)
		})
	}
}

func TestRoundTrip(t *testing.T) {
	in := &Audio{SampleRate: 8000, Channels: 2, Samples: []int16{0, 1, -1, 32767, -32768, 1234}}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, in))
	out, err := Read(&buf)
	require.NoError(t, err)
	assert.Equal(t, in, out)
}

func TestRejectsBadInput(t *testing.T) {
	cases := map[string][]byte{
		"empty":     nil,
		"not riff":  []byte("RIFX0000WAVEfmt "),
		"no data":   []byte("RIFF\x00\x00\x00\x00WAVE"),
		"huge fmt":  []byte("RIFF\x00\x00\x00\x00WAVEfmt \xff\xff\xff\xff"),
		"data only": []byte("RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00\x01\x00"),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(b))
			assert.Error(t, err)
		})
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	_ = Write(&buf, &Audio{SampleRate: 48000, Channels: 1, Samples: []int16{1, 2, 3}})
	f.Add(buf.Bytes())
	f.Add([]byte("RIFF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b))
		if err == nil && (a.Channels == 0 || a.SampleRate == 0) {
			t.Fatalf("accepted a header with zero rate or channels")
		}
	})
}
