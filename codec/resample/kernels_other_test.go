//go:build !amd64 || noasm

package resample

const asmBuild = false

func wantKernels() string { return "generic" }
