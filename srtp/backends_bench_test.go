package srtp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/pion/rtp"
)

// Hot and cold SRTP, issue 15: a packet of one context used over and over
// (hot: its state stays in the core's caches), against one packet each of
// coldContexts contexts in turn, each with its own keys (cold: a 1000-party
// room protecting and unprotecting a packet per participant per tick,
// whose contexts the rest of the tick has pushed out of the caches). The
// contexts are visited in a fixed random order, as a room's participants
// lie scattered in memory, so that no prefetcher walks ahead of them. The
// packet is the 20 ms Opus one: 12-byte header + 100-byte payload.
//
//   - BenchmarkContexts: ns/op per packet, per backend, hot and cold
//     (benchstat -col /backend).
//   - BenchmarkBackends: the two backends interleaved in blocks of 256
//     packets, hot and cold, so that a loaded machine's noise falls on both
//     alike: ns/pkt of each and pion/compact, the compact backend's speedup.
//   - BenchmarkColdHot: one backend, hot and cold interleaved: cold/hot.

const coldContexts = 2000

// fillBatch is how many packets an unprotect benchmark makes at a time,
// untimed, just before unprotecting them: one block of the interleaved
// benchmarks, so that a packet is in cache when it is unprotected, as one
// just read from a socket is. Making them runs the senders' contexts
// through the caches, which pushes the receivers' out as the rest of a
// mixer's tick would.
const fillBatch = overheadBlock

var benchProfiles = []Profile{ProfileAESCM128HMACSHA1_80, ProfileAEADAES128GCM}

// benchKeys returns context j's keys, distinct for every j.
func benchKeys(p Profile, j int) Keys {
	rng := rand.New(rand.NewPCG(uint64(j), uint64(p)))
	k := Keys{Profile: p, MasterKey: make([]byte, p.KeyLen()), MasterSalt: make([]byte, p.SaltLen())}
	for _, b := range [][]byte{k.MasterKey, k.MasterSalt} {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	}
	return k
}

// visitOrder returns a fixed random permutation of n contexts.
func visitOrder(n int) []int {
	return rand.New(rand.NewPCG(15, uint64(n))).Perm(n)
}

// protectSet protects packets of n contexts on one backend in turn, in
// place in one buffer (a mixer writes each packet just before protecting
// it: the packet is hot, the context may not be).
type protectSet struct {
	prs   []*Protector
	order []int
	seqs  []uint16
	tmpl  []byte
	buf   []byte
	next  int
}

func newProtectSet(b *testing.B, p Profile, be Backend, n int) *protectSet {
	s := &protectSet{prs: make([]*Protector, n), order: visitOrder(n), seqs: make([]uint16, n)}
	for j := range s.prs {
		pr, err := NewProtector(benchKeys(p, j), UseBackend(be))
		if err != nil {
			b.Fatal(err)
		}
		s.prs[j] = pr
	}
	s.tmpl = testRTP(0, 0, 100, 0)
	s.buf = make([]byte, len(s.tmpl), len(s.tmpl)+p.RTPOverhead())
	return s
}

// one protects the next context's next packet.
func (s *protectSet) one(b *testing.B) {
	j := s.order[s.next]
	if s.next++; s.next == len(s.order) {
		s.next = 0
	}
	copy(s.buf, s.tmpl)
	binary.BigEndian.PutUint16(s.buf[2:], s.seqs[j])
	binary.BigEndian.PutUint32(s.buf[8:], uint32(j+1))
	s.seqs[j]++
	if _, err := s.prs[j].ProtectRTP(s.buf[:0], s.buf); err != nil {
		b.Fatal(err)
	}
}

// unprotectSet unprotects packets of n contexts on one backend in turn,
// in place, from batches that fill makes ahead (untimed) with Protectors
// of the same keys.
type unprotectSet struct {
	uns     []*Unprotector
	senders []*Protector
	order   []int
	seqs    []uint16
	tmpl    []byte
	size    int
	store   []byte
	pkts    [][]byte
	ctx     []int
	next    int // in order
	used    int // of pkts
	hdr     rtp.Header
}

func newUnprotectSet(b *testing.B, p Profile, be Backend, n, batch int) *unprotectSet {
	s := &unprotectSet{uns: make([]*Unprotector, n), senders: make([]*Protector, n), order: visitOrder(n),
		seqs: make([]uint16, n), tmpl: testRTP(0, 0, 100, 0)}
	s.size = len(s.tmpl) + p.RTPOverhead()
	for j := range s.uns {
		k := benchKeys(p, j)
		un, err := NewUnprotector(k, UseBackend(be))
		if err != nil {
			b.Fatal(err)
		}
		s.uns[j] = un
		if s.senders[j], err = NewProtector(k); err != nil {
			b.Fatal(err)
		}
	}
	s.store = make([]byte, batch*s.size)
	s.pkts = make([][]byte, batch)
	s.ctx = make([]int, batch)
	s.fill(b)
	return s
}

// fill makes the next batch of packets.
func (s *unprotectSet) fill(b *testing.B) {
	for i := range s.pkts {
		j := s.order[s.next]
		if s.next++; s.next == len(s.order) {
			s.next = 0
		}
		// Context j's SSRC is j+1.
		buf := append(s.store[i*s.size:i*s.size:(i+1)*s.size], s.tmpl...)
		binary.BigEndian.PutUint16(buf[2:], s.seqs[j])
		binary.BigEndian.PutUint32(buf[8:], uint32(j+1))
		s.seqs[j]++
		out, err := s.senders[j].ProtectRTP(buf[:0], buf)
		if err != nil {
			b.Fatal(err)
		}
		s.pkts[i], s.ctx[i] = out, j
	}
	s.used = 0
}

// one unprotects the next packet; the batch must not be used up.
func (s *unprotectSet) one(b *testing.B) {
	pkt := s.pkts[s.used]
	if _, err := s.uns[s.ctx[s.used]].UnprotectRTP(pkt[:0], pkt, &s.hdr); err != nil {
		b.Fatal(err)
	}
	s.used++
}

func BenchmarkContexts(b *testing.B) {
	for _, p := range benchProfiles {
		for _, n := range []int{1, coldContexts} {
			for _, be := range backends {
				name := p.String() + "/contexts=" + itoa(n) + "/backend=" + be.String()
				b.Run(name+"/protect", func(b *testing.B) {
					s := newProtectSet(b, p, be, n)
					b.SetBytes(int64(len(s.tmpl)))
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						s.one(b)
					}
					reportRate(b)
				})
				b.Run(name+"/unprotect", func(b *testing.B) {
					s := newUnprotectSet(b, p, be, n, 16*fillBatch)
					b.SetBytes(int64(12 + 100))
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						if s.used == len(s.pkts) {
							b.StopTimer()
							s.fill(b)
							b.StartTimer()
						}
						s.one(b)
					}
					reportRate(b)
				})
			}
		}
	}
}

func itoa(n int) string {
	if n == 1 {
		return "1"
	}
	return "2000"
}

// blockPair is what runInterleaved alternates: a block of overheadBlock
// packets on each of two sides, and the preparation of the next blocks.
type blockPair struct {
	a, b    func()
	prepare func()
}

// protectPair and unprotectPair make a blockPair of two sets.
func protectPair(b *testing.B, x, y *protectSet) blockPair {
	block := func(s *protectSet) func() {
		return func() {
			for range overheadBlock {
				s.one(b)
			}
		}
	}
	return blockPair{a: block(x), b: block(y)}
}

func unprotectPair(b *testing.B, x, y *unprotectSet) blockPair {
	block := func(s *unprotectSet) func() {
		return func() {
			for range overheadBlock {
				s.one(b)
			}
		}
	}
	return blockPair{a: block(x), b: block(y), prepare: func() {
		x.fill(b)
		y.fill(b)
	}}
}

func (bp blockPair) run(b *testing.B) (nsA, nsB, ratioAB float64) {
	var prepare func(int)
	if bp.prepare != nil {
		prepare = func(int) { bp.prepare() }
	}
	b.SetBytes(2 * (12 + 100)) // one op: a packet on each side
	return runInterleaved(b, func(int) { bp.a() }, func(int) { bp.b() }, prepare)
}

// BenchmarkBackends: compact against pion, hot and cold, interleaved.
func BenchmarkBackends(b *testing.B) {
	for _, p := range benchProfiles {
		for _, n := range []int{1, coldContexts} {
			heat := map[bool]string{true: "hot", false: "cold"}[n == 1]
			report := func(b *testing.B, bp blockPair) {
				pion, compact, speedup := bp.run(b)
				b.ReportMetric(compact, "ns/pkt-compact")
				b.ReportMetric(pion, "ns/pkt-pion")
				b.ReportMetric(speedup, "pion/compact")
			}
			b.Run(p.String()+"/protect/"+heat, func(b *testing.B) {
				report(b, protectPair(b, newProtectSet(b, p, Pion, n), newProtectSet(b, p, Compact, n)))
			})
			b.Run(p.String()+"/unprotect/"+heat, func(b *testing.B) {
				report(b, unprotectPair(b, newUnprotectSet(b, p, Pion, n, fillBatch),
					newUnprotectSet(b, p, Compact, n, fillBatch)))
			})
		}
	}
}

// BenchmarkColdHot: one backend, cold against hot, interleaved.
func BenchmarkColdHot(b *testing.B) {
	for _, p := range benchProfiles {
		for _, be := range backends {
			report := func(b *testing.B, bp blockPair) {
				cold, hot, ratio := bp.run(b)
				b.ReportMetric(hot, "ns/pkt-hot")
				b.ReportMetric(cold, "ns/pkt-cold")
				b.ReportMetric(ratio, "cold/hot")
			}
			name := p.String() + "/backend=" + be.String()
			b.Run(name+"/protect", func(b *testing.B) {
				report(b, protectPair(b, newProtectSet(b, p, be, coldContexts), newProtectSet(b, p, be, 1)))
			})
			b.Run(name+"/unprotect", func(b *testing.B) {
				report(b, unprotectPair(b, newUnprotectSet(b, p, be, coldContexts, fillBatch),
					newUnprotectSet(b, p, be, 1, fillBatch)))
			})
		}
	}
}
