package standin

import (
	"context"
	"custos/internal/proctest"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// servedStandin is a Server run by serve in this process, as Run does.
type servedStandin struct {
	addr     string
	finished chan struct{} // closed when serve returns
	stop     func() error  // ends serve and returns its result
}

// serveInProcess runs serve on a loopback listener; the test's cleanup
// stops it.
func serveInProcess(t *testing.T, o Options) *servedStandin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Stdout, o.Stderr = io.Discard, io.Discard
	s := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	st := &servedStandin{addr: ln.Addr().String(), finished: make(chan struct{})}
	var served error
	go func() {
		served = serve(ctx, ln, s)
		close(st.finished)
	}()
	st.stop = sync.OnceValue(func() error {
		cancel()
		select {
		case <-st.finished:
		case <-time.After(waitLimit):
			return fmt.Errorf("serve did not return within %v of its context's end", waitLimit)
		}
		s.Close()
		return served
	})
	t.Cleanup(func() { st.stop() })
	return st
}

func TestControlRefuseRefusesNewAndKeptConnectionsButServeLivesOn(t *testing.T) {
	st := serveInProcess(t, Options{})
	addr := st.addr
	// One client keeps its connection alive across requests, as the gateway does.
	kept := &http.Client{Timeout: waitLimit, Transport: &http.Transport{}}
	resp, err := kept.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	resp, err = kept.Post("http://"+addr+"/_standin/refuse", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := decode(t, resp); resp.StatusCode != 200 || m["refusing"] != true {
		t.Fatalf("refuse route: %d %v", resp.StatusCode, m)
	}
	eventually(t, "new connections refused", func() bool { return proctest.Refuses(addr) })
	// The kept connection is closed too, so the client has to dial, and is refused.
	eventually(t, "the kept client refused", func() bool {
		resp, err := kept.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	select {
	case <-st.finished:
		t.Fatal("serve returned while refusing; the process would exit")
	default:
	}
	if err := st.stop(); err != nil {
		t.Errorf("serve after refusing: %v", err)
	}
}

func TestRefuseAfterRefusesOnceReady(t *testing.T) {
	st := serveInProcess(t, Options{LoadTime: 20 * time.Millisecond, RefuseAfter: 20 * time.Millisecond})
	eventually(t, "new connections refused", func() bool { return proctest.Refuses(st.addr) })
}

func TestProcessRefuseAfterStaysAliveAndExits0OnSIGTERM(t *testing.T) {
	p := launch(t, true, "--refuse-after", "50ms")
	addr := strings.TrimPrefix(p.addr, "http://")
	eventually(t, "new connections refused", func() bool { return proctest.Refuses(addr) })
	select {
	case <-p.exited:
		t.Fatalf("exited while refusing: %v", p.err)
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exitCode(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}
