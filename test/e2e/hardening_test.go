package e2e

import (
	"bufio"
	"context"
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
	"testing"
	"time"

	"custos/internal/proctest"
)

// SIGTERM while paused: every held request is answered at once with 503
// shutting_down and Retry-After, and custos exits as soon as the requests
// actually in flight are done — not after wait_timeout.
func TestSIGTERMWhilePausedAnswersHeldRequestsAtOnce(t *testing.T) {
	c := startCustos(t, "intervention: {wait_timeout: 120s}\nshutdown_timeout: 60s\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	c.cli(t, "pause", "--reason", "maintenance")
	const n = 3
	held := make(chan reply, n)
	for range n {
		go func() { held <- c.chat(context.Background(), "tiny", false) }()
	}
	c.Eventually("the requests to be held", 10*time.Second, func() bool { return c.waiting() == n })
	signalled := time.Now()
	if err := c.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range n {
		r := proctest.Receive(t, "a held request's answer after SIGTERM", 30*time.Second, held)
		if r.Status != 503 || r.ErrorCode() != "shutting_down" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("a held request at SIGTERM: %s %v", r, r.Header)
		}
	}
	err, ok := c.Wait(30 * time.Second)
	if !ok || err != nil {
		t.Fatalf("custos did not exit 0 after draining: exited %v, %v", ok, err)
	}
	t.Logf("held requests answered and custos exited %v after SIGTERM (wait_timeout is 120s)", time.Since(signalled).Round(time.Millisecond))
}

// A control change sent while custos is still reading back its control
// state (its store file locked by another process, so the open takes
// several seconds) is either applied, and the CLI says so, or refused
// unapplied and sent again: the CLI never reports "cannot reach custos"
// for a change custos applies later.
func TestPauseWhileTheStoreOpensIsAppliedAndReported(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "custos.db")
	seed := startCustosConfig(t, writeConfig(t, dir, "models:\n"+fastModel("tiny", standinCmd(), "")))
	seed.Stop() // leaves a store file with its schema
	unlock := lockStore(t, dbPath)
	defer unlock()

	c := startCustosConfig(t, writeConfig(t, dir, "models:\n"+fastModel("tiny", standinCmd(), "")))
	if st := c.intervention(); st["restoring"] != true {
		t.Fatalf("the store opened although its file is locked: %v", st)
	}
	out, err := runCustos("pause", "--reason", "sent while restoring", "--addr", c.Addr)
	if err != nil || !strings.Contains(out, "pause: done") {
		t.Fatalf("custos pause while the store opens: %v\n%s", err, out)
	}
	st := c.intervention()
	state, _ := st["state"].(map[string]any)
	global, _ := state["global"].(map[string]any)
	if global["reason"] != "sent while restoring" {
		t.Fatalf("the CLI said done but the pause is not in effect: %v", st)
	}
}

// serve --listen goes through the same validation as the file's listen:
// a non-loopback address without an admin token exits 2 naming the rule.
func TestListenFlagIsValidated(t *testing.T) {
	path := writeConfig(t, t.TempDir(), "models:\n"+fastModel("tiny", standinCmd(), ""))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	outBytes, err := exec.CommandContext(ctx, bins.Custos, "serve", "--config", path, "--listen", "0.0.0.0:"+freePort(t)).CombinedOutput()
	out := string(outBytes)
	if exitCode(err) != 2 || !strings.Contains(out, "admin: --listen 0.0.0.0:") || !strings.Contains(out, "not a loopback address") {
		t.Fatalf("serve --listen 0.0.0.0 without a token: exit %d\n%s", exitCode(err), out)
	}
}

func freePort(t *testing.T) string {
	_, port, _ := net.SplitHostPort(proctest.FreeAddr(t))
	return port
}

// Without a token, a web page in the operator's browser cannot change or
// read custos's operator routes: a cross-site POST, one without a JSON
// content type, and a read through a rebound domain name are all refused,
// while the CLI's requests pass.
func TestBrowserRequestsToOperatorRoutesAreRefused(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	send := func(method, path, contentType, body string, header map[string]string) (int, string) {
		req, _ := http.NewRequest(method, c.URL(path), strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range header {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := proctest.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, _ = send("POST", "/admin/pause", "application/json", `{"reason":"set by the test"}`, nil)
	for _, tc := range []struct {
		name, method, path, ct, body string
		header                       map[string]string
		status                       int
		code                         string
	}{
		{"a cross-site form resuming", "POST", "/admin/resume", "application/x-www-form-urlencoded", "", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403, "cross_site_refused"},
		{"a no-cors fetch restarting", "POST", "/admin/models/tiny/restart", "text/plain", "", nil, 415, "json_required"},
		{"an empty JSON POST", "POST", "/admin/resume", "application/json", "", nil, 400, "invalid_json"},
		{"a rebound domain reading the profiler", "GET", "/debug/pprof/", "", "", map[string]string{"Host": "evil.example:" + freePort(t)}, 403, "admin_host_refused"},
		{"a rebound domain reading /status", "GET", "/status", "", "", map[string]string{"Host": "evil.example"}, 403, "admin_host_refused"},
	} {
		status, body := send(tc.method, tc.path, tc.ct, tc.body, tc.header)
		if status != tc.status || !strings.Contains(body, `"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, body, tc.status, tc.code)
		}
	}
	if !c.intervention()["paused"].(bool) {
		t.Fatal("a refused request resumed custos")
	}
	c.cli(t, "resume")
}

// metric reads an unlabelled metric from /metrics.
func (c *custos) metric(t *testing.T, name string) float64 {
	t.Helper()
	_, body := c.get("/metrics")
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// rss reads a process's resident set size in bytes.
func rss(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data))
	pages, _ := strconv.ParseFloat(fields[1], 64)
	return pages * float64(os.Getpagesize())
}

// Hundreds of clients that each declare an 8 MiB body and trickle it hold
// what they sent, not what they declared, and are cut off with 408 after
// read_timeout. Without the bound, 300 of them would reserve 2.4 GB.
func TestSlowBodyClientsCostWhatTheySentAndAreCutOff(t *testing.T) {
	const clients = 300
	c := startCustos(t, "read_timeout: 4s\nmax_body_bytes: 8MiB\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	heapBefore, rssBefore := c.metric(t, "go_memstats_heap_inuse_bytes"), rss(t, c.Cmd.Process.Pid)
	goroutines := c.metric(t, "go_goroutines")

	conns := make([]net.Conn, 0, clients)
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	for range clients {
		conn, err := net.DialTimeout("tcp", c.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
		fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"model\":\"tiny\",", 8<<20)
	}
	// Each sends a little more while all are connected.
	for _, conn := range conns {
		_, _ = conn.Write([]byte(`"messages":`))
	}
	c.Eventually("custos to be reading every slow client's body", 10*time.Second, func() bool {
		return c.metric(t, "go_goroutines") >= goroutines+clients
	})
	heapDuring, rssDuring := c.metric(t, "go_memstats_heap_inuse_bytes"), rss(t, c.Cmd.Process.Pid)
	t.Logf("%d slow clients: heap in use %.1f → %.1f MiB, RSS %.1f → %.1f MiB", clients,
		heapBefore/(1<<20), heapDuring/(1<<20), rssBefore/(1<<20), rssDuring/(1<<20))
	if grew := heapDuring - heapBefore; grew > 64<<20 {
		t.Fatalf("%d clients that sent a few bytes each grew the heap by %.0f MiB", clients, grew/(1<<20))
	}

	var wg sync.WaitGroup
	statuses := make(chan int, clients)
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				statuses <- -1
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	proctest.Receive(t, "every slow client to be answered", 60*time.Second, proctest.Done(&wg))
	close(statuses)
	for s := range statuses {
		if s != http.StatusRequestTimeout {
			t.Fatalf("a slow client got %d, want 408", s)
		}
	}
}

// With metrics_listen, a Prometheus scraper reads /metrics on its own
// port without the admin token, and /metrics leaves the main listener,
// where the operator routes need the token.
func TestMetricsListenServesMetricsOpenOnItsOwnPort(t *testing.T) {
	t.Setenv("CUSTOS_E2E_ADMIN_TOKEN", "admin-secret")
	metricsAddr := proctest.FreeAddr(t)
	c := startCustos(t, "admin: {token_env: CUSTOS_E2E_ADMIN_TOKEN}\nmetrics_listen: "+metricsAddr+"\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	resp, err := proctest.Client.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "custos_requests_total") && !strings.Contains(string(body), "go_goroutines") {
		t.Fatalf("metrics_listen /metrics: %d %.200s", resp.StatusCode, body)
	}
	if code, body := c.get("/metrics"); code != 404 {
		t.Fatalf("/metrics on the main listener with metrics_listen set: %d %.200s", code, body)
	}
}

// custos's CORS policy, not a backend's: a listed origin gets
// Access-Control-Allow-Origin and its preflight answered; another origin
// is refused; llama-server's own CORS headers never reach the client.
func TestCORSIsCustosPolicy(t *testing.T) {
	c := startCustos(t, "cors: {allowed_origins: [\"https://chat.example.com\"]}\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	send := func(method, origin string, header map[string]string) *http.Response {
		body := `{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`
		req, _ := http.NewRequest(method, c.URL("/v1/chat/completions"), strings.NewReader(body))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := inferenceClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	pre := send("OPTIONS", "https://chat.example.com", map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "https://chat.example.com" {
		t.Fatalf("preflight of a listed origin: %d %v", pre.StatusCode, pre.Header)
	}
	ok := send("POST", "https://chat.example.com", map[string]string{"Content-Type": "application/json"})
	if ok.StatusCode != 200 || ok.Header.Values("Access-Control-Allow-Origin")[0] != "https://chat.example.com" || len(ok.Header.Values("Access-Control-Allow-Origin")) != 1 {
		t.Fatalf("a listed origin: %d %v", ok.StatusCode, ok.Header)
	}
	if no := send("POST", "https://evil.example", nil); no.StatusCode != 403 || no.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("an origin not listed: %d %v", no.StatusCode, no.Header)
	}
	if plain := send("POST", "", nil); plain.StatusCode != 200 || len(plain.Header.Values("Access-Control-Allow-Origin")) != 0 {
		t.Fatalf("a client without Origin got the backend's CORS header: %d %v", plain.StatusCode, plain.Header)
	}
}
