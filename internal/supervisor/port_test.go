package supervisor

import (
	"errors"
	"testing"

	"custos/internal/freeport"
)

// kernelNaming makes the backends' ports come from a kernel that names the given ports in turn, for the
// rest of the test.
func kernelNaming(t *testing.T, ports ...int) {
	t.Helper()
	saved := backendPorts
	backendPorts = &freeport.Pool{Listen: func(string) (int, error) {
		if len(ports) == 0 {
			return 0, errors.New("the test's kernel has no more ports")
		}
		port := ports[0]
		ports = ports[1:]
		return port, nil
	}}
	t.Cleanup(func() { backendPorts = saved })
}

// twoFreePorts returns two distinct ports free on the backends' host.
func twoFreePorts(t *testing.T) (int, int) {
	t.Helper()
	var pool freeport.Pool
	first, err := pool.Take(backendHost)
	if err != nil {
		t.Fatal(err)
	}
	second, err := pool.Take(backendHost)
	if err != nil {
		t.Fatal(err)
	}
	return first, second
}

// The kernel may name one free port to two backends starting at once, before either has bound it; each
// must still get a port of its own, or the second fails to bind while its probes reach the first.
func TestBackendsStartingTogetherNeverShareAPort(t *testing.T) {
	p, q := twoFreePorts(t)
	kernelNaming(t, p, p, q)
	_, ha := runBackend(t, standinModel())
	_, hb := runBackend(t, standinModel())
	a, _ := ha.await(t, 0, "the first backend ready", func(s Snapshot) bool { return s.State == StateReady })
	b, _ := hb.await(t, 0, "the second backend ready", func(s Snapshot) bool { return s.State == StateReady })
	if a.URL == b.URL || a.Restarts != 0 || b.Restarts != 0 {
		t.Fatalf("the backends share a port or restarted: %+v and %+v", a, b)
	}
}

// A backend's port is handed back when its process ends, so a restart may be given it again.
func TestEndedBackendGivesItsPortBack(t *testing.T) {
	p, _ := twoFreePorts(t)
	kernelNaming(t, p, p)
	_, h := runBackend(t, standinModel("--crash-after", "300ms"))
	first, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	again, _ := h.await(t, next, "ready after the crash", func(s Snapshot) bool { return s.State == StateReady && s.Restarts == 1 })
	if again.URL != first.URL {
		t.Fatalf("restarted on %s, want its old %s", again.URL, first.URL)
	}
}
