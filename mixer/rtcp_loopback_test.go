package mixer

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/rtcpsession"
)

// delayRelay forwards UDP datagrams between a and b (their first sender
// on each side), each after delay: a network path with a one-way delay,
// on 127.0.0.1.
type delayRelay struct {
	a, b  *net.UDPConn // a faces the mixer, b the client
	delay time.Duration
	wg    sync.WaitGroup
}

func newDelayRelay(t *testing.T, delay time.Duration, mixerAddr, clientAddr *net.UDPAddr) *delayRelay {
	r := &delayRelay{a: listenLoopback(t), b: listenLoopback(t), delay: delay}
	r.wg.Add(2)
	go r.pump(r.a, r.b, clientAddr)
	go r.pump(r.b, r.a, mixerAddr)
	t.Cleanup(func() { r.a.Close(); r.b.Close(); r.wg.Wait() })
	return r
}

func (r *delayRelay) pump(from, out *net.UDPConn, to *net.UDPAddr) {
	defer r.wg.Done()
	for {
		buf := make([]byte, 1500)
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		time.AfterFunc(r.delay, func() { _, _ = out.WriteToUDP(buf[:n], to) })
	}
}

func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	return c
}

// TestRTCPRoundTripLoopback measures the round trip a participant's
// reports give over real UDP on 127.0.0.1 through a relay that delays each
// datagram by d each way: the client answers each sender report of the
// mixer at once with a receiver report (LSR = the SR's, DLSR = its hold
// time), and the mixer's RTCPStats.Remote.RTT comes out 2d plus the
// processing on the way (the tick stamps the SR before sending it, the
// reader stamps the RR when it reads it). The figure is logged; the bounds
// are wide, for a loaded machine.
func TestRTCPRoundTripLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, d := range []time.Duration{0, 10 * time.Millisecond, 40 * time.Millisecond} {
		ms, cs := listenLoopback(t), listenLoopback(t)
		relay := newDelayRelay(t, d, ms.LocalAddr().(*net.UDPAddr), cs.LocalAddr().(*net.UDPAddr))
		relayA := relay.a.LocalAddr().(*net.UDPAddr)
		c, err := NewConference(ConferenceConfig{})
		require.NoError(t, err)
		p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu,
			Sink: SinkFunc(func(pkt []byte) error { _, err := ms.WriteToUDP(pkt, relayA); return err }),
			RTCP: RTCPConfig{MinInterval: 100 * time.Millisecond}})
		require.NoError(t, err)

		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(3)
		go func() { // the mixer's socket reader
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				n, err := ms.Read(buf)
				if err != nil {
					return
				}
				_ = p.WriteRTP(buf[:n]) // RTCP, muxed
			}
		}()
		go func() { // the client: answers each SR with an RR
			defer wg.Done()
			buf := make([]byte, 1500)
			relayB := relay.b.LocalAddr().(*net.UDPAddr)
			for {
				n, err := cs.Read(buf)
				if err != nil {
					return
				}
				at := time.Now()
				if !rtcpsession.IsRTCP(buf[:n]) {
					continue
				}
				pkts, err := rtcp.Unmarshal(buf[:n])
				if err != nil {
					continue
				}
				if sr, ok := pkts[0].(*rtcp.SenderReport); ok {
					rr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0xc11e, Reports: []rtcp.ReceptionReport{{
						SSRC: sr.SSRC, LastSenderReport: uint32(sr.NTPTime >> 16),
						Delay: uint32(time.Since(at) * 65536 / time.Second)}}}})
					_, _ = cs.WriteToUDP(rr, relayB)
				}
			}
		}()
		go func() { // the tick, on the conference clock
			defer wg.Done()
			tk := time.NewTicker(20 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
					c.Tick(c.Config().Clock())
				}
			}
		}()
		var rtts []time.Duration
		deadline := time.Now().Add(5 * time.Second)
		var last uint64
		for len(rtts) < 8 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			if rm := p.Stats().RTCP.Remote; rm.Reports > last && rm.HasRTT {
				last = rm.Reports
				rtts = append(rtts, rm.RTT)
			}
		}
		close(stop)
		ms.Close()
		cs.Close()
		wg.Wait()
		require.NotEmpty(t, rtts, "delay %v: no round trip measured", d)
		lo, hi := rtts[0], rtts[0]
		var sum time.Duration
		for _, r := range rtts {
			lo, hi, sum = min(lo, r), max(hi, r), sum+r
		}
		t.Logf("one-way delay %v: RTT over %d reports: min %v, mean %v, max %v (2×delay = %v)",
			d, len(rtts), lo.Round(10*time.Microsecond), (sum / time.Duration(len(rtts))).Round(10*time.Microsecond),
			hi.Round(10*time.Microsecond), 2*d)
		assert.GreaterOrEqual(t, lo, 2*d-time.Millisecond, "delay %v", d)
		assert.Less(t, lo, 2*d+50*time.Millisecond, "delay %v", d)
	}
}
