package bench

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// NetCondResult is what one network scenario cost through the whole
// participant pipeline.
type NetCondResult struct {
	Name    string
	Sent    int // packets the sender sent
	Arrived int // copies that reached the engine (duplicates included)
	// Late, lost and concealed as the participant's jitter buffer counted
	// them: late packets as a share of those sent; lost and concealed
	// frames as a share of the frames played out.
	LatePct, LostPct, ConcealedPct float64
	// JitterOnlyLatePct is the same scenario through a bare jitter.Buffer
	// (netsim.Run), for comparison: the pipeline should not change it.
	JitterOnlyLatePct float64
	// Heard counts the sender's packets recognised in the listener's mixed
	// stream; the delays below are over those.
	Heard int
	// Buffer is the virtual time from a packet's arrival to the tick that
	// plays it: jitter-buffer delay plus the wait for the next tick.
	BufferMean, BufferP95 time.Duration
	// Processing is real time: the packet's WriteRTP (SRTP unprotect,
	// parse, jitter push) plus, in the tick that plays it, the time from the
	// tick's start to the listener's mixed packet reaching its Sink.
	ProcMean, ProcP99 time.Duration
	// Creep: mean buffer delay of the last 2 s minus that of the 2 s
	// after a 5 s warm-up (the windows jitter/scenario_test.go uses).
	Creep       time.Duration
	TargetDelay time.Duration
}

// NetCondScenarios are the jitter issue's scenarios (netsim.Standard):
// clean, 30 ms normal jitter, 5% bursty loss, ±1% drift, a 300 ms spike.
func NetCondScenarios() []netsim.Scenario { return netsim.Standard() }

// RunNetCond replays sc through a conference in virtual time: the sender,
// on the impaired path, sends PCMU over SRTP; a listen-only participant
// receives the mix over SRTP. Each payload carries its packet's index in
// μ-law codes that survive decode, mix (a lone speaker at unity gain, far
// below the limiter) and encode unchanged, so each packet is found again
// in the listener's stream and its delay measured.
func RunNetCond(sc netsim.Scenario) (NetCondResult, error) {
	sc.ClockRate, sc.Payload = 8000, 160
	sc = sc.WithDefaults()
	tr, err := sc.Trace()
	if err != nil {
		return NetCondResult{}, err
	}
	res := NetCondResult{Name: sc.Name, Sent: len(tr.Sent), Arrived: len(tr.Arrivals)}
	ref, err := netsim.RunTrace(tr, jitter.Config{}, netsim.Options{})
	if err != nil {
		return res, err
	}
	res.JitterOnlyLatePct = ref.LatePct

	c, err := mixer.NewConference(mixer.ConferenceConfig{Name: "netcond " + sc.Name})
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
	sp, err := c.Join(mixer.ParticipantConfig{ID: "sender", In: PCMU, Out: PCMU, InAudioLevelID: levelExtID,
		InSRTP: &sIn, OutSRTP: &sOut})
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
		if wire[i], err = protect(prot, &tr.Sent[i]); err != nil {
			return res, err
		}
	}

	inbound := make([]time.Duration, len(tr.Sent))
	arrivedAt := make([]time.Duration, len(tr.Sent))
	buf := make([]byte, 1600)
	end := tr.Arrivals[len(tr.Arrivals)-1].At + sc.Drain
	next := 0
	for now := sc.TickPhase; now <= end; now += sc.Tick {
		for ; next < len(tr.Arrivals) && tr.Arrivals[next].At <= now; next++ {
			a := tr.Arrivals[next]
			b := buf[:len(wire[a.Packet.Index])]
			copy(b, wire[a.Packet.Index])
			t0 := time.Now()
			err := sp.WriteRTPAt(a.At, b)
			d := time.Since(t0)
			if err == nil && !a.Dup {
				inbound[a.Packet.Index], arrivedAt[a.Packet.Index] = d, a.At
			}
		}
		rec.tickStart, rec.now = time.Now(), now
		c.Tick(now)
	}
	if rec.err != nil {
		return res, rec.err
	}

	st := sp.Stats()
	js := st.Jitter
	if res.Sent > 0 {
		res.LatePct = 100 * float64(js.Late) / float64(res.Sent)
	}
	if frames := js.Played + js.Lost + js.Concealed; frames > 0 {
		res.LostPct = 100 * float64(js.Lost) / float64(frames)
		res.ConcealedPct = 100 * float64(js.Concealed) / float64(frames)
	}
	res.TargetDelay = js.TargetDelay

	type heard struct{ at, buffer, proc time.Duration }
	var hs []heard
	for _, h := range rec.heard {
		if h.index >= len(tr.Sent) || inbound[h.index] == 0 && arrivedAt[h.index] == 0 {
			continue
		}
		hs = append(hs, heard{at: h.tick, buffer: h.tick - arrivedAt[h.index], proc: inbound[h.index] + h.proc})
	}
	res.Heard = len(hs)
	if len(hs) == 0 {
		return res, fmt.Errorf("bench: %s: no packet of the sender recognised in the mix", sc.Name)
	}
	bufs := make([]time.Duration, len(hs))
	procs := make([]time.Duration, len(hs))
	for i, h := range hs {
		bufs[i], procs[i] = h.buffer, h.proc
	}
	b, p := summarise(bufs), summarise(procs)
	slices.Sort(bufs)
	res.BufferMean, res.BufferP95 = b.Mean, bufs[len(bufs)*95/100]
	res.ProcMean, res.ProcP99 = p.Mean, p.P99

	const warm, window = 5 * time.Second, 2 * time.Second
	t0, t1 := hs[0].at+warm, hs[len(hs)-1].at-window
	mean := func(from, to time.Duration) time.Duration {
		var sum time.Duration
		n := 0
		for _, h := range hs {
			if h.at >= from && h.at < to {
				sum += h.buffer
				n++
			}
		}
		if n == 0 {
			return 0
		}
		return sum / time.Duration(n)
	}
	res.Creep = mean(t1, t1+window+1) - mean(t0, t0+window)
	return res, nil
}

// protect writes packet p as the sender would and protects it. The
// payload is p's index in μ-law codes 0xE0|nibble (small positive
// samples), then its complement the same way, then 0xD5 (another small
// sample, outside the 0xE0 range so no window of it reads as an index).
func protect(prot *srtp.Protector, p *netsim.Packet) ([]byte, error) {
	b := make([]byte, 20, 20+160+prot.RTPOverhead())
	b[0], b[1] = 0x90, 0
	if p.Marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], p.SequenceNumber)
	binary.BigEndian.PutUint32(b[4:], p.Timestamp)
	binary.BigEndian.PutUint32(b[8:], p.SSRC)
	lvl := byte(127)
	if p.AudioLevel >= 0 {
		lvl = byte(p.AudioLevel)
	}
	if p.Voice {
		lvl |= 0x80
	}
	copy(b[12:], []byte{0xBE, 0xDE, 0, 1, levelExtID << 4, lvl, 0, 0})
	var payload [160]byte
	for i := range payload {
		payload[i] = 0xD5
	}
	idx, chk := uint32(p.Index), ^uint32(p.Index)
	for k := 0; k < 8; k++ {
		payload[k] = 0xE0 | byte(idx>>(28-4*k))&0xF
		payload[8+k] = 0xE0 | byte(chk>>(28-4*k))&0xF
	}
	b = append(b, payload[:]...)
	return prot.ProtectRTP(b[:0], b)
}

// recorder is the listener's far end: it unprotects the mixed packets and
// finds the sender's packet index in them.
type recorder struct {
	u         *srtp.Unprotector
	hdr       rtp.Header
	tickStart time.Time
	now       time.Duration
	heard     []heardPacket
	seen      map[int]bool
	plain     []byte
	prev      []byte // the previous mixed payload
	prevTick  time.Duration
	prevProc  time.Duration
	err       error
}

type heardPacket struct {
	index int
	tick  time.Duration // virtual time of the tick that sent it
	proc  time.Duration // real time from the tick's start to the Sink
}

func newRecorder(k srtp.Keys) (*recorder, error) {
	u, err := srtp.NewUnprotector(k)
	if err != nil {
		return nil, err
	}
	return &recorder{u: u, seen: map[int]bool{}, plain: make([]byte, 0, 1600), prev: make([]byte, 0, 2000)}, nil
}

func (r *recorder) WriteRTP(pkt []byte) error {
	if rtcpsession.IsRTCP(pkt) {
		return nil // the listener's RTCP reports share its sink (rtcp-mux)
	}
	proc := time.Since(r.tickStart)
	plain, err := r.u.UnprotectRTP(r.plain[:0], pkt, &r.hdr)
	if err != nil {
		r.err = fmt.Errorf("bench: listener cannot unprotect the mix: %w", err)
		return err
	}
	r.plain = plain
	payload, err := srtp.Payload(plain)
	if err != nil {
		return nil
	}
	// Concealment and the buffer's delay changes need not come in whole
	// packets, so a packet's samples may start anywhere in a mixed frame
	// and run into the next: search the previous frame and this one.
	prevLen := len(r.prev)
	joined := append(r.prev, payload...)
	for s := max(0, prevLen-15); s+16 <= len(joined); s++ {
		idx, ok := indexAt(joined[s:])
		if !ok || r.seen[idx] {
			continue
		}
		r.seen[idx] = true
		h := heardPacket{index: idx, tick: r.now + time.Duration(s-prevLen)*time.Second/8000, proc: proc}
		if s < prevLen {
			h.tick, h.proc = r.prevTick+time.Duration(s)*time.Second/8000, r.prevProc
		}
		r.heard = append(r.heard, h)
	}
	r.prev = append(r.prev[:0], payload...)
	r.prevTick, r.prevProc = r.now, proc
	return nil
}

// indexAt decodes the index protect wrote, if b starts with one.
func indexAt(b []byte) (int, bool) {
	var idx, chk uint32
	for k := 0; k < 8; k++ {
		if b[k]&0xF0 != 0xE0 || b[8+k]&0xF0 != 0xE0 {
			return 0, false
		}
		idx = idx<<4 | uint32(b[k]&0xF)
		chk = chk<<4 | uint32(b[8+k]&0xF)
	}
	return int(idx), idx == ^chk
}

// WriteNetCondTable prints results as an aligned table (Markdown when md).
func WriteNetCondTable(w io.Writer, rs []NetCondResult, md bool) error {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	us := func(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }
	head := []string{"scenario", "late %", "(jitter alone)", "lost %", "concealed %", "heard", "buffer mean", "buffer p95", "processing mean", "processing p99", "creep", "target"}
	row := func(r NetCondResult) []string {
		return []string{r.Name, fmt.Sprintf("%.2f", r.LatePct), fmt.Sprintf("%.2f", r.JitterOnlyLatePct),
			fmt.Sprintf("%.2f", r.LostPct), fmt.Sprintf("%.2f", r.ConcealedPct), fmt.Sprintf("%d/%d", r.Heard, r.Sent),
			ms(r.BufferMean), ms(r.BufferP95), us(r.ProcMean), us(r.ProcP99), ms(r.Creep), ms(r.TargetDelay)}
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
