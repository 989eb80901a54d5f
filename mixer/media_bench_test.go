package mixer

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/cputime"
	"github.com/rtpmix/rtpmix/record"
)

// BenchmarkRecordRoom is the CPU recording costs through a conference: a
// room of three Opus talkers (speech clips) and two PCMU listeners, ticked
// in virtual time, with recordings made by taps into record.Recorders
// writing files on disk. One op is one tick (20 ms); cpu-ms/room-s is the
// process's CPU time (tick plus the recorders' goroutines, files closed)
// per second of room, to compare with "none".
//
//	go test -run '^$' -bench RecordRoom -count 3 ./mixer
func BenchmarkRecordRoom(b *testing.B) {
	for _, bc := range []struct {
		name string
		taps func(b *testing.B, c *Conference, dir string) []interface{ Close() error }
	}{
		{"none", func(*testing.B, *Conference, string) []interface{ Close() error } { return nil }},
		{"mix-wav", func(b *testing.B, c *Conference, dir string) []interface{ Close() error } {
			return []interface{ Close() error }{recordTap(b, c, dir, "mix.wav", TapConfig{Kind: TapMix, SampleRate: 48000})}
		}},
		{"mix-opus", func(b *testing.B, c *Conference, dir string) []interface{ Close() error } {
			return []interface{ Close() error }{recordTap(b, c, dir, "mix.opus", TapConfig{Kind: TapMix, SampleRate: 48000})}
		}},
		{"legs-wav", func(b *testing.B, c *Conference, dir string) []interface{ Close() error } {
			var rs []interface{ Close() error }
			for _, id := range []string{"alice", "bob", "carol"} {
				rs = append(rs, recordTap(b, c, dir, id+".wav", TapConfig{Kind: TapInbound, Participant: id, SampleRate: 16000}))
			}
			return rs
		}},
		{"legs-packets", func(b *testing.B, c *Conference, dir string) []interface{ Close() error } {
			var rs []interface{ Close() error }
			for _, id := range []string{"alice", "bob", "carol"} {
				r, err := record.CreatePackets(filepath.Join(dir, id+".opus"), record.Format{SampleRate: 48000, Channels: 1},
					record.FileConfig{Config: record.Config{Start: c.MediaTime(), Queue: time.Minute}})
				require.NoError(b, err)
				_, err = c.AddTap(TapConfig{Kind: TapInboundPackets, Participant: id, PacketWriter: r})
				require.NoError(b, err)
				rs = append(rs, r)
			}
			return rs
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := newMediaConf(b, ConferenceConfig{})
			var clients []*client
			// The clips loop for as long as the benchmark runs: speech
			// all along, as in a busy room (a silent mix would cost the
			// Ogg/Opus recorder nothing: it writes silence unencoded).
			d := time.Duration(b.N+20) * 20 * time.Millisecond
			for _, sp := range []clientSpec{
				{id: "alice", format: opf, pt: 111, src: looped(loadClip(b, "alice"), d)},
				{id: "bob", format: opf, pt: 111, src: looped(loadClip(b, "bob"), d)},
				{id: "carol", format: opf, pt: 111, src: looped(loadClip(b, "carol"), d)},
				{id: "l1", format: pcmu, pt: 0, listenOnly: true},
				{id: "l2", format: pcmu, pt: 0, listenOnly: true},
			} {
				cl := newClient(b, c, sp)
				cl.keep = false
				clients = append(clients, cl)
			}
			now := run(c, clients, 0, 200*time.Millisecond, nil)
			// Pre-encode the senders' packets: the figure is the
			// conference's and the recorders', not the test clients'.
			pkts := make([][][]byte, len(clients))
			for i, cl := range clients {
				pkts[i] = make([][]byte, b.N)
				for k := range b.N {
					pkts[i][k] = append([]byte(nil), cl.packet()...)
				}
			}
			recs := bc.taps(b, c, b.TempDir())
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cputime.Process()
			for k := range b.N {
				for i, cl := range clients {
					_ = cl.p.WriteRTPAt(now, pkts[i][k])
				}
				c.Tick(now)
				now += 20 * time.Millisecond
			}
			c.Close()
			c.Tick(now)
			for _, r := range recs {
				require.NoError(b, r.Close())
			}
			cpu := cputime.Process() - cpu0
			b.StopTimer()
			roomSeconds := float64(b.N) * 0.02
			b.ReportMetric(float64(cpu)/1e6/roomSeconds, "cpu-ms/room-s")
		})
	}
}

// recordTap records a tap to a file under dir through record.Create.
func recordTap(b *testing.B, c *Conference, dir, name string, tc TapConfig) *record.Recorder {
	r, err := record.Create(filepath.Join(dir, name), record.Format{SampleRate: tc.SampleRate, Channels: 1},
		record.FileConfig{Config: record.Config{Start: c.MediaTime(), Queue: time.Minute}})
	require.NoError(b, err)
	tc.Writer = r
	_, err = c.AddTap(tc)
	require.NoError(b, err)
	return r
}

// looped repeats a 48 kHz clip for d.
func looped(clip []int16, d time.Duration) []int16 {
	n := int(48000 * d / time.Second)
	out := make([]int16, n)
	for i := 0; i < n; i += len(clip) {
		copy(out[i:], clip)
	}
	return out
}
