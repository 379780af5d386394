package conformance

import (
	"errors"
	"net"
	"net/http"
	"testing"
)

// A server started on a port another program already serves fails to bind and exits, while /health on
// that port answers 200 from the other program. The harness must not take that answer for the server's:
// it waits for the server's own word that it bound the port, and sees the exit as a taken port.
func TestServerOnATakenPortIsNotTakenForUp(t *testing.T) {
	path, err := model()
	if err != nil {
		t.Fatal(err)
	}
	flags := append([]string{"-m", path}, sharedFlags...)
	for _, s := range []server{runnerServer(t, flags), llamaServer(t, flags)} {
		t.Run(s.name, func(t *testing.T) {
			addr := healthyImpostor(t)
			if err := launch(t, s, addr).awaitUp(s, addr); !errors.Is(err, errPortTaken) {
				t.Fatalf("%s on a port another server holds: %v, want %v", s.name, err, errPortTaken)
			}
		})
	}
}

// healthyImpostor serves 200 on every path at a free address, until the test ends, and returns it.
func healthyImpostor(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
