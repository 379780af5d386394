package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"custos/internal/config"
	"custos/internal/readiness"
	"custos/internal/supervisor"
)

// failingListener accepts nothing: its Accept fails for good, as a
// listening socket closed under custos would.
type failingListener struct{ net.Listener }

func (l failingListener) Accept() (net.Conn, error) {
	return nil, errors.New("the listening socket is gone")
}

// When its HTTP server fails, custos can no longer be reached: Serve
// shuts down and returns an error, so the process exits non-zero and a
// service manager restarts it, instead of exiting 0 as after SIGTERM.
func TestServeReturnsAnErrorWhenTheHTTPServerFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("listen: "+ln.Addr().String()+"\nstore: {path: "+filepath.Join(dir, "custos.db")+"}\n"+
		"models:\n  tiny:\n    backend: llama-server\n    cmd: [sleep, \"3600\", \"${HOST}\", \"${PORT}\"]\n    stop_timeout: 1s\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Listener: failingListener{ln}})
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Serve returned nil after its HTTP server failed")
		}
		var cerr *config.Error
		if errors.As(err, &cerr) {
			t.Fatalf("a failed server is not a configuration error: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve kept running for 30s after its HTTP server failed")
	}
}

// A model loaded on demand keeps the gate open while it loads for a
// request: /readyz does not turn 503 because a model is being loaded.
func TestOnDemandModelLoadingKeepsTheGateOpen(t *testing.T) {
	cfg, err := config.Parse([]byte("models:\n  tiny:\n    backend: llama-server\n    cmd: [sleep, \"3600\", \"${HOST}\", \"${PORT}\"]\n    load: on_demand\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := supervisor.NewBackend(cfg.Models[0], supervisor.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx)
	src := engineSource(cfg, []modelBackend{b})
	deadline := time.Now().Add(10 * time.Second)
	for b.Snapshot().State != supervisor.StateUnloaded {
		if time.Now().After(deadline) {
			t.Fatal("the backend did not start unloaded")
		}
		time.Sleep(time.Millisecond)
	}
	if st, detail := src.Readiness(); st != readiness.Ready {
		t.Fatalf("unloaded: %v %s", st, detail)
	}
	b.Load() // sleep never answers /health: it stays loading
	for b.Snapshot().State != supervisor.StateLoading {
		if time.Now().After(deadline) {
			t.Fatal("the backend did not start loading")
		}
		time.Sleep(time.Millisecond)
	}
	if st, detail := src.Readiness(); !st.Serving() {
		t.Fatalf("loading on demand: %v %s", st, detail)
	}
}
