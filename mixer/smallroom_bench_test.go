package mixer

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/cputime"
	"github.com/rtpmix/rtpmix/srtp"
)

// turnSchedule is who talks in a small room, tick by tick, over a cycle:
// one talker at a time taking turns of 2–7 s, the next one starting after
// a pause of 0.2–1 s or, one turn in three, 0.2–0.6 s before the last one
// stops (an overlap), as people do in a meeting. Bit i of a tick's mask is
// participant i talking. Deterministic from seed.
func turnSchedule(seed uint64, size, ticks int) []uint8 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	masks := make([]uint8, ticks)
	ms := func(lo, hi int) int { return (lo + rng.IntN(hi-lo+1)) / 20 } // ticks
	t, who := 0, rng.IntN(size)
	for t < ticks {
		end := t + ms(2000, 7000)
		for k := t; k < min(end, ticks); k++ {
			masks[k] |= 1 << who
		}
		next := (who + 1 + rng.IntN(size-1)) % size
		if rng.IntN(3) == 0 {
			t = max(t+1, end-ms(200, 600)) // overlap
		} else {
			t = end + ms(200, 1000)
		}
		who = next
	}
	return masks
}

// turnCycle is how long a schedule runs before it repeats: 60 s.
const turnCycle = 3000

// BenchmarkSmallRooms times many rooms of four Opus participants over SRTP
// both ways, ticked one after another as one Engine worker would: "turns"
// has one talker at a time with short overlaps and pauses (turnSchedule;
// talkers send the speech clips, with their own pauses, the others encoded
// silence, all marked with RFC 6464 levels); "all" has everyone talking all
// the time, the worst case. participants/core@50% is how many participants
// one core carries with ticks using half of real time.
func BenchmarkSmallRooms(b *testing.B) {
	clips := []string{"alice", "bob", "carol", "dave"}
	var speech []benchClip
	for _, name := range clips {
		speech = append(speech, encodeClip(b, opf, loadClip(b, name), 500))
	}
	silence := encodeClip(b, opf, make([]int16, 48000), 1)
	for _, scenario := range []string{"turns", "all"} {
		b.Run(fmt.Sprintf("Opus/%s/rooms=50", scenario), func(b *testing.B) {
			benchSmallRooms(b, 50, 4, scenario == "all", speech, &silence, nil)
		})
	}
}

// benchSmallRooms runs the rooms; setup, when set, is applied to each
// conference before it ticks.
func benchSmallRooms(b *testing.B, rooms, size int, allTalk bool, speech []benchClip, silence *benchClip, setup func(*Conference)) {
	type room struct {
		c       *Conference
		senders []*benchSender
		speech  []*benchClip // each sender's own clip when talking
		turns   []uint8
	}
	sink := &countSink{}
	rs := make([]*room, rooms)
	for r := range rs {
		c, err := NewConference(ConferenceConfig{})
		require.NoError(b, err)
		if setup != nil {
			setup(c)
		}
		rm := &room{c: c, turns: turnSchedule(uint64(r), size, turnCycle)}
		for i := 0; i < size; i++ {
			in, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
			out, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
			p, err := c.Join(ParticipantConfig{In: opf, InPayloadType: PT(111), Out: opf, OutPayloadType: PT(111),
				InAudioLevelID: levelExtID, InSRTP: &in, OutSRTP: &out, Sink: sink})
			require.NoError(b, err)
			prot, err := srtp.NewProtector(in)
			require.NoError(b, err)
			sp := &speech[(r+i)%len(speech)]
			rm.speech = append(rm.speech, sp)
			rm.senders = append(rm.senders, &benchSender{p: p, clip: silence, off: r*31 + i*7, ssrc: uint32(i + 1), pt: 111,
				step: 960, prot: prot, buf: make([]byte, 0, 1600), seq: uint16(i * 100)})
		}
		rs[r] = rm
	}
	now := time.Duration(0)
	prepare := func(k int) {
		for r, rm := range rs {
			// Rooms are at different points of their meetings.
			mask := rm.turns[(k+r*577)%len(rm.turns)]
			for i, s := range rm.senders {
				if allTalk || mask&(1<<i) != 0 {
					s.clip = rm.speech[i]
				} else {
					s.clip = silence
				}
				s.prepare(k)
			}
		}
	}
	tick := func() {
		for _, rm := range rs {
			for _, s := range rm.senders {
				_ = s.p.WriteRTPAt(now, s.ready)
			}
			rm.c.Tick(now)
		}
		now += 20 * time.Millisecond
	}
	for k := 0; k < 160; k++ { // 3.2 s: buffers settle, first RTCP sent
		prepare(k)
		tick()
	}
	// The ticks run on one locked thread so that its CPU time (the work
	// done, not the time other processes held the core: this machine is
	// shared) can be read beside the wall time.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		b.StopTimer()
		prepare(160 + k)
		b.StartTimer()
		c0 := cputime.Thread()
		tick()
		cpu += cputime.Thread() - c0
	}
	perTick := float64(b.Elapsed().Microseconds()) / float64(b.N)
	b.ReportMetric(perTick, "µs/tick")
	b.ReportMetric(float64(rooms*size)*10000/perTick, "participants/core@50%")
	if cpu > 0 {
		cpuTick := float64(cpu.Microseconds()) / float64(b.N)
		b.ReportMetric(cpuTick, "cpu-µs/tick")
		b.ReportMetric(float64(rooms*size)*10000/cpuTick, "participants/cpu@50%")
	}
	spk := 0
	for _, rm := range rs {
		spk += rm.c.Stats().Speakers
	}
	b.ReportMetric(float64(spk)/float64(rooms), "speakers/room")
}
