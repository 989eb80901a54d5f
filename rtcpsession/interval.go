package rtcpsession

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// DefaultMinInterval is RFC 3550's minimum interval between reports
// (§6.2): 5 s.
const DefaultMinInterval = 5 * time.Second

// IntervalConfig configures the RTCP report interval (RFC 3550 §6.2,
// §6.3, A.7).
type IntervalConfig struct {
	// Min is the minimum interval Tmin (default DefaultMinInterval); the
	// first report uses half of it.
	Min time.Duration
	// ReducedMinimum uses RFC 3550 §6.2's reduced minimum, 360 s divided
	// by the session bandwidth in kbit/s, when that is smaller than Min
	// (above 72 kbit/s for the default). It needs Bandwidth.
	ReducedMinimum bool
	// Bandwidth is the session bandwidth in bit/s (e.g. from SDP b=AS),
	// of which RTCP takes 5 %, a quarter of that for senders when they
	// are few (§6.2). 0 means unknown: the interval is then the minimum,
	// which it is anyway for a two-party audio session.
	Bandwidth int
}

func (c IntervalConfig) withDefaults() (IntervalConfig, error) {
	if c.Min == 0 {
		c.Min = DefaultMinInterval
	}
	switch {
	case c.Min < 0:
		return c, fmt.Errorf("%w: minimum interval %v", ErrConfig, c.Min)
	case c.Bandwidth < 0:
		return c, fmt.Errorf("%w: bandwidth %d bit/s", ErrConfig, c.Bandwidth)
	case c.ReducedMinimum && c.Bandwidth == 0:
		return c, fmt.Errorf("%w: the reduced minimum needs the session bandwidth", ErrConfig)
	}
	return c, nil
}

// udpIPOverhead is what UDP and IPv4 add to each RTCP packet; RFC 3550
// A.7's average size includes it.
const udpIPOverhead = 28

// compensation is e − 3/2: A.7 divides the randomised interval by it,
// because timer reconsideration (which Due does) otherwise settles below
// the intended bandwidth.
const compensation = math.E - 1.5

// Scheduler decides when to send the next report: RFC 3550 §6.3's
// randomised interval (0.5 to 1.5 times the deterministic one, divided
// by e − 3/2) with timer reconsideration at expiry, as A.7's
// rtcp_interval and §6.3.6 compute it. Reports average about one per
// IntervalConfig.Min for a two-party session.
//
// The zero value is not usable: make one with NewScheduler. Concurrency:
// a Scheduler is not safe for concurrent use; it belongs to the goroutine
// that sends reports.
type Scheduler struct {
	cfg     IntervalConfig
	tmin    float64 // seconds
	rtcpBW  float64 // octets per second, 0: unknown
	tp, tn  time.Duration
	initial bool
	started bool
	avgSize float64 // RTCP packet size with UDP/IP, averaged (A.7)
	rnd     func() float64
}

// NewScheduler returns a Scheduler for cfg; Start arms it. An error
// matches ErrConfig.
func NewScheduler(cfg IntervalConfig) (Scheduler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Scheduler{}, err
	}
	s := Scheduler{cfg: cfg, initial: true, rnd: rand.Float64}
	s.tmin = cfg.Min.Seconds()
	if cfg.Bandwidth > 0 {
		s.rtcpBW = 0.05 * float64(cfg.Bandwidth) / 8
		if cfg.ReducedMinimum {
			s.tmin = min(s.tmin, 360/(float64(cfg.Bandwidth)/1000))
		}
	}
	// "the probable size of the first RTCP packet": an SR with one block
	// and an SDES with a CNAME of some twenty bytes.
	s.avgSize = 28 + 24 + 32 + udpIPOverhead
	return s, nil
}

// Start arms the first report at now plus the initial interval (half the
// minimum, randomised) for a session of members participants, senders of
// them sending.
func (s *Scheduler) Start(now time.Duration, members, senders int, weSent bool) {
	s.tp, s.started, s.initial = now, true, true
	s.tn = now + s.interval(members, senders, weSent)
}

// Started reports whether Start has been called.
func (s *Scheduler) Started() bool { return s.started }

// Next returns when the next report is due (before reconsideration).
func (s *Scheduler) Next() time.Duration { return s.tn }

// Due reports whether a report should go out at now. Before the timer
// expires it is one comparison. At expiry it reconsiders (§6.3.6): it
// draws a new interval from the last report's time and either says the
// report is due or moves the timer on. The caller that sends a report
// then calls Sent.
func (s *Scheduler) Due(now time.Duration, members, senders int, weSent bool) bool {
	if !s.started || now < s.tn {
		return false
	}
	tn := s.tp + s.interval(members, senders, weSent)
	if tn <= now {
		return true
	}
	s.tn = tn
	return false
}

// Sent records a report of size bytes (RTCP, without UDP/IP) sent at now
// and schedules the next.
func (s *Scheduler) Sent(now time.Duration, size int, members, senders int, weSent bool) {
	s.observe(size)
	s.tp, s.initial = now, false
	s.tn = now + s.interval(members, senders, weSent)
}

// Received records an RTCP packet of size bytes received, for the
// average packet size.
func (s *Scheduler) Received(size int) { s.observe(size) }

func (s *Scheduler) observe(size int) {
	s.avgSize += (float64(size+udpIPOverhead) - s.avgSize) / 16
}

// interval is A.7's rtcp_interval, randomised.
func (s *Scheduler) interval(members, senders int, weSent bool) time.Duration {
	tmin := s.tmin
	if s.initial {
		tmin /= 2
	}
	t := tmin
	if s.rtcpBW > 0 {
		members = max(members, 1)
		senders = max(senders, 0)
		bw, n := s.rtcpBW, float64(members)
		if float64(senders) <= float64(members)*0.25 {
			if weSent {
				bw, n = bw*0.25, float64(senders)
			} else {
				bw, n = bw*0.75, float64(members-senders)
			}
		}
		t = max(s.avgSize*max(n, 1)/bw, tmin)
	}
	t = t * (s.rnd() + 0.5) / compensation
	return time.Duration(t * float64(time.Second))
}
