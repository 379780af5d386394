package supervisor

import (
	"context"
	"custos/internal/proctest"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadyNoticedAndProgressReportedDuringSlowLoad(t *testing.T) {
	m := standinModel("--load-time", "1500ms")
	b, h := runBackend(t, m)

	loading, next := h.await(t, 0, "load progress between 0 and 1", func(s Snapshot) bool {
		return s.State == StateLoading && s.Progress > 0 && s.Progress < 1
	})
	if loading.NotReadySince.IsZero() || loading.URL == "" || loading.PID == 0 {
		t.Fatalf("loading snapshot lacks NotReadySince, URL or PID: %+v", loading)
	}
	ready, _ := h.await(t, next, "ready", func(s Snapshot) bool { return s.State == StateReady })
	if ready.Progress != 1 || !ready.NotReadySince.IsZero() || ready.Backend != BackendNameLlamaServer || ready.Model != "tiny" {
		t.Fatalf("ready snapshot = %+v", ready)
	}
	if ready.PID != loading.PID || ready.Restarts != 0 || ready.ConsecutiveFailures != 0 {
		t.Fatalf("backend restarted during a healthy load: loading %+v, ready %+v", loading, ready)
	}
	resp, err := testClient.Get(ready.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("backend reported ready but /health answers %d", resp.StatusCode)
	}
	for _, want := range []string{"standin listening on", "standin model"} { // stdout, stderr
		eventually(t, want+" in the logs", func() bool {
			return slices.ContainsFunc(b.Logs(), func(l string) bool { return strings.HasPrefix(l, want) })
		})
	}
}

// Progress restarts the stall timer: a load longer than ready_timeout that
// keeps reporting progress must not be killed.
func TestLoadProgressKeepsStallTimerAlive(t *testing.T) {
	m := standinModel("--load-time", "2s")
	m.ReadyTimeout = 600 * time.Millisecond
	_, h := runBackend(t, m)

	h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady || s.LastExit != "" })
	for _, s := range h.all() {
		if s.LastExit != "" {
			t.Fatalf("a progressing load was ended: %q\n%s", s.LastExit, describe(h.all()))
		}
	}
}

// A backend whose /health never answers while it loads reports no
// progress: ready_timeout expires, the backend is killed and restarted.
func TestSilentHealthDuringLoadIsKilledByStallTimer(t *testing.T) {
	m := standinModel("--load-time", "1h", "--hang-health-during-load")
	m.ReadyTimeout = 300 * time.Millisecond
	b, h := runBackend(t, m)

	first, _ := h.await(t, 0, "loading", func(s Snapshot) bool { return s.State == StateLoading })
	killed, next := h.await(t, 0, "a stall kill", func(s Snapshot) bool { return s.LastExit != "" })
	if killed.LastExit != "killed: no load progress for 300ms" || killed.State != StateBackoff || killed.ConsecutiveFailures != 1 {
		t.Fatalf("after the stall: %+v", killed)
	}
	eventually(t, "the stalled process to be gone", func() bool { return processGone(first.PID) })
	h.await(t, next, "a new start", func(s Snapshot) bool { return s.State == StateLoading && s.Restarts == 1 })
	if s := b.Snapshot(); s.NotReadySince != first.NotReadySince {
		t.Fatalf("NotReadySince moved while never ready: %v then %v", first.NotReadySince, s.NotReadySince)
	}
}

// A backend's output reaches custos's log at the default level, each line
// with the model id, so an operator sees what llama-server says.
func TestBackendOutputIsLoggedWithTheModel(t *testing.T) {
	var out proctest.Buffer
	b := NewBackend(standinModel(), Options{Logger: slog.New(slog.NewJSONHandler(&out, nil))})
	go b.Run(context.Background())
	t.Cleanup(func() { stopBackend(t, b) })
	eventually(t, "the stand-in's first line in the log", func() bool {
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.Contains(line, `"level":"INFO"`) && strings.Contains(line, `"msg":"standin listening on`) && strings.Contains(line, `"model":"tiny"`) {
				return true
			}
		}
		return false
	})
}
