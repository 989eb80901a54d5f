package mixer

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultLogInterval is the default ConferenceConfig.LogInterval: the least
// time between two warnings of the same kind.
const DefaultLogInterval = 10 * time.Second

// The keys of the mixer's log records, documented in doc.go ("Logging").
// Exporters and log queries rely on them: keep them stable.
const (
	logKeyConference  = "conference"
	logKeyParticipant = "participant"
	logKeyEvent       = "event"
	logKeyReason      = "reason"
	logKeyDetail      = "detail"
	logKeyCount       = "count"
	logKeyTotal       = "total"
	logKeyErr         = "err"
	logKeyLevel       = "level_dbov"
	logKeyInterval    = "interval"
)

// reasonClosed is the Left reason of participants a Close removed.
const reasonClosed = "conference closed"

// logLinesPerPass bounds the per-participant warnings one pass writes, so
// that a room where everyone's traffic is refused costs the tick a bounded
// amount of logging; the rest stay due and go out with the next passes.
const logLinesPerPass = 32

// maxLogPass is the longest time between two passes over the counters:
// the first refusal of a kind is reported within it.
const maxLogPass = time.Second

// eventBurst is how many events of one type at Warn level or above are
// logged per LogInterval; the rest are counted and summarised.
const eventBurst = 10

var logCtx = context.Background()

// refusalNames names each refusal in logs ("reason") and in
// RefusedStats.Reasons. They are snake_case versions of the RefusedStats
// fields.
var refusalNames = [numRefusals]string{
	refShort:         "short",
	refVersion:       "version",
	refPadding:       "padding",
	refPayloadType:   "payload_type",
	refSRTPAuth:      "srtp_auth",
	refSRTPReplay:    "srtp_replay",
	refSRTPMalformed: "srtp_malformed",
	refLate:          "late",
	refDuplicate:     "duplicate",
	refFull:          "full",
	refTooLarge:      "too_large",
	refEvent:         "telephone_event",
}

// refusalLevel is how loud a refusal is logged: late and duplicate packets
// are network weather (reordering, retransmitting middleboxes), the rest
// mean a misconfigured or hostile sender.
func refusalLevel(r refusal) slog.Level {
	switch r {
	case refLate, refDuplicate:
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// Reasons yields each refusal reason with its count, in a fixed order,
// under the names the mixer's logs use for "reason" (snake_case versions
// of the field names: "srtp_auth", "payload_type"...), so that exporters
// can label counters the same way. Reasons with a zero count are yielded
// too.
func (r RefusedStats) Reasons() iter.Seq2[string, uint64] {
	n := r.byRefusal()
	return func(yield func(string, uint64) bool) {
		for i := accepted + 1; i < numRefusals; i++ {
			if !yield(refusalNames[i], n[i]) {
				return
			}
		}
	}
}

// byRefusal is the inverse of inbound.stats' mapping.
func (r RefusedStats) byRefusal() [numRefusals]uint64 {
	var n [numRefusals]uint64
	n[refShort], n[refVersion], n[refPadding] = r.Short, r.Version, r.Padding
	n[refPayloadType] = r.PayloadType
	n[refSRTPAuth], n[refSRTPReplay], n[refSRTPMalformed] = r.SRTPAuth, r.SRTPReplay, r.SRTPMalformed
	n[refLate], n[refDuplicate], n[refFull], n[refTooLarge] = r.Late, r.Duplicate, r.Full, r.TooLarge
	n[refEvent] = r.TelephoneEvent
	return n
}

// The media errors a participant's log reports, beside its refusals.
const (
	failDecode = iota
	failEncode
	failProtect
	failSink
	failSinkDropped
	numFailures
)

var failureNames = [numFailures]string{
	failDecode: "decode", failEncode: "encode", failProtect: "protect", failSink: "sink",
	failSinkDropped: "sink_dropped",
}

// counterLog rate-limits the reports of one ever-growing counter: a report
// says how much it grew since the last one, and comes at most once per
// interval.
type counterLog struct {
	last uint64        // the total the last report covered
	next time.Duration // no report before
}

// due says by how much total grew since the last report, if it did and a
// report is allowed at now; the caller then reports and calls done.
func (cl *counterLog) due(now time.Duration, total uint64) (uint64, bool) {
	if total <= cl.last || now < cl.next {
		return 0, false
	}
	return total - cl.last, true
}

func (cl *counterLog) done(now time.Duration, total uint64, interval time.Duration) {
	cl.last, cl.next = total, now+interval
}

// confLog is a conference's logging: the logger (nil when the conference
// does not log) and the state of its rate-limited warnings. The tick owns
// everything but events, which emit uses from whichever goroutine emits.
type confLog struct {
	l        *slog.Logger // with the conference's name attached
	interval time.Duration
	pass     time.Duration // how often the tick looks at the counters

	nextPass      time.Duration
	passed        bool // nextPass is set
	overruns      counterLog
	eventsDropped counterLog
	suppressed    counterLog

	events *eventLimiter // allocated only for a conference that logs
}

// participantLog is the tick's record of what it last reported about one
// participant's counters. It exists only when the conference logs.
type participantLog struct {
	refused  [numRefusals]counterLog
	failures [numFailures]counterLog
}

func (lg *confLog) init(cfg ConferenceConfig) {
	if cfg.Logger == nil {
		return
	}
	lg.l = cfg.Logger.With(slog.String(logKeyConference, cfg.Name))
	lg.events = new(eventLimiter)
	lg.interval = cfg.LogInterval
	lg.pass = min(cfg.LogInterval, maxLogPass)
	rate := any(cfg.SampleRate)
	if cfg.SampleRate == 0 {
		rate = "auto"
	}
	lg.l.Info("conference created", "sample_rate", rate, "ptime", cfg.Ptime, "max_speakers", cfg.MaxSpeakers,
		"silence", cfg.Silence.String())
}

func (lg *confLog) newParticipantLog() *participantLog {
	if lg.l == nil {
		return nil
	}
	return new(participantLog)
}

// logPass runs after a tick of a conference that logs. Every pass period
// it compares the counters that warnings report with what it reported
// last, and reports those that grew and whose interval is over. It reads
// only atomics the packet path and the tick already keep: nothing on the
// packet path knows that logging exists, and a pass that logs nothing
// allocates nothing.
func (c *Conference) logPass(now time.Duration) {
	lg := &c.log
	if lg.passed && now < lg.nextPass {
		return
	}
	lg.passed, lg.nextPass = true, now+lg.pass
	c.logConference(now)
	budget := logLinesPerPass
	for _, p := range c.parts {
		if budget <= 0 {
			break
		}
		if p.logs != nil {
			budget -= c.logParticipant(p, now, budget)
		}
	}
}

// logConference reports the conference's own warnings.
func (c *Conference) logConference(now time.Duration) {
	lg := &c.log
	total := c.overruns.Load()
	if n, ok := lg.overruns.due(now, total); ok {
		lg.overruns.done(now, total, lg.interval)
		if lg.l.Enabled(logCtx, slog.LevelWarn) {
			lg.l.LogAttrs(logCtx, slog.LevelWarn, "ticks over budget",
				slog.Uint64(logKeyCount, n), slog.Uint64(logKeyTotal, total),
				slog.Duration("budget", time.Duration(float64(c.cfg.Ptime)*c.cfg.OverloadShare)),
				slog.Duration("p99", c.timing.quantile(0.99)),
				slog.Int("speakers_shed", c.degrade))
		}
	}
	total = c.eventsDropped.Load()
	if n, ok := lg.eventsDropped.due(now, total); ok {
		lg.eventsDropped.done(now, total, lg.interval)
		if lg.l.Enabled(logCtx, slog.LevelWarn) {
			lg.l.LogAttrs(logCtx, slog.LevelWarn, "events dropped: the Events reader is behind",
				slog.Uint64(logKeyCount, n), slog.Uint64(logKeyTotal, total))
		}
	}
	total = lg.events.suppressed.Load()
	if n, ok := lg.suppressed.due(now, total); ok {
		lg.suppressed.done(now, total, lg.interval)
		if lg.l.Enabled(logCtx, slog.LevelWarn) {
			lg.l.LogAttrs(logCtx, slog.LevelWarn, "events not logged: too many of one type",
				slog.Uint64(logKeyCount, n), slog.Uint64(logKeyTotal, total),
				slog.Int("per_type", eventBurst), slog.Duration(logKeyInterval, lg.interval))
		}
	}
}

// logParticipant reports p's refused packets and media errors, at most
// budget lines, and returns how many it wrote.
func (c *Conference) logParticipant(p *Participant, now time.Duration, budget int) int {
	lg, pl := &c.log, p.logs
	lines := 0
	for r := accepted + 1; r < numRefusals && lines < budget; r++ {
		total := p.in.refused[r].Load()
		n, ok := pl.refused[r].due(now, total)
		if !ok {
			continue
		}
		pl.refused[r].done(now, total, lg.interval)
		if lv := refusalLevel(r); lg.l.Enabled(logCtx, lv) {
			lines++
			lg.l.LogAttrs(logCtx, lv, "inbound packets refused",
				slog.String(logKeyParticipant, p.id), slog.String(logKeyReason, refusalNames[r]),
				slog.Uint64(logKeyCount, n), slog.Uint64(logKeyTotal, total),
				slog.Any(logKeyErr, refusalErr[r]))
		}
	}
	for f := range numFailures {
		if lines >= budget {
			break
		}
		total := p.failures(f)
		n, ok := pl.failures[f].due(now, total)
		if !ok {
			continue
		}
		pl.failures[f].done(now, total, lg.interval)
		if lg.l.Enabled(logCtx, slog.LevelWarn) {
			lines++
			lg.l.LogAttrs(logCtx, slog.LevelWarn, "media errors",
				slog.String(logKeyParticipant, p.id), slog.String(logKeyReason, failureNames[f]),
				slog.Uint64(logKeyCount, n), slog.Uint64(logKeyTotal, total))
		}
	}
	return lines
}

// failures returns the counter of media error f.
func (p *Participant) failures(f int) uint64 {
	switch f {
	case failDecode:
		return p.dq.decodeErrors.Load()
	case failEncode:
		return p.out.encodeErrors.Load()
	case failProtect:
		return p.out.protectErrors.Load()
	case failSinkDropped:
		return p.out.sinkDropped.Load()
	}
	return p.out.dl.rtp.sinkErrors.Load()
}

// eventLevel is the level an event is logged at. Types this switch does
// not know (added after it) are warnings: the mixer adds event types for
// things that went wrong.
func eventLevel(t EventType) slog.Level {
	switch t {
	case TalkingStarted, TalkingStopped:
		return slog.LevelDebug
	case Joined, Left, Recovered, Updated, ByeReceived, SinkRecovered, DTMFBegan, DTMFEnded:
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

// eventMessage is the log message of an event.
func eventMessage(t EventType) string {
	switch t {
	case Joined:
		return "participant joined"
	case Left:
		return "participant left"
	case TalkingStarted:
		return "talking started"
	case TalkingStopped:
		return "talking stopped"
	case Overloaded:
		return "conference overloaded: shedding speakers"
	case Recovered:
		return "conference recovered"
	case Updated:
		return "participant updated"
	case ByeReceived:
		return "participant sent an RTCP BYE"
	case SinkStalled:
		return "sink stalled: participant delivered on a goroutine of its own"
	case SinkRecovered:
		return "sink recovered: participant back on the shared delivery"
	case DTMFBegan:
		return "DTMF digit began"
	case DTMFEnded:
		return "DTMF digit ended"
	}
	return "conference event"
}

// logEvent logs e; emit calls it, from whichever goroutine emits, for a
// conference that logs. Every event type is logged, under "event" (its
// String), so that types added later are covered. Warnings are limited to
// eventBurst per type and interval.
func (c *Conference) logEvent(e Event) {
	lg := &c.log
	lv := eventLevel(e.Type)
	if !lg.l.Enabled(logCtx, lv) {
		return
	}
	// The conference clock, not e.At: events may come from other
	// goroutines than the tick's.
	if lv >= slog.LevelWarn && !lg.events.allow(e.Type, c.cfg.Clock(), lg.interval) {
		return
	}
	var attrs [8]slog.Attr
	a := append(attrs[:0], slog.String(logKeyEvent, e.Type.String()))
	if e.Participant != "" {
		a = append(a, slog.String(logKeyParticipant, e.Participant))
	}
	if e.Type == TalkingStarted || e.Type == TalkingStopped {
		a = append(a, slog.Int(logKeyLevel, e.Level))
	}
	if e.Type == DTMFBegan || e.Type == DTMFEnded {
		a = dtmfLogAttrs(a, e)
	}
	if e.Detail != "" {
		key := logKeyDetail
		if e.Type == Left {
			key = logKeyReason
		}
		a = append(a, slog.String(key, e.Detail))
	}
	lg.l.LogAttrs(logCtx, lv, eventMessage(e.Type), a...)
}

// eventLimiter lets at most eventBurst events of each type through per
// interval, from any goroutine, and counts the rest.
type eventLimiter struct {
	mu         sync.Mutex
	windows    [eventSlots]eventWindow
	suppressed atomic.Uint64
}

type eventWindow struct {
	end time.Duration
	n   int
}

// eventSlots bounds the types tracked apart; later types share the last
// slot.
const eventSlots = 16

func (el *eventLimiter) allow(t EventType, at, interval time.Duration) bool {
	i := min(max(int(t), 0), eventSlots-1)
	el.mu.Lock()
	defer el.mu.Unlock()
	w := &el.windows[i]
	if at >= w.end || w.n == 0 {
		w.end, w.n = at+interval, 0
	}
	if w.n >= eventBurst {
		el.suppressed.Add(1)
		return false
	}
	w.n++
	return true
}

// describe is a participant's configuration in a few words, for its Joined
// event: formats, payload types, SRTP and role.
func describe(cfg ParticipantConfig) string {
	in, _ := cfg.InPayloadType.Value()
	out, _ := cfg.OutPayloadType.Value()
	s := fmt.Sprintf("in %s pt %d, out %s pt %d", cfg.In.SDPName(), in, cfg.Out.SDPName(), out)
	switch {
	case cfg.InSRTP != nil && cfg.OutSRTP != nil:
		s += ", srtp"
	case cfg.InSRTP != nil:
		s += ", srtp in"
	case cfg.OutSRTP != nil:
		s += ", srtp out"
	}
	if cfg.ListenOnly {
		s += ", listen-only"
	}
	if !cfg.Direction.Send() {
		s += ", " + cfg.Direction.String() // on hold: sent nothing
	}
	if cfg.Muted {
		s += ", muted"
	}
	if cfg.Deaf {
		s += ", deaf"
	}
	return s
}
