package pgtest

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// shared is the server the tests of one test binary share.
var shared struct {
	once sync.Once
	srv  *Server
	base string
	err  error
	mu   sync.Mutex
	n    int
}

// Shared gives the test an empty database of its own on a server the
// tests of this binary share, started on first use, and returns its DSN:
// for tests that neither stop the server nor change it beyond their
// database, so they pay for initdb once. The package's TestMain must call
// StopShared after its tests have run.
func Shared(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		shared.base, shared.err = os.MkdirTemp("", "custos-pgtest-")
		if shared.err == nil {
			shared.srv, shared.err = launch(shared.base, Options{})
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	shared.mu.Lock()
	shared.n++
	name := fmt.Sprintf("test_%d", shared.n)
	shared.mu.Unlock()
	dsn, err := shared.srv.createDatabase(name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// StopShared kills the shared server, if one was started, and removes its
// folder.
func StopShared() {
	if shared.srv != nil {
		shared.srv.Kill()
	}
	if shared.base != "" {
		_ = os.RemoveAll(shared.base)
	}
}
