package mixer

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// The mesh test: three parts of one room, each a Conference with its own
// participants, joined pairwise by SRTP trunks through simulated links
// (20 ms, jitter, 1 % loss), run in virtual time with the parts' ticks and
// senders at different phases. Every talker sends a tone of its own
// frequency, gated by talkspurts and modulated in amplitude every 40 ms by
// a random sequence of its own, so that what any participant hears can be
// taken apart: each tone's amplitude envelope, correlated with the
// talker's, says whether, how loud and how late the talker was heard.

const (
	meshRate   = 8000
	meshFrame  = meshRate / 50 // 20 ms
	meshHop    = 5 * time.Millisecond
	meshTrunk  = 20 * time.Millisecond
	meshMaxLag = 400 * time.Millisecond
)

// meshSeed varies the trunks' simulated jitter and loss (and, as every
// run does, the parts' random trunk SSRCs), to measure across runs:
// go test -run TestTrunkMesh -v ./mixer -args -trunkmesh.seed=N
var meshSeed = flag.Uint64("trunkmesh.seed", 0, "TestTrunkMesh: seed of the simulated trunks")

type meshSpec struct {
	id       string
	part     int
	freq     float64 // a multiple of 50 Hz: a whole number of cycles in 20 ms
	dbov     float64
	format   codec.Format
	noLevels bool
	listen   bool // listen-only: sends nothing
	spurts   [][2]float64
}

// envelope is the talker's amplitude (full scale 1) at t after its start.
func (s *meshSpec) envelope(t time.Duration) float64 {
	if s.listen {
		return 0
	}
	sec := t.Seconds()
	g := 0.0
	for _, sp := range s.spurts {
		const ramp = 0.01
		switch {
		case sec >= sp[0]+ramp && sec <= sp[1]-ramp:
			g = 1
		case sec >= sp[0] && sec < sp[0]+ramp:
			g = (sec - sp[0]) / ramp
		case sec > sp[1]-ramp && sec < sp[1]:
			g = (sp[1] - sec) / ramp
		}
	}
	if g == 0 {
		return 0
	}
	// Modulation: a value in [0.35, 1] per 40 ms, raised-cosine between.
	const seg = 0.04
	k := int(sec / seg)
	u := (sec - float64(k)*seg) / seg
	m0, m1 := s.mod(k), s.mod(k+1)
	m := m0 + (m1-m0)*(1-math.Cos(math.Pi*u))/2
	return g * m * math.Pow(10, s.dbov/20)
}

func (s *meshSpec) mod(k int) float64 {
	h := uint64(k)*0x9E3779B97F4A7C15 ^ uint64(s.freq)*0xBF58476D1CE4E5B9
	h ^= h >> 31
	h *= 0x94D049BB133111EB
	h ^= h >> 29
	return 0.35 + 0.65*float64(h%1000)/999
}

// source renders the talker at rate for d.
func (s *meshSpec) source(rate int, d time.Duration) []int16 {
	n := int(d.Seconds() * float64(rate))
	out := make([]int16, n)
	for i := range out {
		t := time.Duration(float64(i) / float64(rate) * float64(time.Second))
		out[i] = int16(32767 * s.envelope(t) * math.Sin(2*math.Pi*s.freq*float64(i)/float64(rate)))
	}
	return out
}

type meshClient struct {
	spec   *meshSpec
	part   *meshPart
	p      *Participant
	enc    codec.Encoder
	dec    codec.Decoder
	src    []int16
	pos    int
	frame  int
	seq    uint16
	ts     uint32
	ssrc   uint32
	tsStep uint32
	pkt    []byte
	encBuf []byte
	decBuf []int16
	heard  []int16 // at meshRate, tick k's packet at k*meshFrame
	errs   int
}

type meshPart struct {
	idx    int
	conf   *Conference
	phase  time.Duration // senders send at phase + k·20 ms, the tick runs 10 ms later
	tick   int
	trunks map[int]*Trunk // by the other part's index
	sets   [][]uint64     // speaker keys per tick
	// status: for every stream (by key) the part played a packet of, at
	// the packet's timestamp (the talker's own, which trunks keep),
	// whether it was a speaker in that tick. played: per tick, the
	// timestamp of the packet each local participant played.
	status map[uint64]map[uint32]bool
	played []map[uint64]uint32
}

func newMeshClient(t *testing.T, mp *meshPart, spec *meshSpec, d, align time.Duration) *meshClient {
	rate := formatRate(spec.format)
	mc := &meshClient{spec: spec, part: mp, heard: make([]int16, int(d.Seconds()*meshRate)+meshFrame)}
	var err error
	mc.enc, err = codec.NewEncoder(spec.format.SDPName(), codec.Config{SampleRate: rate, Channels: 1})
	require.NoError(t, err)
	mc.dec, err = codec.NewDecoder(spec.format.SDPName(), codec.Config{SampleRate: meshRate, Channels: 1})
	require.NoError(t, err)
	mc.frame = mc.enc.FrameSamples()
	mc.src = spec.source(rate, d)
	for _, ch := range spec.id {
		mc.ssrc = (mc.ssrc ^ uint32(ch)) * 0x01000193
	}
	mc.seq, mc.ts = uint16(mc.ssrc), mc.ssrc*3
	mc.tsStep = uint32(spec.format.FrameSamples(20 * time.Millisecond))
	mc.pkt = make([]byte, 0, 1600)
	mc.decBuf = make([]int16, 0, 5760)
	pc := ParticipantConfig{
		ID: spec.id, In: spec.format, Out: spec.format,
		ListenOnly: spec.listen,
		Sink:       SinkFunc(mc.receive),
		Jitter:     jitter.Config{MinDelay: align},
	}
	if !spec.noLevels {
		pc.InAudioLevelID = levelExtID
	}
	mc.p, err = mp.conf.Join(pc)
	require.NoError(t, err)
	return mc
}

func (mc *meshClient) packet() []byte {
	fr := make([]int16, mc.frame)
	for i := range fr {
		if mc.pos+i < len(mc.src) {
			fr[i] = mc.src[mc.pos+i]
		}
	}
	mc.pos += mc.frame
	payload, err := mc.enc.Encode(mc.encBuf[:0], fr)
	if err != nil {
		panic(err)
	}
	mc.encBuf = payload
	b := appendClientRTP(mc.pkt[:0], mc.spec.format.PayloadType, mc.seq, mc.ts, mc.ssrc, fr, !mc.spec.noLevels, payload)
	mc.seq++
	mc.ts += mc.tsStep
	mc.pkt = b[:0]
	return b
}

// receive decodes what the participant hears into its timeline, at the
// place of the tick that sent it.
func (mc *meshClient) receive(pkt []byte) error {
	if len(pkt) < 12 || rtcpsession.IsRTCP(pkt) {
		return nil
	}
	hl := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 {
		if len(pkt) < hl+4 {
			mc.errs++
			return nil
		}
		hl += 4 + 4*int(binary.BigEndian.Uint16(pkt[hl+2:]))
	}
	if hl > len(pkt) {
		mc.errs++
		return nil
	}
	out, err := mc.dec.Decode(mc.decBuf[:0], pkt[hl:])
	if err != nil {
		mc.errs++
		return nil
	}
	at := mc.part.tick * meshFrame
	if at+len(out) <= len(mc.heard) {
		copy(mc.heard[at:], out)
	}
	return nil
}

type meshResult struct {
	equalTicks, equalSkewed, ticks int
	// equalMedia: ticks whose speaker sets are equal compared in media
	// time (see runMesh).
	equalMedia       int
	worstOwn         float64 // dB
	worstLag, sumLag time.Duration
	lags             int
	worstGain        float64 // dB, |remote − local|
	worstSecond      float64 // second correlation peak / main
}

// runMesh runs the room for d. align, when set, is the local
// participants' least jitter buffer delay.
func runMesh(t *testing.T, d, align time.Duration, seed uint64, specs []*meshSpec) meshResult {
	parts := make([]*meshPart, 3)
	keys := make([]srtp.Keys, 9) // keys[i*3+j]: what i sends to j
	for i := range keys {
		k, err := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
		require.NoError(t, err)
		keys[i] = k
	}
	var clock time.Duration
	links := map[[2]int]*netsim.Link{}
	for i := range parts {
		c, err := NewConference(ConferenceConfig{Name: fmt.Sprintf("part%d", i), SampleRate: meshRate})
		require.NoError(t, err)
		require.NoError(t, c.EnableTrunking(TrunkingConfig{Part: uint32(100 + i)}))
		parts[i] = &meshPart{idx: i, conf: c, phase: []time.Duration{0, 7 * time.Millisecond, 13 * time.Millisecond}[i], trunks: map[int]*Trunk{}, status: map[uint64]map[uint32]bool{}}
	}
	for i := range parts {
		for j := range parts {
			if i == j {
				continue
			}
			l := netsim.NewLink(netsim.Scenario{
				Seed: uint64(10*i+j+1) + 1000*seed, BaseDelay: meshTrunk,
				Jitter: netsim.Jitter{Kind: netsim.JitterNormal, Sigma: 3 * time.Millisecond},
				Loss:   0.01,
			})
			links[[2]int{i, j}] = l
			tr, err := parts[i].conf.AddTrunk(TrunkConfig{
				Peer:    uint32(100 + j),
				OutSRTP: &keys[i*3+j], InSRTP: &keys[j*3+i],
				Sink: SinkFunc(func(pkt []byte) error {
					l.Send(clock, pkt)
					return nil
				}),
			})
			require.NoError(t, err)
			parts[i].trunks[j] = tr
		}
	}
	var clients []*meshClient
	for _, s := range specs {
		clients = append(clients, newMeshClient(t, parts[s.part], s, d, align))
	}
	ms := time.Millisecond
	for now := time.Duration(0); now < d; now += ms {
		clock = now
		for i := range parts {
			for j := range parts {
				if i == j {
					continue
				}
				links[[2]int{i, j}].Deliver(now, func(_ time.Duration, pkt []byte) {
					_ = parts[j].trunks[i].WriteRTPAt(now, pkt)
				})
			}
		}
		for _, mc := range clients {
			mp := mc.part
			if mc.spec.listen || now < mp.phase || (now-mp.phase)%(20*ms) != 0 {
				continue
			}
			_ = mc.p.WriteRTPAt(now, mc.packet())
		}
		for _, mp := range parts {
			at := mp.phase + 10*ms
			if now < at || (now-at)%(20*ms) != 0 {
				continue
			}
			mp.tick = int((now - at) / (20 * ms))
			mp.conf.Tick(now)
			var set []uint64
			for _, s := range mp.conf.speakers {
				set = append(set, s.tr.key)
			}
			slices.Sort(set)
			mp.sets = append(mp.sets, set)
			own := map[uint64]uint32{}
			for _, p := range mp.conf.parts {
				q := &p.dq
				if q.npend == 0 || q.pend[0].kind != jitter.KindPacket || p.tr.key == 0 {
					continue
				}
				if mp.status[p.tr.key] == nil {
					mp.status[p.tr.key] = map[uint32]bool{}
				}
				mp.status[p.tr.key][q.pend[0].ts] = p.spk.speaker
				if p.tr.remote == nil {
					own[p.tr.key] = q.pend[0].ts
				}
			}
			mp.played = append(mp.played, own)
		}
	}
	for _, mp := range parts {
		for _, tr := range mp.trunks {
			st := tr.Stats()
			require.Zero(t, st.Refused.Loop, "loops")
			require.Zero(t, st.Refused.Duplicate, "duplicates")
			require.Zero(t, st.Refused.Origin+st.Refused.Malformed+st.Refused.SRTPAuth, "bad packets")
			t.Logf("part %d → %d: out %d pkts (pre-roll %d, runs %d), in %d, refused %+v, streams %d",
				mp.idx, tr.Peer()-100, st.PacketsOut, st.PreRollPackets, st.RunsStarted, st.PacketsIn, st.Refused, st.Streams)
		}
	}
	for _, mc := range clients {
		require.Zero(t, mc.errs, "%s: undecodable packets", mc.spec.id)
	}

	var res meshResult
	n := min(len(parts[0].sets), len(parts[1].sets), len(parts[2].sets))
	for k := range n {
		res.ticks++
		if slices.Equal(parts[0].sets[k], parts[1].sets[k]) && slices.Equal(parts[0].sets[k], parts[2].sets[k]) {
			res.equalTicks++
		} else if testing.Verbose() {
			t.Logf("tick %d (%.2f s): %s | %s | %s", k, float64(k)*0.02, names(parts[0].sets[k]), names(parts[1].sets[k]), names(parts[2].sets[k]))
		}
		// Equal within the trunk's delay: each part's set matches the
		// others' at this tick or within the next two.
		ok := true
		for a := range parts {
			for b := range parts {
				if a == b {
					continue
				}
				m := false
				for dk := -2; dk <= 2 && !m; dk++ {
					if k+dk >= 0 && k+dk < n && slices.Equal(parts[a].sets[k], parts[b].sets[k+dk]) {
						m = true
					}
				}
				ok = ok && m
			}
		}
		if ok {
			res.equalSkewed++
		}
	}
	// Equal in media time: a part plays a remote talker's audio a trunk's
	// delay and a jitter buffer later than the talker's own part, so "the
	// same tick" is the same moment of the talkers' speech, not of the
	// clock. For tick k of each origin part, each of its talkers is
	// represented by the packet (timestamp) that origin played then; a
	// part's aligned set at k holds the talkers it mixed as speakers when
	// it played that packet (or, lost on the trunk, the one before or
	// after; never forwarded: not a speaker). The three aligned sets must
	// be equal.
	steps := map[uint64]uint32{}
	for _, mc := range clients {
		steps[mc.p.tr.key] = mc.tsStep
	}
	statusAt := func(mp *meshPart, key uint64, ts uint32) bool {
		st := mp.status[key]
		for _, d := range []uint32{0, -steps[key], steps[key]} {
			if v, ok := st[ts+d]; ok {
				return v
			}
		}
		return false
	}
	for k := range n {
		var sets [3][]uint64
		for _, o := range parts {
			if k >= len(o.played) {
				continue
			}
			for key, ts := range o.played[k] {
				for i, mp := range parts {
					if statusAt(mp, key, ts) {
						sets[i] = append(sets[i], key)
					}
				}
			}
		}
		for i := range sets {
			slices.Sort(sets[i])
		}
		if slices.Equal(sets[0], sets[1]) && slices.Equal(sets[0], sets[2]) {
			res.equalMedia++
		} else if testing.Verbose() {
			t.Logf("media tick %d (%.2f s): %s | %s | %s", k, float64(k)*0.02, names(sets[0]), names(sets[1]), names(sets[2]))
		}
	}

	// What each participant heard of each talker.
	res.worstOwn = -200
	for _, x := range clients {
		if x.spec.listen {
			continue
		}
		// Own voice: the power of x's tone in what x heard, against the
		// power of what x sent.
		// Both over x's talkspurts only (the heard timeline starts at its
		// part's first tick, 10 ms after its first packet), so that the
		// figure does not depend on how long x talked.
		src := x.spec.source(meshRate, d)
		var heard, sentPCM []int16
		for _, sp := range x.spec.spurts {
			from, to := int(sp[0]*meshRate), min(int(sp[1]*meshRate), len(src), len(x.heard))
			if from < to {
				heard = append(heard, x.heard[from:to]...)
				sentPCM = append(sentPCM, src[from:to]...)
			}
		}
		own := mediatest.ToneShare(heard, meshRate, x.spec.freq) * energy(heard)
		sent := mediatest.ToneShare(sentPCM, meshRate, x.spec.freq) * energy(sentPCM)
		ownDB := 10 * math.Log10(own/sent+1e-30)
		t.Logf("%s hears its own voice at %.1f dB", x.spec.id, ownDB)
		res.worstOwn = max(res.worstOwn, ownDB)

		var local *meshClient
		for _, l := range clients {
			if l.spec.listen && l.spec.part == x.spec.part {
				local = l
			}
		}
		lLag, lGain, _ := heardOf(x, local)
		for _, l := range clients {
			if l == x || l.spec.part == x.spec.part {
				continue
			}
			lag, gain, second := heardOf(x, l)
			t.Logf("%s heard by %s: lag %v (local %v), gain %.2f dB (local %.2f), second peak %.2f",
				x.spec.id, l.spec.id, lag, lLag, gain, lGain, second)
			if lGain < -6 || l.spec.format != local.spec.format {
				// Rarely selected (its envelope is mostly not heard
				// anywhere), or heard through another codec (Opus adds
				// its own delay and gain): not comparable.
				continue
			}
			res.worstLag = max(res.worstLag, lag-lLag)
			res.sumLag += lag - lLag
			res.lags++
			res.worstGain = max(res.worstGain, math.Abs(gain-lGain))
			res.worstSecond = max(res.worstSecond, second)
		}
	}
	return res
}

func names(keys []uint64) string {
	var b []byte
	for _, k := range keys {
		b = fmt.Appendf(b, "%d:%04x ", k>>32-100, uint16(k))
	}
	return string(b)
}

func energy(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

// heardOf correlates talker x's envelope with the amplitude of x's tone in
// what l heard, both high-passed (less their 100 ms moving average) so the
// 40 ms modulation, not the talkspurts, makes the peak. It returns the lag
// of the peak (heard time against sent time), the gain at it (dB, heard
// against sent), and the highest other peak, more than 30 ms away, as a
// share of the main one: a talker mixed twice at different delays shows
// two peaks, at the same delay twice the gain.
func heardOf(x, l *meshClient) (lag time.Duration, gainDB, second float64) {
	hops := len(l.heard) / (meshRate * int(meshHop) / int(time.Second))
	win := meshFrame
	step := meshRate * int(meshHop) / int(time.Second)
	w := 2 * math.Pi * x.spec.freq / meshRate
	cw := 2 * math.Cos(w)
	amp := make([]float64, hops)
	for h := range hops {
		// The heard window h starts at hop h of the listener's timeline,
		// which begins at its part's first tick.
		i := h * step
		if i+win > len(l.heard) {
			break
		}
		var s1, s2 float64
		for _, v := range l.heard[i : i+win] {
			s1, s2 = float64(v)/32767+cw*s1-s2, s1
		}
		amp[h] = 2 * math.Sqrt(max(0, s1*s1+s2*s2-cw*s1*s2)) / float64(win)
	}
	// Sent envelope on the same absolute grid: hop h is at time
	// l.phase+10ms + h·5ms (its window's start) in the listener's
	// timeline; the talker's sample at time T is its source at T − x.phase.
	env := make([]float64, hops)
	for h := range hops {
		at := l.part.phase + 10*time.Millisecond + time.Duration(h)*meshHop + 10*time.Millisecond - x.part.phase
		if at >= 0 {
			env[h] = x.spec.envelope(at)
		}
	}
	hp := func(v []float64) []float64 {
		out := make([]float64, len(v))
		const k = 10 // 50 ms either side
		var sum float64
		for i := range v {
			sum += v[i]
			if i >= 2*k+1 {
				sum -= v[i-2*k-1]
			}
			if i >= 2*k {
				out[i-k] = v[i-k] - sum/float64(2*k+1)
			}
		}
		return out
	}
	ea, ee := hp(amp), hp(env)
	maxD := int(meshMaxLag / meshHop)
	corr := make([]float64, maxD)
	for d := range maxD {
		var s float64
		for h := 0; h+d < hops; h++ {
			s += ee[h] * ea[h+d]
		}
		corr[d] = s
	}
	best := 0
	for d := range corr {
		if corr[d] > corr[best] {
			best = d
		}
	}
	for d := range corr {
		if d < best-6 || d > best+6 {
			second = max(second, corr[d]/corr[best])
		}
	}
	// Gain at the lag, over the hops where the talker was sent and heard.
	var num, den float64
	for h := 0; h+best < hops; h++ {
		if env[h] > 0 && amp[h+best] > 0 {
			num += amp[h+best]
			den += env[h]
		}
	}
	return time.Duration(best) * meshHop, 20 * math.Log10(num/den), second
}

// meshSpecs is a meeting of eight talkers over three parts, a minute
// long: turns, interjections, two stretches where four and five talk at
// once (more than MaxSpeakers, four of them at one part, so that part's
// top N leaves one out), a talker without level extensions and one on
// Opus. Talkers start at least 300 ms apart, as people do: two starting
// within the trunks' delay of each other are the limit noted on
// TrunkingConfig.Settle.
func meshSpecs() []*meshSpec {
	return []*meshSpec{
		{id: "a1", part: 0, freq: 350, dbov: -20, format: pcmu, spurts: [][2]float64{{0.5, 5.5}, {16.5, 22}, {33.5, 40}}},
		{id: "a2", part: 0, freq: 650, dbov: -24, format: pcmu, spurts: [][2]float64{{9, 10.5}, {34.1, 40}, {48.5, 53}}},
		{id: "a3", part: 0, freq: 950, dbov: -28, format: pcma, spurts: [][2]float64{{17.2, 22}, {35.3, 40}, {46.5, 48.2}}},
		{id: "a4", part: 0, freq: 1250, dbov: -31, format: pcmu, noLevels: true, spurts: [][2]float64{{27.5, 33}, {36.1, 40}, {55, 58}}},
		{id: "b1", part: 1, freq: 1550, dbov: -22, format: pcmu, spurts: [][2]float64{{6, 11}, {16.9, 22}, {43, 48}}},
		{id: "b2", part: 1, freq: 1850, dbov: -26, format: pcmu, spurts: [][2]float64{{22.5, 27}, {34.7, 40}}},
		{id: "c1", part: 2, freq: 2150, dbov: -21, format: opf, spurts: [][2]float64{{11.5, 16}, {28.1, 33}, {53.5, 58}}},
		{id: "c2", part: 2, freq: 2450, dbov: -27, format: pcmu, spurts: [][2]float64{{17.6, 22}, {40.5, 46}}},
		{id: "la", part: 0, format: pcmu, listen: true},
		{id: "lb", part: 1, format: pcmu, listen: true},
		{id: "lc", part: 2, format: pcmu, listen: true},
	}
}

// TestTrunkMesh is issue 17's test 1, with the defaults, and with local
// talkers played a trunk's delay later (ParticipantConfig.Jitter.MinDelay),
// which lines every part's view of every talker up.
func TestTrunkMesh(t *testing.T) {
	d := 60 * time.Second
	if testing.Short() || raceEnabled {
		d = 30 * time.Second // the race detector makes a minute cost 20 s a run
	}
	for _, tc := range []struct {
		name                 string
		align                time.Duration
		media, equal, skewed float64
		meanLag, worstLag    time.Duration
	}{
		// Issue 17 asks for equal sets in 99 % of ticks. A part plays a
		// remote talker a trunk's delay and a jitter buffer after the
		// talker's own part does (1–3 ticks: 20 ms on the trunk, the
		// remote buffer's few ms, the wait for the next tick of a part
		// ticking at another phase), and every part selects on the
		// audio it plays, so each change of the set reaches the parts
		// that far apart on the clock. Equal sets mean every part mixes
		// the same talkers for the same moment of their speech: compared
		// so (media), the sets agree in 99.4–99.8 % of ticks (seeds 0–7);
		// tick for tick on the clock, in 97.8 % with the defaults (this
		// meeting changes the set about 30 times a minute) and 98.9 %
		// with local talkers played a trunk's delay later; within two
		// ticks, in over 99 %. A remote talker is heard at most trunk
		// delay + 20 ms after a local one on the mean; a pair of parts
		// whose ticks fall badly (a packet arriving just after the
		// listener's part ticked waits a whole tick) adds up to one 5 ms
		// step of the measure's grid more.
		{"defaults", 0, 0.99, 0.97, 0.99, meshTrunk + 20*time.Millisecond, meshTrunk + 20*time.Millisecond + meshHop},
		{"aligned", meshTrunk, 0.99, 0.985, 0.99, 20 * time.Millisecond, 25 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runMesh(t, d, tc.align, *meshSeed, meshSpecs())
			meanLag := res.sumLag / time.Duration(max(1, res.lags))
			t.Logf("speaker sets equal in %d of %d ticks (%.2f %%), within ±2 ticks in %.2f %%, in media time %.2f %%",
				res.equalTicks, res.ticks, 100*float64(res.equalTicks)/float64(res.ticks), 100*float64(res.equalSkewed)/float64(res.ticks),
				100*float64(res.equalMedia)/float64(res.ticks))
			t.Logf("own voice at most %.1f dB; remote lag beyond local: mean %v, at most %v; gain off by at most %.2f dB; second peak at most %.2f",
				res.worstOwn, meanLag, res.worstLag, res.worstGain, res.worstSecond)
			require.LessOrEqual(t, res.worstOwn, -50.0, "own voice")
			require.GreaterOrEqual(t, float64(res.equalMedia), tc.media*float64(res.ticks), "speaker sets, in media time")
			require.GreaterOrEqual(t, float64(res.equalTicks), tc.equal*float64(res.ticks), "speaker sets, tick for tick")
			require.GreaterOrEqual(t, float64(res.equalSkewed), tc.skewed*float64(res.ticks), "speaker sets within two ticks")
			require.LessOrEqual(t, meanLag, tc.meanLag, "remote lag, mean")
			require.LessOrEqual(t, res.worstLag, tc.worstLag, "remote lag, worst pair")
			require.LessOrEqual(t, res.worstGain, 1.5, "mixed once: gain")
			require.Less(t, res.worstSecond, 0.5, "mixed once: second path")
		})
	}
}
