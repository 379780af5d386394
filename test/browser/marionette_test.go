package browser

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"custos/internal/proctest"
)

// firefoxPath is Debian's firefox-esr ($CUSTOS_FIREFOX overrides it). The
// Makefile installs it with apt-get; a machine without it fails the
// Firefox tests rather than skipping them.
func firefoxPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CUSTOS_FIREFOX"); p != "" {
		return p
	}
	p, err := exec.LookPath("firefox-esr")
	if err != nil {
		t.Fatal("firefox-esr not found: install it (`make tools` runs apt-get install firefox-esr) or set CUSTOS_FIREFOX")
	}
	return p
}

// firefoxPrefs make a fresh profile quiet and local: Marionette on a port
// Firefox picks (written to MarionetteActivePort in the profile), nothing
// fetched from outside, and the pages' uncaught errors and console output
// printed to Firefox's own output, where the test reads them.
var firefoxPrefs = map[string]any{
	"marionette.port":                            0,
	"app.update.enabled":                         false,
	"app.update.auto":                            false,
	"app.normandy.enabled":                       false,
	"browser.shell.checkDefaultBrowser":          false,
	"browser.startup.homepage_override.mstone":   "ignore",
	"browser.startup.page":                       0,
	"browser.newtabpage.enabled":                 false,
	"browser.aboutwelcome.enabled":               false,
	"browser.safebrowsing.malware.enabled":       false,
	"browser.safebrowsing.phishing.enabled":      false,
	"browser.safebrowsing.downloads.enabled":     false,
	"browser.search.update":                      false,
	"datareporting.policy.dataSubmissionEnabled": false,
	"datareporting.healthreport.uploadEnabled":   false,
	"toolkit.telemetry.enabled":                  false,
	"toolkit.telemetry.unified":                  false,
	"network.captive-portal-service.enabled":     false,
	"network.connectivity-service.enabled":       false,
	"network.dns.disablePrefetch":                true,
	"network.prefetch-next":                      false,
	"extensions.update.enabled":                  false,
	"extensions.getAddons.cache.enabled":         false,
	"extensions.blocklist.enabled":               false,
	"services.settings.server":                   "http://127.0.0.1:9/",
	"remote.prefs.recommended":                   true,
	"browser.dom.window.dump.enabled":            true,
	"devtools.console.stdout.content":            true,
	"browser.sessionstore.resume_from_crash":     false,
	"toolkit.startup.max_resumed_crashes":        -1,
	"browser.tabs.warnOnClose":                   false,
	"browser.uitour.enabled":                     false,
	"media.gmp-manager.updateEnabled":            false,
	"geo.provider.network.url":                   "",
	"browser.region.network.url":                 "",
	"identity.fxaccounts.enabled":                false,
}

// Firefox is one headless Firefox driven over Marionette, its own wire
// protocol (what geckodriver speaks to it): each message is its JSON
// length in decimal, a colon and the JSON, a command
// [0, id, name, params] answered by [1, id, error, result].
type Firefox struct {
	t      *testing.T
	conn   net.Conn
	in     *bufio.Reader
	nextID int
	output *proctest.Buffer
}

// newFirefox starts Firefox on a fresh profile and opens a Marionette
// session; the test's cleanup ends the session and kills Firefox's whole
// process group (its content processes included).
func newFirefox(t *testing.T) *Firefox {
	t.Helper()
	profile := t.TempDir()
	var prefs strings.Builder
	for name, value := range firefoxPrefs {
		v, _ := json.Marshal(value)
		fmt.Fprintf(&prefs, "user_pref(%q, %s);\n", name, v)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &Firefox{t: t, output: &proctest.Buffer{}}
	cmd := exec.Command(firefoxPath(t), "--headless", "--marionette", "--no-remote", "--profile", profile)
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_HEADLESS_WIDTH=1280", "MOZ_HEADLESS_HEIGHT=900")
	cmd.Stdout, cmd.Stderr = f.output, f.output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Firefox: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		if f.conn != nil {
			f.conn.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = f.call("WebDriver:DeleteSession", map[string]any{})
			f.conn.Close()
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("Firefox (pid %d) did not exit 10 s after SIGKILL", cmd.Process.Pid)
		}
	})

	// Firefox writes the port it chose once Marionette listens.
	var port int
	deadline := time.Now().Add(30 * time.Second)
	for {
		if data, err := os.ReadFile(filepath.Join(profile, "MarionetteActivePort")); err == nil {
			if p, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && p > 0 {
				port = p
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("Firefox exited before Marionette listened:\n%s", proctest.Tail(f.output.String(), 3000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 30s waiting for Firefox's Marionette port (output: %s)", proctest.Tail(f.output.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 10*time.Second)
	if err != nil {
		t.Fatalf("connecting to Marionette on port %d: %v", port, err)
	}
	f.conn, f.in = conn, bufio.NewReader(conn)
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var hello struct {
		ApplicationType    string
		MarionetteProtocol int
	}
	if err := f.read(&hello); err != nil || hello.MarionetteProtocol < 3 {
		t.Fatalf("Marionette's greeting: %+v, %v", hello, err)
	}
	if _, err := f.call("WebDriver:NewSession", map[string]any{
		"capabilities": map[string]any{"alwaysMatch": map[string]any{"acceptInsecureCerts": false}},
	}); err != nil {
		t.Fatalf("opening a Marionette session: %v", err)
	}
	return f
}

// read reads one message into out.
func (f *Firefox) read(out any) error {
	size, err := f.in.ReadString(':')
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(size, ":"))
	if err != nil || n < 0 || n > 64<<20 {
		return fmt.Errorf("bad message length %q", size)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(f.in, body); err != nil {
		return err
	}
	return json.Unmarshal(body, out)
}

// call sends one command and returns its result (the command's error, as
// Marionette reports it, otherwise). Replies to other ids are skipped:
// only one command is in flight at a time.
func (f *Firefox) call(name string, params any) (json.RawMessage, error) {
	f.nextID++
	id := f.nextID
	msg, err := json.Marshal([]any{0, id, name, params})
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(f.conn, "%d:%s", len(msg), msg); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for {
		var reply []json.RawMessage
		if err := f.read(&reply); err != nil {
			return nil, fmt.Errorf("%s: reading the reply: %w", name, err)
		}
		if len(reply) != 4 {
			return nil, fmt.Errorf("%s: a reply of %d elements", name, len(reply))
		}
		var got int
		if err := json.Unmarshal(reply[1], &got); err != nil || got != id {
			continue
		}
		if string(reply[2]) != "null" {
			var e struct{ Error, Message string }
			_ = json.Unmarshal(reply[2], &e)
			return nil, fmt.Errorf("%s: %s: %s", name, e.Error, e.Message)
		}
		return reply[3], nil
	}
}

// do runs a command within d, failing the test with what if it fails.
func (f *Firefox) do(what string, d time.Duration, name string, params any) json.RawMessage {
	f.t.Helper()
	f.conn.SetDeadline(time.Now().Add(d))
	result, err := f.call(name, params)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			f.t.Fatalf("timed out after %v: %s (Firefox's output: %s)", d, what, proctest.Tail(f.output.String(), 1500))
		}
		f.t.Fatalf("%s: %v", what, err)
	}
	return result
}

// navigate loads url and waits for its load event.
func (f *Firefox) navigate(url string) {
	f.t.Helper()
	f.do("loading "+url, 15*time.Second, "WebDriver:Navigate", map[string]any{"url": url})
}

// script runs a function body in the page and returns its value (a
// returned promise is awaited).
func (f *Firefox) script(what, body string) json.RawMessage {
	f.t.Helper()
	var r struct{ Value json.RawMessage }
	if err := json.Unmarshal(f.do(what, 10*time.Second, "WebDriver:ExecuteScript", map[string]any{"script": body, "args": []any{}}), &r); err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
	return r.Value
}

// waitJS waits until the JavaScript expression is truthy.
func (f *Firefox) waitJS(what string, within time.Duration, expr string) {
	f.t.Helper()
	deadline := time.Now().Add(within)
	for string(f.script("checking for "+what, "return !!("+expr+");")) != "true" {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out after %v waiting for %s in Firefox (page text: %s)", within, what,
				proctest.Tail(string(f.script("reading the page", `return document.body ? document.body.innerText : "";`)), 1500))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// element finds the element the CSS selector names, once it is shown.
func (f *Firefox) element(what, selector string) string {
	f.t.Helper()
	f.waitJS(what+" shown", 10*time.Second, fmt.Sprintf(`(document.querySelector(%q) || {getClientRects: () => []}).getClientRects().length > 0`, selector))
	var found struct {
		Value map[string]string
	}
	if err := json.Unmarshal(f.do("finding "+what, 10*time.Second, "WebDriver:FindElement",
		map[string]any{"using": "css selector", "value": selector}), &found); err != nil || found.Value[webElement] == "" {
		f.t.Fatalf("finding %s: %s, %v", what, found.Value, err)
	}
	return found.Value[webElement]
}

// click clicks the element as a user's pointer would (Marionette scrolls
// to it and checks that it is the element hit there).
func (f *Firefox) click(what, selector string) {
	f.t.Helper()
	f.do("clicking "+what, 10*time.Second, "WebDriver:ElementClick", map[string]any{"id": f.element(what, selector)})
}

// typeInto types text into the input the selector names, key by key.
func (f *Firefox) typeInto(what, selector, text string) {
	f.t.Helper()
	f.do("typing into "+what, 10*time.Second, "WebDriver:ElementSendKeys", map[string]any{"id": f.element(what, selector), "text": text})
}

// webElement is the key WebDriver names an element reference by.
const webElement = "element-6066-11e4-a52e-4f735466cecf"

// errors are what Firefox printed for uncaught errors (a rejected promise
// included) of pages from origin, and for console errors: the prefs above
// send both to its output. A console error whose text names only
// Firefox's own code (resource:// or chrome://, as its experiment loader
// prints when it cannot reach its server) is Firefox's, not the page's.
func (f *Firefox) errors(origin string) []string {
	var found []string
	lines := strings.Split(f.output.String(), "\n")
	for i := 0; i < len(lines); i++ {
		switch line := lines[i]; {
		case strings.HasPrefix(line, "JavaScript error: "+origin):
			found = append(found, line)
		case strings.HasPrefix(line, "console.error:"):
			block := line
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], " ") {
				i++
				block += "\n" + lines[i]
			}
			firefoxs := (strings.Contains(block, "resource://") || strings.Contains(block, "chrome://")) && !strings.Contains(block, origin)
			if !firefoxs {
				found = append(found, block)
			}
		}
	}
	return found
}
