package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"custos/internal/auth"
	"custos/internal/httpserver"
	"custos/internal/intervention"
	"custos/internal/supervisor"
)

const local = "127.0.0.1:4000"

func TestPauseResumeThroughTheAdminAPI(t *testing.T) {
	a, _, _ := newAPI(0)
	rec := serveBody(a, "POST", "/admin/pause", local, `{"reason":"deploying","model":"default"}`, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"tiny"`) || !strings.Contains(rec.Body.String(), `"deploying"`) {
		t.Fatalf("pause: %d %s", rec.Code, rec.Body)
	}
	if !a.opts.Intervention.Paused() {
		t.Fatal("not paused")
	}
	var st InterventionStatus
	_ = json.Unmarshal(serve(a, "GET", "/admin/intervention", local).Body.Bytes(), &st)
	if !st.Paused || st.State.Models["tiny"] == nil || st.Counters.PausesTotal != 1 {
		t.Fatalf("status: %+v", st)
	}
	if rec := serveBody(a, "POST", "/admin/resume", local, `{"model":"tiny"}`, ""); rec.Code != 200 || a.opts.Intervention.Paused() {
		t.Fatalf("resume: %d %s", rec.Code, rec.Body)
	}
	var audit struct {
		Events []map[string]any `json:"events"`
	}
	_ = json.Unmarshal(serve(a, "GET", "/admin/audit?limit=10", local).Body.Bytes(), &audit)
	if len(audit.Events) != 2 || audit.Events[0]["action"] != "resume" || audit.Events[1]["reason"] != "deploying" {
		t.Fatalf("audit: %+v", audit.Events)
	}
	var page struct {
		Events     []map[string]any `json:"events"`
		NextOffset *int             `json:"next_offset"`
	}
	_ = json.Unmarshal(serve(a, "GET", "/admin/audit?limit=1", local).Body.Bytes(), &page)
	if len(page.Events) != 1 || page.Events[0]["action"] != "resume" || page.NextOffset == nil || *page.NextOffset != 1 {
		t.Fatalf("first page of one: %+v next %v", page.Events, page.NextOffset)
	}
	page.NextOffset = nil
	_ = json.Unmarshal(serve(a, "GET", "/admin/audit?limit=1&offset=1", local).Body.Bytes(), &page)
	if len(page.Events) != 1 || page.Events[0]["reason"] != "deploying" || page.NextOffset != nil {
		t.Fatalf("last page: %+v next %v", page.Events, page.NextOffset)
	}
}

func TestWellbeingThroughTheAdminAPI(t *testing.T) {
	a, _, _ := newAPI(0)
	if rec := serveBody(a, "POST", "/admin/wellbeing", local, `{"state":"distressed","reason":"loops"}`, ""); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if !a.opts.Intervention.Paused() {
		t.Fatal("distressed with pause_on_distressed must pause")
	}
	_ = serveBody(a, "POST", "/admin/wellbeing", local, `{"state":"healthy"}`, "")
	if a.opts.Intervention.Paused() {
		t.Fatal("healthy must resume the policy's pause")
	}
}

func TestAdminBadRequests(t *testing.T) {
	a, _, _ := newAPI(0)
	cases := []struct {
		path, body string
		status     int
		code       string
	}{
		{"/admin/pause", `{}`, 400, "missing_reason"},
		{"/admin/pause", `{"reason":"  "}`, 400, "missing_reason"},
		{"/admin/pause", `{"reason":"x","model":"nope"}`, 404, "model_not_found"},
		{"/admin/pause", `{"reason":1}`, 400, "invalid_json"},
		{"/admin/pause", `{"reason":"x","colour":"red"}`, 400, "invalid_json"},
		{"/admin/pause", `{"reason":"` + strings.Repeat("x", maxReason+1) + `"}`, 400, "invalid_reason"},
		{"/admin/pause", `[`, 400, "invalid_json"},
		{"/admin/wellbeing", `{"state":"sad"}`, 400, "invalid_state"},
		{"/admin/wellbeing", `{}`, 400, "missing_state"},
		{"/admin/audit?limit=0", ``, 400, "invalid_limit"},
		{"/admin/audit?limit=x", ``, 400, "invalid_limit"},
		{"/admin/audit?offset=-1", ``, 400, "invalid_offset"},
	}
	for _, tc := range cases {
		method := "POST"
		if strings.HasPrefix(tc.path, "/admin/audit") {
			method = "GET"
		}
		rec := serveBody(a, method, tc.path, local, tc.body, "")
		var e struct {
			Error struct{ Code, Type, Message string } `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != tc.status || e.Error.Code != tc.code || e.Error.Message == "" || e.Error.Type == "" {
			t.Errorf("%s %s: got %d %s", tc.path, tc.body[:min(len(tc.body), 40)], rec.Code, rec.Body)
		}
	}
}

func TestAdminTokenRequiredWhenConfigured(t *testing.T) {
	a, _, _ := newAPI(0)
	a.guard = auth.NewGuard(auth.NewKeys("the-token"))
	for _, tc := range []struct {
		token  string
		remote string
		status int
	}{
		{"", local, 401},
		{"wrong", local, 401},
		{"the-token", "192.0.2.7:1234", 200},
		{"the-token", local, 200},
	} {
		rec := serveBody(a, "GET", "/admin/intervention", tc.remote, "", tc.token)
		if rec.Code != tc.status {
			t.Errorf("token %q from %s: got %d %s", tc.token, tc.remote, rec.Code, rec.Body)
		}
		if tc.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
	}
}

func TestStatusShowsThePause(t *testing.T) {
	a, _, _ := newAPI(0)
	_ = serveBody(a, "POST", "/admin/pause", local, `{"reason":"maintenance window"}`, "")
	var st Status
	_ = json.Unmarshal(serve(a, "GET", "/status", "").Body.Bytes(), &st)
	if st.Intervention == nil || !st.Intervention.Paused || st.Intervention.State.Global.Reason != "maintenance window" {
		t.Fatalf("status: %+v", st.Intervention)
	}
}

// A change sent while the control state is still being read back gets an
// answer that says it was not applied, within the change's bound — not
// after the CLI has given up — and it is not applied later.
func TestChangeWhileRestoringIsAnsweredNotApplied(t *testing.T) {
	a, _, _ := newAPI(0)
	ic := intervention.NewRestoring(intervention.Config(a.opts.Config.Intervention), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer ic.Close()
	a.opts.Intervention = ic
	mux := httpserver.NewMux()
	a.Register(mux)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", "http://127.0.0.1:8080/admin/pause", strings.NewReader(`{"reason":"early"}`))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = local
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "state_store_warming") || !strings.Contains(rec.Body.String(), "not applied") || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	ic.Restore(intervention.State{})
	if ic.Paused() {
		t.Fatal("a change answered as not applied was applied after the restore")
	}
}

// Every admin POST is a JSON object; an empty body is not one.
func TestAdminPostNeedsAJSONObject(t *testing.T) {
	a, _, _ := newAPI(0)
	mux := httpserver.NewMux()
	a.Register(mux)
	for _, path := range []string{"/admin/resume", "/admin/models/tiny/restart"} {
		req := httptest.NewRequest("POST", "http://127.0.0.1:8080"+path, nil)
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = local
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid_json") {
			t.Errorf("%s with an empty body: %d %s", path, rec.Code, rec.Body)
		}
	}
}

// What each route shows, and to whom: the probes are open; /status (it
// shows backend output and pause reasons) and /metrics are operator
// routes, behind the admin token when one is configured.
func TestStatusAndMetricsAreOperatorRoutes(t *testing.T) {
	a, b, _ := newAPI(supervisor.StateReady)
	b.logs = []string{"a secret the backend printed"}
	a.opts.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("custos_up 1\n")) })
	a.guard = auth.NewGuard(auth.NewKeys("the-token"))
	for path, want := range map[string]int{"/status": 401, "/metrics": 401, "/debug/pprof/": 401, "/health": 200, "/livez": 200, "/readyz": 503} {
		if rec := serveBody(a, "GET", path, "192.0.2.7:1234", "", ""); rec.Code != want {
			t.Errorf("GET %s without the token: %d, want %d", path, rec.Code, want)
		} else if strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("GET %s without the token shows backend output", path)
		}
	}
	for _, path := range []string{"/status", "/metrics"} {
		if rec := serveBody(a, "GET", path, "192.0.2.7:1234", "", "the-token"); rec.Code != 200 {
			t.Errorf("GET %s with the token: %d", path, rec.Code)
		}
	}
}
