package mixer

import (
	"math/bits"
	"sync/atomic"
)

// pad keeps fields written by different goroutines on different cache lines
// (128 bytes, as sync.Pool does, because adjacent-line prefetch pairs lines
// on x86).
type pad [128]byte

// packetRing is a participant's queue of outbound packets between the tick,
// which builds each packet (header, payload, SRTP) straight into a slot, and
// the goroutine that hands it to the Sink. Handing a packet over costs no
// copy and no allocation: the slots are allocated once, at Join.
//
// Single producer (the tick), single consumer (whichever goroutine delivers
// the participant's packets at the moment; a change of consumer is
// synchronised by its hand-over, see delivery). Capacity is a power of two;
// indices are free-running and masked. Each side caches the other's index so
// that its fast path reads only its own cache line.
type packetRing struct {
	data     []byte     // capacity × slotSize bytes
	meta     []slotMeta // each slot's packet: length, sink, counters; written before it is published
	mask     uint64
	slotSize int

	_ pad
	p ringProducer
	_ pad
	c ringConsumer
	_ pad
}

// slotMeta says what a slot's packet is and where it goes: its length, the
// Sink it is for and the counters it is accounted in (the participant's
// RTP or RTCP).
type slotMeta struct {
	n    int
	sink Sink
	ctr  *sinkCounters
}

// ringProducer is the tick's side.
type ringProducer struct {
	head      atomic.Uint64 // next slot to fill; published after the slot is written
	next      uint64        // the producer's copy of head
	tailCache uint64        // last tail seen
}

// ringConsumer is the delivering goroutine's side.
type ringConsumer struct {
	tail      atomic.Uint64 // next slot to deliver; published after the sink returned
	next      uint64        // the consumer's copy of tail
	headCache uint64        // last head seen
}

// newPacketRing allocates a ring of at least n slots (rounded up to a power
// of two) of slotSize bytes each.
func newPacketRing(n, slotSize int) *packetRing {
	if n < 1 {
		n = 1
	}
	n = 1 << bits.Len(uint(n-1))
	return &packetRing{
		data:     make([]byte, n*slotSize),
		meta:     make([]slotMeta, n),
		mask:     uint64(n - 1),
		slotSize: slotSize,
	}
}

// capacity returns the number of slots.
func (r *packetRing) capacity() int { return int(r.mask) + 1 }

// reserve returns the next free slot, empty with its full capacity, or nil
// when the ring is full. Producer only; the slot is the producer's until
// publish.
func (r *packetRing) reserve() []byte {
	h := r.p.next
	if h-r.p.tailCache > r.mask {
		r.p.tailCache = r.c.tail.Load()
		if h-r.p.tailCache > r.mask {
			return nil
		}
	}
	i := int(h&r.mask) * r.slotSize
	return r.data[i : i : i+r.slotSize]
}

// publish hands the reserved slot, holding an n-byte packet for sink,
// accounted in ctr, to the consumer. Producer only.
func (r *packetRing) publish(n int, sink Sink, ctr *sinkCounters) {
	h := r.p.next
	r.meta[h&r.mask] = slotMeta{n: n, sink: sink, ctr: ctr}
	r.p.next = h + 1
	r.p.head.Store(h + 1)
}

// peek returns the oldest packet not yet delivered and what it is, or nil
// when there is none. Consumer only; both stay valid until release.
func (r *packetRing) peek() ([]byte, *slotMeta) {
	t := r.c.next
	if t == r.c.headCache {
		r.c.headCache = r.p.head.Load()
		if t == r.c.headCache {
			return nil, nil
		}
	}
	m := &r.meta[t&r.mask]
	i := int(t&r.mask) * r.slotSize
	return r.data[i : i+m.n], m
}

// release gives the slot peek returned back to the producer. Consumer only.
func (r *packetRing) release() {
	r.c.next++
	r.c.tail.Store(r.c.next)
}

// pending returns how many packets wait in the ring. Any goroutine (a
// snapshot).
func (r *packetRing) pending() int {
	t := r.c.tail.Load() // first: head only grows, so head ≥ this tail
	return int(r.p.head.Load() - t)
}
