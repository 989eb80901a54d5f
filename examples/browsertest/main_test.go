package browsertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// netnsEnv is set in the re-run test binary: it is inside the namespace.
const netnsEnv = "RTPMIX_BROWSERTEST_NETNS"

// TestMain re-runs the test binary in a network namespace of its own
// (loopback only) when it can; see the package doc.
func TestMain(m *testing.M) {
	if runtime.GOOS == "linux" && os.Getenv(netnsEnv) == "" && os.Getenv("RTPMIX_BROWSERTEST_NO_NETNS") != "1" {
		if code, ok := inNetns(); ok {
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}

// inNetns runs this test binary again, with the same arguments, under
// unshare -n (as root) or unshare -rn (an unprivileged user namespace),
// with the namespace's loopback interface up. ok is false when neither
// is possible here.
func inNetns() (code int, ok bool) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return 0, false
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return 0, false
	}
	for _, flags := range []string{"-n", "-rn"} {
		// A probe: may this process make a network namespace this way?
		if exec.Command(unshare, flags, ip, "link", "set", "lo", "up").Run() != nil {
			continue
		}
		args := append([]string{flags, "--", "sh", "-c", `"$0" link set lo up && exec "$@"`, ip, os.Args[0]}, os.Args[1:]...)
		cmd := exec.Command(unshare, args...)
		cmd.Env = append(os.Environ(), netnsEnv+"="+flags)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, true
		case errors.As(err, &ee):
			return ee.ExitCode(), true
		}
		fmt.Fprintf(os.Stderr, "browsertest: running in a network namespace: %v\n", err)
		return 1, true
	}
	fmt.Fprintln(os.Stderr, "browsertest: cannot make a network namespace here (unshare -n / -rn refused): the browsers run in the machine's own network")
	return 0, false
}
