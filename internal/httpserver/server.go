// Package httpserver is the HTTP front custos listens with: the server's
// timeouts, the deadline on request bodies, a body reader whose memory
// follows the bytes that arrive, and a router that answers what it does
// not route in custos's error shape. The gateway, the API and the runner
// share it, so a slow or hostile client meets the same limits everywhere.
package httpserver

import (
	"log/slog"
	"net/http"
	"time"
)

// Options are a server's limits.
type Options struct {
	// ReadHeaderTimeout bounds the time to send the request headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time to send a request body after them.
	ReadTimeout time.Duration
	// Logger receives net/http's own messages, at debug level.
	Logger *slog.Logger
}

// maxHeaderBytes bounds a request's headers.
const maxHeaderBytes = 1 << 20

// idleTimeout closes a keep-alive connection left idle this long.
const idleTimeout = 2 * time.Minute

// New returns a server for h with o's limits.
func New(h http.Handler, o Options) *http.Server {
	srv := &http.Server{
		Handler:           BodyDeadline(o.ReadTimeout, h),
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	if o.Logger != nil {
		srv.ErrorLog = slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug)
	}
	return srv
}
