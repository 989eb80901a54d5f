package seqnum_test

import (
	"fmt"

	"github.com/rtpmix/rtpmix/internal/seqnum"
)

func ExampleUnwrapper16() {
	var u seqnum.Unwrapper16
	for i, s := range []uint16{65534, 65535, 1, 0, 2} {
		if i > 0 {
			fmt.Print(" ")
		}
		fmt.Print(u.Unwrap(s))
	}
	fmt.Println()
	fmt.Println(seqnum.Diff16(1, 65535), seqnum.Less16(65535, 1))
	// Output:
	// 65534 65535 65537 65536 65538
	// 2 true
}
