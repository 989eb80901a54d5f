//go:build !amd64 || noasm

package g711

const asmBuild = false

func wantKernels() string { return "generic" }
