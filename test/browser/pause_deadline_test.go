package browser

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"custos/internal/proctest"
)

// The banner counts down to the deadline custos stored with the pause,
// which is the one it enforces: after a restart with a longer max_pause,
// the pause still ends when it was set to, and the page says so.
func TestPauseBannerShowsTheStoredDeadline(t *testing.T) {
	dir := t.TempDir()
	config := func(maxPause string) string {
		return "store: {path: " + filepath.Join(dir, "custos.db") + "}\n" +
			"intervention: {enabled: true, max_pause: " + maxPause + "}\n" + modelConfig(t, backends[0], "")
	}
	first := proctest.Start(t, bins.Custos, proctest.WriteConfig(t, t.TempDir(), "warn", config("1h")))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r := proctest.Post(ctx, proctest.Client, first.URL("/admin/pause"), `{"reason":"disk swap"}`); r.Err != nil || r.Status != 200 {
		t.Fatalf("POST /admin/pause: %v", r)
	}
	var paused struct {
		State struct {
			Global *struct{ Until time.Time }
		}
	}
	getJSON(t, first, "/admin/intervention", nil, &paused)
	if paused.State.Global == nil || paused.State.Global.Until.IsZero() {
		t.Fatalf("the pause has no stored deadline: %+v", paused.State)
	}
	until := paused.State.Global.Until
	first.Stop()

	second := proctest.Start(t, bins.Custos, proctest.WriteConfig(t, t.TempDir(), "warn", config("3h")))
	b := newBrowser(t, 1280, 900)
	b.open(second, "alpha")
	b.waitJS("the banner", 10*time.Second, `!document.getElementById("banner").hidden`)
	shown := eval[string](b, "the deadline in the banner",
		`(document.querySelector('#banner .rel[data-mode="in"]') || {dataset: {}}).dataset.at || ""`)
	if want := strconv.FormatInt(until.UnixMilli(), 10); shown != want {
		at, _ := strconv.ParseInt(shown, 10, 64)
		t.Fatalf("the banner counts down to %s, want the stored deadline %s (%s)", time.UnixMilli(at).UTC(), until.UTC(), want)
	}
}
