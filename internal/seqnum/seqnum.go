package seqnum

// Diff16 returns the signed distance a−b between two 16-bit sequence
// numbers, taking the short way round the circle: Diff16(1, 65535) == 2.
// When a and b are exactly 32 768 apart the result is −32 768.
func Diff16(a, b uint16) int16 { return int16(a - b) }

// Diff32 returns the signed distance a−b between two 32-bit timestamps,
// taking the short way round the circle.
func Diff32(a, b uint32) int32 { return int32(a - b) }

// Less16 reports whether a comes before b in sequence-number order.
func Less16(a, b uint16) bool { return Diff16(a, b) < 0 }

// Less32 reports whether a comes before b in timestamp order.
func Less32(a, b uint32) bool { return Diff32(a, b) < 0 }

// Unwrapper16 extends 16-bit sequence numbers into a monotonic int64 space.
// Each value is placed at the extension nearest to the last one returned, so
// reordered and duplicate numbers land where they belong and a wrap from
// 65535 to 0 continues upwards. The zero value is ready: the first number
// seen is returned unchanged (between 0 and 65535).
//
// An Unwrapper16 is owned by one goroutine.
type Unwrapper16 struct {
	last  int64
	valid bool
}

// Unwrap returns the extended value of s and remembers it as the reference
// for the next call when it is the newest seen so far.
func (u *Unwrapper16) Unwrap(s uint16) int64 {
	if !u.valid {
		u.last, u.valid = int64(s), true
		return u.last
	}
	v := u.last + int64(Diff16(s, uint16(u.last)))
	if v > u.last {
		u.last = v
	}
	return v
}

// Peek returns what Unwrap would return for s without changing the state.
// Before the first Unwrap it returns s.
func (u *Unwrapper16) Peek(s uint16) int64 {
	if !u.valid {
		return int64(s)
	}
	return u.last + int64(Diff16(s, uint16(u.last)))
}

// Last returns the newest extended value returned, and false before the
// first call.
func (u *Unwrapper16) Last() (int64, bool) { return u.last, u.valid }

// Reset forgets the reference; the next number starts afresh.
func (u *Unwrapper16) Reset() { *u = Unwrapper16{} }

// ResetTo makes ext the reference, so that the next numbers are placed near
// it: Unwrap(uint16(ext)) == ext. It lets a receiver continue an extended
// space across a restarted sender.
func (u *Unwrapper16) ResetTo(ext int64) { u.last, u.valid = ext, true }

// Unwrapper32 extends 32-bit RTP timestamps into a monotonic int64 space, in
// the same way as Unwrapper16. The zero value is ready.
//
// An Unwrapper32 is owned by one goroutine.
type Unwrapper32 struct {
	last  int64
	valid bool
}

// Unwrap returns the extended value of t and remembers it as the reference
// for the next call when it is the newest seen so far.
func (u *Unwrapper32) Unwrap(t uint32) int64 {
	if !u.valid {
		u.last, u.valid = int64(t), true
		return u.last
	}
	v := u.last + int64(Diff32(t, uint32(u.last)))
	if v > u.last {
		u.last = v
	}
	return v
}

// Peek returns what Unwrap would return for t without changing the state.
func (u *Unwrapper32) Peek(t uint32) int64 {
	if !u.valid {
		return int64(t)
	}
	return u.last + int64(Diff32(t, uint32(u.last)))
}

// Last returns the newest extended value returned, and false before the
// first call.
func (u *Unwrapper32) Last() (int64, bool) { return u.last, u.valid }

// Reset forgets the reference.
func (u *Unwrapper32) Reset() { *u = Unwrapper32{} }

// ResetTo makes ext the reference: Unwrap(uint32(ext)) == ext.
func (u *Unwrapper32) ResetTo(ext int64) { u.last, u.valid = ext, true }
