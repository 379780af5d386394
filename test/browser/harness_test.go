// Package browser drives custos's dashboard (/ui) in a real headless
// Chromium (and, in firefox_test.go, Firefox) against a real `custos serve`, on the stand-in backend and on
// the embedded runner: what an operator sees and does, checked as the
// operator would see it.
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
	"custos/internal/proctest"
)

var bins *proctest.Binaries

func TestMain(m *testing.M) { proctest.Main(m, "custos-browser-bin", &bins) }

// chromiumPath is Debian's chromium ($CUSTOS_CHROMIUM overrides it). The
// Makefile installs it with apt-get; a machine without it fails these
// tests rather than skipping them.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CUSTOS_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: install it (`make tools` runs apt-get install chromium) or set CUSTOS_CHROMIUM")
	}
	return p
}

// Browser is one headless Chromium with one tab, and what its pages
// reported as errors.
type Browser struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

// newBrowser starts Chromium with a fresh profile and a window of the given
// size; the test's cleanup closes it (and kills it if it does not close).
func newBrowser(t *testing.T, width, height int) *Browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx}
	t.Cleanup(func() {
		closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = chromedp.Cancel(closeCtx) // closes the browser gracefully
		cancelTab()
		cancelAlloc() // kills Chromium if it is still there, and waits for it
	})
	// The first run starts the browser and lives as long as its context,
	// so it gets no deadline of its own (that would end the browser): it
	// runs aside, and the test stops waiting for it after 30 s (the
	// cleanup then kills Chromium).
	started := make(chan error, 1)
	go func() {
		started <- chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, runtime.Enable, cdp.Empty{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{})
			return err
		}))
	}()
	if err := proctest.Receive(t, "Chromium to start and open its tab", 30*time.Second, started); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return // the tab closed
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.record(m.String() + " " + m.URL)
			}
		}
	}()
	return b
}

func (b *Browser) record(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, msg)
}

// Errors are the exceptions, console errors and error entries of the
// browser log (failed loads, CSP violations) that the pages reported.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// run runs steps, failing the test with what if they take longer than within.
func (b *Browser) run(what string, within time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, within)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		if ctx.Err() != nil {
			b.t.Fatalf("timed out after %v: %s (page text: %s)", within, what, b.text())
		}
		b.t.Fatalf("%s: %v", what, err)
	}
}

// waitJS waits until the JavaScript expression is truthy.
func (b *Browser) waitJS(what string, within time.Duration, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, within)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(25*time.Millisecond))); err != nil {
		if ctx.Err() != nil {
			b.t.Fatalf("timed out after %v waiting for %s (page text: %s)", within, what, b.text())
		}
		b.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// eval evaluates expr in the page (a promise is awaited).
func eval[T any](b *Browser, what, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// click clicks the element the CSS selector names, once it is visible.
func (b *Browser) click(what, selector string) {
	b.t.Helper()
	b.run("clicking "+what, 10*time.Second, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// typeInto replaces the value of the input the selector names with text.
func (b *Browser) typeInto(what, selector, text string) {
	b.t.Helper()
	b.run("typing into "+what, 10*time.Second,
		chromedp.Clear(chromedp.CSS(selector), chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.CSS(selector), text, chromedp.NodeVisible))
}

// text is the page's visible text, shortened, for failure messages.
func (b *Browser) text() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	return proctest.Tail(strings.Join(strings.Fields(s), " "), 1500)
}

// navigate loads url in the tab.
func navigate(url string) chromedp.Action[chromedp.Void] { return chromedp.Navigate(url) }

// open loads the dashboard of c (through GET /, which redirects to it) and
// waits for its models' rows.
func (b *Browser) open(c *proctest.Custos, models ...string) {
	b.t.Helper()
	b.run("loading the dashboard", 10*time.Second, navigate(c.URL("/")))
	for _, m := range models {
		b.waitJS("model "+m+"'s row", 10*time.Second, fmt.Sprintf(`!!document.querySelector('#models tr[data-model=%q]')`, m))
	}
}

// rowState is the expression for the state shown in model's row.
func rowState(model string) string {
	return fmt.Sprintf(`(document.querySelector('#models tr[data-model=%q]') || {dataset: {}}).dataset.state`, model)
}

// startCustos runs custos with the configuration yaml on a free port.
func startCustos(t *testing.T, yaml string) *proctest.Custos {
	t.Helper()
	return proctest.Start(t, bins.Custos, proctest.WriteConfig(t, t.TempDir(), "warn", yaml))
}

// backend is one kind of backend the dashboard is tried on.
type backend struct {
	name  string
	block func(t *testing.T) string // the model block's lines that choose and start it
}

var backends = []backend{
	{name: "standin", block: func(t *testing.T) string {
		return "    backend: llama-server\n    cmd: " + bins.StandinCmd("--chunk-interval", "40ms", "--log-requests") + "\n"
	}},
	{name: "runner", block: func(t *testing.T) string {
		t.Setenv("CUSTOS_LLAMA_LIB_DIR", llamatest.LibDir(t))
		path, err := engineModel()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("    backend: runner\n    model: %s\n", path)
	}},
}

// engineModel generates a small model once per test binary.
var engineModel = sync.OnceValues(func() (string, error) {
	path := filepath.Join(bins.Dir, "tiny-256x4.gguf")
	return path, gguf.GenerateFile(path, gguf.GenOptions{Dim: 256, Layers: 4, Seed: 1})
})

// forEachBackend runs scenario on the stand-in and on the runner.
func forEachBackend(t *testing.T, scenario func(t *testing.T, be backend)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { scenario(t, be) })
	}
}

// modelConfig is a configuration with one model, alpha, on be.
func modelConfig(t *testing.T, be backend, extra string) string {
	return "models:\n  alpha:\n" + be.block(t) +
		"    health_interval: 200ms\n    health_timeout: 150ms\n    ready_timeout: 60s\n    stop_timeout: 5s\n" + extra
}

// getJSON reads an operator route of c into out.
func getJSON(t *testing.T, c *proctest.Custos, path string, header map[string]string, out any) {
	t.Helper()
	req, err := http.NewRequest("GET", c.URL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := proctest.Client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// waitReady waits until model is ready and returns its status entry.
func waitReady(t *testing.T, c *proctest.Custos, model string, header map[string]string) modelStatus {
	t.Helper()
	var found modelStatus
	c.Eventually(model+" ready", 60*time.Second, func() bool {
		var st struct{ Models []modelStatus }
		getJSON(t, c, "/status", header, &st)
		for _, m := range st.Models {
			if m.Model == model && m.State == "ready" {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

type modelStatus struct {
	Model    string
	State    string
	PID      int
	URL      string
	Restarts int
}

func itoa(n int) string { return strconv.Itoa(n) }

// sendHeldRequest sends a chat request for alpha as a test client would,
// while custos is paused, and returns once the pause holds it — checked
// on custos's own counters, not by its silence alone. Its answer arrives
// on the channel once something releases it.
func sendHeldRequest(t *testing.T, c *proctest.Custos) <-chan proctest.Reply {
	t.Helper()
	reply := make(chan proctest.Reply, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	go func() {
		reply <- proctest.Post(ctx, proctest.Client, c.URL("/v1/chat/completions"),
			`{"model":"alpha","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}`)
	}()
	c.Eventually("the request to be held by the pause", 10*time.Second, func() bool {
		var now intervention
		getJSON(t, c, "/admin/intervention", nil, &now)
		return now.Counters.RequestsWaiting == 1
	})
	select {
	case r := <-reply:
		t.Fatalf("the request was answered while paused: %v", r)
	default:
	}
	return reply
}
