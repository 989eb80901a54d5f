package mixer

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/jitter"
)

// queueHarness feeds a decodeQueue's jitter buffer PCMU packets whose
// payload is one repeated byte, so each decoded sample names its packet.
type queueHarness struct {
	t   *testing.T
	q   *decodeQueue
	jb  *jitter.Buffer
	seq uint16
}

const cnPT = 13

func newQueueHarness(t *testing.T, rate int, ptime time.Duration, jc jitter.Config) *queueHarness {
	fixed := 40 * time.Millisecond
	jc.ClockRate, jc.MinDelay, jc.MaxDelay, jc.StartDelay = 8000, fixed, fixed, fixed
	jb, err := jitter.New(jc)
	require.NoError(t, err)
	h := &queueHarness{t: t, q: &decodeQueue{}, jb: jb}
	h.q.init(jb, pcmu, 0, cnPT)
	require.NoError(t, h.q.setup(rate, ptime))
	return h
}

// push sends the next 20 ms packet: payload byte b, level (or -1 for
// none), payload type pt.
func (h *queueHarness) push(now time.Duration, b byte, level int8, pt uint8) error {
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = b
	}
	err := h.jb.Push(now, &jitter.Packet{SSRC: 1, SequenceNumber: h.seq, Timestamp: uint32(h.seq) * 160,
		PayloadType: pt, AudioLevel: level, Payload: payload})
	h.seq++
	return err
}

// ulaw is what PCMU byte b decodes to.
func ulaw(t *testing.T, b byte) int16 {
	dec, err := codec.NewDecoder(pcmu.SDPName(), codec.Config{})
	require.NoError(t, err)
	out, err := dec.Decode(nil, []byte{b})
	require.NoError(t, err)
	return out[0]
}

// run feeds one packet per 20 ms (byte 0x80+i) and pops once per tick
// until a tick pops a packet; it returns that tick's pop and time.
func (h *queueHarness) untilPacket(ptime time.Duration, level int8) (popped, time.Duration) {
	n := codec.FrameSamples(h.q.rate, ptime)
	for now := time.Duration(0); now < time.Second; now += ptime {
		for k := time.Duration(0); k < ptime; k += 20 * time.Millisecond {
			require.NoError(h.t, h.push(now+k, byte(0x80+h.seq), level, 0))
		}
		f := h.q.pop(now, h.q.rate, n)
		if h.q.npend > 0 && h.q.pend[0].kind == jitter.KindPacket {
			return f, now
		}
		h.q.finish(n)
	}
	h.t.Fatal("no packet played")
	return popped{}, 0
}

// TestDecodeQueuePopsWithoutDecoding: pop reads levels from the packets
// and decodes nothing; finish then skips the frames, owing their audio as
// silence and marking the decoder stale.
func TestDecodeQueuePopsWithoutDecoding(t *testing.T) {
	h := newQueueHarness(t, 8000, 20*time.Millisecond, jitter.Config{})
	f, _ := h.untilPacket(20*time.Millisecond, 33)
	assert.Equal(t, popped{level: 33, ext: true, audio: true}, f)
	assert.False(t, h.q.decoded)
	h.q.finish(160)
	assert.True(t, h.q.stale)
	assert.Zero(t, h.q.owed, "a skipped frame's audio is owed, then taken by the tick it belonged to")
	assert.Equal(t, uint64(1), h.q.skipped.Load())
	assert.Zero(t, h.q.fifo.Len())
}

// TestDecodeQueueDecodes: audio decodes the popped packet at the
// conference rate (straight into the FIFO at 8 kHz, resampled at 16 kHz),
// and a packet without a level asks for its PCM.
func TestDecodeQueueDecodes(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		h := newQueueHarness(t, rate, 20*time.Millisecond, jitter.Config{})
		f, _ := h.untilPacket(20*time.Millisecond, -1)
		assert.True(t, f.needPCM)
		n := codec.FrameSamples(rate, 20*time.Millisecond)
		got := h.q.audio(rate, n)
		require.Len(t, got, n)
		assert.True(t, h.q.decoded && h.q.havePCM)
		want := ulaw(t, h.q.pend[0].payload[0])
		if rate == 8000 {
			for i, v := range got {
				require.Equal(t, want, v, "sample %d", i)
			}
		} else {
			// The resampler's filter delay: the tail of the frame has
			// reached the packet's level.
			assert.InDelta(t, float64(want), float64(got[n-1]), float64(abs(int(want)))/10+2)
		}
		assert.Equal(t, &got[0], &h.q.audio(rate, n)[0], "audio twice in a tick decodes once")
		h.q.finish(n) // heard: nothing left to drop
		assert.Zero(t, h.q.fifo.Len())
	}
}

// TestDecodeQueuePinsPayloads: a 40 ms tick pops two 20 ms packets. A
// payload aliases its jitter buffer slot only until the next Pop, so the
// first is copied into the queue's arena before the second Pop and decodes
// correctly after it (and after the producer ran on).
func TestDecodeQueuePinsPayloads(t *testing.T) {
	ptime := 40 * time.Millisecond
	h := newQueueHarness(t, 8000, ptime, jitter.Config{Capacity: 8})
	_, now := h.untilPacket(ptime, 20)
	require.Equal(t, 2, h.q.npend)
	arena := h.q.arena[:cap(h.q.arena)]
	inArena := func(b []byte) bool {
		p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(arena)))
		return p >= lo && p < lo+uintptr(len(arena))
	}
	assert.True(t, inArena(h.q.pend[0].payload), "the first frame still aliases the jitter buffer")
	assert.False(t, inArena(h.q.pend[1].payload), "the last frame is valid until the next Pop: no copy needed")
	first, second := h.q.pend[0].payload[0], h.q.pend[1].payload[0]
	for i := 0; i < 8; i++ {
		_ = h.push(now+time.Duration(i)*time.Millisecond, 0x11, 20, 0)
	}
	got := h.q.audio(8000, 320)
	assert.Equal(t, ulaw(t, first), got[0])
	assert.Equal(t, ulaw(t, first), got[159])
	assert.Equal(t, ulaw(t, second), got[160])
	assert.Equal(t, ulaw(t, second), got[319])
}

// TestDecodeQueueComfortNoise: a comfort noise packet is a silence gap: no
// audio for the level, nothing decoded, silence out.
func TestDecodeQueueComfortNoise(t *testing.T) {
	h := newQueueHarness(t, 8000, 20*time.Millisecond, jitter.Config{})
	for now := time.Duration(0); now < time.Second; now += 20 * time.Millisecond {
		require.NoError(t, h.push(now, 0x5A, 90, cnPT))
		f := h.q.pop(now, 8000, 160)
		if h.q.npend > 0 && h.q.pend[0].kind == jitter.KindPacket {
			assert.True(t, h.q.pend[0].cn)
			assert.False(t, f.audio)
			for _, v := range h.q.audio(8000, 160) {
				require.Zero(t, v)
			}
			assert.Zero(t, h.q.decodeErrors.Load())
			return
		}
		h.q.finish(160)
	}
	t.Fatal("no packet played")
}

// TestDecodeQueueConceals: a frame lost with nothing after it is
// concealed (G.711 repeats what it last decoded) and counted.
func TestDecodeQueueConceals(t *testing.T) {
	h := newQueueHarness(t, 8000, 20*time.Millisecond, jitter.Config{})
	_, now := h.untilPacket(20*time.Millisecond, 20)
	h.q.audio(8000, 160)
	h.seq++ // the next packet never comes
	for i := 0; i < 10; i++ {
		now += 20 * time.Millisecond
		require.NoError(t, h.push(now, 0x90, 20, 0))
		h.q.pop(now, 8000, 160)
		if h.q.pend[0].kind == jitter.KindLost || h.q.pend[0].kind == jitter.KindConceal {
			out := h.q.audio(8000, 160)
			assert.Equal(t, uint64(1), h.q.concealed.Load())
			assert.NotZero(t, out[0], "concealment continues the last audio")
			return
		}
		h.q.audio(8000, 160)
	}
	t.Fatal("no loss played")
}

// TestDecodeQueueFIFO: decoded audio goes through the FIFO after any owed
// silence; audio beyond a frame's duration (a decoder that returns more
// than the timestamps say) is kept and reported to the jitter buffer as
// lengthened; a FIFO that would overflow drops its oldest audio and
// reports it as shortened; the tick's audio ends in silence when the FIFO
// runs dry.
func TestDecodeQueueFIFO(t *testing.T) {
	h := newQueueHarness(t, 8000, 20*time.Millisecond, jitter.Config{})
	q := h.q
	ramp := make([]int16, 200)
	for i := range ramp {
		ramp[i] = int16(i + 1)
	}
	q.owed = 30
	q.pushSilence(q.owed)
	q.owed = 0
	q.pushDecoded(&q.cur, ramp[:100], 100)
	assert.Equal(t, 130, q.fifo.Len())
	dst := make([]int16, 160)
	k := q.fifo.Read(dst)
	require.Equal(t, 130, k)
	for i, v := range dst[:k] {
		if i < 30 {
			require.Zero(t, v, i)
		} else {
			require.Equal(t, int16(i-29), v, i)
		}
	}
	assert.Zero(t, h.jb.Stats().Lengthened+h.jb.Stats().Shortened, "exact frames change nothing")

	q.pushDecoded(&q.cur, ramp, 160) // 40 samples (5 ms at 8 kHz) more than the frame
	assert.Equal(t, 5*time.Millisecond, h.jb.Stats().Lengthened)
	assert.Equal(t, 5*time.Millisecond, q.ts.stats().Lengthened)

	big := make([]int16, q.fifo.Cap())
	q.pushDecoded(&q.cur, big, len(big)) // 200 pending + Cap: the oldest 200 go
	assert.Equal(t, q.fifo.Cap(), q.fifo.Len())
	assert.Equal(t, 25*time.Millisecond, h.jb.Stats().Shortened)
	assert.Equal(t, 25*time.Millisecond, q.ts.stats().Shortened)
	assert.Zero(t, q.ts.stats().Unheard)
}

// TestDecodeQueueRateChange: audio pending when the conference rate
// changes is dropped with the old rate, and the jitter buffer is told.
func TestDecodeQueueRateChange(t *testing.T) {
	h := newQueueHarness(t, 8000, 20*time.Millisecond, jitter.Config{})
	q := h.q
	q.pushDecoded(&q.cur, make([]int16, 100), 100)
	q.owed = 30
	require.NoError(t, q.setup(16000, 20*time.Millisecond))
	assert.Equal(t, 16250*time.Microsecond, h.jb.Stats().Shortened, "130 samples at 8 kHz")
	assert.Zero(t, q.fifo.Len()+q.owed)
	assert.Equal(t, 16000, q.fifo.Rate())
}
