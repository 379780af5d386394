package browser

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"custos/internal/proctest"
)

// TestScreenshots takes the dashboard's main views, in the dark scheme, of
// a custos serving three stand-in models with traffic, a pause and an audit
// trail, and checks that each is a whole picture and that the narrow view
// needs no sideways scrolling. `make screenshots` sets CUSTOS_SCREENSHOTS to
// docs/screenshots, where the README shows them; otherwise they go to a
// temporary folder.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("CUSTOS_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	standin := func(flags ...string) string {
		return "    backend: llama-server\n    cmd: " + bins.StandinCmd(append([]string{"--log-requests"}, flags...)...) + "\n" +
			"    health_interval: 1s\n    stop_timeout: 5s\n"
	}
	c := startCustos(t, "models:\n"+
		"  chat:\n"+standin("--chunk-interval", "30ms", "--response-delay", "40ms", "--hold-memory", "201326592", "--stream-chunks", "12")+
		"    aliases: [default]\n    max_concurrency: 2\n"+
		"  coder:\n"+standin("--chunk-interval", "15ms", "--response-delay", "90ms", "--hold-memory", "117440512")+
		"    load: on_demand\n    ttl: 15m\n"+
		"  embed:\n"+standin()+"    load: on_demand\n    ttl: 5m\n"+
		"resources: {memory: 2GiB}\nintervention: {max_pause: 30m}\n")
	waitReady(t, c, "chat", nil)

	// Traffic for the charts: two clients for a few seconds, bounded in count.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, model := range []string{"chat", "coder"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 16 && ctx.Err() == nil; n++ {
				proctest.Post(ctx, proctest.Client, c.URL("/v1/chat/completions"),
					fmt.Sprintf(`{"model":%q,"stream":true,"max_tokens":16,"messages":[{"role":"user","content":"hi %d"}]}`, model, n))
				time.Sleep(time.Duration(150+100*i) * time.Millisecond)
			}
		}()
	}
	proctest.Receive(t, "the traffic for the charts to end", 60*time.Second, proctest.Done(&wg))
	for _, body := range []string{`{"reason":"swapping disks"}`, `{}`} {
		path := "/admin/pause"
		if body == `{}` {
			path = "/admin/resume"
		}
		if r := proctest.Post(ctx, proctest.Client, c.URL(path), body); r.Status != 200 {
			t.Fatalf("%s: %v", path, r)
		}
	}
	if r := proctest.Post(ctx, proctest.Client, c.URL("/admin/wellbeing"), `{"state":"cautious","reason":"night shift: one operator on call"}`); r.Status != 200 {
		t.Fatalf("wellbeing: %v", r)
	}
	if r := proctest.Post(ctx, proctest.Client, c.URL("/admin/pause"), `{"model":"coder","reason":"evaluating a new quantization"}`); r.Status != 200 {
		t.Fatalf("pause coder: %v", r)
	}

	b := newBrowser(t, 1360, 1100)
	b.run("choosing the dark scheme", 5*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	}))
	b.open(c, "chat", "coder", "embed")
	b.waitJS("the stream live with its history", 10*time.Second, `document.getElementById("conn").textContent === "live"`)
	b.waitJS("the banner", 5*time.Second, `!document.getElementById("banner").hidden`)
	eval[bool](b, "choosing the charts' 1-minute window", `(() => {
		const w = document.getElementById("chart-window");
		w.value = "60";
		w.dispatchEvent(new Event("change"));
		return true;
	})()`)
	shoot(t, b, dir, "overview.png")

	b.click("chat's Logs", `button[data-key="chat/logs"]`)
	b.waitJS("chat's output", 10*time.Second, `document.getElementById("logs").textContent.includes("POST /v1/chat/completions")`)
	shoot(t, b, dir, "logs.png")

	b.click("the Audit tab", "#tab-audit")
	b.waitJS("the audit log", 10*time.Second, `document.querySelectorAll("#audit tbody tr").length >= 4`)
	shoot(t, b, dir, "audit.png")

	b.click("the Playground tab", "#tab-playground")
	b.typeInto("the message", "#play-input", "Which model answers me, and how fast?")
	b.click("Send", "#play-send")
	b.waitJS("the answer", 30*time.Second, `document.getElementById("play-timings").textContent.includes("total")`)
	shoot(t, b, dir, "playground.png")

	b.click("the Overview tab", "#tab-overview")
	b.run("narrowing the window", 5*time.Second, chromedp.EmulateViewport(420, 1400))
	b.waitJS("the narrow layout", 5*time.Second, `window.innerWidth === 420`)
	if overflow := eval[int](b, "measuring the width", `document.documentElement.scrollWidth - window.innerWidth`); overflow > 0 {
		t.Errorf("at 420 px the page is %d px wider than the window: it must read without sideways scrolling", overflow)
	}
	shoot(t, b, dir, "narrow.png")
}

// shoot saves the viewport as dir/name and checks it is a whole PNG.
func shoot(t *testing.T, b *Browser, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	// Let the charts and relative times settle on their next frame.
	if err := chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatalf("waiting before %s: %v", name, err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil || cfg.Width < 400 || cfg.Height < 400 {
		t.Fatalf("screenshot %s is no whole picture: %v %+v", name, err, cfg)
	}
	if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
