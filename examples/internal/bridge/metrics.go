package bridge

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rtpmix/rtpmix/mixer"
)

// The bridge serves GET /metrics in the Prometheus text format, behind the
// API token like every other route (Prometheus sends it with
// "authorization: {credentials_file: ...}" in the scrape config). A
// custom Collector reads the mixer's and the legs' counters at scrape
// time: nothing on the packet path or in the tick knows about Prometheus,
// and the tick-time histogram is the mixer's own cumulative one, exported
// as it is rather than observed again. Series are per room, never per
// participant, so that 10,000 participants do not make 10,000 series per
// metric. Counters of participants that left stay in their room's totals.

// Leg counters, by index into legTotals.v; the mixer's refusal reasons
// follow them.
const (
	cPacketsIn = iota
	cBytesIn
	cPacketsOut
	cBytesOut
	cUnsent
	cGarbage
	cForeign
	cProtectErrors
	cSinkErrors
	cLost
	cLate
	cConcealed
	cFECRecovered
	cRTCPSR
	cRTCPRR
	cRTCPBye
	cRTCPOther
	cRTCPBad
	cRTCPNotMuxed
	cRTCPByeIgnored
	cRTCPSent
	cLatchMoves
	cRefused // first of the mixer's refusal reasons, in mixerReasons' order
)

// mixerReasons are the mixer's refusal reasons, in the order
// RefusedStats.Reasons yields them; the metrics' "reason" label and the
// mixer's logs use the same names.
var mixerReasons = func() []string {
	var names []string
	for name := range (mixer.RefusedStats{}).Reasons() {
		names = append(names, name)
	}
	return names
}()

// legTotals are the counters of one leg, or the sum of several.
type legTotals struct {
	v []uint64
}

func newLegTotals() legTotals { return legTotals{v: make([]uint64, cRefused+len(mixerReasons))} }

// legTotalsOf reads l's counters.
func legTotalsOf(l *leg) legTotals {
	t := newLegTotals()
	st := l.p.Stats()
	v, c := t.v, &l.cnt
	v[cPacketsIn], v[cBytesIn] = st.PacketsIn, st.BytesIn
	v[cPacketsOut], v[cBytesOut], v[cUnsent] = l.out.packets.Load(), l.out.bytes.Load(), c.unsent.Load()
	v[cGarbage], v[cForeign] = c.garbage.Load(), c.foreign.Load()
	v[cProtectErrors], v[cSinkErrors] = st.ProtectErrors, st.SinkErrors
	v[cLost], v[cLate], v[cConcealed], v[cFECRecovered] = st.Jitter.Lost, st.Jitter.Late, st.Concealed, st.FECRecovered
	rc := &st.RTCP
	v[cRTCPSR], v[cRTCPRR], v[cRTCPBye], v[cRTCPOther] = rc.SR, rc.RR, rc.Bye, rc.Other
	v[cRTCPBad], v[cRTCPNotMuxed], v[cRTCPByeIgnored] = c.rtcpBad.Load(), c.rtcpNotMuxed.Load(), rc.ByeIgnored
	v[cRTCPSent], v[cLatchMoves] = c.rtcpSent.Load(), c.latchMoves.Load()
	if l.rtc != nil { // pion's RTCP: the browser's reports
		v[cRTCPSR] += l.rtc.rtcp.sr.Load()
		v[cRTCPRR] += l.rtc.rtcp.rr.Load()
	}
	i := cRefused
	for _, n := range st.Refused.Reasons() {
		v[i] = n
		i++
	}
	return t
}

func (t legTotals) add(o legTotals) {
	for i, n := range o.v {
		t.v[i] += n
	}
}

// atLeast raises every counter of t to o's where o's is higher. A leg's
// counters may still move a little after its totals were folded into its
// room's (packets in flight when it left), so that a room's sum could
// dip by a few; a Prometheus counter must never decrease (a dip reads as
// a reset and makes rate() spike).
func (t legTotals) atLeast(o legTotals) {
	for i, n := range o.v {
		t.v[i] = max(t.v[i], n)
	}
}

// retire folds l's counters into its room's totals and removes it from
// the room, under one lock, so that a scrape counts l either live or
// retired, never both nor neither.
func (r *room) retire(l *leg) {
	var t legTotals
	if l.p != nil {
		t = legTotalsOf(l)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.legs[l.id] == l {
		delete(r.legs, l.id)
	}
	if t.v != nil {
		r.gone.add(t)
	}
}

// totals returns the room's counters: those of the legs that left plus
// those of the legs it has now.
func (r *room) totals() (legTotals, int) {
	r.mu.Lock()
	t := newLegTotals()
	t.add(r.gone)
	legs := make([]*leg, 0, len(r.legs))
	for _, l := range r.legs {
		if l.p != nil {
			legs = append(legs, l)
		}
	}
	r.mu.Unlock()
	for _, l := range legs {
		t.add(legTotalsOf(l))
	}
	return t, len(legs)
}

// collector is the bridge's prometheus.Collector.
type collector struct {
	s *Server

	rooms, participants           *prometheus.Desc
	counters                      [cRefused]*prometheus.Desc
	counterLabel                  [cRefused]string // the second label's value, if any
	refused, srtpFailures         *prometheus.Desc
	tick, overruns, shed          *prometheus.Desc
	eventsDropped, sseDropped     *prometheus.Desc
	httpOpen, httpAccepted        *prometheus.Desc
	httpShed, httpRefused, events *prometheus.Desc

	// last is what each room reported last, for atLeast.
	mu   sync.Mutex
	last map[*room]legTotals
}

func newCollector(s *Server) *collector {
	c := &collector{s: s, last: map[*room]legTotals{}}
	roomLabel := []string{"room"}
	c.rooms = prometheus.NewDesc("rtpmix_rooms", "Rooms open.", nil, nil)
	c.participants = prometheus.NewDesc("rtpmix_participants", "Participants in the room.", roomLabel, nil)
	byName := map[string]*prometheus.Desc{}
	// counter describes counter i; with label, it is one value (label[1])
	// of a label (label[0]) of a metric that other counters share.
	counter := func(i int, name, help string, label ...string) {
		var labels []string
		if len(label) == 2 {
			labels = []string{label[0]}
			c.counterLabel[i] = label[1]
		}
		if byName[name] == nil {
			byName[name] = prometheus.NewDesc(name, help, append(roomLabel, labels...), nil)
		}
		c.counters[i] = byName[name]
	}
	counter(cPacketsIn, "rtpmix_packets_received_total", "RTP packets accepted into the jitter buffers.")
	counter(cBytesIn, "rtpmix_received_bytes_total", "Bytes of the RTP packets accepted.")
	counter(cPacketsOut, "rtpmix_packets_sent_total", "RTP packets sent to participants.")
	counter(cBytesOut, "rtpmix_sent_bytes_total", "Bytes of the RTP packets sent.")
	counter(cUnsent, "rtpmix_packets_unsent_total", "Mixed packets not sent because the participant had not yet proven its address.")
	counter(cProtectErrors, "rtpmix_srtp_failures_total",
		"SRTP failures: inbound packets that failed authentication, were replays or malformed, and outbound packets that could not be protected.",
		"reason", "protect")
	counter(cSinkErrors, "rtpmix_send_errors_total", "Outbound packets the socket refused.")
	counter(cLost, "rtpmix_jitter_lost_packets_total", "Packets the jitter buffers never received in time.")
	counter(cLate, "rtpmix_jitter_late_packets_total", "Packets that arrived after their playout time.")
	counter(cConcealed, "rtpmix_concealed_frames_total", "Frames concealed (PLC) for lost packets.")
	counter(cFECRecovered, "rtpmix_fec_recovered_frames_total", "Frames recovered from Opus in-band FEC.")
	counter(cRTCPSR, "rtpmix_rtcp_reports_received_total", "RTCP packets received, by type.", "type", "sr")
	counter(cRTCPRR, "rtpmix_rtcp_reports_received_total", "RTCP packets received, by type.", "type", "rr")
	counter(cRTCPBye, "rtpmix_rtcp_reports_received_total", "RTCP packets received, by type.", "type", "bye")
	counter(cRTCPOther, "rtpmix_rtcp_reports_received_total", "RTCP packets received, by type.", "type", "other")
	counter(cRTCPBad, "rtpmix_rtcp_refused_total", "RTCP datagrams refused, by reason.", "reason", "bad")
	counter(cRTCPNotMuxed, "rtpmix_rtcp_refused_total", "RTCP datagrams refused, by reason.", "reason", "not_muxed")
	counter(cRTCPByeIgnored, "rtpmix_rtcp_refused_total", "RTCP datagrams refused, by reason.", "reason", "bye_ignored")
	counter(cRTCPSent, "rtpmix_rtcp_reports_sent_total", "RTCP reports sent.")
	counter(cLatchMoves, "rtpmix_latch_moves_total", "Times an SRTP participant's source address moved after a packet from the new one authenticated.")
	// Garbage and foreign datagrams are refused RTP like the mixer's
	// reasons: one metric, reason label.
	c.refused = prometheus.NewDesc("rtpmix_packets_refused_total",
		"Inbound RTP datagrams refused, by reason: the mixer's (srtp_auth, payload_type, late...) and the bridge's (garbage: not RTP, foreign: from an address the participant has not proven).",
		[]string{"room", "reason"}, nil)
	c.srtpFailures = c.counters[cProtectErrors]
	c.tick = prometheus.NewDesc("rtpmix_tick_seconds", "Time each mixing tick's work took.", roomLabel, nil)
	c.overruns = prometheus.NewDesc("rtpmix_tick_overruns_total", "Ticks over budget, plus ticks skipped after a stall.", roomLabel, nil)
	c.shed = prometheus.NewDesc("rtpmix_speakers_shed", "Speakers the overload control has taken away (0: full service).", roomLabel, nil)
	c.eventsDropped = prometheus.NewDesc("rtpmix_events_dropped_total", "Mixer events dropped because the bridge's reader was behind.", roomLabel, nil)
	c.sseDropped = prometheus.NewDesc("rtpmix_sse_events_dropped_total", "Events not delivered to event-stream clients that fell behind.", roomLabel, nil)
	c.httpOpen = prometheus.NewDesc("rtpmix_http_connections", "Open API connections.", nil, nil)
	c.httpAccepted = prometheus.NewDesc("rtpmix_http_connections_accepted_total", "API connections accepted.", nil, nil)
	c.httpShed = prometheus.NewDesc("rtpmix_http_connections_shed_total", "Open API connections closed at the connection cap to make room for a new one.", nil, nil)
	c.httpRefused = prometheus.NewDesc("rtpmix_http_connections_refused_total", "New API connections closed at the connection cap because every other one was busy.", nil, nil)
	c.events = prometheus.NewDesc("rtpmix_http_event_streams", "Open event streams.", nil, nil)
	return c
}

// Describe sends every descriptor (the metrics are fixed).
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	seen := map[*prometheus.Desc]bool{}
	for _, d := range c.counters {
		if d != nil && !seen[d] {
			seen[d] = true
			ch <- d
		}
	}
	for _, d := range []*prometheus.Desc{c.rooms, c.participants, c.refused, c.tick, c.overruns, c.shed,
		c.eventsDropped, c.sseDropped, c.httpOpen, c.httpAccepted, c.httpShed, c.httpRefused, c.events} {
		ch <- d
	}
}

// Collect reads the counters now.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	rooms := c.s.roomList()
	ch <- prometheus.MustNewConstMetric(c.rooms, prometheus.GaugeValue, float64(len(rooms)))
	cs := c.s.conns.stats()
	ch <- prometheus.MustNewConstMetric(c.httpOpen, prometheus.GaugeValue, float64(cs.Open))
	ch <- prometheus.MustNewConstMetric(c.httpAccepted, prometheus.CounterValue, float64(cs.Accepted))
	ch <- prometheus.MustNewConstMetric(c.httpShed, prometheus.CounterValue, float64(cs.Shed))
	ch <- prometheus.MustNewConstMetric(c.httpRefused, prometheus.CounterValue, float64(cs.Refused))
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(c.s.streams.Load()))

	for _, r := range rooms {
		t, n := r.totals()
		c.collectRoom(ch, r, t, n)
	}
}

// collectRoom sends one room's metrics.
func (c *collector) collectRoom(ch chan<- prometheus.Metric, r *room, t legTotals, participants int) {
	c.mu.Lock()
	if prev, ok := c.last[r]; ok {
		t.atLeast(prev)
	}
	c.last[r] = t
	c.mu.Unlock()

	name := r.name
	ch <- prometheus.MustNewConstMetric(c.participants, prometheus.GaugeValue, float64(participants), name)
	for i, d := range c.counters {
		if d == nil {
			continue // garbage and foreign: under rtpmix_packets_refused_total
		}
		labels := []string{name}
		if c.counterLabel[i] != "" {
			labels = append(labels, c.counterLabel[i])
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(t.v[i]), labels...)
	}
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(t.v[cGarbage]), name, "garbage")
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(t.v[cForeign]), name, "foreign")
	for i, reason := range mixerReasons {
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(t.v[cRefused+i]), name, reason)
	}
	// SRTP failures inbound are the mixer's srtp_* refusals.
	for i, reason := range mixerReasons {
		if r, ok := srtpReason(reason); ok {
			ch <- prometheus.MustNewConstMetric(c.srtpFailures, prometheus.CounterValue, float64(t.v[cRefused+i]), name, r)
		}
	}

	st := r.conf.Stats()
	h := st.Timing.Histogram
	bounds := mixer.TickBucketBounds()
	cum := h.Cumulative()
	buckets := make(map[float64]uint64, len(bounds))
	for i, b := range bounds {
		buckets[b.Seconds()] = cum[i]
	}
	ch <- prometheus.MustNewConstHistogram(c.tick, h.Count, h.Sum.Seconds(), buckets, name)
	ch <- prometheus.MustNewConstMetric(c.overruns, prometheus.CounterValue, float64(st.Overruns), name)
	ch <- prometheus.MustNewConstMetric(c.shed, prometheus.GaugeValue, float64(st.Degraded), name)
	ch <- prometheus.MustNewConstMetric(c.eventsDropped, prometheus.CounterValue, float64(st.EventsDropped), name)
	ch <- prometheus.MustNewConstMetric(c.sseDropped, prometheus.CounterValue, float64(r.sseDropped.Load()), name)
}

// srtpReason maps the mixer's SRTP refusal reasons to the srtp failure
// metric's: srtp_auth → auth.
func srtpReason(reason string) (string, bool) {
	const prefix = "srtp_"
	if len(reason) > len(prefix) && reason[:len(prefix)] == prefix {
		return reason[len(prefix):], true
	}
	return "", false
}

// forget drops a closed room's last values.
func (c *collector) forget(r *room) {
	c.mu.Lock()
	delete(c.last, r)
	c.mu.Unlock()
}

// metricsHandler is GET /metrics: the bridge's collector, and the Go
// runtime's and the process's, on a registry of the Server's own (several
// Servers in one process, as in tests, do not collide).
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	s.metrics = newCollector(s)
	reg.MustRegister(s.metrics, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
