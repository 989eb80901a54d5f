//go:build !amd64 || noasm

package g711

// Without the amd64 assembly the generic kernels do all the work.

func encodeUlaw(dst []byte, src []int16) { encodeUlawGeneric(dst, src) }
func encodeAlaw(dst []byte, src []int16) { encodeAlawGeneric(dst, src) }
func decodeUlaw(dst []int16, src []byte) { decodeUlawGeneric(dst, src) }
func decodeAlaw(dst []int16, src []byte) { decodeAlawGeneric(dst, src) }

func activeKernels() string { return "generic" }
