package archtest

import (
	"fmt"
	"runtime"
	"testing"
)

func TestLinkedAsm(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads an ELF binary")
	}
	// internal/bytealg's IndexByte and friends are assembly on every
	// architecture Go supports, and strings (so this binary) uses them.
	n, ok := linkedAsm(t, "internal/bytealg")
	if !ok || n == 0 {
		t.Errorf("internal/bytealg: %d assembly functions found (ok %v), want some", n, ok)
	}
	n, ok = linkedAsm(t, "github.com/rtpmix/rtpmix/internal/archtest")
	if !ok || n != 0 {
		t.Errorf("archtest: %d assembly functions found (ok %v), want 0", n, ok)
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Helper()             {}

func TestCheck(t *testing.T) {
	// This package has no assembly, so its own path is a package built
	// "without assembly" whose symbol check passes.
	const pkg = "github.com/rtpmix/rtpmix/internal/archtest"
	cases := []struct {
		name         string
		env          string
		asmBuild     bool
		active, want string
		fail         bool
	}{
		{"generic as wanted", "", false, Generic, Generic, false},
		{"noasm run, generic", Generic, false, Generic, Generic, false},
		{"dispatch disagrees with the CPU", "", false, Generic, "avx2", true},
		{"no assembly but not generic", "", false, "avx2", "avx2", true},
		{"noasm run, assembly build", Generic, true, Generic, Generic, true},
		{"asm run, no assembly", "asm", false, Generic, Generic, true},
		{"assembly build, none linked", "", true, "avx2", "avx2", runtime.GOOS == "linux"},
		{"unknown expectation", "sse9", false, Generic, Generic, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(WantEnv, tc.env)
			r := &recorder{TB: t}
			Check(r, pkg, tc.asmBuild, tc.active, tc.want)
			if failed := len(r.errors) > 0; failed != tc.fail {
				t.Errorf("failed %v, want %v; errors: %q", failed, tc.fail, r.errors)
			}
		})
	}
}
