package bench

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/audiocmp"
	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// NetCondResult is what one network scenario cost through the whole
// participant pipeline.
type NetCondResult struct {
	Name  string
	Phase time.Duration // of the conference's ticks from the sender's start
	Sent  int           // packets the sender sent
	// Late loss, the share of the talker's audio concealed (lost and
	// concealed frames, silence left out), what of it the network's
	// losses and the late packets do not explain, and the share of the
	// audio played that the mixer time-scaled (lengthened plus shortened),
	// all in percent.
	LatePct, ConcealPct, ExcessConcealPct, NetLossPct, StretchedPct float64
	// Dropped counts whole frames the jitter buffer dropped to shrink its
	// delay (with time-scaling, only for an excess of 100 ms or more).
	Dropped uint64
	// Mean and P95 are the delay heard: the talker's speech as the
	// listener received it, aligned with what was sent (internal/audiocmp),
	// window by window, beyond the trace's smallest network transit (so
	// the path's base latency is left out, as netsim measures). Oracle is
	// the mean delay of the best fixed-delay player that ticks like the
	// conference and loses no more packets to lateness (netsim's);
	// OracleRatio is Mean/Oracle.
	Mean, P95, Oracle time.Duration
	OracleRatio       float64
	// JitterRatio is netsim.Run's mean/oracle for the same trace through
	// a bare jitter.Buffer whose consumer models a time-scaler
	// (netsim.Pitch): the pipeline should come close to it.
	JitterRatio float64
	// Creep: mean delay heard in the last 2 s minus that in the 2 s after
	// a 5 s warm-up.
	Creep time.Duration
	// Quality: mean log-spectral distance (dB) of the speech heard
	// against the clean path (the same PCMU over a perfect network), and
	// the share of the speech sent that was found in what was heard.
	LSD, Found float64
	// Processing is real time: the talker's WriteRTP (SRTP unprotect,
	// parse, jitter push) per packet, and per tick the time from the
	// tick's start to the listener's packet reaching its Sink.
	WriteMean, TickMean, TickP99 time.Duration
	TargetDelay                  time.Duration
}

// NetCondScenarios are the network scenarios: the jitter buffer's
// standard ones (netsim.Standard: clean, 30 ms normal jitter, 5% bursty
// loss, ±1% drift, a 300 ms spike) and issue 12's kinds of trace
// (netsim.Playout: a sender restart, sender clocks ±1% off without
// levels, DTX talkspurts, a bursty TTS source, Wi-Fi, LTE, talkspurts
// ended by silence).
func NetCondScenarios() []netsim.Scenario { return append(netsim.Standard(), netsim.Playout()...) }

// NetCondPhases are the tick phases RunNetCond can be asked for: where a
// packet's arrival falls between two ticks decides how long it waits.
var NetCondPhases = []time.Duration{0, 5 * time.Millisecond, 10 * time.Millisecond, 15 * time.Millisecond}

// RunNetCond replays sc through a conference in virtual time: the talker,
// on the impaired path, sends speech (the testdata clips, PCMU, with the
// trace's RFC 6464 levels when it has them) over SRTP while the trace's
// sender talks, silence or DTX packets while it does not; a listen-only
// participant receives the mix over SRTP. The mixer time-scales as the
// talker's jitter buffer asks. dir is the testdata directory ("" finds
// it).
func RunNetCond(sc netsim.Scenario, dir string) (NetCondResult, error) {
	sc.ClockRate, sc.Payload = 8000, 160
	sc = sc.WithDefaults()
	tr, err := sc.Trace()
	if err != nil {
		return NetCondResult{}, err
	}
	res := NetCondResult{Name: sc.Name, Phase: sc.TickPhase, Sent: len(tr.Sent)}
	ref, err := netsim.RunTrace(tr, jitter.Config{}, netsim.Options{Consumer: netsim.Pitch})
	if err != nil {
		return res, err
	}
	res.JitterRatio = ref.OracleRatio
	src, err := speech8k(dir)
	if err != nil {
		return res, err
	}
	talk, err := newTalkTrace(tr, src)
	if err != nil {
		return res, err
	}

	// The lone talker is mixed whatever its level, so that what the
	// listener hears depends on the network, the jitter buffer and the
	// time-scaler, not on where talk detection starts and stops.
	c, err := mixer.NewConference(mixer.ConferenceConfig{Name: "netcond " + sc.Name, DisableLimiter: true,
		Talk: mixer.TalkConfig{StartLevel: 120, StopLevel: 127, StartDelay: 20 * time.Millisecond}})
	if err != nil {
		return res, err
	}
	defer c.Close()
	keys := func() (srtp.Keys, error) { return srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80) }
	sIn, err := keys()
	if err != nil {
		return res, err
	}
	lOut, err := keys()
	if err != nil {
		return res, err
	}
	sOut, err := keys()
	if err != nil {
		return res, err
	}
	rec, err := newRecorder(lOut)
	if err != nil {
		return res, err
	}
	pc := mixer.ParticipantConfig{ID: "talker", In: PCMU, Out: PCMU, InSRTP: &sIn, OutSRTP: &sOut, Jitter: sc.Buffer}
	if !sc.NoLevels {
		pc.InAudioLevelID = levelExtID
	}
	sp, err := c.Join(pc)
	if err != nil {
		return res, err
	}
	if _, err := c.Join(mixer.ParticipantConfig{ID: "listener", In: PCMU, Out: PCMU, ListenOnly: true,
		OutSRTP: &lOut, Sink: rec}); err != nil {
		return res, err
	}
	// The sender protects every packet in sending order, as it would.
	prot, err := srtp.NewProtector(sIn)
	if err != nil {
		return res, err
	}
	wire := make([][]byte, len(tr.Sent))
	for i := range tr.Sent {
		if wire[i], err = prot.ProtectRTP(nil, talk.packets[i]); err != nil {
			return res, err
		}
	}

	var writeSum time.Duration
	writes := 0
	var ticks []time.Duration
	buf := make([]byte, 1600)
	end := tr.Arrivals[len(tr.Arrivals)-1].At + sc.Drain
	next := 0
	for now := sc.TickPhase; now <= end; now += sc.Tick {
		for ; next < len(tr.Arrivals) && tr.Arrivals[next].At <= now; next++ {
			a := tr.Arrivals[next]
			b := buf[:len(wire[a.Packet.Index])]
			copy(b, wire[a.Packet.Index])
			t0 := time.Now()
			_ = sp.WriteRTPAt(a.At, b) // refusals are counted in Stats
			writeSum += time.Since(t0)
			writes++
		}
		rec.tickStart = time.Now()
		rec.packets = 0
		c.Tick(now)
		if rec.err != nil {
			return res, rec.err
		}
		if rec.packets != 1 {
			return res, fmt.Errorf("bench: %s: %d packets to the listener in one tick, want 1", sc.Name, rec.packets)
		}
		ticks = append(ticks, rec.proc)
	}

	st := sp.Stats()
	js := st.Jitter
	res.LatePct = 100 * float64(js.Late) / float64(res.Sent)
	res.NetLossPct = 100 * float64(res.Sent-countArrived(tr)) / float64(res.Sent)
	// The frames the decoder concealed or rebuilt from FEC (the jitter
	// buffer's KindLost and KindConceal frames): not js.Lost +
	// js.Concealed, which counts a loss twice when the buffer concealed
	// while it waited for the packet, and counts lost silence.
	if talked := js.Played + st.Concealed + st.FECRecovered; talked > 0 {
		res.ConcealPct = 100 * float64(st.Concealed+st.FECRecovered) / float64(talked)
		// Beyond what the network's losses in speech and the late
		// packets explain, in the same measure (netsim.Result's
		// ExcessConcealPct): the buffer plays losses in a pause as
		// silence.
		res.ExcessConcealPct = res.ConcealPct - 100*float64(uint64(tr.TalkLosses())+js.Late)/float64(talked)
	}
	res.Dropped = js.Dropped
	res.StretchedPct = 100 * float64(st.TimeScale.Lengthened+st.TimeScale.Shortened) / float64(end-sc.TickPhase)
	res.TargetDelay = js.TargetDelay
	if writes > 0 {
		res.WriteMean = writeSum / time.Duration(writes)
	}
	tk := summarise(ticks)
	res.TickMean, res.TickP99 = tk.Mean, tk.P99

	h := hear(tr, talk.ref, rec.got, sc.TickPhase)
	if len(h.Delay) == 0 {
		return res, fmt.Errorf("bench: %s: none of the talker's speech found in the mix", sc.Name)
	}
	res.LSD, res.Found = h.cmp.Heard.LSD, h.cmp.Sent.Found
	sorted := slices.Clone(h.Delay)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range h.Delay {
		sum += d
	}
	res.Mean, res.P95 = sum/time.Duration(len(h.Delay)), sorted[len(sorted)*95/100]
	res.Oracle = tr.Oracle(int(js.Late))
	if res.Oracle > 0 {
		res.OracleRatio = float64(res.Mean) / float64(res.Oracle)
	}
	const warm, window = 5 * time.Second, 2 * time.Second
	t0, t1 := h.At[0]+warm, h.At[len(h.At)-1]-window
	res.Creep = h.MeanBetween(t1, t1+window+1) - h.MeanBetween(t0, t0+window)
	return res, nil
}

func countArrived(tr *netsim.Trace) int {
	seen := make(map[int]bool, len(tr.Sent))
	for _, a := range tr.Arrivals {
		seen[a.Packet.Index] = true
	}
	return len(seen)
}

// speech8k is the speech clips one after another at 8 kHz.
func speech8k(dir string) ([]int16, error) {
	dir, err := FindTestdata(dir)
	if err != nil {
		return nil, err
	}
	r, err := resample.New(48000, 8000, 1)
	if err != nil {
		return nil, err
	}
	var all []int16
	for _, name := range ClipNames {
		a, err := wav.ReadFile(filepath.Join(dir, name+".wav"))
		if err != nil {
			return nil, err
		}
		r.Reset()
		all = append(all, r.Process(nil, a.Samples)...)
	}
	return all, nil
}

// talkTrace is a trace's packets as the talker sends them, and the clean
// path: what a listener would hear over a perfect network, by the
// sender's own time.
type talkTrace struct {
	packets [][]byte
	ref     []int16
}

// newTalkTrace makes each packet of tr: speech from src (looped) while the
// sender talks, PCMU silence otherwise, a DTX packet as short as the trace
// says, the RFC 6464 level when the trace has one.
func newTalkTrace(tr *netsim.Trace, src []int16) (*talkTrace, error) {
	sc := tr.Scenario
	enc, err := codec.NewEncoder(PCMU.SDPName(), codec.Config{})
	if err != nil {
		return nil, err
	}
	dec, err := codec.NewDecoder(PCMU.SDPName(), codec.Config{})
	if err != nil {
		return nil, err
	}
	tt := &talkTrace{packets: make([][]byte, len(tr.Sent)), ref: make([]int16, (int(sc.Duration/sc.Ptime)+1)*160)}
	silence := make([]int16, 160)
	for i := range tr.Sent {
		p := &tr.Sent[i]
		// The frame of the sender's own clock the packet carries.
		k := int(math.Round(float64(p.Media) * (1 + sc.Drift) / float64(sc.Ptime)))
		frame := silence
		if p.Voice {
			s := (k * 160) % (len(src) - 160)
			frame = src[s : s+160]
		}
		payload, err := enc.Encode(nil, frame)
		if err != nil {
			return nil, err
		}
		if p.Voice {
			clean, err := dec.Decode(nil, payload)
			if err != nil {
				return nil, err
			}
			copy(tt.ref[k*160:], clean)
		}
		tt.packets[i] = p.RTP(0, levelExtID, payload) // PCMU
	}
	return tt, nil
}

// hearing is the talker's speech found in what the listener heard, and
// the delays of the speech windows heard, beyond the smallest transit.
type hearing struct {
	cmp audiocmp.Result
	audiocmp.Playout
}

// hear aligns what the listener got (one 20 ms frame per tick from
// phase) with the clean path.
func hear(tr *netsim.Trace, ref, got []int16, phase time.Duration) hearing {
	sc := tr.Scenario
	// A drifting sender's samples run ahead of (or behind) the
	// listener's by Drift of the run; a bursty one is up to MaxDelay
	// ahead.
	drift := time.Duration(math.Abs(sc.Drift)*float64(sc.Duration)) + time.Second
	maxDelay := max(sc.Buffer.MaxDelay, jitter.DefaultMaxDelay) + time.Second
	var h hearing
	h.cmp = audiocmp.Compare(ref, got, 8000, audiocmp.Options{MinDelay: -drift, MaxDelay: maxDelay + drift})
	h.Playout = h.cmp.Playout(8000, phase, sc.Drift, tr.MinTransit())
	return h
}

// recorder is the listener's far end: it unprotects and decodes the mixed
// packets.
type recorder struct {
	u         *srtp.Unprotector
	dec       codec.Decoder
	hdr       rtp.Header
	tickStart time.Time
	proc      time.Duration // tick start to this tick's packet
	packets   int
	plain     []byte
	pcm       []int16
	got       []int16
	err       error
}

func newRecorder(k srtp.Keys) (*recorder, error) {
	u, err := srtp.NewUnprotector(k)
	if err != nil {
		return nil, err
	}
	dec, err := codec.NewDecoder(PCMU.SDPName(), codec.Config{})
	if err != nil {
		return nil, err
	}
	return &recorder{u: u, dec: dec, plain: make([]byte, 0, 1600), pcm: make([]int16, 0, 960)}, nil
}

func (r *recorder) WriteRTP(pkt []byte) error {
	if rtcpsession.IsRTCP(pkt) {
		return nil // the listener's RTCP reports share its sink (rtcp-mux)
	}
	r.proc = time.Since(r.tickStart)
	r.packets++
	plain, err := r.u.UnprotectRTP(r.plain[:0], pkt, &r.hdr)
	if err != nil {
		r.err = fmt.Errorf("bench: listener cannot unprotect the mix: %w", err)
		return err
	}
	r.plain = plain
	payload, err := srtp.Payload(plain)
	if err != nil {
		r.err = fmt.Errorf("bench: listener got a malformed packet: %w", err)
		return err
	}
	out, err := r.dec.Decode(r.pcm[:0], payload)
	if err != nil {
		r.err = err
		return err
	}
	r.pcm = out
	r.got = append(r.got, out...)
	return nil
}

// WriteNetCondTable prints results as an aligned table (Markdown when md).
func WriteNetCondTable(w io.Writer, rs []NetCondResult, md bool) error {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	us := func(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }
	head := []string{"scenario", "phase", "late %", "concealed %", "excess %", "dropped", "time-scaled %", "mean", "p95",
		"oracle", "mean/oracle", "(jitter alone)", "creep", "LSD dB", "speech found", "WriteRTP", "tick to sink", "p99", "target"}
	row := func(r NetCondResult) []string {
		return []string{r.Name, ms(r.Phase), fmt.Sprintf("%.2f", r.LatePct), fmt.Sprintf("%.2f", r.ConcealPct),
			fmt.Sprintf("%+.2f", r.ExcessConcealPct), fmt.Sprint(r.Dropped), fmt.Sprintf("%.2f", r.StretchedPct),
			ms(r.Mean), ms(r.P95), ms(r.Oracle), fmt.Sprintf("%.2f", r.OracleRatio), fmt.Sprintf("%.2f", r.JitterRatio),
			ms(r.Creep), fmt.Sprintf("%.2f", r.LSD), fmt.Sprintf("%.1f%%", 100*r.Found),
			us(r.WriteMean), us(r.TickMean), us(r.TickP99), ms(r.TargetDelay)}
	}
	if md {
		fmt.Fprintf(w, "| %s |\n|---|", join(head, " | "))
		for range head[1:] {
			fmt.Fprint(w, "---:|")
		}
		fmt.Fprintln(w)
		for _, r := range rs {
			fmt.Fprintf(w, "| %s |\n", join(row(r), " | "))
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, join(head, "\t")+"\t")
	for _, r := range rs {
		fmt.Fprintln(tw, join(row(r), "\t")+"\t")
	}
	return tw.Flush()
}

func join(xs []string, sep string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += sep
		}
		out += x
	}
	return out
}
