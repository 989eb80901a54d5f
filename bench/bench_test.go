package bench

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/srtp"
)

var (
	clipsOnce sync.Once
	clips     *Clips
	clipsErr  error
)

// testClips loads and encodes the clips once per process.
func testClips(tb testing.TB) *Clips {
	clipsOnce.Do(func() { clips, clipsErr = LoadClips("", 250) })
	require.NoError(tb, clipsErr)
	return clips
}

// roomCache keeps the last room built, because the testing package calls
// a benchmark function several times with growing b.N and a room of 5000
// Opus participants takes seconds to join and warm up.
var roomCache struct {
	cfg  RoomConfig
	room *Room
}

func cachedRoom(b *testing.B, cfg RoomConfig) *Room {
	if roomCache.room != nil && roomCache.cfg == cfg {
		return roomCache.room
	}
	if roomCache.room != nil {
		roomCache.room.Close()
		roomCache.room = nil
	}
	r, err := NewRoom(cfg)
	require.NoError(b, err)
	roomCache.cfg, roomCache.room = cfg, r
	return r
}

// BenchSizes are the room sizes BenchmarkTick runs; -short stops at 100.
var BenchSizes = []int{3, 10, 100, 1000, 5000}

// BenchmarkTick times one 20 ms tick of a whole conference, SRTP both ways,
// inbound packet handling included (every participant's packet through
// WriteRTPAt), the senders' work excluded. participants/core@50% is how
// many participants one core carries at this per-participant cost with
// ticks taking half of real time (a linear extrapolation from this N; the
// capacity tool measures it instead).
func BenchmarkTick(b *testing.B) {
	cs := testClips(b)
	for _, c := range Codecs {
		for _, sc := range Scenarios {
			for _, n := range BenchSizes {
				if testing.Short() && n > 100 {
					continue
				}
				b.Run(fmt.Sprintf("%s/%s/N=%d", c, sc, n), func(b *testing.B) {
					r := cachedRoom(b, RoomConfig{N: n, Codec: c, Scenario: sc, Clips: cs})
					// Joining and warming up is not the tick: without this
					// reset the first b.N=1 round of a large room would take
					// seconds and end the benchmark after one tick.
					b.ResetTimer()
					b.ReportAllocs()
					timed := timeTicks(b, r)
					perTick := float64(timed.Nanoseconds()) / 1000 / float64(b.N)
					b.ReportMetric(perTick, "µs/tick")
					b.ReportMetric(float64(n)*(float64(Ptime.Microseconds())/2)/perTick, "participants/core@50%")
					b.ReportMetric(float64(r.Conf.Stats().Speakers), "speakers")
				})
			}
		}
	}
	roomCache.room = nil
}

// BenchmarkPipeline breaks one participant's 20 ms down into the stages of
// its pipeline, each timed through the package that does it, and then
// times the whole through the mixer: a room of three where everyone speaks,
// so every participant's packet is unprotected, buffered, decoded, mixed
// into the others' mix-minus, and its own mix-minus encoded and protected.
// "whole" reports the tick divided by three.
func BenchmarkPipeline(b *testing.B) {
	cs := testClips(b)
	for _, c := range []string{CodecPCMU, CodecOpus} {
		f, _ := FormatOf(c, 0)
		clip := cs.Speech[f.Name][0]
		b.Run(c+"/srtp-unprotect", func(b *testing.B) { benchUnprotect(b, f, clip) })
		b.Run(c+"/jitter-push-pop", func(b *testing.B) { benchJitter(b, f, clip) })
		b.Run(c+"/decode", func(b *testing.B) { benchDecode(b, f, clip) })
		b.Run(c+"/mix-minus", func(b *testing.B) { benchMix(b, f, cs) })
		b.Run(c+"/encode", func(b *testing.B) { benchEncode(b, f, cs) })
		b.Run(c+"/srtp-protect", func(b *testing.B) { benchProtect(b, f, clip) })
		b.Run(c+"/whole", func(b *testing.B) {
			r, err := NewRoom(RoomConfig{N: 3, Codec: c, Scenario: TalkAll, Clips: cs})
			require.NoError(b, err)
			defer r.Close()
			b.ResetTimer()
			b.ReportAllocs()
			timed := timeTicks(b, r)
			b.ReportMetric(float64(timed.Nanoseconds())/1000/float64(b.N)/3, "µs/participant")
			b.ReportMetric(float64(r.Conf.Stats().Speakers), "speakers")
		})
	}
}

// timeTicks runs b.N ticks of r and returns the time spent in Tick alone:
// the senders' work (Prepare) between ticks is not the engine's.
func timeTicks(b *testing.B, r *Room) time.Duration {
	var timed time.Duration
	for i := 0; i < b.N; i++ {
		r.Prepare()
		t0 := time.Now()
		r.Tick()
		timed += time.Since(t0)
	}
	return timed
}

// rtpPacket returns an RTP packet (12-byte header plus the level
// extension) carrying the clip's payload k.
func rtpPacket(f codec.Format, clip Clip, k int, seq uint16) []byte {
	s := &sender{clip: &clip, pt: PayloadType(f), seq: seq, ssrc: 0x1234, step: uint32(f.FrameSamples(Ptime)),
		buf: make([]byte, 0, 1600)}
	return s.plain(k)
}

func benchUnprotect(b *testing.B, f codec.Format, clip Clip) {
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(b, err)
	p, err := srtp.NewProtector(keys)
	require.NoError(b, err)
	// Replay protection off: the same packet is unprotected again and again.
	u, err := srtp.NewUnprotector(keys, srtp.ReplayWindow(0))
	require.NoError(b, err)
	pkt := rtpPacket(f, clip, 0, 1)
	prot, err := p.ProtectRTP(nil, pkt)
	require.NoError(b, err)
	buf := make([]byte, len(prot))
	var hdr rtp.Header
	b.SetBytes(int64(len(prot)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, prot)
		if _, err := u.UnprotectRTP(buf[:0], buf, &hdr); err != nil {
			b.Fatal(err)
		}
	}
}

func benchProtect(b *testing.B, f codec.Format, clip Clip) {
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(b, err)
	p, err := srtp.NewProtector(keys)
	require.NoError(b, err)
	pkt := rtpPacket(f, clip, 0, 1)
	buf := make([]byte, len(pkt), len(pkt)+p.RTPOverhead())
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, pkt)
		if _, err := p.ProtectRTP(buf[:0], buf); err != nil {
			b.Fatal(err)
		}
	}
}

func benchJitter(b *testing.B, f codec.Format, clip Clip) {
	jb, err := jitter.New(jitter.Config{ClockRate: f.ClockRate})
	require.NoError(b, err)
	step := uint32(f.FrameSamples(Ptime))
	pkt := jitter.Packet{SSRC: 1, AudioLevel: 30, Voice: true, Payload: clip.Payloads[0]}
	b.SetBytes(int64(len(clip.Payloads[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := time.Duration(i) * Ptime
		pkt.SequenceNumber = uint16(i)
		pkt.Timestamp = uint32(i) * step
		if err := jb.Push(now, &pkt); err != nil {
			b.Fatal(err)
		}
		_ = jb.Pop(now)
		i++
	}
}

func benchDecode(b *testing.B, f codec.Format, clip Clip) {
	dec, err := codec.NewDecoder(f.SDPName(), codec.Config{SampleRate: rateOf(f)})
	require.NoError(b, err)
	out := make([]int16, 0, 5760)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := dec.Decode(out[:0], clip.Payloads[i%len(clip.Payloads)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func benchEncode(b *testing.B, f codec.Format, cs *Clips) {
	rate := rateOf(f)
	enc, err := codec.NewEncoder(f.SDPName(), codec.Config{SampleRate: rate, Complexity: 5})
	require.NoError(b, err)
	frames := decodedFrames(b, f, cs.Speech[f.Name][0])
	out := make([]byte, 0, 1500)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := enc.Encode(out[:0], frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// benchMix is the mix-minus of a room of three talkers at the codec's
// rate, divided by three: sum once, then each output is the sum minus its
// own voice through its limiter.
func benchMix(b *testing.B, f codec.Format, cs *Clips) {
	var srcs [3][][]int16
	for s := range srcs {
		srcs[s] = decodedFrames(b, f, cs.Speech[f.Name][s])
	}
	n := len(srcs[0][0])
	acc := make([]int32, n)
	out := make([]int16, n)
	var lim [3]pcm.Limiter
	for s := range lim {
		l, err := pcm.NewLimiter(pcm.LimiterConfig{SampleRate: rateOf(f)})
		require.NoError(b, err)
		lim[s] = *l
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		pcm.Zero32(acc)
		for s := range srcs {
			pcm.Add(acc, srcs[s][i%len(srcs[s])])
		}
		for s := range srcs {
			lim[s].Process(out, acc, srcs[s][i%len(srcs[s])], pcm.Unity)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/3, "ns/participant")
}

func rateOf(f codec.Format) int {
	if f.Name == Opus.Name {
		return 48000
	}
	return f.ClockRate
}

func decodedFrames(b *testing.B, f codec.Format, clip Clip) [][]int16 {
	dec, err := codec.NewDecoder(f.SDPName(), codec.Config{SampleRate: rateOf(f)})
	require.NoError(b, err)
	var frames [][]int16
	for _, p := range clip.Payloads {
		fr, err := dec.Decode(nil, p)
		require.NoError(b, err)
		frames = append(frames, fr)
	}
	return frames
}
