// Package archtest is a test-only helper for the packages that pair an
// assembly fast path with a generic reference (codec/g711, codec/resample,
// internal/pcm). Their files follow one convention, klauspost/compress's:
//
//	xxx_amd64.go, xxx_amd64.s  //go:build amd64 && !noasm — the fast path
//	xxx_generic.go             always compiled — the reference
//	xxx_other.go               //go:build !amd64 || noasm — wires the reference in
//
// Each package's tests call [Check] to prove which of the two a build runs:
// that the noasm build (and any other architecture) selects the generic
// code and links none of the package's assembly, and that the amd64 build
// links it and selects what the CPU supports. It is imported only by tests.
package archtest

import (
	"debug/elf"
	"debug/gosym"
	"os"
	"strings"
	"testing"
)

// WantEnv names the environment variable through which a run states the
// implementation it expects: "generic" (the Makefile's noasm run sets it,
// so that a tag lost on the way, say to GOFLAGS overriding -tags, fails
// the run instead of testing the assembly twice) or "asm".
const WantEnv = "RTPMIX_WANT_KERNELS"

// Generic is the name every package gives its reference implementation.
const Generic = "generic"

// Check fails t unless the test binary runs the implementation it should.
// pkg is the package's import path; asmBuild says whether the package's
// assembly files are in this build (its build-tagged test file knows);
// active is what the package's dispatch reports it runs (its
// activeKernels()); want is what this build on this CPU must run.
//
// The assembly's presence is read from the test binary itself (which of
// the package's functions come from a .s file), which no build tag or
// constant can misreport; where the binary is not ELF (another OS) that
// part is skipped with a log line.
func Check(t testing.TB, pkg string, asmBuild bool, active, want string) {
	t.Helper()
	t.Logf("%s runs %q kernels (assembly in this build: %v)", pkg, active, asmBuild)
	if active != want {
		t.Errorf("%s: active kernels %q, want %q for this build and CPU", pkg, active, want)
	}
	if !asmBuild && active != Generic {
		t.Errorf("%s: built without assembly but runs %q", pkg, active)
	}
	switch env := os.Getenv(WantEnv); env {
	case "":
	case Generic:
		if active != Generic || asmBuild {
			t.Errorf("%s=%s, but %s runs %q (assembly in build: %v): the noasm tag did not reach this build",
				WantEnv, env, pkg, active, asmBuild)
		}
	case "asm":
		if !asmBuild {
			t.Errorf("%s=%s, but %s was built without its assembly", WantEnv, env, pkg)
		}
	default:
		t.Fatalf("%s=%q: want %q or \"asm\"", WantEnv, env, Generic)
	}

	n, ok := linkedAsm(t, pkg)
	if !ok {
		return
	}
	t.Logf("%s: %d assembly functions linked", pkg, n)
	if asmBuild && n == 0 {
		t.Errorf("%s: assembly build, but no assembly function of the package is linked", pkg)
	}
	if !asmBuild && n > 0 {
		t.Errorf("%s: built without assembly, but %d assembly functions are linked", pkg, n)
	}
}

// linkedAsm counts the functions of pkg in the binary whose source is an
// assembly (.s) file, from the binary's pclntab, which `go test` keeps when
// it strips the symbol table. ok is false when that cannot be read or
// shows no assembly at all: the runtime always has some, so finding none
// means the table is not what this code understands.
func linkedAsm(t testing.TB, pkg string) (n int, ok bool) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Logf("assembly check skipped: %v", err)
		return 0, false
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Logf("assembly check skipped: %s is not ELF: %v", exe, err)
		return 0, false
	}
	defer f.Close()
	pclntab, text := f.Section(".gopclntab"), f.Section(".text")
	if pclntab == nil || text == nil {
		t.Logf("assembly check skipped: %s has no .gopclntab or .text", exe)
		return 0, false
	}
	data, err := pclntab.Data()
	if err != nil {
		t.Logf("assembly check skipped: %v", err)
		return 0, false
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		t.Logf("assembly check skipped: %v", err)
		return 0, false
	}
	runtimeAsm := 0
	for i := range tab.Funcs {
		fn := &tab.Funcs[i]
		file, _, _ := tab.PCToLine(fn.Entry)
		if !strings.HasSuffix(file, ".s") {
			continue
		}
		switch name := fn.Name; {
		case strings.HasPrefix(name, "runtime."):
			runtimeAsm++
		case strings.HasPrefix(name, pkg+"."):
			n++
		}
	}
	if runtimeAsm == 0 {
		t.Logf("assembly check skipped: no runtime function from a .s file in %s", exe)
		return 0, false
	}
	return n, true
}
