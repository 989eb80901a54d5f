package mixer

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/srtp"
)

// BenchmarkEngineUDP runs conferences in an Engine on real time, every
// participant's Sink sending its packets over UDP to a local socket that
// nobody reads (the kernel discards them): the whole cost of a room,
// ticks and sends, as a server pays it. Outbound SRTP (AES-CM-80); nobody
// sends, so every listener shares one encode of silence and the rest is
// per-participant packet work. One iteration is one second of engine time
// (50 ticks); run it with -benchtime=Nx.
//
// Metrics: cpu-µs/participant/tick is the process's CPU time (user and
// system, every goroutine, GC included) over ticks × participants;
// tick-µs is the mean tick as the conferences time it (without the sends
// when a delivery goroutine makes them); cpu-share is the CPU time over the
// wall time (above 1: more than one core at work).
func BenchmarkEngineUDP(b *testing.B) {
	for _, shape := range []struct{ rooms, size int }{{1, 1000}, {50, 20}} {
		b.Run(fmt.Sprintf("rooms=%d/N=%d", shape.rooms, shape.size), func(b *testing.B) {
			benchEngineUDP(b, shape.rooms, shape.size)
		})
	}
}

func benchEngineUDP(b *testing.B, rooms, size int) {
	lo := netip.MustParseAddr("127.0.0.1")
	rx, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
	require.NoError(b, err)
	defer rx.Close()
	tx, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
	require.NoError(b, err)
	defer tx.Close()
	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	sink := SinkFunc(func(pkt []byte) error {
		_, err := tx.WriteToUDPAddrPort(pkt, dst)
		return err
	})

	e := NewEngine(EngineConfig{})
	defer e.Close()
	var confs []*Conference
	for r := range rooms {
		c, err := e.NewConference(ConferenceConfig{Name: fmt.Sprint("r", r), SampleRate: 8000})
		require.NoError(b, err)
		confs = append(confs, c)
		for range size {
			keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
			require.NoError(b, err)
			_, err = c.Join(ParticipantConfig{In: pcmu, Out: pcmu, OutSRTP: &keys, Sink: sink})
			require.NoError(b, err)
		}
	}
	time.Sleep(500 * time.Millisecond) // joins applied, caches warm

	snap := func() (ticks uint64, work time.Duration) {
		for _, c := range confs {
			t := c.Stats().Timing
			ticks += t.Ticks
			work += time.Duration(t.Ticks) * t.Mean
		}
		return ticks, work
	}
	var ru0, ru1 syscall.Rusage
	ticks0, work0 := snap()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		time.Sleep(time.Second)
	}
	b.StopTimer()
	wall := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	ticks1, work1 := snap()
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
		syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	ticks := ticks1 - ticks0
	if ticks == 0 {
		b.Fatal("no ticks")
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(ticks)/float64(size), "cpu-µs/participant/tick")
	b.ReportMetric(float64((work1-work0).Microseconds())/float64(ticks), "tick-µs")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-share")
}
