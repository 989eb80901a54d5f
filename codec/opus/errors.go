package opus

import (
	"errors"
	"fmt"

	"github.com/rtpmix/rtpmix/codec"
)

// Errors are built once where they carry no numbers, so that the common bad
// inputs (an empty payload, a zero-value codec) cost no allocation to report.
// Callers branch on the codec sentinels they wrap with errors.Is.
var (
	// errNotReady guards the zero value: hraban/opus dereferences its C
	// state without a check in the ctl calls, which would crash the process.
	errNotReady = errors.New("opus: encoder or decoder not created with NewEncoder or NewDecoder")

	errEmpty = fmt.Errorf("%w: opus: empty payload (use Conceal for a lost frame)", codec.ErrCorrupt)
)

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: opus: "+format, append([]any{codec.ErrCorrupt}, args...)...)
}

func configf(format string, args ...any) error {
	return fmt.Errorf("%w: opus: "+format, append([]any{codec.ErrConfig}, args...)...)
}

func frameSizef(format string, args ...any) error {
	return fmt.Errorf("%w: opus: "+format, append([]any{codec.ErrFrameSize}, args...)...)
}
