package mixer

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/mediatest"
)

func TestConferenceConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  ConferenceConfig
	}{
		{"ptime", ConferenceConfig{Ptime: 25 * time.Millisecond}},
		{"rate", ConferenceConfig{SampleRate: 44100}},
		{"max rate", ConferenceConfig{MaxSampleRate: 12000}},
		{"speakers", ConferenceConfig{MaxSpeakers: 16}},
		{"talk levels", ConferenceConfig{Talk: TalkConfig{StartLevel: 50, StopLevel: 40}}},
		{"overload share", ConferenceConfig{OverloadShare: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewConference(tc.cfg)
			assert.ErrorIs(t, err, ErrConfig)
		})
	}
}

func TestJoinValidation(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	_, err := c.Join(ParticipantConfig{})
	assert.ErrorIs(t, err, ErrConfig)
	_, err = c.Join(ParticipantConfig{In: codec.Format{Name: "G729", ClockRate: 8000}, Out: pcmu})
	assert.ErrorIs(t, err, codec.ErrUnknownFormat)
	_, err = c.Join(ParticipantConfig{In: pcmu, Out: pcmu, GainIn: 40})
	assert.ErrorIs(t, err, ErrConfig)
	_, err = c.Join(ParticipantConfig{In: pcmu, Out: pcmu, InAudioLevelID: 15})
	assert.ErrorIs(t, err, ErrConfig)
	_, err = c.Join(ParticipantConfig{ID: "x", In: pcmu, Out: pcmu})
	require.NoError(t, err)
	_, err = c.Join(ParticipantConfig{ID: "x", In: pcmu, Out: pcmu})
	assert.ErrorIs(t, err, ErrDuplicateID)
}

// TestAutoRate: a G.711-only room mixes at 8 kHz; an Opus participant lifts
// it to 48 kHz; when it leaves the room goes back.
func TestAutoRate(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 1, 0.3)})
	b := newClient(t, c, clientSpec{id: "b", format: pcma, pt: 8, src: tone(900, 1, 0.3)})
	now := run(c, []*client{a, b}, 0, 200*time.Millisecond, nil)
	assert.Equal(t, 8000, c.Stats().SampleRate)
	o := newClient(t, c, clientSpec{id: "o", format: opf, pt: 111, src: tone(1500, 1, 0.3)})
	now = run(c, []*client{a, b, o}, now, 200*time.Millisecond, nil)
	assert.Equal(t, 48000, c.Stats().SampleRate)
	o.p.Leave()
	run(c, []*client{a, b}, now, 100*time.Millisecond, nil)
	assert.Equal(t, 8000, c.Stats().SampleRate)

	// G.722 carries 16 kHz audio on an 8000 Hz RTP clock: the room mixes
	// at 16 kHz, not at the clock rate.
	wide := newTestConference(t, ConferenceConfig{})
	gu := newClient(t, wide, clientSpec{id: "u", format: pcmu, pt: 0, src: tone(440, 1, 0.3)})
	gg := newClient(t, wide, clientSpec{id: "g", format: g722f, pt: 9, src: tone(5000, 1, 0.3)})
	gl := newClient(t, wide, clientSpec{id: "l", format: g722f, pt: 9, listenOnly: true})
	run(wide, []*client{gu, gg, gl}, 0, 600*time.Millisecond, nil)
	assert.Equal(t, 16000, wide.Stats().SampleRate)
	require.Greater(t, len(gl.got), 8000)
	assert.Greater(t, mediatest.ToneShare(gl.got[len(gl.got)-8000:], 16000, 5000), 0.1,
		"a 5 kHz G.722 tone reaches a G.722 listener (wideband end to end)")

	capped := newTestConference(t, ConferenceConfig{MaxSampleRate: 16000})
	newClient(t, capped, clientSpec{id: "o", format: opf, pt: 111})
	capped.Tick(0)
	assert.Equal(t, 16000, capped.Stats().SampleRate)
}

// TestSpeakerSelection: five talkers at different levels, three places:
// the three loudest are chosen and the set does not change while levels
// hold; a talker much louder than a speaker takes its place after the hold.
func TestSpeakerSelection(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{SampleRate: 8000})
	amps := []float64{0.5, 0.02, 0.3, 0.05, 0.2}
	var clients []*client
	for i, a := range amps {
		clients = append(clients, newClient(t, c, clientSpec{id: string(rune('a' + i)), format: pcmu, pt: 0,
			src: tone(300+float64(i)*200, 10, a)}))
	}
	var events []Event
	drain := func() {
		for {
			select {
			case e := <-c.Events():
				events = append(events, e)
			default:
				return
			}
		}
	}
	now := run(c, clients, 0, time.Second, nil)
	drain()
	speaking := func() (ids []string) {
		for _, cl := range clients {
			if cl.p.Stats().Speaking {
				ids = append(ids, cl.spec.id)
			}
		}
		return ids
	}
	assert.Equal(t, []string{"a", "c", "e"}, speaking())
	// Stable: no change over two more seconds.
	now = run(c, clients, now, 2*time.Second, nil)
	assert.Equal(t, []string{"a", "c", "e"}, speaking())
	// "b" gets loud: it replaces the quietest speaker ("e") after the hold.
	clients[1].src = toRate(t, tone(500, 10, 0.6), 8000)
	now = run(c, clients, now, 200*time.Millisecond, nil)
	assert.Equal(t, []string{"a", "c", "e"}, speaking(), "switched before the hold time")
	run(c, clients, now, 400*time.Millisecond, nil)
	assert.Equal(t, []string{"a", "b", "c"}, speaking())
	drain()
	var joined, started int
	for _, e := range events {
		switch e.Type {
		case Joined:
			joined++
		case TalkingStarted:
			started++
		}
	}
	assert.Equal(t, 5, joined)
	assert.GreaterOrEqual(t, started, 5)
}

// TestMuteDeafGain: a muted talker is not heard; a deaf participant hears
// silence; gain changes what is heard.
func TestMuteDeafGain(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{SampleRate: 8000})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 10, 0.3)})
	b := newClient(t, c, clientSpec{id: "b", format: pcmu, pt: 0, src: tone(1000, 10, 0.3)})
	l := newClient(t, c, clientSpec{id: "l", format: pcmu, pt: 0, listenOnly: true})
	all := []*client{a, b, l}
	now := run(c, all, 0, time.Second, nil)
	last := func(cl *client) []int16 { return cl.got[len(cl.got)-4000:] }
	assert.Greater(t, mediatest.ToneShare(last(l), 8000, 440), 0.2)

	a.p.SetMuted(true)
	now = run(c, all, now, time.Second, nil)
	assert.Less(t, mediatest.ToneShare(last(l), 8000, 440), 1e-4, "muted talker still heard")
	assert.Less(t, mediatest.ToneShare(last(b), 8000, 440), 1e-4, "muted talker still heard")
	a.p.SetMuted(false)

	l.p.SetDeaf(true)
	now = run(c, all, now, time.Second, nil)
	var peak int16
	for _, v := range last(l) {
		peak = max(peak, v, -v)
	}
	assert.Less(t, peak, int16(16), "deaf participant hears audio")
	l.p.SetDeaf(false)

	require.NoError(t, l.p.SetGainOut(-20))
	now = run(c, all, now, time.Second, nil)
	quiet := energyOf(last(l))
	require.NoError(t, l.p.SetGainOut(0))
	run(c, all, now, time.Second, nil)
	loud := energyOf(last(l))
	assert.InDelta(t, 100, loud/quiet, 15, "20 dB of output gain is a factor 100 in energy")
	assert.Error(t, l.p.SetGainIn(99))
}

func energyOf(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

// TestSilenceModes: with nobody talking, SilenceFrames sends every tick,
// DTX sends nothing, and the first packet of a talkspurt has the marker.
func TestSilenceModes(t *testing.T) {
	for _, mode := range []SilenceMode{SilenceFrames, ComfortNoise, DTX} {
		t.Run(mode.String(), func(t *testing.T) {
			c := newTestConference(t, ConferenceConfig{SampleRate: 8000, Silence: mode})
			a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 10, 0.3)})
			l := newClient(t, c, clientSpec{id: "l", format: pcmu, pt: 0, listenOnly: true})
			a.silent = true
			now := run(c, []*client{a, l}, 0, time.Second, nil)
			sent := len(l.headers)
			if mode == DTX {
				assert.Zero(t, sent)
			} else {
				assert.Equal(t, 50, sent)
				if mode == ComfortNoise {
					assert.Greater(t, energyOf(l.got), 0.0)
				} else {
					assert.Zero(t, energyOf(l.got))
				}
			}
			a.silent = false
			run(c, []*client{a, l}, now, 500*time.Millisecond, nil)
			require.Greater(t, len(l.headers), sent+10)
			// The first packet carrying voice (RFC 6464 V flag) starts the
			// talkspurt and alone has the marker bit, after the stream's
			// very first packet.
			spurt := -1
			for i, h := range l.headers {
				if e := h.GetExtension(levelExtID); len(e) == 1 && e[0]&0x80 != 0 {
					spurt = i
					break
				}
			}
			require.GreaterOrEqual(t, spurt, sent)
			for i, h := range l.headers {
				assert.Equal(t, i == 0 || i == spurt, h.Marker, "marker on packet %d (talkspurt at %d)", i, spurt)
			}
		})
	}
}

// TestBadInputCounted: garbage, wrong payload types, SRTP failures, an SSRC
// switch and corrupt Opus are dropped and counted; the others keep hearing.
func TestBadInputCounted(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 10, 0.3)})
	s := newClient(t, c, clientSpec{id: "s", format: pcma, pt: 8, src: tone(1000, 10, 0.3), srtp: true})
	o := newClient(t, c, clientSpec{id: "o", format: opf, pt: 111, src: tone(1500, 10, 0.3)})
	l := newClient(t, c, clientSpec{id: "l", format: pcmu, pt: 0, listenOnly: true})
	all := []*client{a, s, o, l}
	now := run(c, all, 0, 500*time.Millisecond, nil)

	for i := 0; i < 50; i++ {
		assert.Error(t, a.p.WriteRTPAt(now, []byte{0x80, 0, 1}))                            // too short
		assert.Error(t, a.p.WriteRTPAt(now, []byte{0x40, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4})) // version 1
		garbage := make([]byte, 60)
		for j := range garbage {
			garbage[j] = byte(j*131 + i)
		}
		garbage[0], garbage[1] = 0x80, 8
		assert.ErrorIs(t, s.p.WriteRTPAt(now, garbage), srtpErrAuth) // SRTP garbage
		p := a.packet()
		p[1] = 96 // wrong payload type
		assert.Error(t, a.p.WriteRTPAt(now, p))
		// Corrupt Opus: a valid header around random bytes.
		bad := o.packet()
		for j := 12; j < len(bad); j++ {
			bad[j] = byte(j * 37)
		}
		_ = o.p.WriteRTPAt(now, bad)
		// A replayed SRTP packet.
		sp := s.packet()
		cp := append([]byte(nil), sp...)
		require.NoError(t, s.p.WriteRTPAt(now, sp))
		assert.ErrorIs(t, s.p.WriteRTPAt(now, cp), errorsReplay())
		c.Tick(now)
		now += 20 * time.Millisecond
	}
	// An SSRC switch mid-call (a restarted sender).
	a.ssrc ^= 0xdeadbeef
	a.seq += 30000
	run(c, all, now, 2*time.Second, nil)

	as, ss, os := a.p.Stats(), s.p.Stats(), o.p.Stats()
	assert.GreaterOrEqual(t, as.Refused.Short+as.Refused.Version, uint64(100))
	assert.GreaterOrEqual(t, as.Refused.PayloadType, uint64(50))
	assert.GreaterOrEqual(t, ss.Refused.SRTPAuth+ss.Refused.SRTPMalformed, uint64(50))
	assert.GreaterOrEqual(t, ss.Refused.SRTPReplay, uint64(50))
	assert.GreaterOrEqual(t, as.Jitter.Resyncs, uint64(1))
	t.Logf("opus decode errors %d", os.DecodeErrors)
	tail := l.got[len(l.got)-8000:]
	for _, f := range []float64{440, 1000, 1500} {
		assert.Greater(t, mediatest.ToneShare(tail, 8000, f), 0.05, "%v Hz lost after bad input", f)
	}
}

func errorsReplay() error { return srtpErrReplay }

// TestConcurrentControl: joins, leaves, mute, deaf and gain from other
// goroutines while the conference ticks and packets arrive (run with -race).
func TestConcurrentControl(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{SampleRate: 16000})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var parts []*Participant
	for i := 0; i < 4; i++ {
		p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, InAudioLevelID: levelExtID})
		require.NoError(t, err)
		parts = append(parts, p)
	}
	// Senders: one goroutine per participant writing packets.
	for i, p := range parts {
		wg.Add(1)
		go func(i int, p *Participant) {
			defer wg.Done()
			buf := make([]byte, 12+8+160)
			h := rtp.Header{Version: 2, PayloadType: 0, SSRC: uint32(i + 1)}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				h.SequenceNumber, h.Timestamp = uint16(n), uint32(n*160)
				m, _ := h.MarshalTo(buf)
				for j := m; j < len(buf); j++ {
					buf[j] = byte(j)
				}
				_ = p.WriteRTPAt(time.Duration(n)*20*time.Millisecond, buf)
				time.Sleep(100 * time.Microsecond)
			}
		}(i, p)
	}
	// Control: mute, deaf, gain, join and leave at random.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			p := parts[n%len(parts)]
			mu.Unlock()
			p.SetMuted(n%3 == 0)
			p.SetDeaf(n%5 == 0)
			_ = p.SetGainIn(float64(n%10) - 5)
			_ = p.SetGainOut(float64(n%7) - 3)
			_ = p.Stats()
			_ = c.Stats()
			if q, err := c.Join(ParticipantConfig{In: opf, InPayloadType: PT(111), Out: pcma, OutPayloadType: PT(8)}); err == nil {
				time.Sleep(200 * time.Microsecond)
				q.Leave()
				_ = q.WriteRTPAt(0, []byte{1, 2, 3})
			}
			_ = c.Participants()
		}
	}()
	// Event reader that sometimes stalls: the tick must not block.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-c.Events():
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for i := 0; i < 300; i++ {
		c.Tick(time.Duration(i) * 20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	c.Close()
	c.Tick(10 * time.Second)
	assert.Empty(t, c.Participants())
	assert.Zero(t, c.Stats().Participants)
	assert.True(t, errors.Is(parts[0].WriteRTP([]byte{0x80}), ErrClosed))
}

// TestTickAllocs: a steady-state tick with 10 participants, SRTP on both
// ways, allocates nothing.
func TestTickAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool (inside pion/srtp) drops items at random under -race; make test runs this without it")
	}
	c := newTestConference(t, ConferenceConfig{})
	var clients []*client
	specs := []struct {
		f  codec.Format
		pt uint8
	}{{pcmu, 0}, {pcma, 8}, {opf, 111}}
	for i := 0; i < 10; i++ {
		sp := specs[i%3]
		cl := newClient(t, c, clientSpec{id: string(rune('a' + i)), format: sp.f, pt: sp.pt, srtp: true,
			src: tone(300+float64(i)*150, 30, 0.1+0.05*float64(i%4)), listenOnly: i >= 5})
		cl.keep = false
		clients = append(clients, cl)
	}
	// 8 s: every participant has sent RTCP reports, so the clients'
	// SRTCP contexts know its SSRC (their first packet allocates state in
	// the client, not in the mixer).
	now := run(c, clients, 0, 8*time.Second, nil)
	allocs := testing.AllocsPerRun(100, func() {
		for _, cl := range clients {
			_ = cl.p.WriteRTPAt(now, cl.packet())
		}
		c.Tick(now)
		now += 20 * time.Millisecond
	})
	assert.Zero(t, allocs)
	assert.Equal(t, 3, c.Stats().Speakers)
}

// TestBadInputAllocs: refusing a bad packet costs no allocation, so a flood
// of garbage cannot make the reader goroutines feed the garbage collector.
func TestBadInputAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool (inside pion/srtp) drops items at random under -race; make test runs this without it")
	}
	c := newTestConference(t, ConferenceConfig{})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 10, 0.3)})
	s := newClient(t, c, clientSpec{id: "s", format: pcma, pt: 8, src: tone(1000, 10, 0.3), srtp: true})
	now := run(c, []*client{a, s}, 0, 200*time.Millisecond, nil)

	short := []byte{0x80, 0, 1}
	v1 := []byte{0x40, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}
	ext := []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 0xBE, 0xDE, 0, 9} // extension longer than the packet
	wrongPT := append([]byte(nil), a.packet()...)
	wrongPT[1] = 96
	garbage := make([]byte, 60)
	for j := range garbage {
		garbage[j] = byte(j * 131)
	}
	garbage[0], garbage[1] = 0x80, 8
	replayed := append([]byte(nil), s.packet()...)
	require.NoError(t, s.p.WriteRTPAt(now, append([]byte(nil), replayed...)))
	forged := append([]byte(nil), s.packet()...) // the stream's SSRC, a bad tag
	forged[len(forged)-1] ^= 1
	buf := make([]byte, 1500)
	feed := func(p *Participant, pkt []byte) error { // WriteRTP works in place: give it a copy
		return p.WriteRTPAt(now, buf[:copy(buf, pkt)])
	}
	// Nothing allocates per refused packet: the default (compact) SRTP
	// backend keeps no provisional state for an unknown SSRC and returns
	// sentinel errors for replays. (pion/srtp, srtp.UseBackend(srtp.Pion),
	// allocates once for each of those two inside its own code.)
	for _, tc := range []struct {
		name   string
		p      *Participant
		pkt    []byte
		allocs float64
	}{
		{"short", a.p, short, 0}, {"version", a.p, v1, 0}, {"extension", a.p, ext, 0},
		{"payload type", a.p, wrongPT, 0}, {"srtp forged", s.p, forged, 0},
		{"srtp unknown ssrc", s.p, garbage, 0}, {"srtp replay", s.p, replayed, 0},
	} {
		require.Error(t, feed(tc.p, tc.pkt), tc.name)
		allocs := testing.AllocsPerRun(100, func() { _ = feed(tc.p, tc.pkt) })
		assert.Equal(t, tc.allocs, allocs, tc.name)
	}
}
