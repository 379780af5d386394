package standin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// shutdownGrace bounds how long a graceful shutdown waits for requests.
const shutdownGrace = 5 * time.Second

// Run is the whole stand-in process: it applies the start-time faults,
// listens, serves until SIGTERM or SIGINT, then shuts down gracefully.
// Crash faults end the process through opts.Exit.
func Run(opts Options) error {
	opts = opts.withDefaults()
	if opts.FailStarts > 0 {
		if opts.StateFile == "" {
			return errors.New("--fail-starts needs --state-file")
		}
		n, err := countStart(opts.StateFile)
		if err != nil {
			return err
		}
		if failsThisStart(n, opts.FailStarts) {
			fmt.Fprintf(opts.Stderr, "standin: failing start %d of %d\n", n, opts.FailStarts)
			opts.Exit(1)
			return fmt.Errorf("failing start %d", n)
		}
	}
	held := holdMemory(opts.HoldMemory)
	defer runtime.KeepAlive(held)
	stopSignals := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if opts.IgnoreSIGTERM {
		// Notify would re-enable SIGTERM, so it must stay out of the set.
		signal.Ignore(syscall.SIGTERM)
		stopSignals = stopSignals[:1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()

	ln, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		return err
	}
	s := New(opts)
	defer s.Close()
	fmt.Fprintf(opts.Stderr, "standin model %q alias %q\n", opts.Model, opts.Alias)
	fmt.Fprintf(opts.Stdout, "standin listening on %s\n", ln.Addr())
	return serve(ctx, ln, s)
}

// serve answers on ln until ctx ends, then shuts down gracefully. Refuse
// mode closes ln and every connection but keeps waiting for ctx: the
// process stays alive while each new connection is refused.
func serve(ctx context.Context, ln net.Listener, s *Server) error {
	srv := &http.Server{Handler: s.Handler()}
	if s.opts.NoNoDelay {
		srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			// Go sets TCP_NODELAY on every connection it accepts.
			if tc, ok := c.(*net.TCPConn); ok {
				if err := tc.SetNoDelay(false); err != nil {
					fmt.Fprintln(s.opts.Stderr, "standin: clearing TCP_NODELAY:", err)
				}
			}
			return ctx
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-s.refuse:
		fmt.Fprintln(s.opts.Stderr, "standin: refusing connections")
		shutdown(srv)
		<-ctx.Done()
		return nil
	case <-ctx.Done():
	}
	s.Close()
	shutdown(srv)
	return nil
}

// shutdown closes the listener and idle connections at once, lets requests
// in flight finish within shutdownGrace, then cuts whatever is left.
func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
}

// holdMemory allocates n bytes and touches every page, so they are
// resident for as long as the result is kept.
func holdMemory(n int64) []byte {
	if n <= 0 {
		return nil
	}
	b := make([]byte, n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}
