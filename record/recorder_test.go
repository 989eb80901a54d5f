package record

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/internal/wav"
)

const ms = time.Millisecond

// inaudible is the peak, in LSB, of what Opus decodes from frames of
// digital silence it coded itself (or across the switch into the
// silence frames): about −72 dBFS.
const inaudible = 8

// source is a signal whose sample at a position is known: a frame cut
// from it at a stamp can be found in the file at exactly that place.
func source(rate, seconds int) []int16 {
	return tone(rate, 1, rate*seconds, 237, 9000)
}

// wavRecorder starts a Recorder writing WAV to a file in t's temp dir.
func wavRecorder(t testing.TB, f Format, cfg Config) (*Recorder, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.wav")
	r, err := Create(path, f, FileConfig{Config: cfg})
	require.NoError(t, err)
	return r, path
}

func readWAV(t testing.TB, path string) []int16 {
	t.Helper()
	a, err := wav.ReadFile(path)
	require.NoError(t, err)
	return a.Samples
}

// TestRecorderTimeline: a late first frame, a lost frame, a second of
// DTX and stamps that jitter by less than half a frame; every frame lands
// where its stamp says, to the sample, the gaps are silence, and the file
// is as long as WriteSilence asked.
func TestRecorderTimeline(t *testing.T) {
	const rate, fs = 16000, 320 // 20 ms frames
	start := 5 * time.Second    // the feeder's clock need not start at 0
	src := source(rate, 7)
	// The test feeds 7 s at once: a queue that holds them all.
	r, path := wavRecorder(t, Format{rate, 1}, Config{Start: start, Queue: 8 * time.Second})
	missing := map[int]bool{10: true, 11: true}
	for k := 50; k < 100; k++ {
		missing[k] = true // a second of DTX
	}
	jitter := map[int]time.Duration{3: 3 * ms, 4: -4 * ms, 120: 9 * ms, 121: -9 * ms}
	for k := range 250 { // 5 s from 1 s on
		if missing[k] {
			continue
		}
		pos := rate + k*fs
		at := start + time.Second + time.Duration(k)*20*ms + jitter[k]
		require.NoError(t, r.Write(at, src[pos:pos+fs]))
	}
	require.NoError(t, r.WriteSilence(start+7*time.Second))
	require.NoError(t, r.Close())

	got := readWAV(t, path)
	require.Len(t, got, 7*rate)
	want := make([]int16, 7*rate)
	for k := range 250 {
		if !missing[k] {
			pos := rate + k*fs
			copy(want[pos:pos+fs], src[pos:])
		}
	}
	assert.Equal(t, want, got)
	st := r.Stats()
	assert.Equal(t, uint64(250-len(missing)), st.Frames)
	assert.Equal(t, uint64(4), st.Gaps, "late start, loss, DTX, the end")
	assert.Equal(t, 7*time.Second-time.Duration(250-len(missing))*20*ms, st.Silence)
	assert.Equal(t, 7*time.Second, st.Written)
	assert.Zero(t, st.Dropped+st.Refused+st.Trimmed)
}

// TestRecorderOverlap: a frame stamped inside audio already written loses
// the overlap; one entirely inside it is dropped.
func TestRecorderOverlap(t *testing.T) {
	const rate, fs = 16000, 320
	src := source(rate, 1)
	r, path := wavRecorder(t, Format{rate, 1}, Config{})
	for _, at := range []time.Duration{0, 20 * ms, 40 * ms} {
		p := samplesIn(at, rate)
		require.NoError(t, r.Write(at, src[p:p+fs]))
	}
	require.NoError(t, r.Write(30*ms, src[480:480+fs])) // inside: dropped
	require.NoError(t, r.Write(45*ms, src[720:720+fs])) // 15 ms inside: cut
	require.NoError(t, r.Close())
	got := readWAV(t, path)
	assert.Equal(t, src[:720+fs], got)
	assert.Equal(t, uint64(2), r.Stats().Trimmed)
}

// TestRecordersLineUp: three participants of a room, recorded to Ogg/Opus
// with one Start: Alice throughout, Bob from 4 s (a late join), Carol
// leaving at 6 s. Closed together with WriteSilence to the room's end, the
// files last the same, to the sample, and each voice is where the room
// heard it (ffmpeg decodes; cross-correlation finds the onset).
func TestRecordersLineUp(t *testing.T) {
	needOpus(t)
	ffmpeg, ffprobe := tools(t)
	const rate, fs = 48000, 960
	dir := t.TempDir()
	type leg struct {
		name     string
		from, to time.Duration
	}
	legs := []leg{{"alice", 0, 9 * time.Second}, {"bob", 4 * time.Second, 9 * time.Second}, {"carol", 0, 6 * time.Second}}
	start := 123 * time.Second
	recs := make([]*Recorder, len(legs))
	clips := make([][]int16, len(legs))
	for i, l := range legs {
		var err error
		recs[i], err = Create(filepath.Join(dir, l.name+".opus"), Format{rate, 1}, FileConfig{Config: Config{Start: start}})
		require.NoError(t, err)
		clips[i] = speech(t, l.name)
	}
	// The room's ticks: every 20 ms, each present participant's frame.
	end := 10 * time.Second
	for tick := time.Duration(0); tick < end; tick += 20 * ms {
		for i, l := range legs {
			if tick < l.from || tick >= l.to {
				continue
			}
			off := int(samplesIn(tick-l.from, rate)) % (len(clips[i]) - fs)
			require.NoError(t, recs[i].Write(start+tick, clips[i][off:off+fs]))
		}
		if tick%time.Second == 0 {
			for _, r := range recs { // the test runs faster than real time
				require.NoError(t, r.Flush())
			}
		}
	}
	for _, r := range recs {
		require.NoError(t, r.WriteSilence(start+end))
		require.NoError(t, r.Close())
	}
	for i, l := range legs {
		path := filepath.Join(dir, l.name+".opus")
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		f := checkOggOpus(t, b)
		assert.Equal(t, samplesIn(end, rate), f.samples48, "%s: file length", l.name)
		assert.InDelta(t, end.Seconds(), probeDuration(t, ffprobe, path), 0.020, "%s: ffprobe", l.name)
		got := decode(t, ffmpeg, path, rate, 1)
		require.Len(t, got, int(samplesIn(end, rate)))
		from := int(samplesIn(l.from, rate))
		seg := clips[i][:rate] // the first second they spoke
		lag, c := bestLag(seg, got[from:], 400)
		assert.LessOrEqual(t, abs(lag), 1, "%s: heard %d samples off", l.name, lag)
		assert.Greater(t, c, 0.85, l.name)
		// Silent before joining and after leaving: exact zeros once the
		// silence frames run (after the frames that carry the encoder's
		// delay and the codec's decay), and at most a few LSB in the
		// first frames, which the encoder codes from zeros.
		if from > 0 {
			assert.LessOrEqual(t, peak(got[:from-960]), inaudible, "%s: before joining", l.name)
			assert.Zero(t, peak(got[3*960:from-960]), "%s: before joining", l.name)
		}
		if to := int(samplesIn(l.to, rate)); to < len(got) {
			assert.Zero(t, peak(got[to+3*960:]), "%s: after leaving", l.name)
		}
	}
}

// gatedWriter holds every write until open is closed, like a disk that
// has stopped; writes counts the writes that went through.
type gatedWriter struct {
	PCMWriter
	open   chan struct{}
	writes atomic.Int64
}

func (g *gatedWriter) WritePCM(pcm []int16) error {
	<-g.open
	g.writes.Add(1)
	return g.PCMWriter.WritePCM(pcm)
}

// TestRecorderQueueOverflow: with the writer stalled, Write never waits;
// once the queue is full frames are dropped, counted and reported, and
// their time is silence in the file, which still lasts as long as the
// frames offered.
func TestRecorderQueueOverflow(t *testing.T) {
	const rate, fs = 16000, 320
	src := source(rate, 2)
	path := filepath.Join(t.TempDir(), "q.wav")
	file, err := os.Create(path)
	require.NoError(t, err)
	w, err := NewWAVWriter(file, Format{rate, 1}, WAVConfig{})
	require.NoError(t, err)
	g := &gatedWriter{PCMWriter: w, open: make(chan struct{})}
	r, err := NewRecorder(g, Config{Queue: 100 * ms, Closer: file})
	require.NoError(t, err)

	accepted := map[int]bool{}
	var full uint64
	for k := range 100 { // 2 s, as fast as the loop goes: the writer is stuck
		err := r.Write(time.Duration(k)*20*ms, src[k*fs:(k+1)*fs])
		switch {
		case err == nil:
			accepted[k] = true
		case errors.Is(err, ErrQueueFull):
			full++
		default:
			t.Fatal(err)
		}
	}
	assert.Zero(t, g.writes.Load(), "nothing reached the disk")
	st := r.Stats()
	assert.Equal(t, full, st.Dropped)
	assert.Greater(t, full, uint64(80), "a 100 ms queue holds a few 20 ms frames")
	close(g.open)
	require.NoError(t, r.Close())

	got := readWAV(t, path)
	require.Len(t, got, 2*rate, "dropped frames still count as time")
	want := make([]int16, 2*rate)
	for k := range accepted {
		copy(want[k*fs:(k+1)*fs], src[k*fs:])
	}
	assert.Equal(t, want, got)
}

// slowFile is a file on a disk that takes delay for every write.
type slowFile struct {
	f      *os.File
	delay  time.Duration
	writes atomic.Int64
}

func (s *slowFile) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	s.writes.Add(1)
	return s.f.Write(p)
}

func (s *slowFile) WriteAt(p []byte, off int64) (int, error) {
	time.Sleep(s.delay)
	return s.f.WriteAt(p, off)
}

// TestRecorderSlowDisk: a disk that takes 10 ms a write, its header
// patched every 20 ms frame: the feeder's 3 s of frames go in at once
// (a burst, as after a stall upstream) and none of its calls waits for
// the disk; what did not fit is dropped and becomes silence; the file
// lasts 3 s.
func TestRecorderSlowDisk(t *testing.T) {
	const rate, fs = 8000, 160
	src := source(rate, 3)
	path := filepath.Join(t.TempDir(), "slow.wav")
	file, err := os.Create(path)
	require.NoError(t, err)
	slow := &slowFile{f: file, delay: 10 * ms}
	w, err := NewWAVWriter(slow, Format{rate, 1}, WAVConfig{PatchInterval: 20 * ms})
	require.NoError(t, err)
	r, err := NewRecorder(w, Config{Queue: 200 * ms, Closer: file})
	require.NoError(t, err)
	var accepted []int
	for k := range 150 {
		if err := r.Write(time.Duration(k)*20*ms, src[k*fs:(k+1)*fs]); err == nil {
			accepted = append(accepted, k)
		} else {
			require.ErrorIs(t, err, ErrQueueFull)
		}
	}
	assert.Less(t, slow.writes.Load(), int64(150), "the feeder finished before the disk could have")
	require.NoError(t, r.Close())
	st := r.Stats()
	assert.Equal(t, uint64(150-len(accepted)), st.Dropped)
	assert.NotZero(t, st.Dropped)
	got := readWAV(t, path)
	require.Len(t, got, 3*rate)
	want := make([]int16, 3*rate)
	for _, k := range accepted {
		copy(want[k*fs:(k+1)*fs], src[k*fs:])
	}
	assert.Equal(t, want, got)
}

func TestRecorderClose(t *testing.T) {
	r, path := wavRecorder(t, Format{8000, 1}, Config{})
	frame := make([]int16, 160)
	require.NoError(t, r.Write(0, frame))
	require.NoError(t, r.Flush())
	assert.Equal(t, 20*ms, r.Stats().Written)
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
	assert.ErrorIs(t, r.Write(20*ms, frame), ErrClosed)
	assert.ErrorIs(t, r.WriteSilence(time.Second), ErrClosed)
	assert.ErrorIs(t, r.Flush(), ErrClosed)
	assert.NoError(t, r.Err())
	assert.Len(t, readWAV(t, path), 160)

	_, err := Create(path, Format{8000, 1}, FileConfig{})
	assert.ErrorIs(t, err, os.ErrExist, "a recording is never overwritten")
	_, err = Create(filepath.Join(t.TempDir(), "x.mp3"), Format{8000, 1}, FileConfig{})
	assert.ErrorIs(t, err, ErrConfig)
	_, err = CreatePackets(filepath.Join(t.TempDir(), "x.wav"), Format{48000, 1}, FileConfig{})
	assert.ErrorIs(t, err, ErrConfig)
	bad := filepath.Join(t.TempDir(), "bad.wav")
	_, err = Create(bad, Format{8000, 5}, FileConfig{})
	assert.ErrorIs(t, err, ErrConfig)
	assert.NoFileExists(t, bad, "a file whose recorder could not start is removed")
	_, err = NewRecorder(w0{}, Config{Queue: time.Hour})
	assert.ErrorIs(t, err, ErrConfig)
}

// w0 is a PCMWriter for configuration tests.
type w0 struct{}

func (w0) Format() Format         { return Format{8000, 1} }
func (w0) WritePCM([]int16) error { return nil }
func (w0) WriteSilence(int) error { return nil }
func (w0) Position() int64        { return 0 }
func (w0) Close() error           { return nil }

func TestRecorderRefusesBadFrames(t *testing.T) {
	r, path := wavRecorder(t, Format{8000, 2}, Config{Queue: 100 * ms, MaxGap: time.Minute})
	assert.ErrorIs(t, r.Write(0, nil), ErrFrame)
	assert.ErrorIs(t, r.Write(0, []int16{1, 2, 3}), ErrFrame)
	assert.ErrorIs(t, r.Write(0, make([]int16, 2*8000)), ErrFrame, "larger than the queue")
	frame := make([]int16, 320)
	assert.ErrorIs(t, r.Write(time.Minute+time.Second, frame), ErrFrame, "a clock that jumped")
	assert.ErrorIs(t, r.WriteSilence(time.Hour), ErrFrame)
	require.NoError(t, r.Write(50*time.Second, frame), "within MaxGap of the start")
	require.NoError(t, r.Write(100*time.Second, frame), "within MaxGap of the last frame")
	// Stamps at the ends of time neither panic nor write anything.
	assert.ErrorIs(t, r.Write(math.MaxInt64, frame), ErrFrame)
	require.NoError(t, r.Write(math.MinInt64, frame))
	assert.Equal(t, uint64(6), r.Stats().Refused)
	require.NoError(t, r.Close())
	assert.Len(t, readWAV(t, path), 2*(100*8000+160))
	assert.Equal(t, uint64(1), r.Stats().Trimmed)
}

// TestRecorderWriterError: a disk that fills up: the error comes back from
// Err, from Write and from Close, and nothing panics.
func TestRecorderWriterError(t *testing.T) {
	fw := &failingWriter{limit: 20 << 10}
	w, err := NewWAVWriter(fw, Format{8000, 1}, WAVConfig{})
	require.NoError(t, err)
	r, err := NewRecorder(w, Config{})
	require.NoError(t, err)
	frame := make([]int16, 160)
	var werr error
	for k := 0; k < 1000 && werr == nil; k++ {
		werr = r.Write(time.Duration(k)*20*ms, frame)
		if k%50 == 49 {
			_ = r.Flush()
		}
	}
	assert.ErrorIs(t, werr, errDiskFull)
	assert.ErrorIs(t, r.Err(), errDiskFull)
	assert.ErrorIs(t, r.Close(), errDiskFull)
	assert.ErrorIs(t, r.Close(), errDiskFull)
}

// TestRecorderCloseWhileWriting: Close from another goroutine while the
// feeder writes; run under -race.
func TestRecorderCloseWhileWriting(t *testing.T) {
	r, path := wavRecorder(t, Format{8000, 1}, Config{})
	frame := make([]int16, 160)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; k < 100000; k++ {
			if err := r.Write(time.Duration(k)*20*ms, frame); errors.Is(err, ErrClosed) {
				return
			}
		}
	}()
	time.Sleep(5 * ms)
	require.NoError(t, r.Close())
	wg.Wait()
	got := readWAV(t, path)
	assert.Equal(t, r.Stats().Written, durationOf(int64(len(got)), 8000))
}

// opusPackets encodes a clip into 20 ms packets with libopus.
func opusPackets(t testing.TB, pcm []int16) [][]byte {
	t.Helper()
	e, err := opus.NewEncoder(codec.Config{Bitrate: 32000})
	require.NoError(t, err)
	var out [][]byte
	for i := 0; i+960 <= len(pcm); i += 960 {
		p, err := e.Encode(nil, pcm[i:i+960])
		require.NoError(t, err)
		out = append(out, p)
	}
	return out
}

// TestPacketRecorder: a participant's Opus leg recorded as it came: it
// joined 2 s late, lost a packet, sent nothing for a second (DTX) and one
// malformed packet; the file lasts until the room's end, the speech is
// where the stamps put it, and the gaps are silent.
func TestPacketRecorder(t *testing.T) {
	needOpus(t)
	ffmpeg, ffprobe := tools(t)
	clip := speech(t, "bob")[:48000*6]
	pkts := opusPackets(t, clip)
	path := filepath.Join(t.TempDir(), "leg.opus")
	r, err := CreatePackets(path, Format{48000, 1}, FileConfig{})
	require.NoError(t, err)

	const join = 2 * time.Second
	skip := map[int]bool{40: true}
	for k := 150; k < 200; k++ {
		skip[k] = true
	}
	for k, p := range pkts {
		at := join + time.Duration(k)*20*ms // the RTP timestamp, as a duration
		switch {
		case k == 100:
			assert.ErrorIs(t, r.Write(at, []byte{0x03, 0x00}), codec.ErrCorrupt)
		case !skip[k]:
			require.NoError(t, r.Write(at, p))
		}
	}
	end := 9 * time.Second
	require.NoError(t, r.WriteSilence(end))
	require.NoError(t, r.Close())
	st := r.Stats()
	assert.Equal(t, uint64(len(pkts)-len(skip)-1), st.Frames)
	assert.Equal(t, uint64(1), st.Refused)

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	f := checkOggOpus(t, b)
	assert.Zero(t, f.preSkip)
	assert.Equal(t, samplesIn(end, 48000), f.samples48)
	assert.InDelta(t, end.Seconds(), probeDuration(t, ffprobe, path), 0.020)
	got := decode(t, ffmpeg, path, 48000, 1)
	require.Len(t, got, int(samplesIn(end, 48000)))

	j := int(samplesIn(join, 48000))
	assert.Zero(t, peak(got[:j]), "silent before joining")
	// The sender's encoder delays its input by 312 samples.
	lag, c := bestLag(clip[:48000], got[j:], 400)
	assert.InDelta(t, 312, lag, 1)
	assert.Greater(t, c, 0.85)
	dtx := got[j+150*960+480 : j+200*960]
	assert.Zero(t, peak(dtx), "the DTX second is silent")
	lost := got[j+100*960+480 : j+101*960]
	assert.Zero(t, peak(lost), "the malformed packet's time is silent")
	assert.Zero(t, peak(got[j+len(pkts)*960+480:]), "silent after the leg ended")
}

// TestPacketRecorderAllocs: Write allocates nothing, whether it queues,
// drops or refuses.
func TestRecorderWriteDoesNotAllocate(t *testing.T) {
	w, err := NewWAVWriter(&bytes.Buffer{}, Format{48000, 1}, WAVConfig{})
	require.NoError(t, err)
	g := &gatedWriter{PCMWriter: w, open: make(chan struct{})}
	r, err := NewRecorder(g, Config{Queue: 100 * ms})
	require.NoError(t, err)
	frame := make([]int16, 960)
	k := 0
	// Queued, then (the writer being stuck) dropped, then refused.
	allocs := testing.AllocsPerRun(200, func() {
		_ = r.Write(time.Duration(k)*20*ms, frame)
		_ = r.WriteSilence(time.Duration(k) * 20 * ms)
		_ = r.Write(0, frame[:0])
		k++
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, r.Stats().Dropped)
	close(g.open)
	require.NoError(t, r.Close())

	pw, err := NewOggOpusPacketWriter(&bytes.Buffer{}, Format{48000, 1}, OggOpusConfig{})
	require.NoError(t, err)
	pr, err := NewPacketRecorder(pw, Config{Queue: 100 * ms})
	require.NoError(t, err)
	pkt := silencePacket(960, false)
	bad := []byte{0x03, 0x00}
	allocs = testing.AllocsPerRun(200, func() {
		_ = pr.Write(time.Duration(k)*20*ms, pkt)
		_ = pr.Write(time.Duration(k)*20*ms, bad)
		k++
	})
	assert.Zero(t, allocs)
	require.NoError(t, pr.Close())
}
