package record

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWritersDoNotAllocate: after their first page or buffer, the writers
// allocate nothing per frame either, so that the recorders' goroutines
// make no garbage in steady state. (The feeding side: see
// TestRecorderWriteDoesNotAllocate.)
func TestWritersDoNotAllocate(t *testing.T) {
	frames := benchFrames(t, false)
	second := func(write func([]int16) error) func() {
		return func() {
			for _, f := range frames {
				if err := write(f); err != nil {
					panic(err)
				}
			}
		}
	}
	w, err := NewWAVWriter(discardAt{}, Format{benchRate, 1}, WAVConfig{PatchInterval: 100 * ms})
	require.NoError(t, err)
	run := second(w.WritePCM)
	run()
	assert.Zero(t, testing.AllocsPerRun(5, run), "WAV")
	assert.Zero(t, testing.AllocsPerRun(5, func() { _ = w.WriteSilence(48000) }), "WAV silence")

	pw, err := NewOggOpusPacketWriter(discardAt{}, Format{benchRate, 1}, OggOpusConfig{PageDuration: 200 * ms})
	require.NoError(t, err)
	pkt := make([]byte, 200)
	pkt[0] = 0x78
	prun := func() {
		for range 50 {
			_ = pw.WritePacket(pkt)
		}
		_ = pw.WriteSilence(48000)
	}
	prun()
	assert.Zero(t, testing.AllocsPerRun(5, prun), "Ogg/Opus packets")

	needOpus(t)
	ow, err := NewOggOpusWriter(discardAt{}, Format{benchRate, 1}, OggOpusConfig{PageDuration: 200 * ms})
	require.NoError(t, err)
	orun := second(ow.WritePCM)
	orun()
	assert.Zero(t, testing.AllocsPerRun(3, orun), "Ogg/Opus")
	assert.Zero(t, testing.AllocsPerRun(3, func() { _ = ow.WriteSilence(48000) }), "Ogg/Opus silence")
}
