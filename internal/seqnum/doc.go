// Package seqnum does the wraparound arithmetic of RTP sequence numbers
// (16 bits) and timestamps (32 bits): signed distances, ordering, and
// unwrapping into monotonic 64-bit counters.
//
// RTP numbers wrap: sequence numbers every 65 536 packets (about 22 minutes
// of 20 ms audio), timestamps every 2^32 ticks (about 25 hours at 48 kHz, but
// senders start at a random value, so a wrap can come at any moment). The
// receiver therefore compares numbers by their signed distance modulo 2^16
// or 2^32 (RFC 3550 §A.1, RFC 1982 serial number arithmetic), and keeps
// an extended 64-bit value that never wraps.
//
// All functions are pure and allocation-free. An Unwrapper is a small value
// owned by one goroutine; it is not safe for concurrent use.
package seqnum
