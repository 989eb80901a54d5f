package jitter

import "math"

// minWindow keeps the minimum of a key over the packets of the last window
// of RTP time. Entries are in arrival order in a ring and leave it from the
// front once older than the window; with reordering one may outlive the
// window by the reordering depth, which only makes the minimum a little
// older.
//
// The minimum is kept the way a queue is built from two stacks: the
// entries are split into a front part, [head, split), in which each entry
// holds the minimum key from itself to the end of the part (so the front
// part's minimum is at head, and stays right as entries leave), and a back
// part, [split, end), of which only the minimum is kept as entries join.
// When the front part runs out, the back part becomes the front, its
// suffix minima computed in one pass. Each entry is passed over once that
// way, so an arrival costs O(1) amortised, with none of a monotonic deque's
// stores. Positions (head, split) count up without wrapping; the ring
// index is the position & mask.
//
// Push stages arrivals in the ring right after the window's entries
// (estimator.stage); estimator.flush measures them, slides the window to
// the newest timestamp (expiring old entries and taking the minimum with
// the staged ones) and makes them part of the window (join).
type minWindow struct {
	all     []winEntry
	head    int // position of the oldest entry
	n       int // entries in the window
	live    int // of them, those with a key (not early: see earlyRun)
	split   int // first position of the back part
	backMin int64
	mask    int
	window  int64 // ticks
	newest  int64
	valid   bool
}

// winEntry is a packet in the window: as Push staged it, arrival (ns),
// position and timestamp (ticks); as flush measured it, transit (ns), key,
// and the histogram bucket and weight it was counted with; and the
// minimum key from it to the end of the front part (valid in the front
// part only). 64 bytes, a cache line.
type winEntry struct {
	t, u, ts  int64
	d, k, suf int64
	w         float64
	bin       int
}

const noKey = math.MaxInt64

func (m *minWindow) init(size int, window int64) {
	m.all = make([]winEntry, size)
	m.mask, m.window = size-1, window
	m.reset()
}

func (m *minWindow) reset() {
	m.head, m.n, m.live, m.split, m.backMin, m.newest, m.valid = 0, 0, 0, 0, noKey, 0, false
}

// rebuild makes every entry part of the front, computing suffix minima.
func (m *minWindow) rebuild() {
	// Backwards over the entries, which occupy at most two runs of the
	// ring: from the start of the ring to the end's index, then from the
	// head's index on.
	all, head, end := m.all, m.head, m.head+m.n
	k := int64(noKey)
	if m.n > 0 {
		h, e := head&m.mask, (end-1)&m.mask+1 // [h, e) or [h, len) + [0, e)
		if e <= h {
			for i := e - 1; i >= 0; i-- {
				k = min(k, all[i].k)
				all[i].suf = k
			}
			e = len(all)
		}
		for i := e - 1; i >= h; i-- {
			k = min(k, all[i].k)
			all[i].suf = k
		}
	}
	m.split, m.backMin = end, noKey
}

// minKeep: the window keeps at least this many keyed entries however old,
// so that a source whose packets are mostly early (a burst every few
// seconds, of which only the first few are measured) is measured against
// its earlier bursts, not each burst against itself.
const minKeep = 8

// slide expires the entries more than a window older than the newest
// timestamp (but minKeep keyed ones) and returns the least key of the
// window and of the staged entries, whose own least key is kMin.
func (m *minWindow) slide(kMin int64) int64 {
	all := m.all
	mask := len(all) - 1 // = m.mask, in a form that spares bounds checks
	oldest := m.newest - m.window
	head, n, live := m.head, m.n, m.live
	for n > 0 && all[head&mask].ts < oldest {
		if all[head&mask].k != noKey {
			if live <= minKeep {
				break
			}
			live--
		}
		head++
		n--
	}
	m.head, m.n, m.live = head, n, live
	if head > m.split {
		// Entries of the back part left: it becomes the front.
		m.rebuild()
	}
	k := kMin
	if n > 0 {
		k = min(k, m.backMin)
		if head < m.split {
			k = min(k, all[head&mask].suf)
		}
	}
	return k
}

// join makes the staged entries, up to position end (exclusive), part of
// the window (its back part, kMin their least key, live of them keyed),
// leaving room in the ring for the next batch.
func (m *minWindow) join(end int, kMin int64, live int) {
	m.live += live
	m.n = end - m.head
	m.backMin = min(m.backMin, kMin)
	if over := m.n - (len(m.all) - batchMax); over > 0 {
		for p := m.head; p < m.head+over; p++ {
			if m.all[p&m.mask].k != noKey {
				m.live--
			}
		}
		m.head += over // and the next slide rebuilds, if need be
		m.n -= over
	}
}

// scaleWeights follows a rescaled histogram: the weights of the entries
// from position head to end (exclusive) are multiplied by s.
func (m *minWindow) scaleWeights(end int, s float64) {
	for p := m.head; p < end; p++ {
		m.all[p&m.mask].w *= s
	}
}

// rekey sets the keys to d − slope·ts·nsPerTick.
func (m *minWindow) rekey(slope, nsPerTick float64) {
	f := slope * nsPerTick
	for p := m.head; p < m.head+m.n; p++ {
		if en := &m.all[p&m.mask]; en.k != noKey { // (noKey: early, see earlyRun)
			en.k = en.d - int64(f*float64(en.ts))
		}
	}
	m.rebuild()
}
