package negotiate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rtpmix/rtpmix/srtp"
)

// firstCrypto goes through a=crypto lines in order, for the answerer
// (which accepts an offered line) and the offerer (which checks the
// answered one), and returns the SDES of the first line judge accepts.
// judge gets a line srtp understands, and its suite as spelled there, and
// returns the SDES, or why it refuses the line, or an error that ends the
// search. A line srtp cannot parse is malformed (ErrMalformed); one it
// parses but does not support is refused with srtp's reason. When no line
// is accepted, it returns a nil SDES and the reasons, for the caller's
// ErrNotAcceptable.
func firstCrypto(lines []string, judge func(c srtp.Crypto, suite string) (*SDES, string, error)) (*SDES, []string, error) {
	var reasons []string
	for _, line := range lines {
		c, err := srtp.ParseSDES(line)
		if err != nil {
			if !errors.Is(err, srtp.ErrUnsupported) {
				return nil, nil, fmt.Errorf("%w: a=crypto:%.80s: %v", ErrMalformed, line, err)
			}
			reasons = append(reasons, err.Error())
			continue
		}
		suite := strings.Fields(line)[1] // ParseSDES checked there are three
		sdes, reason, err := judge(c, suite)
		if sdes != nil || err != nil {
			return sdes, nil, err
		}
		reasons = append(reasons, reason)
	}
	return nil, reasons, nil
}
