package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// Report is what a run measured. The send rate is per second of the send
// window, the receive rate the sum over legs of each one's packets per
// second between its first and last arrival; loss and jitter are RFC 3550 figures of each receiving leg (jitter
// percentiles are over legs).
type Report struct {
	Bridge      string         `json:"bridge"`
	InProcess   bool           `json:"bridge_inprocess"`
	Rooms       int            `json:"rooms"`
	Codecs      map[string]int `json:"codecs"`
	Talkers     int            `json:"talkers"`
	Silent      int            `json:"silent_senders"`
	ListenOnly  int            `json:"listen_only"`
	SRTP        bool           `json:"srtp"`
	AudioLevels bool           `json:"audio_levels"`
	SendSeconds float64        `json:"send_s"`
	SetupMs     float64        `json:"setup_ms"`
	JoinP50Ms   float64        `json:"join_p50_ms"`
	JoinP99Ms   float64        `json:"join_p99_ms"`
	Rows        []Row          `json:"rows"`
	// BridgeDelta is GET /stats after the run less before it (packets
	// and drops; rooms and participants are as after).
	BridgeDelta BridgeStats `json:"bridge_stats"`
}

// Row aggregates the legs of one codec, or of all ("all").
type Row struct {
	Name       string  `json:"name"`
	Legs       int     `json:"legs"`
	Sent       uint64  `json:"sent"`
	SentPPS    float64 `json:"sent_pps"`
	SendErrors uint64  `json:"send_errors"`
	// Skipped frames: the generator stalled for more than 100 ms and let
	// their time pass rather than send a burst (it was overloaded).
	Skipped     uint64  `json:"skipped"`
	Received    uint64  `json:"received"`
	RecvPPS     float64 `json:"recv_pps"`
	Expected    uint64  `json:"expected"`
	Lost        int64   `json:"lost"`
	LossPct     float64 `json:"loss_pct"`
	JitterP50Ms float64 `json:"jitter_p50_ms"`
	JitterP99Ms float64 `json:"jitter_p99_ms"`
	JitterMaxMs float64 `json:"jitter_max_ms"`
	Dropped     uint64  `json:"dropped"` // not RTP for the leg (garbage, SRTP failures, wrong PT)
	RTCP        uint64  `json:"rtcp"`    // RTCP received on the muxed port
	RTCPSent    int     `json:"rtcp_sent"`
	Deaf        int     `json:"legs_without_audio"`
}

func buildReport(cfg Config, parts []*participant, sent, setup time.Duration, before, after BridgeStats) *Report {
	r := &Report{Bridge: cfg.BridgeURL, Rooms: cfg.Rooms, Codecs: map[string]int{}, Talkers: cfg.Talkers,
		ListenOnly: cfg.ListenOnly, Silent: cfg.Participants - cfg.Talkers - cfg.ListenOnly,
		SRTP: cfg.SRTP, AudioLevels: cfg.AudioLevels, SendSeconds: sent.Seconds(),
		SetupMs: float64(setup.Microseconds()) / 1000}
	joins := make([]float64, len(parts))
	for i, p := range parts {
		joins[i] = float64(p.joinTime.Microseconds()) / 1000
		r.Codecs[cfg.Codecs[p.codec].Name]++
	}
	r.JoinP50Ms, r.JoinP99Ms = percentile(joins, 50), percentile(joins, 99)
	for _, c := range cfg.Codecs {
		if r.Codecs[c.Name] == 0 {
			continue
		}
		r.Rows = append(r.Rows, row(c.Name, parts, sent, func(p *participant) bool { return cfg.Codecs[p.codec].Name == c.Name }))
	}
	r.Rows = append(r.Rows, row("all", parts, sent, func(*participant) bool { return true }))
	r.BridgeDelta = after
	r.BridgeDelta.PacketsIn -= min(before.PacketsIn, after.PacketsIn)
	r.BridgeDelta.PacketsOut -= min(before.PacketsOut, after.PacketsOut)
	r.BridgeDelta.Dropped -= min(before.Dropped, after.Dropped)
	return r
}

func row(name string, parts []*participant, sent time.Duration, in func(*participant) bool) Row {
	w := Row{Name: name}
	var jit []float64
	var recvPPS float64
	for _, p := range parts {
		if !in(p) {
			continue
		}
		w.Legs++
		if p.snd != nil {
			s := p.snd.Stats()
			w.Sent += s.Packets
			w.SendErrors += s.Errors
			w.Skipped += s.Skipped
		}
		w.RTCPSent += p.rtcpSent
		s := p.rcv.Stats()
		w.Received += s.Packets
		w.Expected += s.Expected
		w.Lost += s.Lost
		w.Dropped += s.Dropped() - s.RTCP
		w.RTCP += s.RTCP
		if s.Packets == 0 {
			w.Deaf++
			continue
		}
		jit = append(jit, float64(s.Jitter.Microseconds())/1000)
		// Each leg's rate over its own first-to-last arrival: the bridge
		// starts sending at the join, before the run's clock starts.
		if span := s.Last.Sub(s.First).Seconds(); s.Packets > 1 && span > 0 {
			recvPPS += float64(s.Packets-1) / span
		}
	}
	w.RecvPPS = recvPPS
	if secs := sent.Seconds(); secs > 0 {
		w.SentPPS = float64(w.Sent) / secs
	}
	if w.Expected > 0 {
		w.LossPct = 100 * float64(w.Lost) / float64(w.Expected)
	}
	w.JitterP50Ms, w.JitterP99Ms, w.JitterMaxMs = percentile(jit, 50), percentile(jit, 99), percentile(jit, 100)
	return w
}

// percentile by the nearest-rank method; 0 for no values.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(k, 0), len(s)-1)]
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) {
	where := r.Bridge
	if r.InProcess {
		where += " (in-process)"
	}
	var codecs []string
	for _, row := range r.Rows {
		if row.Name != "all" {
			codecs = append(codecs, fmt.Sprintf("%s %d", row.Name, r.Codecs[row.Name]))
		}
	}
	srtp := "off"
	if r.SRTP {
		srtp = "AES_CM_128_HMAC_SHA1_80"
	}
	fmt.Fprintf(w, "loadgen → %s: %d participants in %d room(s), %.1f s of media\n", where, r.Rows[len(r.Rows)-1].Legs, r.Rooms, r.SendSeconds)
	fmt.Fprintf(w, "  codecs %s; %d talkers, %d silent senders, %d listen-only; SRTP %s; RFC 6464 levels %v\n",
		strings.Join(codecs, ", "), r.Talkers, r.Silent, r.ListenOnly, srtp, r.AudioLevels)
	fmt.Fprintf(w, "  joins took %.0f ms (per request p50 %.1f ms, p99 %.1f ms)\n\n", r.SetupMs, r.JoinP50Ms, r.JoinP99Ms)
	fmt.Fprintf(w, "%-6s %5s %10s %10s %10s %10s %8s %7s %10s %10s %10s %8s %s\n",
		"codec", "legs", "sent", "sent/s", "received", "recv/s", "lost", "loss %", "jit p50 ms", "jit p99 ms", "jit max ms", "dropped", "rtcp in/out")
	for _, x := range r.Rows {
		fmt.Fprintf(w, "%-6s %5d %10d %10.0f %10d %10.0f %8d %7.3f %10.2f %10.2f %10.2f %8d %5d/%d\n",
			x.Name, x.Legs, x.Sent, x.SentPPS, x.Received, x.RecvPPS, x.Lost, x.LossPct,
			x.JitterP50Ms, x.JitterP99Ms, x.JitterMaxMs, x.Dropped, x.RTCP, x.RTCPSent)
	}
	all := r.Rows[len(r.Rows)-1]
	if all.SendErrors > 0 || all.Deaf > 0 || all.Skipped > 0 {
		fmt.Fprintf(w, "  send errors %d; frames skipped by generator stalls %d; legs that received nothing %d\n",
			all.SendErrors, all.Skipped, all.Deaf)
	}
	b := r.BridgeDelta
	fmt.Fprintf(w, "\nbridge GET /stats: %d room(s), %d participants; during the run: packets in %d, out %d, dropped (garbage/foreign) %d\n",
		b.Rooms, b.Participants, b.PacketsIn, b.PacketsOut, b.Dropped)
	fmt.Fprintf(w, "%-20s %12s %12s %12s %9s\n", "room", "participants", "tick p50 µs", "tick p99 µs", "overruns")
	for _, t := range b.PerRoom {
		fmt.Fprintf(w, "%-20s %12d %12d %12d %9d\n", t.Name, t.Participants, t.TickP50us, t.TickP99us, t.Overruns)
	}
}
