package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"custos/internal/intervention"
)

func pausable(f *fixture, waitTimeout time.Duration) *intervention.Controller {
	c := intervention.New(intervention.Config{Enabled: true, MaxPause: time.Hour, WaitTimeout: waitTimeout}, nil,
		intervention.State{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.gw.pause = c
	return c
}

func TestPausedRequestWaitsAndResumes(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	c := pausable(f, time.Minute)
	defer c.Close()
	_, _ = c.Pause("tiny", "maintenance", intervention.ActorAdmin)
	done := make(chan answer, 1)
	go func() { done <- f.post("/v1/chat/completions", chatBody) }()
	waitFor(t, "the request to wait", func() bool { return c.Counters().RequestsWaiting == 1 })
	_, _ = c.Resume("tiny", intervention.ActorAdmin)
	if a := <-done; a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

func TestPausedRequestTimesOutWith503(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	c := pausable(f, 20*time.Millisecond)
	defer c.Close()
	_, _ = c.Pause(intervention.GlobalScope, "investigating", intervention.ActorAdmin)
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 503 || !strings.Contains(a.body, "inference_paused") || !strings.Contains(a.body, "investigating") || a.header.Get("Retry-After") == "" {
		t.Fatalf("got %d %v %s", a.status, a.header, a.body)
	}
}
