package mixer

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sineAt makes seconds of a sine of freq at rate, amplitude amp (0..1).
func sineAt(rate int, freq, seconds, amp float64) []int16 {
	out := make([]int16, int(float64(rate)*seconds))
	for i := range out {
		out[i] = int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return out
}

// goertzel returns the RMS-like magnitude of freq in x (at rate),
// normalised so that a full-scale sine gives about 1.
func goertzel(x []int16, rate int, freq float64) float64 {
	if len(x) == 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v)/32768 + coeff*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(math.Max(p, 0)) / float64(len(x))
}

func newMediaConf(t testing.TB, cfg ConferenceConfig) *Conference {
	c, err := NewConference(cfg)
	require.NoError(t, err)
	return c
}

// A source plays into the room: every participant hears it, it is named
// in their CSRC lists, and it talks as a participant does.
func TestSourcePlaysIntoRoom(t *testing.T) {
	c := newMediaConf(t, ConferenceConfig{Name: "room"})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, listenOnly: true})
	b := newClient(t, c, clientSpec{id: "b", format: opf, pt: 111, listenOnly: true})
	now := run(c, []*client{a, b}, 0, 200*time.Millisecond, nil)

	s, err := c.AddSource(SourceConfig{ID: "prompt", SampleRate: 16000, SSRC: 0x1234})
	require.NoError(t, err)
	_, err = c.AddSource(SourceConfig{ID: "a", SampleRate: 16000})
	require.ErrorIs(t, err, ErrDuplicateID)
	_, err = c.Join(ParticipantConfig{ID: "prompt", In: pcmu, Out: pcmu, Sink: SinkFunc(func([]byte) error { return nil })})
	require.ErrorIs(t, err, ErrDuplicateID)

	n, err := s.TryWrite(sineAt(16000, 1000, 1, 0.3))
	require.NoError(t, err)
	require.Equal(t, 16000, n)
	a.got, b.got = nil, nil
	now = run(c, []*client{a, b}, now, 2*time.Second, nil)

	// The tone is in what both hear (a at 8 kHz, b at 48 kHz).
	assert.Greater(t, goertzel(a.got[800:8000], 8000, 1000), 0.15)
	assert.Greater(t, goertzel(b.got[4800:48000], 48000, 1000), 0.15)
	named := false
	for _, h := range a.headers {
		for _, x := range h.CSRC {
			named = named || x == 0x1234
		}
	}
	assert.True(t, named, "the source is in the CSRC list")
	st := s.Stats()
	assert.Equal(t, time.Second, st.Played)
	assert.Zero(t, st.Queued)
	assert.False(t, st.Talking, "a second of silence after the tone ends its talk")

	var talk []EventType
	for len(c.Events()) > 0 {
		if e := <-c.Events(); e.Participant == "prompt" {
			talk = append(talk, e.Type)
		}
	}
	assert.Equal(t, []EventType{TalkingStarted, TalkingStopped}, talk)

	s.Close()
	run(c, []*client{a, b}, now, 40*time.Millisecond, nil)
	<-s.Done()
	_, err = s.TryWrite(make([]int16, 10))
	require.ErrorIs(t, err, ErrClosed)
	// The ID is free again.
	s2, err := c.AddSource(SourceConfig{ID: "prompt", SampleRate: 8000})
	require.NoError(t, err)
	s2.Close()
}

// A whisper is heard by its target only, on top of the room, and even
// when the target is deaf to the room (music on hold).
func TestSourceWhisper(t *testing.T) {
	c := newMediaConf(t, ConferenceConfig{SampleRate: 16000})
	talker := newClient(t, c, clientSpec{id: "talker", format: pcmu, pt: 0, src: tone(440, 3, 0.3)})
	held := newClient(t, c, clientSpec{id: "held", format: pcmu, pt: 0, listenOnly: true})
	other := newClient(t, c, clientSpec{id: "other", format: pcmu, pt: 0, listenOnly: true})
	clients := []*client{talker, held, other}
	now := run(c, clients, 0, 300*time.Millisecond, nil)

	_, err := c.AddSource(SourceConfig{SampleRate: 8000, To: "nobody"})
	require.ErrorIs(t, err, ErrNoParticipant)
	s, err := c.AddSource(SourceConfig{SampleRate: 24000, To: "held"})
	require.NoError(t, err)
	_, err = s.TryWrite(sineAt(24000, 1000, 2, 0.3))
	require.NoError(t, err)
	hears, err := c.AddTap(TapConfig{Kind: TapHears, Participant: "held", SampleRate: 16000})
	require.NoError(t, err)
	mix, err := c.AddTap(TapConfig{Kind: TapMix, SampleRate: 16000})
	require.NoError(t, err)

	for _, cl := range clients {
		cl.got = nil
	}
	now = run(c, clients, now, time.Second, nil)
	drain := func(tp *Tap) []int16 {
		var all []int16
		buf := make([]int16, tp.FrameSamples())
		for {
			_, fr, ok := tp.TryRead(buf)
			if !ok {
				return all
			}
			all = append(all, fr...)
		}
	}
	h, m := drain(hears), drain(mix)
	assert.Greater(t, goertzel(h[3200:], 16000, 1000), 0.15, "what held hears has the whisper")
	assert.Greater(t, goertzel(h[3200:], 16000, 440), 0.1)
	assert.Less(t, goertzel(m[3200:], 16000, 1000), 0.01, "the room's mix has no whisper")
	assert.Greater(t, goertzel(m[3200:], 16000, 440), 0.1)
	hears.Close()
	mix.Close()
	seg := func(cl *client) []int16 { return cl.got[1600:8000] }
	assert.Greater(t, goertzel(seg(held), 8000, 1000), 0.15, "the target hears the whisper")
	assert.Greater(t, goertzel(seg(held), 8000, 440), 0.1, "and the room")
	assert.Less(t, goertzel(seg(other), 8000, 1000), 0.01, "nobody else hears it")
	assert.Greater(t, goertzel(seg(other), 8000, 440), 0.1)
	assert.Less(t, goertzel(seg(talker), 8000, 1000), 0.01)

	// Deaf to the room: only the whisper.
	held.p.SetDeaf(true)
	held.got = nil
	run(c, clients, now, 600*time.Millisecond, nil)
	seg2 := held.got[1600:4800]
	assert.Greater(t, goertzel(seg2, 8000, 1000), 0.15)
	assert.Less(t, goertzel(seg2, 8000, 440), 0.01)
	assert.False(t, s.Stats().Speaking, "a whisper takes no speaker place")

	// The target's leaving closes the whisper.
	held.p.Leave()
	run(c, clients, now+600*time.Millisecond, 40*time.Millisecond, nil)
	select {
	case <-s.Done():
	default:
		t.Fatal("whisper still open after its target left")
	}
}

// A speaker hears a whisper too, through its own mix-minus, and its own
// voice stays out of it.
func TestSourceWhisperToSpeaker(t *testing.T) {
	c := newMediaConf(t, ConferenceConfig{SampleRate: 16000})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 3, 0.3)})
	b := newClient(t, c, clientSpec{id: "b", format: pcmu, pt: 0, src: tone(660, 3, 0.3)})
	now := run(c, []*client{a, b}, 0, 300*time.Millisecond, nil)
	s, err := c.AddSource(SourceConfig{SampleRate: 16000, To: "a"})
	require.NoError(t, err)
	_, err = s.TryWrite(sineAt(16000, 1000, 2, 0.3))
	require.NoError(t, err)
	a.got = nil
	run(c, []*client{a, b}, now, time.Second, nil)
	seg := a.got[1600:8000]
	assert.True(t, a.p.Stats().Speaking)
	assert.Greater(t, goertzel(seg, 8000, 1000), 0.15)
	assert.Greater(t, goertzel(seg, 8000, 660), 0.1)
	assert.Less(t, goertzel(seg, 8000, 440), 0.02, "its own voice is not sent back")
}

// A feeder faster than real time is buffered: 5 s written at once plays
// out in full; past the bound TryWrite says ErrSourceFull and Write waits.
func TestSourceBuffersFastFeeder(t *testing.T) {
	c := newMediaConf(t, ConferenceConfig{SampleRate: 16000})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, listenOnly: true})
	s, err := c.AddSource(SourceConfig{SampleRate: 16000, Buffer: 2 * time.Second})
	require.NoError(t, err)
	tts := sineAt(16000, 1000, 5, 0.3)

	n, err := s.TryWrite(tts)
	require.ErrorIs(t, err, ErrSourceFull)
	require.GreaterOrEqual(t, n, 32000) // 2 s, rounded up to the ring's size
	require.Less(t, n, len(tts))

	// Write waits for the tick: with nobody ticking it times out, saying
	// how much it queued.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	k, err := s.Write(ctx, tts[n:])
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Zero(t, k)

	// With the tick running (virtual time, as fast as it goes) Write
	// returns once all is queued, and every sample plays.
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() {
		defer wg.Done()
		_, werr = s.Write(context.Background(), tts[n:])
	}()
	now := time.Duration(0)
	for i := 0; i < 400 && s.Stats().Played < 5*time.Second; i++ {
		_ = a.p // the listener keeps the conference at 16 kHz
		c.Tick(now)
		now += 20 * time.Millisecond
		if i%10 == 0 {
			time.Sleep(time.Millisecond) // let the feeder run
		}
	}
	wg.Wait()
	require.NoError(t, werr)
	st := s.Stats()
	assert.Equal(t, 5*time.Second, st.Played)
	assert.Zero(t, st.Underruns)

	// Wait returns once everything was played; Clear drops what waits.
	require.NoError(t, s.Wait(context.Background()))
	_, err = s.TryWrite(tts[:16000])
	require.NoError(t, err)
	s.Clear()
	c.Tick(now)
	assert.Zero(t, s.Stats().Queued)
	assert.Equal(t, uint64(1), s.Stats().Clears)

	// A feeder waiting for its audio to play is released by a Clear
	// (barge-in) as by the end of playing.
	_, err = s.TryWrite(tts[:32000])
	require.NoError(t, err)
	waited := make(chan error, 1)
	go func() { waited <- s.Wait(context.Background()) }()
	time.Sleep(5 * time.Millisecond) // usually in Wait by now; either way it must return
	s.Clear()
	now += 20 * time.Millisecond
	c.Tick(now)
	select {
	case err := <-waited:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after Clear")
	}

	_, err = c.AddSource(SourceConfig{SampleRate: 44100})
	require.ErrorIs(t, err, ErrConfig)
	_, err = c.AddSource(SourceConfig{SampleRate: 8000, Buffer: time.Hour})
	require.ErrorIs(t, err, ErrConfig)
}

// A source fights for a speaker's place by its level, as a participant
// does; a priority source is mixed on top of the speakers.
func TestSourceSpeakerSelection(t *testing.T) {
	c := newMediaConf(t, ConferenceConfig{SampleRate: 16000, MaxSpeakers: 1})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 4, 0.3)})
	b := newClient(t, c, clientSpec{id: "b", format: pcmu, pt: 0, listenOnly: true})
	clients := []*client{a, b}
	now := run(c, clients, 0, 500*time.Millisecond, nil)
	require.True(t, a.p.Stats().Speaking)

	quiet, err := c.AddSource(SourceConfig{SampleRate: 16000})
	require.NoError(t, err)
	_, err = quiet.TryWrite(sineAt(16000, 1000, 1, 0.05))
	require.NoError(t, err)
	b.got = nil
	now = run(c, clients, now, 600*time.Millisecond, nil)
	assert.False(t, quiet.Stats().Speaking, "a quieter source does not displace the speaker")
	assert.Less(t, goertzel(b.got[1600:4000], 8000, 1000), 0.01)
	quiet.Close()

	pri, err := c.AddSource(SourceConfig{SampleRate: 16000, Priority: true})
	require.NoError(t, err)
	_, err = pri.TryWrite(sineAt(16000, 1000, 1, 0.05))
	require.NoError(t, err)
	b.got = nil
	run(c, clients, now, 600*time.Millisecond, nil)
	assert.True(t, pri.Stats().Speaking)
	assert.True(t, a.p.Stats().Speaking, "the speaker keeps its place")
	assert.Greater(t, goertzel(b.got[1600:4000], 8000, 1000), 0.02)
	assert.Greater(t, goertzel(b.got[1600:4000], 8000, 440), 0.1)
}

// Taps give the room's mix, what one participant hears and what it
// sends, at their own rate, stamped contiguously.
func TestTaps(t *testing.T) {
	c := newMediaConf(t, ConferenceConfig{SampleRate: 16000})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 3, 0.3)})
	b := newClient(t, c, clientSpec{id: "b", format: pcmu, pt: 0, src: tone(660, 3, 0.3)})
	l := newClient(t, c, clientSpec{id: "l", format: pcmu, pt: 0, listenOnly: true})
	clients := []*client{a, b, l}
	now := run(c, clients, 0, 100*time.Millisecond, nil)

	_, err := c.AddTap(TapConfig{Kind: TapHears, Participant: "nobody"})
	require.ErrorIs(t, err, ErrNoParticipant)
	_, err = c.AddTap(TapConfig{Kind: TapMix, Participant: "a"})
	require.ErrorIs(t, err, ErrConfig)
	_, err = c.AddTap(TapConfig{Kind: TapInboundPackets, Participant: "a"})
	require.ErrorIs(t, err, ErrConfig)
	_, err = c.AddTap(TapConfig{Kind: TapMix, SampleRate: 11025})
	require.ErrorIs(t, err, ErrConfig)

	mix, err := c.AddTap(TapConfig{Kind: TapMix, SampleRate: 48000})
	require.NoError(t, err)
	hears, err := c.AddTap(TapConfig{Kind: TapHears, Participant: "a", SampleRate: 8000})
	require.NoError(t, err)
	in, err := c.AddTap(TapConfig{Kind: TapInbound, Participant: "l", SampleRate: 16000})
	require.NoError(t, err)
	require.Equal(t, 960, mix.FrameSamples())

	run(c, clients, now, time.Second, nil)
	read := func(tp *Tap) ([]int16, []time.Duration) {
		var all []int16
		var at []time.Duration
		buf := make([]int16, tp.FrameSamples())
		for {
			st, fr, ok := tp.TryRead(buf)
			if !ok {
				return all, at
			}
			all = append(all, fr...)
			at = append(at, st)
		}
	}
	m, mat := read(mix)
	h, hat := read(hears)
	i, _ := read(in)
	require.Len(t, mat, 50)
	require.Len(t, hat, 50)
	for k := 1; k < len(mat); k++ {
		require.Equal(t, 20*time.Millisecond, mat[k]-mat[k-1])
	}
	assert.Equal(t, mat, hat, "every tap of a conference is stamped on one clock")
	assert.Equal(t, now, mat[0])
	assert.Greater(t, goertzel(m[9600:], 48000, 440), 0.1)
	assert.Greater(t, goertzel(m[9600:], 48000, 660), 0.1)
	assert.Greater(t, goertzel(h[1600:], 8000, 660), 0.1)
	assert.Less(t, goertzel(h[1600:], 8000, 440), 0.02, "a's mix-minus")
	assert.Less(t, goertzel(i, 16000, 440)+goertzel(i, 16000, 660), 0.01, "l sends silence")
	assert.Equal(t, uint64(50), mix.Stats().Frames)
	assert.Equal(t, mat[0], mix.Stats().First)
	assert.Equal(t, mat[49]+20*time.Millisecond, mix.Stats().End)

	// The reader falls behind: frames beyond the buffer are dropped and
	// counted, never blocking the tick.
	run(c, clients, now+time.Second, 2*time.Second, nil)
	assert.Positive(t, mix.Stats().Dropped)

	// A tap ends when its participant leaves; Read drains then says so.
	a.p.Leave()
	run(c, clients[1:], now+3*time.Second, 40*time.Millisecond, nil)
	<-hears.Done()
	buf := make([]int16, hears.FrameSamples())
	for {
		if _, _, err := hears.Read(context.Background(), buf); err != nil {
			require.ErrorIs(t, err, ErrClosed)
			break
		}
	}
	_, _, err = hears.Read(context.Background(), buf[:10])
	require.True(t, errors.Is(err, ErrClosed) || err != nil)

	c.Close()
	run(c, nil, now+4*time.Second, 40*time.Millisecond, nil)
	<-mix.Done()
	<-in.Done()
}

// Join and leave tones: a rising chime when someone joins, heard by the
// room and the newcomer; a falling one when someone leaves.
func TestJoinLeaveTones(t *testing.T) {
	_, err := NewConference(ConferenceConfig{Tones: ToneConfig{Join: true, Level: 3}})
	require.ErrorIs(t, err, ErrConfig)

	c := newMediaConf(t, ConferenceConfig{SampleRate: 16000, Tones: ToneConfig{Join: true, Leave: true}})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, listenOnly: true})
	now := run(c, []*client{a}, 0, 600*time.Millisecond, nil)
	// a heard its own join chime: C5 then G5.
	assert.Greater(t, goertzel(a.got[80:800], 8000, 523.25), 0.03)
	assert.Greater(t, goertzel(a.got[1040:2080], 8000, 783.99), 0.03)

	b := newClient(t, c, clientSpec{id: "b", format: pcmu, pt: 0, listenOnly: true})
	a.got = nil
	now = run(c, []*client{a, b}, now, 600*time.Millisecond, nil)
	assert.Greater(t, goertzel(a.got[80:800], 8000, 523.25), 0.03, "a hears b join")

	b.p.Leave()
	a.got = nil
	run(c, []*client{a}, now, 600*time.Millisecond, nil)
	assert.Greater(t, goertzel(a.got[80:800], 8000, 783.99), 0.03, "the leave chime falls")
	assert.Greater(t, goertzel(a.got[1040:2080], 8000, 523.25), 0.03)
	for len(c.Events()) > 0 {
		e := <-c.Events()
		assert.NotEqual(t, TalkingStarted, e.Type, "tones make no talking events")
	}
}

// discardFrames and discardPackets are writers that keep nothing.
type discardFrames struct{ n int }

func (d *discardFrames) Write(time.Duration, []int16) error { d.n++; return nil }

type discardPackets struct{ n int }

func (d *discardPackets) Write(time.Duration, []byte) error { d.n++; return nil }

// Sources, whispers, taps and tones cost no allocation per tick: neither
// the tick nor the feeder's TryWrite and the reader's TryRead.
func TestMediaTickAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool (inside pion/srtp) drops items at random under -race; make test runs this without it")
	}
	c := newMediaConf(t, ConferenceConfig{Tones: ToneConfig{Join: true, Leave: true}})
	var clients []*client
	for i, sp := range []clientSpec{
		{id: "a", format: opf, pt: 111, src: tone(440, 30, 0.3)},
		{id: "b", format: pcmu, pt: 0, src: tone(660, 30, 0.2)},
		{id: "c", format: opf, pt: 111, listenOnly: true},
		{id: "d", format: pcmu, pt: 0, listenOnly: true},
	} {
		_ = i
		cl := newClient(t, c, sp)
		cl.keep = false
		clients = append(clients, cl)
	}
	now := run(c, clients, 0, 2*time.Second, nil)

	room, err := c.AddSource(SourceConfig{SampleRate: 24000})
	require.NoError(t, err)
	pri, err := c.AddSource(SourceConfig{SampleRate: 8000, Priority: true})
	require.NoError(t, err)
	wA, err := c.AddSource(SourceConfig{SampleRate: 16000, To: "a"}) // a speaker
	require.NoError(t, err)
	wD, err := c.AddSource(SourceConfig{SampleRate: 48000, To: "d"}) // a listener
	require.NoError(t, err)
	mix, err := c.AddTap(TapConfig{Kind: TapMix, SampleRate: 16000})
	require.NoError(t, err)
	var fw discardFrames
	var pw discardPackets
	_, err = c.AddTap(TapConfig{Kind: TapHears, Participant: "a", SampleRate: 8000, Writer: &fw})
	require.NoError(t, err)
	_, err = c.AddTap(TapConfig{Kind: TapHears, Participant: "d", SampleRate: 48000, Writer: &fw})
	require.NoError(t, err)
	_, err = c.AddTap(TapConfig{Kind: TapInbound, Participant: "c", SampleRate: 24000, Writer: &fw})
	require.NoError(t, err)
	_, err = c.AddTap(TapConfig{Kind: TapInboundPackets, Participant: "a", PacketWriter: &pw})
	require.NoError(t, err)

	feed := map[*Source][]int16{
		room: sineAt(24000, 1000, 0.02, 0.3), pri: sineAt(8000, 700, 0.02, 0.1),
		wA: sineAt(16000, 900, 0.02, 0.3), wD: sineAt(48000, 1200, 0.02, 0.3),
	}
	srcs := []*Source{room, pri, wA, wD}
	buf := make([]int16, mix.FrameSamples())
	step := func() {
		for _, s := range srcs {
			_, _ = s.TryWrite(feed[s])
		}
		for _, cl := range clients {
			_ = cl.p.WriteRTPAt(now, cl.packet())
		}
		c.Tick(now)
		_, _, _ = mix.TryRead(buf)
		now += 20 * time.Millisecond
	}
	for range 50 {
		step()
	}
	assert.Zero(t, testing.AllocsPerRun(200, step))
	assert.True(t, wA.Stats().Talking)
	assert.Positive(t, fw.n)
	assert.Positive(t, pw.n)
	assert.Zero(t, mix.Stats().Dropped)
}

// The media clock advances a ptime a tick whatever the tick's jitter, and
// follows now only when ticks were skipped for good (a stall) or the
// clock jumped.
func TestMediaClock(t *testing.T) {
	const pt = 20 * time.Millisecond
	var m mediaClock
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	assert.Equal(t, ms(1000), m.advance(ms(1000), pt))
	// Late and early ticks within a ptime: contiguous stamps.
	for i, now := range []int{1023, 1039, 1065, 1080, 1099} {
		assert.Equal(t, ms(1020+20*i), m.advance(ms(now), pt), "tick %d", i)
	}
	// A late tick caught up at once (two ticks at one now): still contiguous.
	assert.Equal(t, ms(1120), m.advance(ms(1150), pt))
	assert.Equal(t, ms(1140), m.advance(ms(1150), pt))
	// A stall: the engine skipped 500 ms of ticks. The clock stays
	// contiguous for resyncAfter, then follows now: a gap.
	now := ms(1660)
	var last time.Duration
	for range 20 {
		last = m.advance(now, pt)
		now += pt
	}
	assert.Equal(t, now-pt, last, "resynchronised with now")
	// A jump of more than maxJump is followed at once.
	assert.Equal(t, now+ms(5000), m.advance(now+ms(5000), pt))
	assert.Equal(t, now+ms(5000)+pt, time.Duration(m.next.Load()))
}

// mediaErrorCases are TestErrorsMatchExportedSentinels's cases for
// sources and taps: c has a participant "a", closed is closed.
func mediaErrorCases(t *testing.T, c, closed *Conference) []struct {
	name string
	err  error
	want []error
} {
	call := func(_ any, err error) error { return err }
	small, err := c.AddSource(SourceConfig{SampleRate: 8000, Buffer: 20 * time.Millisecond})
	require.NoError(t, err)
	_, full := small.TryWrite(make([]int16, 1000))
	gone, err := c.AddSource(SourceConfig{SampleRate: 8000})
	require.NoError(t, err)
	gone.Close()
	_, afterClose := gone.TryWrite(make([]int16, 10))
	return []struct {
		name string
		err  error
		want []error
	}{
		{"source rate", call(c.AddSource(SourceConfig{SampleRate: 44100})), []error{ErrConfig}},
		{"source buffer", call(c.AddSource(SourceConfig{SampleRate: 8000, Buffer: time.Hour})), []error{ErrConfig}},
		{"source gain", call(c.AddSource(SourceConfig{SampleRate: 8000, GainIn: 99})), []error{ErrConfig}},
		{"source duplicate ID", call(c.AddSource(SourceConfig{SampleRate: 8000, ID: "a"})), []error{ErrDuplicateID}},
		{"whisper to nobody", call(c.AddSource(SourceConfig{SampleRate: 8000, To: "nobody"})), []error{ErrNoParticipant}},
		{"source closed conference", call(closed.AddSource(SourceConfig{SampleRate: 8000})), []error{ErrClosed}},
		{"source full", full, []error{ErrSourceFull}},
		{"source closed", afterClose, []error{ErrClosed}},
		{"tap kind", call(c.AddTap(TapConfig{Kind: 9})), []error{ErrConfig}},
		{"tap rate", call(c.AddTap(TapConfig{SampleRate: 11025})), []error{ErrConfig}},
		{"tap of nobody", call(c.AddTap(TapConfig{Kind: TapHears, Participant: "nobody"})), []error{ErrNoParticipant}},
		{"tap of packets of G.711", call(c.AddTap(TapConfig{Kind: TapInboundPackets, Participant: "a", PacketWriter: &discardPackets{}})), []error{ErrConfig}},
		{"tap closed conference", call(closed.AddTap(TapConfig{})), []error{ErrClosed}},
	}
}

// A TTS engine that makes 5 s of speech in 200 ms writes it all before
// the tick has played any: with the default buffer nothing waits, nothing
// is dropped, and every sample plays, in order, without an underrun.
func TestSourceTTSBurst(t *testing.T) {
	c := newMediaConf(t, ConferenceConfig{SampleRate: 24000})
	tap, err := c.AddTap(TapConfig{Kind: TapMix, SampleRate: 24000, Buffer: time.Minute})
	require.NoError(t, err)
	s, err := c.AddSource(SourceConfig{SampleRate: 24000})
	require.NoError(t, err)
	speech := make([]int16, 5*24000)
	for i := range speech {
		speech[i] = int16(1000 + i%20000) // a ramp: any drop or reorder shows
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for k := 0; k < len(speech); k += 4800 { // 25 chunks of 200 ms
		n, err := s.Write(ctx, speech[k:k+4800])
		require.NoError(t, err, "Write waited: the default buffer holds 10 s")
		require.Equal(t, 4800, n)
	}
	require.Equal(t, 5*time.Second, s.Stats().Queued)
	now := time.Duration(0)
	for ; now < 5200*time.Millisecond; now += 20 * time.Millisecond {
		c.Tick(now)
	}
	st := s.Stats()
	assert.Equal(t, 5*time.Second, st.Played)
	assert.Zero(t, st.Underruns)
	// The room's mix is the ramp, sample for sample (one source at unity
	// gain, no limiting below full scale, no resampling), once the
	// speaker's gain has ramped in over its first frame.
	var got []int16
	buf := make([]int16, tap.FrameSamples())
	for {
		_, fr, ok := tap.TryRead(buf)
		if !ok {
			break
		}
		got = append(got, fr...)
	}
	const ramp = 480 // one 20 ms frame at 24 kHz
	start := -1
	for i, v := range got {
		if v == speech[ramp] { // the values of the first 20000 samples are unique
			start = i - ramp
			break
		}
	}
	require.GreaterOrEqual(t, start, 0)
	require.Greater(t, len(got)-start, len(speech))
	differ := 0
	for i := ramp; i < len(speech); i++ {
		if got[start+i] != speech[i] {
			differ++
		}
	}
	assert.Zero(t, differ, "samples that differ from what was written")
	assert.Zero(t, got[start+len(speech)], "silence after the end")
}
