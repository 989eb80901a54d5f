package srtp

import "math/rand/v2"

// DefaultMaxSSRCs is how many SSRCs an Unprotector keeps state for, in each
// of SRTP and SRTCP, when no MaxSSRCs option is given. A participant's leg
// carries one or two (audio, perhaps a new SSRC after a re-INVITE); a trunk
// between bridges may carry dozens. 64 covers both with room, and bounds
// what an authenticated peer that changes SSRC on every packet can make a
// leg hold, SRTP and SRTCP together, to about 35 KiB on the Pion backend
// and 20 KiB on the compact one, measured (TestSSRCChurn; see MaxSSRCs).
const DefaultMaxSSRCs = 64

// maxMaxSSRCs bounds MaxSSRCs: far beyond any trunk, small enough that a
// full table (2^17 index slots) is a megabyte, not a misconfiguration that
// reopens the unbounded growth the bound exists to close.
const maxMaxSSRCs = 1 << 16

// ssrcState is what a receiver keeps for one SSRC in one direction (SRTP or
// SRTCP) besides the keys: its replay window and the highest authenticated
// packet index. The compact backend keeps it as the SSRC's state; the
// Pion backend (pion.go) also hands it to pion as the SSRC's replay
// detector. Its first 64 bytes, up to the end of the replay window, are
// what a packet of the SSRC reads and writes (TestLayout).
type ssrcState struct {
	ssrc uint32
	// indexed reports that index comes from an authenticated packet; an
	// SSRC created by SetROC knows only its rollover counter (index =
	// ROC<<16) until its first packet.
	indexed bool
	live    bool // in a table; false once evicted
	recent  bool // the head of its table: the SSRC that authenticated last
	// index is the highest authenticated packet index: ROC<<16|SEQ for
	// SRTP, the 31-bit SRTCP index for SRTCP.
	index  uint64
	window replayWindow
	// prev and next link the table's recency list.
	prev, next *ssrcState
	hooks      *pionHooks // the Pion backend's per-call reporting (pion.go); nil on Compact
}

// authenticated records that index belonged to an authenticated packet.
func (s *ssrcState) authenticated(index uint64) {
	if !s.indexed || index > s.index {
		s.index = index
		s.indexed = true
	}
}

// ssrcTable holds the ssrcStates of one direction, at most max of them,
// ordered by when each last authenticated a packet. Admitting one beyond
// max evicts the least recently authenticated. The backend decides when a
// state is admitted (only after a packet under its SSRC authenticated, so
// forgeries cannot fill the table) and what eviction frees.
//
// Lookup by SSRC is an open-addressing index kept at most half full, with
// backward-shift deletion, so that churn leaves no tombstones and the index
// never outgrows the power of two above 2*max: the bound holds for the
// index too. The hash is seeded per table so that a peer choosing SSRCs
// cannot predict collisions; the worst case is a probe of max slots.
//
// A table is not safe for concurrent use; its owner serialises access.
type ssrcTable struct {
	max   int
	n     int
	head  *ssrcState   // most recently authenticated; head.prev is the least
	slots []*ssrcState // index by SSRC; len 0 or a power of two
	shift uint         // 32 - log2(len(slots))
	seed  uint32
}

func newSSRCTable(max int) ssrcTable {
	return ssrcTable{max: max, seed: rand.Uint32()}
}

// Len returns how many SSRCs hold state.
func (t *ssrcTable) Len() int { return t.n }

func (t *ssrcTable) home(ssrc uint32) int {
	return int(((ssrc ^ t.seed) * 0x9e3779b1) >> t.shift) // Fibonacci hashing: top bits
}

// lookup returns the state of ssrc, or nil.
func (t *ssrcTable) lookup(ssrc uint32) *ssrcState {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(ssrc); ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == nil || s.ssrc == ssrc {
			return s
		}
	}
}

// touch marks s, which must be live, as the most recently authenticated.
func (t *ssrcTable) touch(s *ssrcState) {
	if s == t.head {
		return
	}
	t.unlink(s)
	t.pushFront(s)
}

// admit adds s, which must not be live and whose SSRC must not be in the
// table, as the most recently authenticated. If that takes the table
// beyond max it evicts the least recently authenticated state and returns
// it; otherwise it returns nil.
func (t *ssrcTable) admit(s *ssrcState) (evicted *ssrcState) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.insert(s)
	t.pushFront(s)
	s.live = true
	t.n++
	if t.n <= t.max {
		return nil
	}
	old := t.head.prev
	t.remove(old)
	return old
}

// remove takes s, which must be live, out of the table.
func (t *ssrcTable) remove(s *ssrcState) {
	t.unlink(s)
	t.deindex(s)
	s.live = false
	t.n--
}

// each calls f for every state, most recently authenticated first.
func (t *ssrcTable) each(f func(*ssrcState)) {
	if t.head == nil {
		return
	}
	s := t.head
	for {
		next := s.next // f must not reorder, but need not know that
		f(s)
		if next == t.head {
			return
		}
		s = next
	}
}

func (t *ssrcTable) pushFront(s *ssrcState) {
	if t.head == nil {
		s.prev, s.next = s, s
	} else {
		s.next, s.prev = t.head, t.head.prev
		t.head.prev.next = s
		t.head.prev = s
		t.head.recent = false
	}
	t.head = s
	s.recent = true
}

func (t *ssrcTable) unlink(s *ssrcState) {
	if s.next == s {
		t.head = nil
	} else {
		s.prev.next, s.next.prev = s.next, s.prev
		if t.head == s {
			t.head = s.next
			t.head.recent = true
		}
	}
	s.prev, s.next = nil, nil
	s.recent = false
}

func (t *ssrcTable) insert(s *ssrcState) {
	mask := len(t.slots) - 1
	i := t.home(s.ssrc)
	for t.slots[i] != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// deindex deletes s from the index, shifting back any later entry of the
// probe run that would otherwise become unreachable (no tombstones).
func (t *ssrcTable) deindex(s *ssrcState) {
	mask := len(t.slots) - 1
	i := t.home(s.ssrc)
	for t.slots[i] != s {
		i = (i + 1) & mask
	}
	for {
		t.slots[i] = nil
		j := i
		for {
			j = (j + 1) & mask
			e := t.slots[j]
			if e == nil {
				return
			}
			// e may stay at j if its home lies cyclically in (i, j].
			k := t.home(e.ssrc)
			if i <= j && i < k && k <= j || i > j && (i < k || k <= j) {
				continue
			}
			t.slots[i] = e
			i = j
			break
		}
	}
}

// grow doubles the index (8 slots at first). Entries never exceed max+1,
// so it stops at the power of two above 2*(max+1).
func (t *ssrcTable) grow() {
	old := t.slots
	size := 2 * len(old)
	if size < 8 {
		size = 8
	}
	t.slots = make([]*ssrcState, size)
	t.shift = 32
	for n := size; n > 1; n >>= 1 {
		t.shift--
	}
	for _, s := range old {
		if s != nil {
			t.insert(s)
		}
	}
}
