package app

import (
	"context"
	"errors"
	"log/slog"

	"custos/internal/config"
	"custos/internal/remote"
	"custos/internal/supervisor"
)

// modelBackend is what serves one model, as the app wires it to the
// gateway, the scheduler and the API: a supervised process
// (*supervisor.Backend) or the replicas of a remote model (*remote.Pool).
type modelBackend interface {
	Snapshot() supervisor.Snapshot
	Watch() (supervisor.Snapshot, <-chan struct{})
	Restart()
	Logs() []string
	Load()
	Unload(reason string)
}

// backendSet is every model's backend, in configuration order.
type backendSet struct {
	list  []modelBackend
	pools []*remote.Pool
}

// newBackendSet takes each local model's backend from sup and makes a
// pool for each remote one.
func newBackendSet(cfg *config.Config, sup *supervisor.Supervisor, log *slog.Logger) *backendSet {
	s := &backendSet{list: make([]modelBackend, len(cfg.Models))}
	for i, m := range cfg.Models {
		if m.Backend == config.BackendRemote {
			p := remote.New(m, remote.Options{Logger: log})
			s.pools = append(s.pools, p)
			s.list[i] = p
			continue
		}
		b, _ := sup.Backend(m.ID)
		s.list[i] = b
	}
	return s
}

// start runs the remote pools until ctx ends or stop.
func (s *backendSet) start(ctx context.Context) {
	for _, p := range s.pools {
		go p.Run(ctx)
	}
}

// stop stops the remote pools and waits for them or for ctx.
func (s *backendSet) stop(ctx context.Context) error {
	errs := make([]error, len(s.pools))
	for i, p := range s.pools {
		errs[i] = p.Stop(ctx)
	}
	return errors.Join(errs...)
}
