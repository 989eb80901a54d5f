package record

import "sync/atomic"

// queue is the single-producer, single-consumer ring between a recorder's
// feeder and its writer goroutine: a ring of item descriptors and a ring
// of data (PCM samples or packet bytes) that items take contiguously — an
// item that would wrap starts again at the beginning and the tail it
// leaves is freed with it. The item ring's length is a power of two and
// its positions are masked; the data ring is exactly as long as asked
// (a queue of 2 s at 48 kHz is 96000 samples, not 131072) and the
// producer keeps its offset beside its position. Positions count up
// forever. Nothing allocates after newQueue.
//
// Who owns what is a type: the producer's fields and the consumer's sit
// on their own cache lines, each side keeps a cached copy of the other's
// position so that its fast path reads no shared line, and the only
// shared writes are the two published positions of each side.
type queue[T int16 | byte] struct {
	_     pad
	p     producer
	_     pad
	c     consumer
	_     pad
	items []item
	data  []T
}

// pad keeps fields written by different goroutines on different cache
// lines (128 bytes, as sync.Pool does: x86 prefetches lines in pairs).
type pad [128]byte

type producer struct {
	head     atomic.Uint64 // items published
	dataHead uint64        // data used, tails skipped included
	off      uint64        // dataHead's offset in the data ring
	tail     uint64        // cached consumer.tail
	dataTail uint64        // cached consumer.dataTail
}

type consumer struct {
	tail     atomic.Uint64 // items consumed
	dataTail atomic.Uint64 // data freed
	head     uint64        // cached producer.head
}

type itemKind uint8

const (
	itemFrame   itemKind = iota // data: PCM or a packet
	itemSilence                 // silence until pos
)

type item struct {
	pos  int64  // samples per channel from the recording's start; may be negative
	dur  int64  // samples per channel the item lasts
	off  uint32 // where the data starts
	n    uint32 // data length
	end  uint64 // dataHead after this item: what consuming it frees
	kind itemKind
}

func newQueue[T int16 | byte](items, data int) *queue[T] {
	return &queue[T]{items: make([]item, ceilPow2(items)), data: make([]T, data)}
}

func ceilPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// push copies src into the ring as one item; false when the ring has no
// room for it (the item is not queued). Producer only.
func (q *queue[T]) push(kind itemKind, pos, dur int64, src []T) bool {
	p := &q.p
	head := p.head.Load()
	if head-p.tail >= uint64(len(q.items)) {
		p.tail = q.c.tail.Load()
		if head-p.tail >= uint64(len(q.items)) {
			return false
		}
	}
	size := uint64(len(q.data))
	n := uint64(len(src))
	start, off := p.dataHead, p.off
	if off+n > size {
		start += size - off // skip the tail: items are contiguous
		off = 0
	}
	end := start + n
	// The new item may reuse what the consumer has freed: it overlaps
	// unconsumed data only if it reaches round to it. An empty ring takes
	// any item, the skipped tail notwithstanding.
	if end-p.dataTail > size {
		p.dataTail = q.c.dataTail.Load()
		if end-p.dataTail > size && p.dataTail != p.dataHead {
			return false
		}
	}
	copy(q.data[off:], src)
	q.items[head&uint64(len(q.items)-1)] = item{
		pos: pos, dur: dur, off: uint32(off), n: uint32(n), end: end, kind: kind,
	}
	p.dataHead = end
	if p.off = off + n; p.off == size {
		p.off = 0
	}
	p.head.Store(head + 1)
	return true
}

// fillOver reports whether more than items items or data elements are in
// use, as seen from the producer's cached view of the consumer (which can
// only overstate the fill). Producer only.
func (q *queue[T]) fillOver(items, data uint64) bool {
	p := &q.p
	return p.head.Load()-p.tail > items || p.dataHead-p.dataTail > data
}

// peek returns the oldest item and its data, or false when the ring is
// empty. The data stays valid until pop. Consumer only.
func (q *queue[T]) peek() (item, []T, bool) {
	c := &q.c
	tail := c.tail.Load()
	if tail == c.head {
		c.head = q.p.head.Load()
		if tail == c.head {
			return item{}, nil, false
		}
	}
	it := q.items[tail&uint64(len(q.items)-1)]
	return it, q.data[it.off : it.off+it.n], true
}

// pop frees the item peek returned. Consumer only.
func (q *queue[T]) pop(it item) {
	q.c.dataTail.Store(it.end)
	q.c.tail.Add(1)
}
