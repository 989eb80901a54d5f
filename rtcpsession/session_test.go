package rtcpsession

import (
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// link delivers datagrams after a fixed delay, losing a share of the RTP.
type link struct {
	delay time.Duration
	loss  float64
	rng   *rand.Rand
	queue []datagram
}

type datagram struct {
	at   time.Duration
	rtcp []byte
	ssrc uint32
	seq  uint16
	ts   uint32
}

// pair runs two sessions against each other in virtual time for d: each
// sends a 20 ms packet every tick and reports when due; a→b loses
// lossAB of its RTP.
func pair(t *testing.T, a, b *Session, delay time.Duration, lossAB float64, d time.Duration) {
	t.Helper()
	ab := &link{delay: delay, loss: lossAB, rng: rand.New(rand.NewPCG(7, 9))}
	ba := &link{delay: delay, rng: rand.New(rand.NewPCG(8, 9))}
	buf := make([]byte, MaxSize(1))
	var seqA, seqB uint16
	for now := time.Duration(0); now < d; now += 20 * time.Millisecond {
		for _, l := range []struct {
			from, to *Session
			ln       *link
			seq      *uint16
		}{{a, b, ab, &seqA}, {b, a, ba, &seqB}} {
			ts := uint32(int64(now) * 8000 / int64(time.Second))
			l.from.SentRTP(ts, 160, now)
			if l.ln.rng.Float64() >= l.ln.loss {
				l.ln.queue = append(l.ln.queue, datagram{at: now + l.ln.delay, ssrc: l.from.SSRC(), seq: *l.seq, ts: ts})
			}
			*l.seq++
			if l.from.Due(now) {
				n, err := l.from.WriteReport(buf, now, false)
				require.NoError(t, err)
				l.ln.queue = append(l.ln.queue, datagram{at: now + l.ln.delay, rtcp: append([]byte(nil), buf[:n]...)})
			}
			// Deliver what has arrived.
			q := l.ln.queue
			for len(q) > 0 && q[0].at <= now {
				if q[0].rtcp != nil {
					_, err := l.to.ReceiveRTCP(q[0].rtcp, now)
					require.NoError(t, err)
				} else {
					l.to.ReceiveRTP(q[0].ssrc, q[0].seq, q[0].ts, now)
				}
				q = q[1:]
			}
			l.ln.queue = q
		}
	}
}

func newTestSession(t testing.TB, cfg Config) *Session {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err)
	return s
}

// TestSessionPair: two sessions 40 ms apart each way measure a round trip
// of 80 ms, and the receiver of a 10 % lossy stream reports about 10 %
// loss, which the sender learns.
func TestSessionPair(t *testing.T) {
	epoch := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := newTestSession(t, Config{SSRC: 1, ClockRate: 8000, Clock: Clock{Epoch: epoch}, CNAME: "a"})
	b := newTestSession(t, Config{SSRC: 2, ClockRate: 8000, Clock: Clock{Epoch: epoch.Add(time.Hour)}, CNAME: "b"})
	pair(t, a, b, 40*time.Millisecond, 0.10, 60*time.Second)

	ra := a.Receiver.Remote()
	require.True(t, ra.HasRTT)
	assert.InDelta(t, 80*time.Millisecond, ra.RTT, float64(100*time.Microsecond), "RTT from a's SR, echoed in b's RR")
	assert.InDelta(t, 0.10, ra.Loss(), 0.06, "b reports the loss on a→b")
	assert.Positive(t, ra.CumulativeLost)
	rb := b.Receiver.Remote()
	require.True(t, rb.HasRTT, "RTT needs only each side's own clock")
	assert.InDelta(t, 80*time.Millisecond, rb.RTT, float64(100*time.Microsecond))
	assert.Zero(t, rb.FractionLost)
	assert.Equal(t, "b", string(a.Receiver.CNAME()))
	assert.Equal(t, "a", string(b.Receiver.CNAME()))

	src, ok := b.Receiver.Source(1)
	require.True(t, ok)
	assert.InDelta(t, 0.10, float64(src.Lost)/float64(src.Expected), 0.02)
	assert.Positive(t, src.SenderReports)
	c := a.Receiver.Counts()
	assert.Equal(t, c.SR, c.SDES, "b sent an SR and an SDES in each report")
	assert.InDelta(t, 12, c.SR, 3, "about one report per 5 s")
}

// TestSessionReportKinds: an RR until we send, an SR while we do and for
// one report after, a BYE when asked; the BYE ends the compound packet.
func TestSessionReportKinds(t *testing.T) {
	s := newTestSession(t, Config{ClockRate: 48000})
	r := s.Report(0, false)
	assert.False(t, r.IsSender)
	assert.NotEmpty(t, s.CNAME())
	assert.Len(t, s.CNAME(), 16)
	s.SentRTP(1000, 50, time.Second)
	r = s.Report(1500*time.Millisecond, false)
	require.True(t, r.IsSender)
	assert.Equal(t, uint32(1000+24000), r.Sender.RTPTime, "extrapolated 500 ms at 48 kHz")
	assert.Equal(t, uint32(1), r.Sender.PacketCount)
	assert.Equal(t, uint32(50), r.Sender.OctetCount)
	assert.Equal(t, NTPShort(s.Clock().NTP(1500*time.Millisecond)), NTPShort(r.Sender.NTPTime))
	assert.True(t, s.Report(2*time.Second, false).IsSender, "sent in the interval before")
	assert.False(t, s.Report(3*time.Second, false).IsSender)

	buf := make([]byte, MaxSize(1))
	n, err := s.WriteReport(buf, 4*time.Second, true)
	require.NoError(t, err)
	pkts, err := rtcp.Unmarshal(buf[:n])
	require.NoError(t, err)
	require.Len(t, pkts, 3)
	g, ok := pkts[2].(*rtcp.Goodbye)
	require.True(t, ok)
	assert.Equal(t, []uint32{s.SSRC()}, g.Sources)

	_, err = s.WriteReport(buf[:10], 5*time.Second, false)
	assert.Equal(t, io.ErrShortBuffer, err)

	_, err = New(Config{})
	assert.ErrorIs(t, err, ErrConfig)
	_, err = New(Config{ClockRate: 8000, CNAME: string(make([]byte, 256))})
	assert.ErrorIs(t, err, ErrConfig)
}

func TestNTP(t *testing.T) {
	tm := time.Date(2026, 3, 4, 5, 6, 7, 250_000_000, time.UTC)
	n := NTPTime(tm)
	assert.Equal(t, uint64(0x40000000), n&0xffffffff, "a quarter second")
	assert.WithinDuration(t, tm, NTPToTime(n), time.Nanosecond)
	assert.Equal(t, uint32(0xffffffff), durationToShort(100000*time.Second))
	assert.Zero(t, durationToShort(-time.Second))
	assert.Equal(t, uint32(0x18000), durationToShort(1500*time.Millisecond))
}
