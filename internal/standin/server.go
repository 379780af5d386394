package standin

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is one fake llama-server. Its load starts when it is created.
type Server struct {
	opts     Options
	start    time.Time
	pid      string
	requests atomic.Int64
	timers   []*time.Timer

	hangOnce   sync.Once
	hang       chan struct{} // closed when hang mode starts
	refuseOnce sync.Once
	refuse     chan struct{} // closed when refuse mode starts; serve acts on it
	closeOnce  sync.Once
	closed     chan struct{} // closed by Close; releases blocked requests
}

// New creates a server with the given options and starts its fake load and
// its time-based faults (crash or hang after a delay).
func New(opts Options) *Server {
	s := &Server{
		opts:   opts.withDefaults(),
		start:  time.Now(),
		pid:    strconv.Itoa(os.Getpid()),
		hang:   make(chan struct{}),
		refuse: make(chan struct{}),
		closed: make(chan struct{}),
	}
	s.scheduleFaults()
	return s
}

// Close stops the fault timers and releases every request blocked by a
// hang, so an http.Server (or httptest.Server) can shut down.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		for _, t := range s.timers {
			t.Stop()
		}
		close(s.closed)
	})
}

// Handler serves the llama-server routes and the /_standin control routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("POST /v1/chat/completions", s.handleCompletion(chatKind))
	mux.HandleFunc("POST /v1/completions", s.handleCompletion(textKind))
	mux.HandleFunc("POST /completion", s.handleCompletion(nativeKind))
	mux.HandleFunc("POST /v1/embeddings", s.handleEmbeddings)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /props", s.handleProps)
	mux.HandleFunc("GET /slots", s.handleSlots)
	mux.HandleFunc("POST /_standin/crash", s.handleCrash)
	mux.HandleFunc("POST /_standin/hang", s.handleHang)
	mux.HandleFunc("POST /_standin/refuse", s.handleRefuse)
	mux.HandleFunc("GET /_standin/info", s.handleInfo)
	// Anything else, a known path with another method included, is llama-server's 404.
	mux.HandleFunc("/", s.handleNotFound)
	return s.wrap(mux)
}

// wrap applies what holds for every route: counting, logging, the pid
// header, hang mode and the loading gate.
func (s *Server) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.opts.LogRequests {
			fmt.Fprintf(s.opts.Stderr, "standin %s %s\n", r.Method, r.URL.Path)
		}
		if s.hanging() {
			s.block(r)
			return
		}
		if s.opts.NoNoDelay {
			w = splitWriter{w}
		}
		w.Header().Set("X-Standin-Pid", s.pid)
		w.Header().Set("Server", "llama.cpp")
		// llama-server echoes the request's Origin (empty without one) on
		// its answers: a proxy in front must not pass that on.
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		// Control routes stay usable while loading so tests can crash or
		// inspect a server that is still loading.
		if r.URL.Path != "/health" && !strings.HasPrefix(r.URL.Path, "/_standin/") {
			if p := phaseAt(s.start, s.opts.LoadTime, time.Now()); p.loading {
				writeLoading(w, p.progress)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hanging() bool {
	select {
	case <-s.hang:
		return true
	default:
		return false
	}
}

func (s *Server) enterHang() {
	s.hangOnce.Do(func() { close(s.hang) })
}

// enterRefuse starts refuse mode. Only the owner of the listener can
// refuse connections, so this merely signals serve; a Server behind
// httptest keeps answering.
func (s *Server) enterRefuse() {
	s.refuseOnce.Do(func() { close(s.refuse) })
}

// block never answers: it returns only when the client gives up or the
// server is closed, leaving the socket open meanwhile.
func (s *Server) block(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.closed:
	}
}

// crash ends the process; if Exit returns (in-process tests) the current
// request is aborted so nothing more is written.
func (s *Server) crash() {
	s.opts.Exit(1)
	panic(http.ErrAbortHandler)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	p := phaseAt(s.start, s.opts.LoadTime, time.Now())
	if !p.loading {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	if s.opts.HangHealthDuringLoad {
		s.block(r)
		return
	}
	writeLoading(w, p.progress)
}

func (s *Server) handleCrash(w http.ResponseWriter, r *http.Request) {
	s.crash()
}

func (s *Server) handleHang(w http.ResponseWriter, r *http.Request) {
	s.enterHang()
	s.block(r)
}

// handleRefuse answers, then refuse mode closes this connection with the
// others once the answer is written.
func (s *Server) handleRefuse(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"refusing": true})
	s.enterRefuse()
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]int64{"pid": int64(os.Getpid()), "requests": s.requests.Load()})
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "not_found_error", "File Not Found")
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []map[string]any{{
			"id": s.opts.Alias, "object": "model", "created": s.start.Unix(), "owned_by": "standin",
			"meta": map[string]string{"path": s.opts.Model},
		}},
	})
}
