package srtp

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// liveHeap returns the bytes of live heap objects after two collections.
func liveHeap() (alloc, inuse uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.HeapInuse
}

// churnSender protects packets under SSRCs that the test never reuses,
// from Protectors it replaces every 256 SSRCs, so that the sender's own
// per-SSRC state (it keeps one per SSRC, unbounded) is garbage by the time
// the receiver's heap is measured.
type churnSender struct {
	k    Keys
	pr   *Protector
	n    int
	buf  []byte
	rbuf []byte
}

func (c *churnSender) protector(t testing.TB) *Protector {
	if c.n%256 == 0 {
		pr, err := NewProtector(c.k)
		require.NoError(t, err)
		c.pr = pr
	}
	c.n++
	return c.pr
}

func (c *churnSender) rtp(t testing.TB, ssrc uint32, seq uint16) []byte {
	pkt := testRTP(seq, ssrc, 40, 0)
	out, err := c.protector(t).ProtectRTP(c.buf[:0], pkt)
	require.NoError(t, err)
	c.buf = out
	return out
}

func (c *churnSender) rtcp(t testing.TB, ssrc uint32) []byte {
	out, err := c.protector(t).ProtectRTCP(c.rbuf[:0], testRTCP(ssrc, 1))
	require.NoError(t, err)
	c.rbuf = out
	return out
}

// keptStream is an SSRC that keeps sending through the churn: its state
// must survive every eviction and rebuild around it.
type keptStream struct {
	ssrc uint32
	seq  uint16
	pr   *Protector
	held [][]byte // packets delivered late, out of order
	sent [][]byte // recently delivered packets, to replay
}

// TestSSRCChurn is the memory exhaustion of issue 10: an authenticated
// peer sends 50,000 SRTP packets and 10,000 SRTCP packets, each under a
// new SSRC. Before the bound the Unprotector grew by 136 B per SSRC (6.8
// MB here) and held it all. Now the live heap grows by no more than
// what MaxSSRCs allows (see the bound below), evictions are counted, the
// most recent SSRCs still decrypt, an evicted SSRC that comes back is
// accepted afresh, and three streams that keep sending through the churn
// keep their state across every rebuild of the pion context: the rollover
// counter of one that wraps, and replay protection of all of them.
func TestSSRCChurn(t *testing.T) { forBackends(t, testSSRCChurn) }

func testSSRCChurn(t *testing.T, be Backend) {
	const (
		newRTP  = 50000
		newRTCP = 10000
		every   = 16 // the kept streams send once per 16 new SSRCs
	)
	k := testKeys(ProfileAESCM128HMACSHA1_80, 70)
	un, err := NewUnprotector(k, UseBackend(be))
	require.NoError(t, err)
	kept := make([]*keptStream, 3)
	for i := range kept {
		pr, err := NewProtector(k, UseBackend(be))
		require.NoError(t, err)
		kept[i] = &keptStream{ssrc: uint32(0xAA000000 + i), pr: pr, seq: uint16(64000 - 3000*i)} // [0] wraps
	}
	var hdr rtp.Header
	send := func(ks *keptStream) {
		ks.seq++
		out, err := ks.pr.ProtectRTP(nil, testRTP(ks.seq, ks.ssrc, 40, 0))
		require.NoError(t, err)
		if ks.seq%7 == 0 {
			ks.held = append(ks.held, out) // delivered a few rounds later
			return
		}
		_, err = un.UnprotectRTP(bytes.Clone(out)[:0], bytes.Clone(out), &hdr)
		require.NoError(t, err, "kept SSRC %#x seq %d", ks.ssrc, ks.seq)
		ks.sent = append(ks.sent, out)
		if len(ks.held) > 3 { // some 21 to 28 packets late, inside the window of 64
			late := ks.held[0]
			ks.held = ks.held[1:]
			_, err = un.UnprotectRTP(bytes.Clone(late)[:0], bytes.Clone(late), &hdr)
			require.NoError(t, err, "late packet of kept SSRC %#x", ks.ssrc)
			ks.sent = append(ks.sent, late)
		}
		if len(ks.sent) > 8 {
			ks.sent = ks.sent[len(ks.sent)-8:]
		}
	}
	keptRTCP, err := NewProtector(k, UseBackend(be))
	require.NoError(t, err)
	var rtcpSent []byte
	sendRTCP := func() {
		out, err := keptRTCP.ProtectRTCP(nil, testRTCP(0xBB000000, 1))
		require.NoError(t, err)
		_, err = un.UnprotectRTCP(nil, out)
		require.NoError(t, err)
		rtcpSent = out
	}
	for _, ks := range kept {
		send(ks)
	}
	sendRTCP()

	cs := &churnSender{k: k}
	first := bytes.Clone(cs.rtp(t, 1, 100))
	_, err = un.UnprotectRTP(bytes.Clone(first)[:0], bytes.Clone(first), &hdr)
	require.NoError(t, err)
	admittedRTP, admittedRTCP := len(kept)+1, 1
	alloc0, inuse0 := liveHeap()

	for i := 1; i < newRTP; i++ {
		ssrc := uint32(1 + i)
		out := cs.rtp(t, ssrc, uint16(i*31))
		if _, err := un.UnprotectRTP(out[:0], out, &hdr); err != nil {
			t.Fatalf("new SSRC %d: %v", i, err)
		}
		admittedRTP++
		if i%5 == 0 {
			out := cs.rtcp(t, 0x1000000+ssrc)
			if _, err := un.UnprotectRTCP(out[:0], out); err != nil {
				t.Fatalf("new SRTCP SSRC %d: %v", i, err)
			}
			admittedRTCP++
		}
		if i%every == 0 {
			for _, ks := range kept {
				send(ks)
			}
			sendRTCP()
		}
		if i%997 == 0 { // replay protection holds for the kept streams
			for _, ks := range kept {
				for _, old := range ks.sent {
					_, err := un.UnprotectRTP(bytes.Clone(old)[:0], bytes.Clone(old), &hdr)
					require.Equal(t, ErrReplay, err, "replay of kept SSRC %#x after %d rebuilds", ks.ssrc, rebuilds(un))
				}
			}
			_, err := un.UnprotectRTCP(nil, rtcpSent)
			require.Equal(t, ErrReplay, err, "SRTCP replay of the kept SSRC")
		}
	}
	cs.pr = nil
	alloc1, inuse1 := liveHeap()
	growth := int64(alloc1) - int64(alloc0)
	t.Logf("live heap %+d B (%.2f B per new SSRC), in use %+d B; %d rebuilds, stats %+v",
		growth, float64(growth)/(newRTP+newRTCP), int64(inuse1)-int64(inuse0), rebuilds(un), un.Stats())
	// pion holds at most 2*DefaultMaxSSRCs + rebuildAt = 160 SSRC states
	// (its own, ours with a one-word window, its map slot: under 256 B),
	// our two indexes 2 KiB, one context about 6 KiB: some 50 KiB. 128 KiB
	// leaves room for what the runtime keeps; unbounded it is 6.8 MB.
	assert.Less(t, growth, int64(128<<10), "live heap growth")
	// In-use spans, 8 KiB pages holding live objects among the garbage
	// of the churn (measured 260 to 290 KiB): against 7.5 MB unbounded.
	assert.Less(t, int64(inuse1)-int64(inuse0), int64(1<<20), "heap in use growth")

	st := un.Stats()
	assert.Equal(t, uint64(admittedRTP-DefaultMaxSSRCs+admittedRTCP-DefaultMaxSSRCs), st.SSRCEvictions)
	rtpT, rtcpT := un.tables()
	assert.Equal(t, DefaultMaxSSRCs, rtpT.Len())
	assert.Equal(t, DefaultMaxSSRCs, rtcpT.Len())
	if be == Pion {
		assert.Less(t, un.pion.stale, un.pion.rebuildAt)
		assert.Equal(t, st.SSRCEvictions/uint64(un.pion.rebuildAt), un.pion.rebuilds)
	}
	assert.Zero(t, st.AuthFailures+st.OtherErrors)

	// The wrapping stream crossed into ROC 1 during the churn.
	roc, ok := un.ROC(kept[0].ssrc)
	require.True(t, ok)
	assert.Equal(t, uint32(1), roc)
	// The most recent new SSRCs hold state and decrypt their next packets.
	for i := newRTP - 40; i < newRTP; i++ {
		ssrc := uint32(1 + i)
		_, ok := un.ROC(ssrc)
		require.True(t, ok, "recent SSRC %d lost", i)
		pr, err := NewProtector(k, UseBackend(be))
		require.NoError(t, err)
		out, err := pr.ProtectRTP(nil, testRTP(uint16(i*31)+1, ssrc, 40, 0))
		require.NoError(t, err)
		_, err = un.UnprotectRTP(out[:0], out, &hdr)
		require.NoError(t, err, "recent SSRC %d", i)
	}
	// The first new SSRC was evicted long ago: it starts afresh, so even
	// its first packet is accepted again (the price of the bound, which
	// only a peer holding the keys can make anyone pay).
	_, ok = un.ROC(1)
	assert.False(t, ok)
	_, err = un.UnprotectRTP(bytes.Clone(first)[:0], bytes.Clone(first), &hdr)
	assert.NoError(t, err, "evicted SSRC back")
	_, err = un.UnprotectRTP(first[:0], first, &hdr)
	assert.Equal(t, ErrReplay, err, "and protected again from then on")
}

// TestRebuildAcrossWrap: a rebuild between a stream's sequence number
// 65535 and its 0 must carry the exact packet index into the new context,
// not only the rollover counter: with the counter alone pion takes the 0
// to be in ROC 0, and that packet and every one after it fail
// authentication. Also: the replay window survives, and so do keys added
// with AddKey. The compact backend never rebuilds; on it the same
// evictions around the wrap must leave the kept stream as intact.
func TestRebuildAcrossWrap(t *testing.T) {
	forBackends(t, func(t *testing.T, be Backend) {
		for _, p := range allProfiles {
			for _, mki := range []bool{false, true} {
				name := p.String()
				if mki {
					name += "/MKI"
				}
				t.Run(name, func(t *testing.T) { testRebuildAcrossWrap(t, be, p, mki) })
			}
		}
	})
}

func testRebuildAcrossWrap(t *testing.T, be Backend, p Profile, mki bool) {
	k, k2 := testKeys(p, 71), testKeys(p, 72)
	if mki {
		k.MKI, k2.MKI = []byte{1}, []byte{2}
	}
	un, err := NewUnprotector(k, MaxSSRCs(4), UseBackend(be))
	require.NoError(t, err)
	pr, err := NewProtector(k)
	require.NoError(t, err)
	pr2 := pr
	if mki {
		require.NoError(t, un.AddKey(k2))
		pr2, err = NewProtector(k2)
		require.NoError(t, err)
	}
	const kept = 0xCAFE
	var hdr rtp.Header
	recv := func(out []byte) error {
		_, err := un.UnprotectRTP(bytes.Clone(out)[:0], bytes.Clone(out), &hdr)
		return err
	}
	protect := func(pr *Protector, ssrc uint32, seq uint16) []byte {
		out, err := pr.ProtectRTP(nil, testRTP(seq, ssrc, 20, 0))
		require.NoError(t, err)
		return out
	}
	// Evict until one more eviction rebuilds, the kept stream sending in
	// between so that it stays among the 4 most recent.
	seq := uint16(65500)
	next := uint32(1)
	// (On the compact backend: as many evictions as pion needs.)
	for evictions := 1; be == Pion && un.pion.stale < un.pion.rebuildAt-1 ||
		be == Compact && evictions < rebuildAt(4); evictions++ {
		require.NoError(t, recv(protect(pr, kept, seq)))
		seq++
		require.NoError(t, recv(protect(NewProtectorMust(t, k), next, 7)))
		next++
	}
	for ; seq != 65535; seq++ {
		require.NoError(t, recv(protect(pr, kept, seq)))
	}
	last := protect(pr, kept, 65535)
	require.NoError(t, recv(last))
	before := rebuilds(un)
	require.NoError(t, recv(protect(NewProtectorMust(t, k), next, 7)))
	if be == Pion {
		require.Equal(t, before+1, rebuilds(un), "that admission rebuilt the context")
	}
	// After the rebuild: the kept stream wraps.
	require.NoError(t, recv(protect(pr, kept, 0)), "first packet of ROC 1 after the rebuild")
	require.NoError(t, recv(protect(pr, kept, 1)))
	roc, ok := un.ROC(kept)
	require.True(t, ok)
	assert.Equal(t, uint32(1), roc)
	assert.Equal(t, ErrReplay, recv(last), "replay window carried over")
	// The added key still selects by MKI after the rebuild.
	require.NoError(t, recv(protect(pr2, 0xD00D, 9)))
	r, err := pr2.ProtectRTCP(nil, testRTCP(0xD00D, 1))
	require.NoError(t, err)
	_, err = un.UnprotectRTCP(nil, r)
	require.NoError(t, err)
}

// NewProtectorMust is NewProtector for tests.
func NewProtectorMust(t testing.TB, k Keys) *Protector {
	t.Helper()
	pr, err := NewProtector(k)
	require.NoError(t, err)
	return pr
}

// TestForgedNewSSRCsCostNothing: forged SRTP and SRTCP under 20,000 new
// SSRCs each leave no state, evict nothing and grow the live heap by
// nothing measurable.
func TestForgedNewSSRCsCostNothing(t *testing.T) { forBackends(t, testForgedNewSSRCsCostNothing) }

func testForgedNewSSRCsCostNothing(t *testing.T, be Backend) {
	const n = 20000
	for _, p := range []Profile{ProfileAESCM128HMACSHA1_80, ProfileAEADAES128GCM} {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 73)
			un, err := NewUnprotector(k, MaxSSRCs(4), UseBackend(be))
			require.NoError(t, err)
			genuine := NewProtectorMust(t, k)
			out, err := genuine.ProtectRTP(nil, testRTP(1, 42, 40, 0))
			require.NoError(t, err)
			_, err = un.UnprotectRTP(out[:0], out, nil)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(5, 6))
			var rbuf []byte
			alloc0, _ := liveHeap()
			for i := range n {
				pkt := append(testRTP(uint16(i), rng.Uint32(), 40, 0), make([]byte, p.RTPOverhead())...)
				if _, err := un.UnprotectRTP(pkt[:0], pkt, nil); err != ErrAuth {
					t.Fatalf("forged SRTP: %v", err)
				}
				rbuf = forgeSRTCP(rng, p, rng.Uint32(), rbuf)
				if _, err := un.UnprotectRTCP(rbuf[:0], rbuf); err != ErrAuth {
					t.Fatalf("forged SRTCP: %v", err)
				}
			}
			alloc1, _ := liveHeap()
			assert.Less(t, int64(alloc1)-int64(alloc0), int64(16<<10), "live heap growth")
			rtpT, rtcpT := un.tables()
			assert.Equal(t, 1, rtpT.Len())
			assert.Zero(t, rtcpT.Len())
			st := un.Stats()
			assert.Equal(t, uint64(2*n), st.AuthFailures)
			assert.Zero(t, st.SSRCEvictions)
			assert.Zero(t, rebuilds(un))
		})
	}
}

// TestSetROCWithinBound: SetROC creates state like an authenticated
// packet, within the bound; on an SSRC evicted but still held by pion it
// starts that SSRC afresh at the given counter.
func TestSetROCWithinBound(t *testing.T) { forBackends(t, testSetROCWithinBound) }

func testSetROCWithinBound(t *testing.T, be Backend) {
	k := testKeys(ProfileAEADAES128GCM, 74)
	un, err := NewUnprotector(k, MaxSSRCs(2), UseBackend(be))
	require.NoError(t, err)
	un.SetROC(1, 5)
	un.SetROC(2, 6)
	un.SetROC(3, 7) // evicts 1
	assert.Equal(t, uint64(1), un.Stats().SSRCEvictions)
	_, ok := un.ROC(1)
	assert.False(t, ok, "evicted")
	roc, ok := un.ROC(3)
	assert.True(t, ok)
	assert.Equal(t, uint32(7), roc)
	rtpT, _ := un.tables()
	assert.Equal(t, 2, rtpT.Len())

	// SSRC 1 again: pion still holds its old state, which is dropped by a
	// rebuild before the new counter is set.
	before := rebuilds(un)
	un.SetROC(1, 9)
	if be == Pion {
		assert.Equal(t, before+1, rebuilds(un))
	}
	roc, ok = un.ROC(1)
	assert.True(t, ok)
	assert.Equal(t, uint32(9), roc)
	pr := NewProtectorMust(t, k)
	pr.SetROC(1, 9)
	out, err := pr.ProtectRTP(nil, testRTP(40000, 1, 10, 0))
	require.NoError(t, err)
	_, err = un.UnprotectRTP(out[:0], out, nil)
	require.NoError(t, err)

	// Setting the counter of a live SSRC forgets its sequence number, as
	// pion does: the next packet is taken to be in that counter.
	un.SetROC(1, 10)
	pr.SetROC(1, 10)
	out, err = pr.ProtectRTP(nil, testRTP(3, 1, 10, 0))
	require.NoError(t, err)
	_, err = un.UnprotectRTP(out[:0], out, nil)
	require.NoError(t, err)
	_, err = NewUnprotector(k, MaxSSRCs(0), UseBackend(be))
	assert.ErrorIs(t, err, errMaxSSRCs)
	_, err = NewUnprotector(k, MaxSSRCs(maxMaxSSRCs+1), UseBackend(be))
	assert.ErrorIs(t, err, errMaxSSRCs)
}

// mallocsPer returns the mean number of heap allocations of f over n
// calls, as a fraction: testing.AllocsPerRun rounds down, and what is
// measured here is amortised.
func mallocsPer(n int, f func()) float64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m0 := ms.Mallocs
	for range n {
		f()
	}
	runtime.ReadMemStats(&ms)
	return float64(ms.Mallocs-m0) / float64(n)
}

// TestAllocsSSRCs: what per-SSRC state costs in allocations. Packets of
// SSRCs that hold state allocate nothing, however many SSRCs (below the
// bound) take turns. A new SSRC below the bound costs 2 allocations, pion's
// state and the spare detector that replaces ours, plus, amortised, the
// growth of pion's map and our index (2.3 measured). A new SSRC at the
// bound also pays, amortised, for rebuilding the context every rebuildAt
// evictions: about 7 allocations, 600 B, per new SSRC at the default bound
// with both tables full. On the compact backend a new SSRC costs its state
// alone, one allocation, at the bound or below it.
func TestAllocsSSRCs(t *testing.T) { forBackends(t, testAllocsSSRCs) }

func testAllocsSSRCs(t *testing.T, be Backend) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	if raceEnabled {
		t.Skip("the race detector makes pion's sync.Pool drop items; make allocs runs this without it")
	}
	for _, p := range []Profile{ProfileAESCM128HMACSHA1_80, ProfileAEADAES128GCM} {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 75)
			const ssrcs, runs = 48, 20
			// Every packet is made beforehand: Protector state must not
			// count, and unprotecting in place from copies keeps them intact.
			var rtpPkts, rtcpPkts [runs + 1][ssrcs][]byte
			senders := make([]*Protector, ssrcs)
			for s := range ssrcs {
				senders[s] = NewProtectorMust(t, k)
			}
			for r := range runs + 1 {
				for s := range ssrcs {
					var err error
					rtpPkts[r][s], err = senders[s].ProtectRTP(nil, testRTP(uint16(r), uint32(s+1), 40, 0))
					require.NoError(t, err)
					rtcpPkts[r][s], err = senders[s].ProtectRTCP(nil, testRTCP(uint32(s+1), 1))
					require.NoError(t, err)
				}
			}
			un, err := NewUnprotector(k, UseBackend(be))
			require.NoError(t, err)
			var hdr rtp.Header
			scratch := make([]byte, 0, 256)
			r, s := 0, 0
			round := func() {
				if _, err := un.UnprotectRTP(scratch, rtpPkts[r][s], &hdr); err != nil {
					panic(err)
				}
				if _, err := un.UnprotectRTCP(scratch, rtcpPkts[r][s]); err != nil {
					panic(err)
				}
				if s++; s == ssrcs {
					s, r = 0, r+1
				}
			}
			admit := mallocsPer(ssrcs, round) // round 0: every SSRC new
			t.Logf("new SSRC below the bound: %.2f allocations per SRTP+SRTCP pair", admit)
			if be == Pion {
				assert.LessOrEqual(t, admit, 2*2.5, "admission, SRTP and SRTCP")
				assert.GreaterOrEqual(t, admit, 2*2.0, "admission allocates pion's state and a spare: the count is stale")
			} else {
				// One state each, but the first SSRC's SRTP state is inline,
				// and each table's index made and doubled to 128 slots, 5
				// times: (47 + 48 + 2*5) / 48 = 2.19 per pair.
				assert.LessOrEqual(t, admit, 2.3, "admission, SRTP and SRTCP")
				assert.GreaterOrEqual(t, admit, 2.0, "admission allocates a state: the count is stale")
			}
			// One run is a whole round, every SSRC once, so any allocation
			// on the path shows in a count AllocsPerRun rounds down.
			assert.Zero(t, testing.AllocsPerRun(runs-1, func() {
				for range ssrcs {
					round()
				}
			}), "%d SSRCs taking turns", ssrcs)

			// At the bound, amortised over evictions and rebuilds.
			cs := &churnSender{k: k}
			var pkts [][]byte
			for i := range 2000 {
				pkts = append(pkts, bytes.Clone(cs.rtp(t, uint32(1000+i), 1)))
			}
			i := 0
			churn := mallocsPer(len(pkts), func() {
				if _, err := un.UnprotectRTP(scratch, pkts[i], &hdr); err != nil {
					panic(err)
				}
				i++
			})
			t.Logf("new SSRC at the bound: %.2f allocations (%d rebuilds)", churn, rebuilds(un))
			if be == Pion {
				require.Positive(t, rebuilds(un))
				assert.LessOrEqual(t, churn, 10.0, "churn at the bound")
			} else {
				assert.LessOrEqual(t, churn, 1.0, "churn at the bound: the new state, no more")
			}
		})
	}
}
