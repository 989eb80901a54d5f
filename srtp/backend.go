package srtp

import "fmt"

// Backend is an implementation of SRTP behind Protector and Unprotector.
// Both implement the same profiles, packet layouts, rollover counter
// estimation, replay windows, MKI selection, SSRC bound and error
// classification, and produce byte-identical packets for the same keys
// and input (FuzzBackends holds them to that). A Backend is a value, safe
// for concurrent use.
type Backend uint8

const (
	// Compact is this package's own SRTP on the standard library's
	// crypto/aes, crypto/cipher and crypto/sha1, and the default. A
	// context keeps what a packet of its first SSRC touches in the first
	// two cache lines of a Protector, three of an Unprotector (plus the
	// AES key schedule, or the GCM state, that the standard library
	// allocates), so that protecting round-robin over thousands of
	// contexts costs little more than protecting one. The cost model is
	// in the package documentation.
	Compact Backend = iota + 1
	// Pion is github.com/pion/srtp/v3, the reference the compact backend
	// is tested against. Per packet it is 1.1 to 1.5 times slower when
	// its context is in cache and 1.4 to 2.4 times when contexts are many
	// and cold, and a bounded Unprotector on it rebuilds its context as
	// SSRCs churn (see MaxSSRCs).
	Pion
)

// DefaultBackend is the Backend of a Protector or Unprotector built
// without the UseBackend option.
const DefaultBackend = Compact

// String returns "compact" or "pion".
func (b Backend) String() string {
	switch b {
	case Compact:
		return "compact"
	case Pion:
		return "pion"
	}
	return fmt.Sprintf("Backend(%d)", uint8(b))
}

// UseBackend selects the SRTP implementation (default DefaultBackend).
func UseBackend(b Backend) Option {
	return func(o *options) error {
		if b != Compact && b != Pion {
			return fmt.Errorf("%w: %d", errBackend, uint8(b))
		}
		o.backend = b
		return nil
	}
}
