package mixer

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/jitter"
)

func newTestConference(t testing.TB, cfg ConferenceConfig) *Conference {
	c, err := NewConference(cfg)
	require.NoError(t, err)
	return c
}

// TestTonesMixMinus: each talker sends its own tone; every output holds
// exactly the others' tones, and each talker's own tone is absent.
func TestTonesMixMinus(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{Name: "tones", MaxSpeakers: 4})
	specs := []clientSpec{
		{id: "u", format: pcmu, pt: 0, src: tone(440, 3, 0.3)},
		{id: "a", format: pcma, pt: 8, src: tone(1000, 3, 0.3), srtp: true},
		{id: "o", format: opf, pt: 111, src: tone(1700, 3, 0.3), srtp: true},
		{id: "g", format: g722f, pt: 9, src: tone(2500, 3, 0.3)},
		{id: "l1", format: pcmu, pt: 0, listenOnly: true},
		{id: "l2", format: opf, pt: 111, listenOnly: true},
		{id: "l3", format: g722f, pt: 9, listenOnly: true},
	}
	freq := map[string]float64{"u": 440, "a": 1000, "o": 1700, "g": 2500}
	var clients []*client
	for _, s := range specs {
		clients = append(clients, newClient(t, c, s))
	}
	run(c, clients, 0, 2500*time.Millisecond, nil)
	for _, cl := range clients {
		rate := formatRate(cl.spec.format)
		require.Greater(t, len(cl.got), rate, "%s received too little", cl.spec.id)
		tail := cl.got[len(cl.got)-rate:] // the last second, well after start-up
		for id, f := range freq {
			pw := mediatest.ToneShare(tail, rate, f)
			if id == cl.spec.id {
				assert.Less(t, pw, 1e-4, "%s hears its own %v Hz tone (power share %.2g)", cl.spec.id, f, pw)
			} else {
				assert.Greater(t, pw, 0.1, "%s misses %s's %v Hz tone (power share %.2g)", cl.spec.id, id, f, pw)
			}
		}
		assert.Zero(t, cl.recvErr, cl.spec.id)
	}
}

// lagCorr returns the best normalised correlation of x against y delayed
// by 0..maxLag samples, and that lag.
func lagCorr(x, y []int16, maxLag int) (float64, int) {
	best, bestLag := -1.0, 0
	n := len(x)
	if len(y) < n {
		n = len(y)
	}
	n -= maxLag
	for lag := 0; lag <= maxLag; lag++ {
		var xy, xx, yy float64
		for i := 0; i < n; i++ {
			a, b := float64(x[i+lag]), float64(y[i])
			xy += a * b
			xx += a * a
			yy += b * b
		}
		if xx == 0 || yy == 0 {
			continue
		}
		if r := xy / math.Sqrt(xx*yy); r > best {
			best, bestLag = r, lag
		}
	}
	return best, bestLag
}

// speechRoom is 3 talkers and 5 listeners across PCMU, PCMA and Opus.
func speechRoom(t *testing.T, silenceTalker string) []*client {
	// A fixed playout delay, so that each talker's path delay is constant
	// and the output can be compared with the aligned sources throughout.
	fixed := 40 * time.Millisecond
	c := newTestConference(t, ConferenceConfig{Name: "speech",
		Jitter: jitter.Config{MinDelay: fixed, MaxDelay: fixed, StartDelay: fixed}})
	specs := []clientSpec{
		// Half level, so that the sum of talkers stays below the limiter.
		{id: "alice", format: pcmu, pt: 0, src: scaled(loadClip(t, "alice"), 0.5)},
		{id: "bob", format: pcma, pt: 8, src: scaled(loadClip(t, "bob"), 0.5), srtp: true},
		{id: "carol", format: opf, pt: 111, src: scaled(loadClip(t, "carol"), 0.5), srtp: true},
		{id: "l-pcmu", format: pcmu, pt: 0, listenOnly: true},
		{id: "l-pcma", format: pcma, pt: 8, listenOnly: true},
		{id: "l-opus1", format: opf, pt: 111, listenOnly: true, srtp: true},
		{id: "l-opus2", format: opf, pt: 111, listenOnly: true},
		{id: "l-pcmu-srtp", format: pcmu, pt: 0, listenOnly: true, srtp: true},
	}
	var clients []*client
	for _, s := range specs {
		cl := newClient(t, c, s)
		cl.silent = s.id == silenceTalker
		clients = append(clients, cl)
	}
	run(c, clients, 0, 7*time.Second, nil)
	return clients
}

func TestSpeechConference(t *testing.T) {
	clients := speechRoom(t, "")
	byID := map[string]*client{}
	for _, cl := range clients {
		byID[cl.spec.id] = cl
	}
	talkers := []string{"alice", "bob", "carol"}
	for _, cl := range clients {
		t.Run(cl.spec.id, func(t *testing.T) {
			rate := formatRate(cl.spec.format)
			// A packet every tick, continuous sequence and timestamps.
			require.GreaterOrEqual(t, len(cl.headers), 340)
			step := uint32(cl.spec.format.FrameSamples(20 * time.Millisecond))
			for i := 1; i < len(cl.headers); i++ {
				a, b := cl.headers[i-1], cl.headers[i]
				require.Equal(t, a.SequenceNumber+1, b.SequenceNumber, "packet %d", i)
				require.Equal(t, a.Timestamp+step, b.Timestamp, "packet %d", i)
				require.Equal(t, a.SSRC, b.SSRC)
			}
			// CSRCs: only other talkers, and all of them at some point.
			seen := map[uint32]bool{}
			for _, h := range cl.headers {
				for _, s := range h.CSRC {
					seen[s] = true
				}
			}
			for _, id := range talkers {
				if id == cl.spec.id {
					assert.False(t, seen[byID[id].ssrc], "own SSRC in CSRC list")
				} else {
					assert.True(t, seen[byID[id].ssrc], "%s never listed as CSRC", id)
				}
			}
			// The output is the mix of the other talkers: align each
			// talker's source with the output (paths differ in delay), sum
			// them, and compare. Done at 8 kHz to keep it cheap.
			got := toRate(t, upTo48k(t, cl.got, rate), 8000)
			expect := make([]float64, len(got))
			for _, id := range talkers {
				if id == cl.spec.id {
					continue
				}
				src := toRate(t, byID[id].spec.src, 8000)
				r, lag := lagCorr(got[8000:24000], src[8000:24000], 800)
				t.Logf("%s alone in %s: correlation %.3f at %.1f ms", id, cl.spec.id, r, float64(lag)/8)
				assert.Greater(t, r, 0.25, "%s not heard by %s", id, cl.spec.id)
				for i := range expect {
					if j := i - lag; j >= 0 && j < len(src) {
						expect[i] += float64(src[j])
					}
				}
			}
			r := corr(got, expect)
			t.Logf("%s: correlation with the aligned mix of the others %.3f", cl.spec.id, r)
			// Measured: 0.95 on G.711 outputs, 0.90 on Opus ones (coding
			// loss, and talk detection clipping the first tick of each
			// talkspurt).
			want := 0.93
			if cl.spec.format.Name == "opus" {
				want = 0.85
			}
			assert.Greater(t, r, want)
		})
	}
}

// upTo48k brings a recording to 48 kHz so that toRate can take it anywhere.
func upTo48k(t *testing.T, x []int16, rate int) []int16 {
	if rate == 48000 {
		return x
	}
	r, err := resample.New(rate, 48000, 1)
	require.NoError(t, err)
	return r.Process(nil, x)
}

func corr(x []int16, y []float64) float64 {
	var xy, xx, yy float64
	for i := range min(len(x), len(y)) {
		a := float64(x[i])
		xy += a * y[i]
		xx += a * a
		yy += y[i] * y[i]
	}
	return xy / math.Sqrt(xx*yy)
}

// TestOwnVoiceAbsent: a G.711 talker's received audio is the same whether
// it talks or is silent, so its own voice is absent from its mix; the
// residual is measured against its own level.
func TestOwnVoiceAbsent(t *testing.T) {
	talking := speechRoom(t, "")
	silent := speechRoom(t, "alice")
	a, b := talking[0].got, silent[0].got
	require.Equal(t, "alice", talking[0].spec.id)
	n := min(len(a), len(b))
	require.Greater(t, n, 8000*5)
	var diff, own float64
	src := toRate(t, talking[0].spec.src, 8000)
	for i := 0; i < n; i++ {
		d := float64(a[i]) - float64(b[i])
		diff += d * d
		if i < len(src) {
			own += float64(src[i]) * float64(src[i])
		}
	}
	residualDB := 10 * math.Log10((diff+1)/own)
	t.Logf("own-voice residual: %.1f dB under alice's level", -residualDB)
	assert.Less(t, residualDB, -40.0)
}

// TestLossConcealedAndRecovered: 5% random loss on every sender; outputs
// have no gaps, and Opus senders with FEC have frames recovered.
func TestLossConcealedAndRecovered(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{Name: "loss"})
	clients := []*client{
		newClient(t, c, clientSpec{id: "o1", format: opf, pt: 111, src: loadClip(t, "alice"), fec: true}),
		newClient(t, c, clientSpec{id: "o2", format: opf, pt: 111, src: loadClip(t, "bob"), fec: true}),
		newClient(t, c, clientSpec{id: "u", format: pcmu, pt: 0, src: loadClip(t, "carol")}),
		newClient(t, c, clientSpec{id: "l", format: pcmu, pt: 0, listenOnly: true}),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	run(c, clients, 0, 6*time.Second, func(cl *client, i int) bool { return i > 5 && rng.Float64() < 0.05 })
	var fec, concealed uint64
	for _, cl := range clients {
		st := cl.p.Stats()
		fec += st.FECRecovered
		concealed += st.Concealed
		require.GreaterOrEqual(t, len(cl.headers), 290, cl.spec.id)
		for i := 1; i < len(cl.headers); i++ {
			require.Equal(t, cl.headers[i-1].SequenceNumber+1, cl.headers[i].SequenceNumber)
		}
		t.Logf("%s: lost %d, FEC %d, concealed %d, late %d", cl.spec.id, st.Jitter.Lost, st.FECRecovered, st.Concealed, st.Jitter.Late)
	}
	assert.Greater(t, fec, uint64(0), "no FEC recoveries")
}

// TestLongTickPopsSeveralPackets: a 40 ms conference fed 20 ms packets pops
// two frames per participant per tick, decodes both after speaker selection,
// and still mixes every tone, without gaps.
func TestLongTickPopsSeveralPackets(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{Name: "long", Ptime: 40 * time.Millisecond})
	specs := []clientSpec{
		{id: "u", format: pcmu, pt: 0, src: tone(440, 3, 0.3)},
		{id: "o", format: opf, pt: 111, src: tone(1700, 3, 0.3), srtp: true},
		{id: "l", format: pcma, pt: 8, listenOnly: true},
	}
	var clients []*client
	for _, s := range specs {
		clients = append(clients, newClient(t, c, s))
	}
	now := time.Duration(0)
	for i := 0; i < 60; i++ { // 2.4 s: two packets from everyone per tick
		for k := 0; k < 2; k++ {
			for _, cl := range clients {
				_ = cl.p.WriteRTPAt(now+time.Duration(k)*20*time.Millisecond, cl.packet())
			}
		}
		c.Tick(now)
		now += 40 * time.Millisecond
	}
	want := map[string][]float64{"u": {1700}, "o": {440}, "l": {440, 1700}}
	for _, cl := range clients {
		rate := formatRate(cl.spec.format)
		require.Greater(t, len(cl.got), rate, "%s received too little", cl.spec.id)
		tail := cl.got[len(cl.got)-rate:]
		for _, f := range want[cl.spec.id] {
			assert.Greater(t, mediatest.ToneShare(tail, rate, f), 0.1, "%s misses %v Hz", cl.spec.id, f)
		}
		// No silent 20 ms block in the last second.
		blk := rate / 50
		for b := 0; b+blk <= len(tail); b += blk {
			peak := 0
			for _, s := range tail[b : b+blk] {
				peak = max(peak, abs(int(s)))
			}
			assert.Greater(t, peak, 500, "%s: silent block at %d", cl.spec.id, b)
		}
		st := cl.p.Stats()
		assert.Zero(t, st.DecodeErrors, cl.spec.id)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestParticipantJitterOverrides: every jitter.Config field a participant
// sets survives into its buffer, over the conference's defaults (the mixer
// once copied 6 of 12 fields by hand and dropped the rest).
func TestParticipantJitterOverrides(t *testing.T) {
	conf, err := NewConference(ConferenceConfig{Jitter: jitter.Config{
		MaxDelay: 300 * time.Millisecond, Quantile: 0.9, StartDelay: 60 * time.Millisecond,
	}})
	require.NoError(t, err)
	over := jitter.Config{
		Quantile: 0.99, ForgetFactor: 0.999, Window: 3 * time.Second, JitterFactor: 2.5,
		ResyncThreshold: 4 * time.Second, QuietLevel: 60, MinDelay: 20 * time.Millisecond,
	}
	p, err := conf.Join(ParticipantConfig{In: g711.PCMU, Out: g711.PCMU, Jitter: over})
	require.NoError(t, err)
	got := p.in.jb.Config()
	assert.Equal(t, over.Quantile, got.Quantile)
	assert.Equal(t, over.ForgetFactor, got.ForgetFactor)
	assert.Equal(t, over.Window, got.Window)
	assert.Equal(t, over.JitterFactor, got.JitterFactor)
	assert.Equal(t, over.ResyncThreshold, got.ResyncThreshold)
	assert.Equal(t, over.QuietLevel, got.QuietLevel)
	assert.Equal(t, over.MinDelay, got.MinDelay)
	assert.Equal(t, 300*time.Millisecond, got.MaxDelay, "inherited from the conference")
	assert.Equal(t, 60*time.Millisecond, got.StartDelay, "inherited from the conference")
	assert.Equal(t, 8000, got.ClockRate, "set from the inbound format")
}
