// Package supervisor runs each model's backend process (custos runner or a
// llama-server-compatible command) and keeps it serving: it starts it on a
// free loopback port, notices readiness and load progress from /health,
// probes it while it serves, restarts it with exponential backoff after a
// crash, a hang or a stalled load, marks it unhealthy when the restart
// budget is spent, and stops it with SIGTERM then SIGKILL.
//
// Each backend's state belongs to one goroutine (Backend.Run). Others read
// lock-free snapshots (Snapshot, Watch) or send it requests (Restart,
// ReportFailure, Stop).
package supervisor

import (
	"context"
	"errors"
	"sync"

	"custos/internal/config"
)

// Supervisor runs the backends of every configured model.
type Supervisor struct {
	backends []*Backend
	byID     map[string]*Backend
	wg       sync.WaitGroup
}

// New prepares one Backend per model of cfg that runs a process here, in
// configuration order (a remote model has none: package remote serves
// it); nothing runs until Start.
func New(cfg *config.Config, opts Options) *Supervisor {
	opts.MaxBodyBytes, opts.SecretEnv = cfg.MaxBodyBytes, secretEnv(cfg)
	s := &Supervisor{byID: make(map[string]*Backend, len(cfg.Models))}
	for _, m := range cfg.Models {
		if m.Backend == config.BackendRemote {
			continue
		}
		b := NewBackend(m, opts)
		s.backends = append(s.backends, b)
		s.byID[m.ID] = b
	}
	return s
}

// Start starts every backend's run loop; they run until Stop or ctx ends.
func (s *Supervisor) Start(ctx context.Context) {
	for _, b := range s.backends {
		s.wg.Go(func() { b.Run(ctx) })
	}
}

// Backend returns the backend of the model with this id (not an alias).
func (s *Supervisor) Backend(id string) (*Backend, bool) {
	b, ok := s.byID[id]
	return b, ok
}

// Backends returns every backend in configuration order.
func (s *Supervisor) Backends() []*Backend {
	return append([]*Backend(nil), s.backends...)
}

// Stop stops every backend in parallel, each with its own SIGTERM grace
// period, and waits for them all or for ctx to end.
func (s *Supervisor) Stop(ctx context.Context) error {
	errs := make([]error, len(s.backends))
	var wg sync.WaitGroup
	for i, b := range s.backends {
		wg.Go(func() { errs[i] = b.Stop(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
