package mixer

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/srtp"
)

// trunkCapture is a trunk Sink that keeps copies of what it is given.
type trunkCapture struct {
	pkts [][]byte
	keep bool
	n    int
}

func (c *trunkCapture) WriteRTP(pkt []byte) error {
	c.n++
	if c.keep {
		c.pkts = append(c.pkts, append([]byte(nil), pkt...))
	}
	return nil
}

func newTrunkConf(t testing.TB, part uint32) *Conference {
	c, err := NewConference(ConferenceConfig{SampleRate: 8000})
	require.NoError(t, err)
	require.NoError(t, c.EnableTrunking(TrunkingConfig{Part: part}))
	return c
}

// trunkPacket makes a plain trunk packet as a forwarder at part would.
func trunkPacket(part, ssrc uint32, seq uint16, name string, payload []byte) []byte {
	h := trunkHeader{seq: seq, ts: uint32(seq) * 160, ssrc: ssrc, pt: 0, level: 20, voice: true, part: part, name: name}
	return appendTrunkPacket(make([]byte, 0, maxTrunkHeader+len(payload)), &h, payload)
}

func TestTrunkConfig(t *testing.T) {
	c, err := NewConference(ConferenceConfig{})
	require.NoError(t, err)
	_, err = c.AddTrunk(TrunkConfig{Peer: 2})
	require.ErrorIs(t, err, ErrConfig, "AddTrunk before EnableTrunking")
	require.ErrorIs(t, c.EnableTrunking(TrunkingConfig{}), ErrConfig, "zero part")
	require.ErrorIs(t, c.EnableTrunking(TrunkingConfig{Part: 1, PreRoll: time.Second}), ErrConfig)
	require.NoError(t, c.EnableTrunking(TrunkingConfig{Part: 1}))
	require.ErrorIs(t, c.EnableTrunking(TrunkingConfig{Part: 1}), ErrConfig, "twice")
	require.Equal(t, uint32(1), c.Part())
	_, err = c.AddTrunk(TrunkConfig{Peer: 1})
	require.ErrorIs(t, err, ErrConfig, "peer is ourselves")
	tr, err := c.AddTrunk(TrunkConfig{Peer: 2})
	require.NoError(t, err)
	_, err = c.AddTrunk(TrunkConfig{Peer: 2})
	require.ErrorIs(t, err, ErrConfig, "second trunk to one peer")
	bad := srtp.Keys{Profile: srtp.ProfileAEADAES128GCM}
	_, err = c.AddTrunk(TrunkConfig{Peer: 3, OutSRTP: &bad})
	require.ErrorIs(t, err, ErrConfig)
	require.Len(t, c.Trunks(), 1)
	tr.Close()
	tr.Close()
	require.Empty(t, c.Trunks())
	require.ErrorIs(t, tr.WriteRTPAt(0, trunkPacket(2, 1, 1, "", make([]byte, 160))), ErrClosed)
}

func TestTrunkWireRoundTrip(t *testing.T) {
	h := trunkHeader{seq: 7, ts: 1234, ssrc: 0xdeadbeef, pt: 111, marker: true, level: 33, voice: true,
		part: 42, preRoll: true, held: 60 * time.Millisecond, name: "alice@example"}
	pkt := appendTrunkPacket(make([]byte, 0, 512), &h, []byte{1, 2, 3})
	var ph rtp.Header
	n, err := ph.Unmarshal(pkt)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3}, pkt[n:])
	assert.Equal(t, uint16(7), ph.SequenceNumber)
	assert.Equal(t, uint32(1234), ph.Timestamp)
	assert.Equal(t, uint32(0xdeadbeef), ph.SSRC)
	assert.Equal(t, uint8(111), ph.PayloadType)
	assert.True(t, ph.Marker)
	assert.Equal(t, []byte{0x80 | 33}, ph.GetExtension(trunkLevelExt))
	assert.Equal(t, "alice@example", string(ph.GetExtension(trunkNameExt)))
	part, flags, held, ok := trunkOrigin(&ph)
	require.True(t, ok)
	assert.Equal(t, uint32(42), part)
	assert.Equal(t, uint8(trunkFlagPreRoll), flags)
	assert.Equal(t, 60*time.Millisecond, held)
}

// TestTrunkRefusals: a stream of our own is a loop, a stream already
// arriving on another trunk a duplicate (until the first falls silent for
// Takeover), and malformed, unauthenticated, unnamed-origin and
// unknown-format packets are refused, each counted.
func TestTrunkRefusals(t *testing.T) {
	c := newTrunkConf(t, 1)
	keys, err := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	require.NoError(t, err)
	t2, err := c.AddTrunk(TrunkConfig{Peer: 2})
	require.NoError(t, err)
	t3, err := c.AddTrunk(TrunkConfig{Peer: 3})
	require.NoError(t, err)
	t4, err := c.AddTrunk(TrunkConfig{Peer: 4, InSRTP: &keys})
	require.NoError(t, err)
	payload := make([]byte, 160)
	ms := time.Millisecond

	require.Equal(t, ErrTrunkLoop, t2.WriteRTPAt(0, trunkPacket(1, 5, 1, "me", payload)))
	require.NoError(t, t2.WriteRTPAt(0, trunkPacket(2, 5, 1, "bob", payload)))
	require.Equal(t, ErrTrunkDuplicate, t3.WriteRTPAt(20*ms, trunkPacket(2, 5, 2, "bob", payload)))
	require.NoError(t, t2.WriteRTPAt(40*ms, trunkPacket(2, 5, 3, "bob", payload)))
	// The first trunk falls silent for longer than Takeover: the second
	// takes the stream over, and the first is now the duplicate.
	require.NoError(t, t3.WriteRTPAt(1100*ms, trunkPacket(2, 5, 4, "bob", payload)))
	require.Equal(t, ErrTrunkDuplicate, t2.WriteRTPAt(1120*ms, trunkPacket(2, 5, 5, "bob", payload)))

	noOrigin := []byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9}
	noOrigin = append(noOrigin, payload...)
	require.Equal(t, ErrTrunkOrigin, t2.WriteRTPAt(0, noOrigin))
	pt := trunkPacket(2, 6, 1, "", payload)
	pt[1] = 99 // no registered format has it
	require.Equal(t, ErrPayloadType, t2.WriteRTPAt(0, pt))
	require.Equal(t, ErrMalformed, t2.WriteRTPAt(0, []byte{1, 2, 3}))
	require.Equal(t, srtp.ErrAuth, t4.WriteRTPAt(0, trunkPacket(2, 7, 1, "", payload)))

	s2, s3, s4 := t2.Stats(), t3.Stats(), t4.Stats()
	assert.Equal(t, uint64(1), s2.Refused.Loop)
	assert.Equal(t, uint64(1), s3.Refused.Duplicate)
	assert.Equal(t, uint64(1), s2.Refused.Duplicate)
	assert.Equal(t, uint64(1), s2.Refused.Origin)
	assert.Equal(t, uint64(1), s2.Refused.PayloadType)
	assert.Equal(t, uint64(1), s2.Refused.Malformed)
	assert.Equal(t, uint64(1), s4.Refused.SRTPAuth)
	assert.Equal(t, uint64(2), s2.PacketsIn)
	assert.Equal(t, 0, s2.Streams)
	assert.Equal(t, 1, s3.Streams)
	remote := c.RemoteParticipants()
	require.Len(t, remote, 1, "one remote participant for the stream, whichever trunk carries it")
	assert.Equal(t, "bob", remote[0].ID())
	assert.True(t, remote[0].Remote())
	assert.Empty(t, c.Participants(), "remote participants are not the application's")

	// Closing the trunk that carries the stream removes its participant.
	t3.Close()
	assert.Empty(t, c.RemoteParticipants())
	c.Tick(2 * time.Second)
	<-remote[0].Done()
}

// TestTrunkForwarding: a local talker is forwarded, with its pre-roll and
// a stable SSRC, carrying its part, name and a level even when it sent
// none; a remote talker is mixed but never forwarded again; a quiet
// participant is not forwarded at all.
func TestTrunkForwarding(t *testing.T) {
	c := newTrunkConf(t, 1)
	out := &trunkCapture{keep: true}
	_, err := c.AddTrunk(TrunkConfig{Peer: 2, Sink: out})
	require.NoError(t, err)
	from3, err := c.AddTrunk(TrunkConfig{Peer: 3})
	require.NoError(t, err)

	talker := newClient(t, c, clientSpec{id: "alice", format: pcmu, pt: 0, src: tone(440, 2, 0.3), noLevels: true})
	quiet := newClient(t, c, clientSpec{id: "quiet", format: pcmu, pt: 0, src: tone(440, 2, 0)})
	talker.silent = true
	ms := time.Millisecond
	now := run(c, []*client{talker, quiet}, 0, 200*ms, nil)
	for _, b := range out.pkts {
		var h rtp.Header
		_, err := h.Unmarshal(b)
		require.NoError(t, err)
		_, flags, _, _ := trunkOrigin(&h)
		require.Equal(t, uint8(trunkFlagKeepalive), flags, "silence is not forwarded, only keepalives sent")
	}
	out.pkts = out.pkts[:0]
	talker.silent = false

	// A remote talker arrives from part 3 meanwhile.
	for i := 0; now < 1200*ms; i++ {
		_ = talker.p.WriteRTPAt(now, talker.packet())
		_ = quiet.p.WriteRTPAt(now, quiet.packet())
		tp := trunkPacket(3, 77, uint16(i), "carol", make([]byte, 160))
		require.NoError(t, from3.WriteRTPAt(now, tp))
		c.Tick(now)
		now += 20 * ms
	}
	require.NotEmpty(t, out.pkts)
	var ssrc uint32
	preRoll := 0
	for _, b := range out.pkts {
		var h rtp.Header
		_, err := h.Unmarshal(b)
		require.NoError(t, err)
		part, flags, _, ok := trunkOrigin(&h)
		require.True(t, ok)
		require.Equal(t, uint32(1), part, "only our own talkers are forwarded")
		if flags&trunkFlagKeepalive != 0 {
			continue
		}
		if ssrc == 0 {
			ssrc = h.SSRC
			require.True(t, h.Marker, "a run starts with the marker")
			require.Equal(t, "alice", string(h.GetExtension(trunkNameExt)))
		}
		require.Equal(t, ssrc, h.SSRC, "one stable SSRC for the talker")
		require.Len(t, h.GetExtension(trunkLevelExt), 1, "a level, though the talker sent none")
		if flags&trunkFlagPreRoll != 0 {
			preRoll++
		}
	}
	assert.Equal(t, uint32(talker.p.tr.ssrc), ssrc)
	assert.Positive(t, preRoll, "pre-roll sent")
	// The remote talker was heard here (mixed like a local one)…
	remote := c.RemoteParticipants()
	require.Len(t, remote, 1)
	assert.Equal(t, "carol", remote[0].ID())
	assert.Positive(t, remote[0].Stats().PacketsIn)
}

func TestTrunkPacketAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := newTrunkConf(t, 1)
	kOut, _ := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	kIn, _ := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	for peer := uint32(2); peer <= 3; peer++ {
		_, err := c.AddTrunk(TrunkConfig{Peer: peer, OutSRTP: &kOut, Sink: &trunkCapture{}})
		require.NoError(t, err)
	}
	in, err := c.AddTrunk(TrunkConfig{Peer: 4, InSRTP: &kIn})
	require.NoError(t, err)
	peer, err := srtp.NewProtector(kIn)
	require.NoError(t, err)
	talker := newClient(t, c, clientSpec{id: "alice", format: pcmu, pt: 0, src: tone(440, 30, 0.3)})
	talker.keep = false
	ms := time.Millisecond
	now := time.Duration(0)
	seq := uint16(0)
	buf := make([]byte, 0, 512)
	plain := make([]byte, 0, 512)
	payload := make([]byte, 160)
	step := func() {
		_ = talker.p.WriteRTPAt(now, talker.packet())
		th := trunkHeader{seq: seq, ts: uint32(seq) * 160, ssrc: 9, level: 20, voice: true, part: 4}
		tp := appendTrunkPacket(plain[:0], &th, payload)
		seq++
		b, err := peer.ProtectRTP(buf[:0], tp)
		if err != nil {
			panic(err)
		}
		if err := in.WriteRTPAt(now, b); err != nil {
			panic(err)
		}
		c.Tick(now)
		now += 20 * ms
	}
	for range 100 {
		step()
	}
	require.True(t, talker.p.tr.on.Load(), "the talker is forwarded")
	allocs := testing.AllocsPerRun(200, step)
	assert.Zero(t, allocs, "per forwarded packet, received trunk packet and tick")
}

// BenchmarkTrunkForward times forwarding alone: one accepted packet of a
// talker that is forwarded, built once and protected and sent on each
// trunk (SRTP AES-GCM), as the participant's WriteRTP does after its
// jitter buffer took the packet.
func BenchmarkTrunkForward(b *testing.B) {
	for _, bc := range []struct {
		trunks   int
		measured bool // the talker sends no level: the forwarder measures it
	}{{1, false}, {2, false}, {4, false}, {1, true}} {
		trunks := bc.trunks
		name := fmt.Sprintf("trunks=%d", trunks)
		if bc.measured {
			name += ",level=measured"
		}
		b.Run(name, func(b *testing.B) {
			c := newTrunkConf(b, 1)
			k, _ := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
			for i := range trunks {
				_, err := c.AddTrunk(TrunkConfig{Peer: uint32(2 + i), OutSRTP: &k, Sink: &trunkCapture{}})
				require.NoError(b, err)
			}
			talker := newClient(b, c, clientSpec{id: "alice", format: pcmu, pt: 0, src: tone(440, 1, 0.3)})
			talker.keep = false
			now := time.Duration(0)
			for range 20 {
				_ = talker.p.WriteRTPAt(now, talker.packet())
				c.Tick(now)
				now += 20 * time.Millisecond
			}
			require.True(b, talker.p.tr.on.Load())
			var h rtp.Header
			pkt := talker.packet()
			n, err := h.Unmarshal(pkt)
			require.NoError(b, err)
			jp := jitter.Packet{SSRC: h.SSRC, PayloadType: 0, AudioLevel: 30, Voice: true, Payload: pkt[n:]}
			if bc.measured {
				jp.AudioLevel = -1
			}
			tp := &talker.p.tr
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				h.Timestamp = uint32(160 * i)
				tp.forward(now, &h, &jp)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(trunks), "ns/trunk-packet")
		})
	}
}

// BenchmarkTrunkReceive times a trunk packet's way in: SRTP, origin,
// stream lookup and the remote participant's jitter buffer.
func BenchmarkTrunkReceive(b *testing.B) {
	c := newTrunkConf(b, 1)
	k, _ := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	in, err := c.AddTrunk(TrunkConfig{Peer: 2, InSRTP: &k})
	require.NoError(b, err)
	peer, err := srtp.NewProtector(k)
	require.NoError(b, err)
	pkts := make([][]byte, 1024)
	for i := range pkts {
		p, err := peer.ProtectRTP(nil, trunkPacket(2, 9, uint16(i), "dave", make([]byte, 160)))
		require.NoError(b, err)
		pkts[i] = p
	}
	buf := make([]byte, 0, 512)
	now := time.Duration(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(pkts) == 0 && i > 0 {
			b.StopTimer()
			// A new round of sequence numbers: re-protect under the
			// same SSRC, as a long stream would carry on.
			for j := range pkts {
				p, _ := peer.ProtectRTP(pkts[j][:0], trunkPacket(2, 9, uint16(i+j), "dave", make([]byte, 160)))
				pkts[j] = p
			}
			b.StartTimer()
		}
		// One packet a tick, as a real stream: the tick is not timed.
		b.StopTimer()
		c.Tick(now)
		now += 20 * time.Millisecond
		b.StartTimer()
		_ = in.WriteRTPAt(now, append(buf[:0], pkts[i%len(pkts)]...))
	}
}

// TestTrunkConcurrent runs two parts joined by a trunk the way a bridge
// does: each talker's packets, each trunk's input and each tick on its own
// goroutine, stats read meanwhile, then trunks and conferences closed
// while packets still arrive. Run with -race.
func TestTrunkConcurrent(t *testing.T) {
	a, b := newTrunkConf(t, 1), newTrunkConf(t, 2)
	var ab, ba *Trunk
	// Each sink hands the packet to the other part's trunk at once, on
	// the sending goroutine (a loopback socket in a real bridge).
	ab, err := a.AddTrunk(TrunkConfig{Peer: 2, Sink: SinkFunc(func(pkt []byte) error {
		_ = ba.WriteRTP(slices.Clone(pkt))
		return nil
	})})
	require.NoError(t, err)
	ba, err = b.AddTrunk(TrunkConfig{Peer: 1, Sink: SinkFunc(func(pkt []byte) error {
		_ = ab.WriteRTP(slices.Clone(pkt))
		return nil
	})})
	require.NoError(t, err)
	ta := newClient(t, a, clientSpec{id: "alice", format: pcmu, pt: 0, src: tone(440, 2, 0.3)})
	tb := newClient(t, b, clientSpec{id: "bob", format: pcmu, pt: 0, src: tone(660, 2, 0.3)})
	ta.keep, tb.keep = false, false
	const rounds = 200
	var wg sync.WaitGroup
	for _, cl := range []*client{ta, tb} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				_ = cl.p.WriteRTP(cl.packet())
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		now := time.Duration(0)
		for range rounds {
			a.Tick(now)
			b.Tick(now)
			now += 20 * time.Millisecond
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range rounds / 10 {
			_ = ab.Stats()
			_ = ba.Stats()
			for _, p := range a.RemoteParticipants() {
				_ = p.Stats()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	assert.Positive(t, ab.Stats().PacketsOut)
	assert.Positive(t, ba.Stats().PacketsIn)
	ab.Close()
	a.Close()
	b.Close()
	_ = tb.p.WriteRTP(tb.packet())
	a.Tick(time.Hour)
	b.Tick(time.Hour)
	assert.Empty(t, a.RemoteParticipants())
	assert.Empty(t, b.RemoteParticipants())
}

// TestTrunkKeepalive: a trunk with nothing to forward sends a keepalive
// every 250 ms, which the peer counts as life (LastPacket) and nothing
// else: no remote participant, no audio.
func TestTrunkKeepalive(t *testing.T) {
	a, b := newTrunkConf(t, 1), newTrunkConf(t, 2)
	var ab, ba *Trunk
	var now time.Duration
	kIn, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	ab, err = a.AddTrunk(TrunkConfig{Peer: 2, OutSRTP: &kIn, Sink: SinkFunc(func(pkt []byte) error {
		return ba.WriteRTPAt(now, pkt)
	})})
	require.NoError(t, err)
	ba, err = b.AddTrunk(TrunkConfig{Peer: 1, InSRTP: &kIn})
	require.NoError(t, err)
	quiet := newClient(t, a, clientSpec{id: "quiet", format: pcmu, pt: 0, src: tone(440, 2, 0)})
	for ; now < time.Second; now += 20 * time.Millisecond {
		_ = quiet.p.WriteRTPAt(now, quiet.packet())
		a.Tick(now)
		b.Tick(now)
	}
	sa, sb := ab.Stats(), ba.Stats()
	assert.Equal(t, uint64(4), sa.KeepalivesOut, "one every 250 ms over a second")
	assert.Equal(t, sa.KeepalivesOut, sb.KeepalivesIn)
	assert.Equal(t, sb.KeepalivesIn, sb.PacketsIn)
	assert.Zero(t, sb.Refused.Packets)
	assert.GreaterOrEqual(t, sb.LastPacket, 750*time.Millisecond)
	assert.Empty(t, b.RemoteParticipants())
}

// TestTrunkRemoteLeave: a remote participant the application makes leave
// is made anew by its stream's next packet.
func TestTrunkRemoteLeave(t *testing.T) {
	c := newTrunkConf(t, 1)
	tr, err := c.AddTrunk(TrunkConfig{Peer: 2})
	require.NoError(t, err)
	payload := make([]byte, 160)
	require.NoError(t, tr.WriteRTPAt(0, trunkPacket(2, 5, 1, "bob", payload)))
	c.Tick(0)
	first := c.RemoteParticipants()
	require.Len(t, first, 1)
	first[0].Leave()
	c.Tick(20 * time.Millisecond)
	<-first[0].Done()
	require.NoError(t, tr.WriteRTPAt(40*time.Millisecond, trunkPacket(2, 5, 2, "bob", payload)))
	again := c.RemoteParticipants()
	require.Len(t, again, 1)
	assert.NotSame(t, first[0], again[0])
	assert.Equal(t, "bob", again[0].ID())
}

// TestTrunkMutedNotForwarded: a muted talker is not forwarded, and what it
// said while muted is not sent as pre-roll once it is unmuted.
func TestTrunkMutedNotForwarded(t *testing.T) {
	c := newTrunkConf(t, 1)
	out := &trunkCapture{keep: true}
	_, err := c.AddTrunk(TrunkConfig{Peer: 2, Sink: out})
	require.NoError(t, err)
	talker := newClient(t, c, clientSpec{id: "alice", format: pcmu, pt: 0, src: tone(440, 2, 0.3)})
	talker.p.SetMuted(true)
	ms := time.Millisecond
	now := run(c, []*client{talker}, 0, 500*ms, nil)
	media := func() (n, preRoll int, first time.Duration) {
		for _, b := range out.pkts {
			var h rtp.Header
			_, err := h.Unmarshal(b)
			require.NoError(t, err)
			_, flags, held, _ := trunkOrigin(&h)
			if flags&trunkFlagKeepalive == 0 {
				n++
			}
			if flags&trunkFlagPreRoll != 0 {
				preRoll++
				first = max(first, held)
			}
		}
		return
	}
	n, _, _ := media()
	require.Zero(t, n, "muted: nothing forwarded")
	talker.p.SetMuted(false)
	unmuted := now
	run(c, []*client{talker}, now, 200*ms, nil)
	n, preRoll, held := media()
	require.Positive(t, n, "forwarded once unmuted")
	assert.Zero(t, preRoll, "no pre-roll from before the unmute (held %v, unmuted at %v)", held, unmuted)
}

// TestG711Level: the level the forwarder measures on a G.711 packet is
// the one the tick measures on the decoded frame, so that a talker
// without level headers starts and stops on the same frame everywhere.
func TestG711Level(t *testing.T) {
	for _, f := range []codec.Format{pcmu, pcma} {
		for _, amp := range []float64{0, 0.0003, 0.01, 0.1, 0.5, 1} {
			src := tone(440, 0.02, amp)[:160]
			var payload []byte
			var pcm16 []int16
			if f.PayloadType == 0 {
				payload = g711.EncodeUlaw(nil, src)
				pcm16 = g711.DecodeUlaw(nil, payload)
			} else {
				payload = g711.EncodeAlaw(nil, src)
				pcm16 = g711.DecodeAlaw(nil, payload)
			}
			got, ok := g711Level(f.PayloadType, payload)
			require.True(t, ok)
			require.Equal(t, int32(pcm.LevelDBov(pcm16)), got, "%s at %v", f.Name, amp)
		}
	}
	_, ok := g711Level(111, []byte{1, 2, 3})
	require.False(t, ok, "Opus is not measured")
}
