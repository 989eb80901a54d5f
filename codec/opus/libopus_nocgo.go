//go:build !cgo

package opus

import (
	"fmt"

	"github.com/rtpmix/rtpmix/codec"
)

// Without cgo libopus cannot be linked. The types keep their methods so
// that importers compile; the constructors fail with errNoCgo, so none of
// these is ever reached with ready set.

const cgoEnabled = false

// errNoCgo is what every constructor returns in this build: libopus cannot
// be linked, but importers still compile and the format is still
// registered so that lookups work. (It lives here so that the cgo build,
// which never returns it, has no unused variable.)
var errNoCgo = fmt.Errorf("%w: opus: built without cgo, libopus is not linked (rebuild with CGO_ENABLED=1)", codec.ErrUnsupported)

type encState struct{}

func (*encState) init(int, int, codec.Application) error { return errNoCgo }
func (*encState) encode([]int16, []byte) (int, error)    { return 0, errNoCgo }
func (*encState) reset()                                 {}
func (*encState) setBitrate(int) error                   { return errNoCgo }
func (*encState) setComplexity(int) error                { return errNoCgo }
func (*encState) setFEC(int) error                       { return errNoCgo }
func (*encState) setLoss(int) error                      { return errNoCgo }
func (*encState) setDTX(int) error                       { return errNoCgo }
func (*encState) setMaxBandwidth(int) error              { return errNoCgo }

type decState struct{}

func (*decState) init(int, int) error                 { return errNoCgo }
func (*decState) decode([]byte, []int16) (int, error) { return 0, errNoCgo }
func (*decState) conceal([]int16) error               { return errNoCgo }
func (*decState) decodeFEC([]byte, []int16) error     { return errNoCgo }
func (*decState) reset()                              {}
