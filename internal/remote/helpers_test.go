package remote_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"custos/internal/config"
	"custos/internal/gateway"
	"custos/internal/metrics"
	"custos/internal/remote"
	"custos/internal/standin"
)

// waitLimit bounds every wait of these tests, generous for shared machines.
const waitLimit = 15 * time.Second

// standinBinary is cmd/standin, built once, for the faults that signal a
// real process (SIGKILL, SIGSTOP).
var standinBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "remote-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	standinBinary = filepath.Join(dir, "standin")
	build := exec.Command("go", "build", "-o", standinBinary, "custos/cmd/standin")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building standin: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// remoteModel is a remote model with test-sized probe settings.
func remoteModel(urls ...string) config.Model {
	return config.Model{
		ID: "tiny", Backend: config.BackendRemote, MaxConcurrency: 8, QueueMax: 64, QueueTimeout: 5 * time.Second,
		ReadyTimeout: 10 * time.Second, HealthInterval: 200 * time.Millisecond, HealthTimeout: 150 * time.Millisecond,
		UnhealthyAfter: 2, UnhealthyAfterErrors: 10, HealthCheck: config.HealthCheckHealth,
		Remote: &config.Remote{URLs: urls, Balance: config.BalanceLeastRequests, EjectCooldown: time.Second,
			DiscoverInterval: 50 * time.Millisecond, UpstreamModel: "tiny"},
	}
}

// front is a gateway in front of one remote model's pool, on loopback.
type front struct {
	pool *remote.Pool
	url  string
}

type gateOpen struct{}

func (gateOpen) Open() bool { return true }

// startFront runs m's pool and a gateway in front of it; fallback, if
// set, is the fallback's URL (with /v1).
func startFront(t *testing.T, m config.Model, fallback string, opts remote.Options) *front {
	t.Helper()
	cfg := &config.Config{Models: []config.Model{m}, MaxBodyBytes: 1 << 20, Readiness: config.Readiness{Deadline: time.Hour}}
	if fallback != "" {
		cfg.Fallback = &config.Fallback{URL: fallback, Timeout: 10 * time.Second}
	}
	opts.Logger = quiet
	p := remote.New(cfg.Models[0], opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { p.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		select {
		case <-doneOf(&wg):
		case <-time.After(waitLimit):
			t.Errorf("the pool did not stop within %v", waitLimit)
		}
	})
	gw := gateway.New(gateway.Options{Config: cfg, Replicas: map[string]gateway.Replicas{"tiny": p}, Gate: gateOpen{},
		Metrics: metrics.New(), Logger: quiet, StartedAt: time.Now()})
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return &front{pool: p, url: srv.URL}
}

func doneOf(wg *sync.WaitGroup) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		wg.Wait()
		close(c)
	}()
	return c
}

// replicaState is the state of the replica at url, "" if it has none.
func (f *front) replicaState(url string) string {
	for _, r := range f.pool.Replicas() {
		if r.URL == url {
			return r.StateName
		}
	}
	return ""
}

func (f *front) replica(t *testing.T, url string) remote.ReplicaStatus {
	t.Helper()
	for _, r := range f.pool.Replicas() {
		if r.URL == url {
			return r
		}
	}
	t.Fatalf("no replica %s in %+v", url, f.pool.Replicas())
	return remote.ReplicaStatus{}
}

// waitState waits for the replica at url to be in state.
func (f *front) waitState(t *testing.T, url, state string) {
	t.Helper()
	eventually(t, "replica "+url+" "+state, func() bool { return f.replicaState(url) == state })
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", waitLimit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const chatBody = `{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`

// client gives up on a request after waitLimit: a wedged path is a failed
// request, not a hung test.
var client = &http.Client{Timeout: waitLimit, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

type reply struct {
	status int
	header http.Header
	body   string
	err    error
}

func (f *front) post(body string) reply {
	resp, err := client.Post(f.url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// counted is an in-process stand-in whose requests to inference routes
// are counted, and which can be made to hold them.
type counted struct {
	url      string
	srv      *httptest.Server
	requests atomic.Int64
	inFlight atomic.Int64
	hold     atomic.Pointer[chan struct{}] // while set, inference waits for it to close
}

func newCounted(t *testing.T, opts standin.Options) *counted {
	t.Helper()
	opts.Stdout, opts.Stderr = io.Discard, io.Discard
	s := standin.New(opts)
	c := &counted{}
	h := s.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") && r.Method == http.MethodPost {
			c.requests.Add(1)
			c.inFlight.Add(1)
			defer c.inFlight.Add(-1)
			if ch := c.hold.Load(); ch != nil {
				select {
				case <-*ch:
				case <-r.Context().Done():
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		s.Close()
		srv.Close()
	})
	c.url, c.srv = srv.URL, srv
	return c
}

// stop closes the stand-in's listener and connections: the replica is
// gone, connections to it are refused.
func (c *counted) stop() {
	c.srv.CloseClientConnections()
	c.srv.Close()
}

// holdRequests makes inference requests wait until the returned func is called.
func (c *counted) holdRequests() (release func()) {
	ch := make(chan struct{})
	c.hold.Store(&ch)
	var once sync.Once
	return func() {
		once.Do(func() {
			c.hold.Store(nil)
			close(ch)
		})
	}
}

// proc is a stand-in process, for real signals.
type proc struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
}

// launch starts cmd/standin with args on host:port (port 0: a free one)
// and waits until it listens.
func launch(t *testing.T, host string, port int, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(standinBinary, append([]string{"--host", host, "--port", fmt.Sprint(port)}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(waitLimit):
			t.Errorf("standin %d not reaped within %v of SIGKILL", cmd.Process.Pid, waitLimit)
		}
	})
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(line, "standin listening on ")
		if !ok {
			t.Fatalf("first stdout line %q", line)
		}
		p.url = "http://" + addr
	case <-p.exited:
		t.Fatal("the stand-in exited before listening")
	case <-time.After(waitLimit):
		t.Fatalf("the stand-in did not listen within %v", waitLimit)
	}
	return p
}

func (p *proc) pid() string { return fmt.Sprint(p.cmd.Process.Pid) }

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// load sends n requests from clients goroutines and counts the answers
// by status ("err" for a transport error) and by the stand-in pid that
// served them.
type tally struct {
	mu       sync.Mutex
	byStatus map[string]int
	byPid    map[string]int
}

func (f *front) load(clients, n int, between func(i int)) *tally {
	tl := &tally{byStatus: map[string]int{}, byPid: map[string]int{}}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if between != nil {
					between(i)
				}
				r := f.post(chatBody)
				key := fmt.Sprint(r.status)
				if r.err != nil {
					key = "err: " + r.err.Error()
				}
				tl.mu.Lock()
				tl.byStatus[key]++
				if r.status == http.StatusOK {
					tl.byPid[r.header.Get("X-Standin-Pid")]++
				}
				tl.mu.Unlock()
			}
		})
	}
	wg.Wait()
	return tl
}

// remoteOptions are the pool's options of a test that does not discover.
func remoteOptions() remote.Options { return remote.Options{} }
