package srtp

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	pionsrtp "github.com/pion/srtp/v3"
)

// Benchmarks: this package on each backend (impl=compact, impl=pion-backend)
// against pion/srtp/v3 used directly in its best way (impl=pion: in place,
// one reused rtp.Header, replay window 64 on receive), per profile, for a
// 20 ms Opus packet (12-byte header + 100-byte payload) and a 20 ms PCMU
// packet (12 + 160 = 172 bytes). ns/op is ns per packet; pkts/s is packets
// per second on one core. Compare with e.g.
//
//	go test -run '^$' -bench 'Protect' -benchmem -count 5 ./srtp | benchstat -col /impl -
//
// BenchmarkBackends and BenchmarkColdHot (backends_bench_test.go) measure
// the backends against each other, and cold against hot, interleaved.

var benchPackets = []struct {
	name    string
	payload int
}{
	{"opus112B", 100},
	{"pcmu172B", 160},
}

type sealFn func(dst, pkt []byte) ([]byte, error)

func BenchmarkProtectRTP(b *testing.B) {
	for _, p := range allProfiles {
		for _, bp := range benchPackets {
			k := testKeys(p, 50)
			for _, be := range backends {
				b.Run(p.String()+"/"+bp.name+"/impl="+implName(be), func(b *testing.B) {
					pr, err := NewProtector(k, UseBackend(be))
					if err != nil {
						b.Fatal(err)
					}
					benchProtect(b, bp.payload, pr.RTPOverhead(), pr.ProtectRTP)
				})
			}
			b.Run(p.String()+"/"+bp.name+"/impl=pion", func(b *testing.B) {
				ctx, err := pionsrtp.CreateContext(k.MasterKey, k.MasterSalt, p.pion())
				if err != nil {
					b.Fatal(err)
				}
				var hdr rtp.Header
				benchProtect(b, bp.payload, p.RTPOverhead(), func(dst, pkt []byte) ([]byte, error) {
					return ctx.EncryptRTP(dst, pkt, &hdr)
				})
			})
		}
	}
}

func BenchmarkUnprotectRTP(b *testing.B) {
	for _, p := range allProfiles {
		for _, bp := range benchPackets {
			k := testKeys(p, 51)
			for _, be := range backends {
				b.Run(p.String()+"/"+bp.name+"/impl="+implName(be), func(b *testing.B) {
					un, err := NewUnprotector(k, UseBackend(be))
					if err != nil {
						b.Fatal(err)
					}
					var hdr rtp.Header
					benchUnprotect(b, k, bp.payload, func(dst, pkt []byte) ([]byte, error) {
						return un.UnprotectRTP(dst, pkt, &hdr)
					})
				})
			}
			b.Run(p.String()+"/"+bp.name+"/impl=pion", func(b *testing.B) {
				ctx, err := pionsrtp.CreateContext(k.MasterKey, k.MasterSalt, p.pion(),
					pionsrtp.SRTPReplayProtection(DefaultReplayWindow))
				if err != nil {
					b.Fatal(err)
				}
				var hdr rtp.Header
				benchUnprotect(b, k, bp.payload, func(dst, pkt []byte) ([]byte, error) {
					return ctx.DecryptRTP(dst, pkt, &hdr)
				})
			})
		}
	}
}

// implName names a backend in the impl= dimension, where impl=pion is
// pion/srtp without this package.
func implName(be Backend) string {
	if be == Pion {
		return "pion-backend"
	}
	return be.String()
}

// benchProtect protects a fresh copy of the packet in place each time,
// with the sequence number advancing as a sender's does.
func benchProtect(b *testing.B, payload, overhead int, protect sealFn) {
	tmpl := testRTP(0, 0x5eed, payload, 0)
	buf := make([]byte, len(tmpl), len(tmpl)+overhead)
	b.SetBytes(int64(len(tmpl)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(buf, tmpl)
		binary.BigEndian.PutUint16(buf[2:], uint16(i))
		if _, err := protect(buf[:0], buf[:len(tmpl)]); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

// benchUnprotect unprotects distinct packets in place, as a receiver with
// a replay window must; they are made in untimed batches.
func benchUnprotect(b *testing.B, k Keys, payload int, unprotect sealFn) {
	const batch = 1024
	pr, err := NewProtector(k)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := testRTP(0, 0x5eed, payload, 0)
	size := len(tmpl) + pr.RTPOverhead()
	store := make([]byte, batch*size)
	pkts := make([][]byte, batch)
	seq := uint16(0)
	refill := func() {
		for j := range pkts {
			buf := store[j*size : j*size+len(tmpl) : (j+1)*size]
			copy(buf, tmpl)
			binary.BigEndian.PutUint16(buf[2:], seq)
			seq++
			out, err := pr.ProtectRTP(buf[:0], buf)
			if err != nil {
				b.Fatal(err)
			}
			pkts[j] = out
		}
	}
	refill()
	b.SetBytes(int64(len(tmpl)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % batch
		if j == 0 && i > 0 {
			b.StopTimer()
			refill()
			b.StartTimer()
		}
		if _, err := unprotect(pkts[j][:0], pkts[j]); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

func reportRate(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "pkts/s")
	}
}

func BenchmarkRTCP(b *testing.B) {
	for _, p := range allProfiles {
		for _, be := range backends {
			benchRTCP(b, p, be)
		}
	}
}

func benchRTCP(b *testing.B, p Profile, be Backend) {
	k := testKeys(p, 52)
	b.Run(p.String()+"/protect/backend="+be.String(), func(b *testing.B) {
		pr, err := NewProtector(k, UseBackend(be))
		if err != nil {
			b.Fatal(err)
		}
		r := testRTCP(9, 2)
		buf := make([]byte, len(r), len(r)+pr.RTCPOverhead())
		b.SetBytes(int64(len(r)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			copy(buf, r)
			if _, err := pr.ProtectRTCP(buf[:0], buf[:len(r)]); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
	b.Run(p.String()+"/unprotect/backend="+be.String(), func(b *testing.B) {
		// Replay protection off so that one packet can be decrypted
		// over and over; the check itself is measured by the RTP case.
		un, err := NewUnprotector(k, ReplayWindow(0), UseBackend(be))
		if err != nil {
			b.Fatal(err)
		}
		pr, err := NewProtector(k)
		if err != nil {
			b.Fatal(err)
		}
		wire, err := pr.ProtectRTCP(nil, testRTCP(9, 2))
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]byte, 0, len(wire))
		b.SetBytes(int64(len(wire)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := un.UnprotectRTCP(dst, wire); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
}

// BenchmarkOverhead measures this package on its Pion backend against
// pion directly in interleaved blocks of 256 packets, so that the noise of
// a shared machine falls on both alike, and reports each side's ns per
// packet and the overhead in percent: what the lock, the counters, the
// header checks and the SSRC bound cost. One op is one packet through
// each implementation.
func BenchmarkOverhead(b *testing.B) {
	for _, p := range allProfiles {
		k := testKeys(p, 53)
		b.Run(p.String()+"/protect", func(b *testing.B) {
			pr, err := NewProtector(k, UseBackend(Pion))
			if err != nil {
				b.Fatal(err)
			}
			ctx, err := pionsrtp.CreateContext(k.MasterKey, k.MasterSalt, p.pion())
			if err != nil {
				b.Fatal(err)
			}
			var hdr rtp.Header
			pion := func(dst, pkt []byte) ([]byte, error) { return ctx.EncryptRTP(dst, pkt, &hdr) }
			tmpl := testRTP(0, 0x5eed, 100, 0)
			buf := make([]byte, len(tmpl), len(tmpl)+p.RTPOverhead())
			block := func(f sealFn, seq0 int) {
				for j := 0; j < overheadBlock; j++ {
					copy(buf, tmpl)
					binary.BigEndian.PutUint16(buf[2:], uint16(seq0+j))
					if _, err := f(buf[:0], buf[:len(tmpl)]); err != nil {
						b.Fatal(err)
					}
				}
			}
			runOverhead(b, func(i int) { block(pr.ProtectRTP, i) }, func(i int) { block(pion, i) }, nil)
		})
		b.Run(p.String()+"/unprotect", func(b *testing.B) {
			un, err := NewUnprotector(k, UseBackend(Pion))
			if err != nil {
				b.Fatal(err)
			}
			ctx, err := pionsrtp.CreateContext(k.MasterKey, k.MasterSalt, p.pion(),
				pionsrtp.SRTPReplayProtection(DefaultReplayWindow))
			if err != nil {
				b.Fatal(err)
			}
			var hdr rtp.Header
			ours := func(dst, pkt []byte) ([]byte, error) { return un.UnprotectRTP(dst, pkt, &hdr) }
			pion := func(dst, pkt []byte) ([]byte, error) { return ctx.DecryptRTP(dst, pkt, &hdr) }
			pr, err := NewProtector(k)
			if err != nil {
				b.Fatal(err)
			}
			tmpl := testRTP(0, 0x5eed, 100, 0)
			size := len(tmpl) + p.RTPOverhead()
			var sets [2][overheadBlock][]byte
			stores := [2][]byte{make([]byte, overheadBlock*size), make([]byte, overheadBlock*size)}
			refill := func(seq0 int) {
				for j := 0; j < overheadBlock; j++ {
					buf := stores[0][j*size : j*size+len(tmpl) : (j+1)*size]
					copy(buf, tmpl)
					binary.BigEndian.PutUint16(buf[2:], uint16(seq0+j))
					out, err := pr.ProtectRTP(buf[:0], buf)
					if err != nil {
						b.Fatal(err)
					}
					sets[0][j] = out
					sets[1][j] = append(stores[1][j*size:j*size], out...)
				}
			}
			block := func(f sealFn, set int) {
				for j := 0; j < overheadBlock; j++ {
					if _, err := f(sets[set][j][:0], sets[set][j]); err != nil {
						b.Fatal(err)
					}
				}
			}
			runOverhead(b, func(int) { block(ours, 0) }, func(int) { block(pion, 1) }, refill)
		})
	}
}

const overheadBlock = 256

// runOverhead reports medians over blocks, not means: a block that the
// scheduler interrupted is an outlier to drop, not a cost to average in.
func runOverhead(b *testing.B, ours, pion func(seq0 int), prepare func(seq0 int)) {
	runOverheadNamed(b, "rtpmix", "pion", ours, pion, prepare)
}

// runOverheadNamed is runOverhead with the two sides' metric names.
func runOverheadNamed(b *testing.B, oursName, otherName string, ours, pion func(seq0 int), prepare func(seq0 int)) {
	tOurs, tPion, ratio := runInterleaved(b, ours, pion, prepare)
	b.ReportMetric(tOurs, "ns/pkt-"+oursName)
	b.ReportMetric(tPion, "ns/pkt-"+otherName)
	b.ReportMetric(100*(ratio-1), "overhead%")
}

// runInterleaved runs blocks of overheadBlock packets through a and b in
// turn, either going first in alternate blocks, and returns the median
// ns per packet of each and the median of the blocks' ratios a/b.
func runInterleaved(b *testing.B, ours, pion func(seq0 int), prepare func(seq0 int)) (nsA, nsB, ratioAB float64) {
	blocks := (b.N + overheadBlock - 1) / overheadBlock
	tOurs := make([]float64, blocks)
	tPion := make([]float64, blocks)
	ratio := make([]float64, blocks)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < blocks; i++ {
		seq0 := i * overheadBlock
		if prepare != nil {
			prepare(seq0)
		}
		// Alternate which goes first so neither always runs on a warm cache.
		first, second, tf, ts := ours, pion, &tOurs[i], &tPion[i]
		if i%2 == 1 {
			first, second, tf, ts = pion, ours, &tPion[i], &tOurs[i]
		}
		t0 := time.Now()
		first(seq0)
		t1 := time.Now()
		second(seq0)
		t2 := time.Now()
		*tf = float64(t1.Sub(t0).Nanoseconds()) / overheadBlock
		*ts = float64(t2.Sub(t1).Nanoseconds()) / overheadBlock
		ratio[i] = *tf / *ts
		if i%2 == 1 {
			ratio[i] = *ts / *tf
		}
	}
	b.StopTimer()
	return median(tOurs), median(tPion), median(ratio)
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

// BenchmarkSetup is what one participant costs to start: a Protector and
// an Unprotector (key derivation, cipher set-up) and the first packet each
// way (per-SSRC state). B/op bounds the memory a participant holds.
func BenchmarkSetup(b *testing.B) {
	for _, p := range allProfiles {
		k := testKeys(p, 54)
		pkt := testRTP(1, 1, 100, 0)
		for _, be := range backends {
			b.Run(p.String()+"/backend="+be.String(), func(b *testing.B) { benchSetup(b, k, pkt, be) })
		}
	}
}

func benchSetup(b *testing.B, k Keys, pkt []byte, be Backend) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		pr, err := NewProtector(k, UseBackend(be))
		if err != nil {
			b.Fatal(err)
		}
		un, err := NewUnprotector(k, UseBackend(be))
		if err != nil {
			b.Fatal(err)
		}
		out, err := pr.ProtectRTP(nil, pkt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := un.UnprotectRTP(out[:0], out, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSSRCChurn is an authenticated peer sending every packet under a
// new SSRC into an Unprotector at its bound (DefaultMaxSSRCs): one op is
// one new SSRC, evicting another, with the context rebuilds amortised in.
// Compare with BenchmarkUnprotectRTP for a packet of a known SSRC.
func BenchmarkSSRCChurn(b *testing.B) {
	for _, p := range []Profile{ProfileAESCM128HMACSHA1_80, ProfileAEADAES128GCM} {
		for _, be := range backends {
			b.Run(p.String()+"/backend="+be.String(), func(b *testing.B) { benchSSRCChurn(b, p, be) })
		}
	}
}

func benchSSRCChurn(b *testing.B, p Profile, be Backend) {
	k := testKeys(p, 55)
	un, err := NewUnprotector(k, UseBackend(be))
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1024
	tmpl := testRTP(1, 0, 100, 0)
	size := len(tmpl) + p.RTPOverhead()
	store := make([]byte, batch*size)
	pkts := make([][]byte, batch)
	ssrc := uint32(0)
	refill := func() {
		pr, err := NewProtector(k)
		if err != nil {
			b.Fatal(err)
		}
		for j := range pkts {
			buf := store[j*size : j*size+len(tmpl) : (j+1)*size]
			copy(buf, tmpl)
			ssrc++
			binary.BigEndian.PutUint32(buf[8:], ssrc)
			if pkts[j], err = pr.ProtectRTP(buf[:0], buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	refill()
	for j := range 2 * DefaultMaxSSRCs { // reach the bound first
		if _, err := un.UnprotectRTP(pkts[j][:0], pkts[j], nil); err != nil {
			b.Fatal(err)
		}
	}
	refill()
	var hdr rtp.Header
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % batch
		if j == 0 && i > 0 {
			b.StopTimer()
			refill()
			b.StartTimer()
		}
		if _, err := un.UnprotectRTP(pkts[j][:0], pkts[j], &hdr); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rebuilds(un))/float64(b.N), "rebuilds/op")
}

// BenchmarkRebuild is one rebuild of an Unprotector's pion context with
// both tables full at DefaultMaxSSRCs: what the churn above pays every
// rebuildAt evictions.
func BenchmarkRebuild(b *testing.B) {
	for _, p := range []Profile{ProfileAESCM128HMACSHA1_80, ProfileAEADAES128GCM} {
		b.Run(p.String(), func(b *testing.B) {
			k := testKeys(p, 56)
			un, err := NewUnprotector(k, UseBackend(Pion))
			if err != nil {
				b.Fatal(err)
			}
			for s := range uint32(DefaultMaxSSRCs) {
				pr, err := NewProtector(k)
				if err != nil {
					b.Fatal(err)
				}
				out, err := pr.ProtectRTP(nil, testRTP(1, s+1, 20, 0))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := un.UnprotectRTP(out[:0], out, nil); err != nil {
					b.Fatal(err)
				}
				out, err = pr.ProtectRTCP(nil, testRTCP(s+1, 1))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := un.UnprotectRTCP(out[:0], out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := un.pion.rebuild(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLockOverhead measures what the mutex of Unprotector and
// Protector costs per packet, uncontended: the public call against its
// body without the lock, in interleaved blocks as BenchmarkOverhead does.
func BenchmarkLockOverhead(b *testing.B) {
	for _, p := range []Profile{ProfileAESCM128HMACSHA1_80, ProfileAEADAES128GCM} {
		k := testKeys(p, 57)
		b.Run(p.String()+"/unprotect", func(b *testing.B) {
			un, err := NewUnprotector(k)
			if err != nil {
				b.Fatal(err)
			}
			pr, err := NewProtector(k)
			if err != nil {
				b.Fatal(err)
			}
			var hdr rtp.Header
			tmpl := testRTP(0, 0x5eed, 100, 0)
			size := len(tmpl) + p.RTPOverhead()
			// Fresh packets for every block (the replay window): the two
			// halves of set, one for each side, refilled before each block,
			// the lower sequence numbers for the side runOverhead runs
			// first (ours in even blocks).
			var set [2 * overheadBlock][]byte
			store := make([]byte, len(set)*size)
			lockedHalf := 0
			refill := func(seq0 int) {
				lockedHalf = (seq0 / overheadBlock) % 2
				for j := range set {
					buf := store[j*size : j*size+len(tmpl) : (j+1)*size]
					copy(buf, tmpl)
					binary.BigEndian.PutUint16(buf[2:], uint16(2*seq0+j))
					if set[j], err = pr.ProtectRTP(buf[:0], buf); err != nil {
						b.Fatal(err)
					}
				}
			}
			block := func(half int, f sealFn) {
				for _, pkt := range set[half*overheadBlock : (half+1)*overheadBlock] {
					if _, err := f(pkt[:0], pkt); err != nil {
						b.Fatal(err)
					}
				}
			}
			locked := func(dst, pkt []byte) ([]byte, error) { return un.UnprotectRTP(dst, pkt, &hdr) }
			bare := func(dst, pkt []byte) ([]byte, error) { return un.unprotectRTP(dst, pkt, &hdr) }
			runOverheadNamed(b, "locked", "bare",
				func(int) { block(lockedHalf, locked) }, func(int) { block(1-lockedHalf, bare) }, refill)
		})
		b.Run(p.String()+"/protect", func(b *testing.B) {
			pr, err := NewProtector(k)
			if err != nil {
				b.Fatal(err)
			}
			tmpl := testRTP(0, 0x5eed, 100, 0)
			buf := make([]byte, len(tmpl), len(tmpl)+p.RTPOverhead())
			seq := 0
			block := func(f sealFn) {
				for range overheadBlock {
					copy(buf, tmpl)
					binary.BigEndian.PutUint16(buf[2:], uint16(seq))
					seq++
					if _, err := f(buf[:0], buf[:len(tmpl)]); err != nil {
						b.Fatal(err)
					}
				}
			}
			runOverheadNamed(b, "locked", "bare",
				func(int) { block(pr.ProtectRTP) }, func(int) { block(pr.protectRTP) }, nil)
		})
	}
}
