package g711

import (
	"testing"

	"github.com/rtpmix/rtpmix/internal/archtest"
)

// TestActiveKernels proves which kernels this build runs: the generic ones
// under -tags noasm and on other architectures, with no assembly linked;
// the AVX2 ones on an amd64 CPU with AVX2.
func TestActiveKernels(t *testing.T) {
	archtest.Check(t, "github.com/rtpmix/rtpmix/codec/g711", asmBuild, activeKernels(), wantKernels())
}
