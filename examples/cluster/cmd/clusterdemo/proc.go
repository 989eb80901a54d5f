package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procs owns every process the demo starts: each dies with the demo
// (Pdeathsig), and cleanup kills what is left on every way out.
type procs struct {
	mu   sync.Mutex
	list []*proc
	dir  string // logs
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (ps *procs) start(name string, stdout io.Writer, env []string, bin string, args ...string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.OpenFile(filepath.Join(ps.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		cmd.Stdout = logf
	}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logf.Close()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill9 kills the process as a crash would and waits for it.
func (p *proc) kill9() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks the process to end (SIGTERM), then kills it after grace.
func (p *proc) stop(grace time.Duration) {
	if !p.alive() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill9()
	}
}

// cleanup ends every process still running: SIGTERM to all, then SIGKILL
// to what is left after 3 s.
func (ps *procs) cleanup() {
	ps.mu.Lock()
	list := append([]*proc(nil), ps.list...)
	ps.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(3 * time.Second)
		}()
	}
	wg.Wait()
}

// cpuTime is the process's user + system CPU time, from /proc.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("bad /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100, nil // USER_HZ is 100 on Linux
}

// freePort returns a TCP port free on 127.0.0.1 now.
func freePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeUDPPair returns an even UDP port P with P+1 free too (ffmpeg binds
// both for RTP and RTCP).
func freeUDPPair() (int, error) {
	for range 100 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, err
		}
		p := c.LocalAddr().(*net.UDPAddr).Port &^ 1
		_ = c.Close()
		a, err1 := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		b, err2 := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
		if a != nil {
			_ = a.Close()
		}
		if b != nil {
			_ = b.Close()
		}
		if err1 == nil && err2 == nil {
			return p, nil
		}
	}
	return 0, errors.New("no free UDP port pair")
}

// api is a client of the nodes' HTTP API with the cluster's token.
type api struct {
	token string
	c     *http.Client
}

func (a *api) do(ctx context.Context, method, addr, path, ctype string, body []byte) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		r = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, b, err
}

func (a *api) getJSON(ctx context.Context, addr, path string, out any) error {
	code, _, b, err := a.do(ctx, http.MethodGet, addr, path, "", nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s%s: %d %s", addr, path, code, b)
	}
	return json.Unmarshal(b, out)
}

// clusterStatus mirrors the node's GET /cluster.
type clusterStatus struct {
	Node      string `json:"node"`
	Admitting bool   `json:"admitting"`
	Parts     []struct {
		Room   string   `json:"room"`
		Part   uint32   `json:"part"`
		Local  int      `json:"local"`
		Remote []string `json:"remote"`
		Trunks []struct {
			Peer      uint32  `json:"peer"`
			PacketsIn uint64  `json:"packets_in"`
			Silent    float64 `json:"silent_s"`
		} `json:"trunks"`
	} `json:"parts"`
}

// bridgeStats mirrors the bridge's GET /stats (the fields used here).
type bridgeStats struct {
	Rooms        int    `json:"rooms"`
	Participants int    `json:"participants"`
	PacketsIn    uint64 `json:"packets_in"`
	PacketsOut   uint64 `json:"packets_out"`
	PerRoom      []struct {
		Name          string `json:"name"`
		Participants  int    `json:"participants"`
		TickP50Micros int64  `json:"tick_p50_us"`
		TickP99Micros int64  `json:"tick_p99_us"`
		Overruns      uint64 `json:"overruns"`
	} `json:"per_room"`
}
