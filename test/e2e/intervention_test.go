package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"custos/internal/proctest"
)

// intervention reads GET /admin/intervention.
func (c *custos) intervention() map[string]any {
	c.T.Helper()
	resp, err := proctest.Client.Get(c.URL("/admin/intervention"))
	if err != nil {
		c.T.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func (c *custos) waiting() float64 {
	counters, _ := c.intervention()["counters"].(map[string]any)
	n, _ := counters["requests_waiting"].(float64)
	return n
}

func (c *custos) cli(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCustos(append(args, "--addr", c.Addr)...)
	if err != nil {
		t.Fatalf("custos %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestPauseHoldsRequestsAndResumeReleasesThem(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), "    max_concurrency: 2\n"))
	c.waitState("tiny", "ready", 20*time.Second)
	c.cli(t, "pause", "--reason", "maintenance window")

	const n = 5
	var wg sync.WaitGroup
	replies := make(chan reply, n)
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); replies <- c.chat(context.Background(), "tiny", false) }()
	}
	c.Eventually("requests wait on the pause", 10*time.Second, func() bool { return c.waiting() == n })
	status := c.cli(t, "status")
	since := regexp.MustCompile(`PAUSED \(all models\) by \S+ since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`)
	if !since.MatchString(status) || !strings.Contains(status, "maintenance window") || !strings.Contains(status, "waiting 5") {
		t.Fatalf("custos status does not show the pause:\n%s", status)
	}
	c.cli(t, "resume")
	proctest.Receive(t, "the released requests' answers", answerWithin, proctest.Done(&wg))
	close(replies)
	for r := range replies {
		if r.Status != 200 {
			t.Fatalf("a released request failed: %d %s", r.Status, r.Body)
		}
	}
	audit := c.cli(t, "audit")
	if !strings.Contains(audit, "pause") || !strings.Contains(audit, "resume") || !strings.Contains(audit, "cli") {
		t.Fatalf("audit log:\n%s", audit)
	}
}

func TestPausedRequestTimesOutWithInferencePaused(t *testing.T) {
	c := startCustos(t, "intervention: {wait_timeout: 300ms}\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	c.cli(t, "pause", "--model", "tiny", "--reason", "investigating")
	r := c.chat(context.Background(), "tiny", false)
	if r.Status != 503 || r.ErrorCode() != "inference_paused" || r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), "investigating") {
		t.Fatalf("got %d %v %s", r.Status, r.Header, r.Body)
	}
}

func TestMaxPauseResumesByTimerWithoutTraffic(t *testing.T) {
	c := startCustos(t, "intervention: {max_pause: 500ms}\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	c.cli(t, "pause", "--reason", "short")
	c.Eventually("the pause ends by itself", 10*time.Second, func() bool { return c.intervention()["paused"] == false })
	if audit := c.cli(t, "audit"); !strings.Contains(audit, "timer") {
		t.Fatalf("the timer's resume is not in the audit log:\n%s", audit)
	}
}

func testComesBackPaused(t *testing.T, kill func(c *custos)) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "models:\n"+fastModel("tiny", standinCmd(), ""))
	c := startCustosConfig(t, cfg)
	c.cli(t, "wellbeing", "concerned", "--reason", "odd answers")
	c.cli(t, "pause", "--reason", "held across restarts")
	kill(c)
	c2 := startCustosConfig(t, cfg)
	st := c2.intervention()
	state, _ := st["state"].(map[string]any)
	global, _ := state["global"].(map[string]any)
	if st["paused"] != true || global["reason"] != "held across restarts" || state["wellbeing"] != "concerned" {
		t.Fatalf("control state lost across the restart: %v", st)
	}
}

func TestRestartWhilePausedComesBackPaused(t *testing.T) {
	testComesBackPaused(t, func(c *custos) {
		_ = c.Cmd.Process.Signal(syscall.SIGTERM)
		if _, ok := c.Wait(30 * time.Second); !ok {
			t.Fatal("custos did not exit")
		}
	})
}

func TestKill9WhilePausedComesBackPaused(t *testing.T) {
	testComesBackPaused(t, func(c *custos) {
		_ = c.Cmd.Process.Kill()
		if _, ok := c.Wait(30 * time.Second); !ok {
			t.Fatal("custos not reaped within 30s of SIGKILL")
		}
	})
}

func TestAdminTokenAndAPIKeys(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys"), []byte("client-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CUSTOS_E2E_ADMIN_TOKEN", "admin-secret")
	c := startCustosConfig(t, writeConfig(t, dir, "admin: {token_env: CUSTOS_E2E_ADMIN_TOKEN}\nauth: {api_keys_file: "+filepath.Join(dir, "keys")+"}\nmodels:\n"+fastModel("tiny", standinCmd(), "")))
	// /status is an operator route now: the open /health says when tiny is ready.
	c.Eventually("/health to say tiny is ready", 20*time.Second, func() bool { code, _ := c.get("/health"); return code == 200 })

	for _, path := range []string{"/admin/intervention", "/status", "/metrics"} {
		for token, want := range map[string]int{"": 401, "wrong": 401, "admin-secret": 200} {
			req, _ := http.NewRequest("GET", c.URL(path), nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := proctest.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%s with admin token %q: got %d, want %d", path, token, resp.StatusCode, want)
			}
		}
	}
	if out, err := runCustos("pause", "--reason", "x", "--addr", c.Addr); err == nil {
		t.Fatalf("the CLI without a token must be refused:\n%s", out)
	}
	if out, err := runCustos("pause", "--reason", "x", "--addr", c.Addr, "--token", "admin-secret"); err != nil {
		t.Fatalf("the CLI with the token: %v\n%s", err, out)
	}
	c.cli(t, "resume", "--token", "admin-secret")

	body := `{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`
	for key, want := range map[string]int{"": 401, "nope": 401, "client-key": 200} {
		req, _ := http.NewRequest("POST", c.URL("/v1/chat/completions"), strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := inferenceClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("API key %q: got %d, want %d", key, resp.StatusCode, want)
		}
	}
	if strings.Contains(c.Output.String(), "client-key") || strings.Contains(c.Output.String(), "admin-secret") {
		t.Fatal("a key reached the log")
	}
}

// storeState reads the state_store subsystem from /status.
func (c *custos) storeState() (state, detail string) {
	resp, err := proctest.Client.Get(c.URL("/status"))
	if err != nil {
		return "", ""
	}
	defer resp.Body.Close()
	var st struct {
		Gate struct {
			Subsystems []struct{ Name, State, Detail string } `json:"subsystems"`
		} `json:"gate"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&st)
	for _, s := range st.Gate.Subsystems {
		if s.Name == "state_store" {
			return s.State, s.Detail
		}
	}
	return "", ""
}

func TestCorruptStoreFileIsFailedAndLeftAlone(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "custos.db")
	garbage := []byte(strings.Repeat("not a sqlite database. ", 50))
	if err := os.WriteFile(db, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCustosConfig(t, writeConfig(t, dir, "models:\n"+fastModel("tiny", standinCmd(), "")))
	c.waitState("tiny", "ready", 20*time.Second)
	if state, _ := c.storeState(); state != "Failed" {
		t.Fatalf("state_store = %q, want Failed", state)
	}
	if status, _ := c.get("/readyz"); status != 503 {
		t.Fatalf("/readyz with a corrupt store: %d", status)
	}
	c.Stop()
	if after, _ := os.ReadFile(db); string(after) != string(garbage) {
		t.Fatal("the corrupt store file was modified")
	}
}

// readOnlyFolder makes a folder nothing can write into: a read-only tmpfs
// when running as root (root ignores permission bits), mode 0500 otherwise.
func readOnlyFolder(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a read-only tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

func TestReadOnlyStoreFolderIsDegradedAndServes(t *testing.T) {
	ro := readOnlyFolder(t)
	c := startCustos(t, "store: {path: "+filepath.Join(ro, "custos.db")+"}\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	if state, detail := c.storeState(); state != "Degraded" || !strings.Contains(detail, "memory") {
		t.Fatalf("state_store = %q (%s), want Degraded", state, detail)
	}
	if r := c.chat(context.Background(), "tiny", false); r.Status != 200 {
		t.Fatalf("custos must keep serving: %d %s", r.Status, r.Body)
	}
	out := c.cli(t, "pause", "--reason", "in memory only")
	if !strings.Contains(out, "pause: done") {
		t.Fatalf("pause: %s", out)
	}
	if c.intervention()["paused"] != true {
		t.Fatal("the pause must hold in memory")
	}
}
