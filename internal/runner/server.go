package runner

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"custos/internal/gguf"
	"custos/internal/httpserver"
	"custos/internal/llama"
	"custos/internal/resumable"
)

// readHeaderTimeout bounds how long a client may take to send its request headers.
const readHeaderTimeout = 30 * time.Second

// shutdownGrace is how long in-flight requests get to finish when the server stops; streams still running
// after it end with an error event, and whole answers not yet sent are a 503.
const shutdownGrace = 5 * time.Second

// answerGrace is how long the handlers of requests the shutdown failed get to send that answer.
const answerGrace = time.Second

// Server is a llama-server-compatible HTTP server for one model. It answers as soon as it listens: 503
// "Loading model" with the load progress until the model is ready.
type Server struct {
	cfg Config
	log *slog.Logger
	// progress holds the load fraction's float32 bits, written by the load's progress callback.
	progress atomic.Uint32
	// eng is nil until the model is loaded; then it never changes.
	eng atomic.Pointer[engine]
	// snap is the scheduler's latest published state.
	snap atomic.Pointer[snapshot]
	// streams keeps the streams of requests with an X-Conversation-Id, for clients that come back.
	streams *resumable.Store
	// shutdownGrace is how long in-flight requests get to finish at a stop: the constant shutdownGrace,
	// shorter in tests.
	shutdownGrace time.Duration
}

// engine is what a loaded model serves with. It is immutable; the mutable state lives in the scheduler.
type engine struct {
	model        *llama.Model
	lctx         *llama.Context
	sched        *scheduler
	alias        string
	chatTemplate string
	format       *chatFormat
	slotCtx      int
	nCtx         int
	batchSize    int
	created      int64
	// eogBans ban every end-of-generation token, for ignore_eos.
	eogBans []llama.LogitBias
	// loras are the adapters of --lora and --lora-scaled, in id order.
	loras []loraAdapter
}

// New returns a server for cfg; Serve runs it.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, streams: resumable.NewStore(), shutdownGrace: shutdownGrace}, nil
}

// ListenAndServe listens on addr (host:port) and serves until ctx is done (nil) or the model fails to load
// (its error).
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("runner: listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve answers HTTP on ln at once, loads the model in the background, then serves it until ctx is done.
// It returns nil after a clean stop, or the load error, after which nothing is served any more.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.log.Info("runner listening", "addr", ln.Addr().String(), "model", s.cfg.ModelPath)
	// The same limits as custos serve's own listener: a client that trickles its body is cut off.
	httpSrv := httpserver.New(s.routes(), httpserver.Options{ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout: time.Duration(s.cfg.TimeoutSecs) * time.Second})
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()

	// The scheduler outlives ctx by the shutdown grace, so that in-flight requests can finish.
	schedCtx, stopSched := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSched()
	var wg sync.WaitGroup
	loadErr := s.load(ctx, schedCtx, &wg)
	if loadErr == nil {
		select {
		case <-ctx.Done():
		case err := <-served:
			loadErr = fmt.Errorf("runner: http server: %w", err)
		}
	} else if ctx.Err() != nil {
		loadErr = nil // the load was aborted because we are stopping
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), s.shutdownGrace)
	defer cancel()
	shutErr := httpSrv.Shutdown(shutCtx)
	// Whatever is still generating after the grace fails with the shutdown's 503, which its handler answers:
	// a stream's error event, or a whole answer's 503. They get a moment to write it before the connections
	// close, which would leave their clients a bare EOF.
	stopSched()
	wg.Wait()
	s.streams.Close()
	if shutErr != nil {
		answerCtx, cancelAnswer := context.WithTimeout(context.Background(), answerGrace)
		shutErr = httpSrv.Shutdown(answerCtx)
		cancelAnswer()
	}
	if shutErr != nil {
		// Handlers may still be tokenizing with the model: leave it to the exiting process rather than
		// free memory they use.
		_ = httpSrv.Close()
		return loadErr
	}
	if e := s.eng.Load(); e != nil {
		e.lctx.Close()
		e.model.Close()
	}
	if loadErr == nil {
		s.log.Info("runner stopped")
	}
	return loadErr
}

// load checks the model file, initialises llama.cpp, loads the model (aborting when ctx ends) and starts the
// scheduler, which runs until schedCtx ends; it publishes the load progress as it goes.
func (s *Server) load(ctx, schedCtx context.Context, wg *sync.WaitGroup) error {
	start := time.Now()
	// The project's GGUF reader bounds every count and offset, so a truncated or hostile file fails here with
	// an error naming it rather than inside the C loader.
	if _, err := gguf.ReadFile(s.cfg.ModelPath); err != nil {
		return fmt.Errorf("runner: not a usable GGUF model: %w", err)
	}
	libDir, err := llama.ResolveLibDir(s.cfg.LibDir)
	if err != nil {
		return err
	}
	if err := llama.Init(libDir); err != nil {
		return err
	}
	model, err := llama.LoadModel(s.cfg.ModelPath, llama.ModelParams{UseMmap: true, Progress: func(p float32) bool {
		s.progress.Store(math.Float32bits(p))
		return ctx.Err() == nil
	}})
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	e, err := s.newEngine(model)
	if err != nil {
		model.Close()
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// llama.cpp's decoding threads exist now (the context created them). Locked to its thread, the
		// goroutine that drives them never moves to a thread that sysmon starts once lowered (package sysmon).
		runtime.LockOSThread()
		if s.cfg.LowerRuntimeMonitor {
			s.lowerMonitor()
		}
		e.sched.run(schedCtx)
	}()
	s.eng.Store(e)
	s.log.Info("runner ready", "model", s.cfg.ModelPath, "alias", e.alias, "n_ctx", e.nCtx,
		"slots", s.cfg.Parallel, "slot_ctx", e.slotCtx, "threads", s.cfg.Threads,
		"load_seconds", time.Since(start).Seconds())
	return nil
}

// newEngine creates the context and the scheduler for a loaded model.
func (s *Server) newEngine(model *llama.Model) (*engine, error) {
	nCtx := s.cfg.CtxSize
	if nCtx == 0 {
		nCtx = model.NCtxTrain()
	}
	params := llama.ContextParams{NCtx: nCtx, NBatch: s.cfg.BatchSize, NSeqMax: s.cfg.Parallel,
		NThreads: s.cfg.Threads, NThreadsBatch: s.cfg.Threads, FixedThreads: !s.cfg.AdaptiveThreads,
		Embeddings: s.cfg.Embeddings, Pooling: s.cfg.pooling()}
	if s.cfg.Embeddings {
		// Pooling needs a whole sequence in one pass of the model.
		params.NUBatch = s.cfg.BatchSize
	}
	loras, scales, err := loadLoRA(model, s.cfg)
	if err != nil {
		return nil, err
	}
	lctx, err := llama.NewContext(model, params)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	s.warnIfNotReranker(model)
	e := &engine{model: model, lctx: lctx, alias: s.cfg.Alias, chatTemplate: s.chatTemplate(model),
		slotCtx: lctx.NCtxSeq(), nCtx: lctx.NCtx(), batchSize: s.cfg.BatchSize, created: time.Now().Unix(),
		loras: loras}
	e.format = newChatFormat(model, !s.cfg.NoJinja, e.chatTemplate, s.cfg.ReasoningFormat, s.log)
	e.eogBans = eogBans(model)
	if e.slotCtx < 2 {
		lctx.Close()
		return nil, fmt.Errorf("runner: a context of %d tokens over %d slots leaves %d per slot; give a larger -c",
			e.nCtx, s.cfg.Parallel, e.slotCtx)
	}
	e.sched = newScheduler(model, lctx, s.cfg.Parallel, s.cfg.BatchSize, s.cfg.QueueLimit, &s.snap)
	e.sched.useLoRA(loras, scales)
	return e, nil
}

// fallbackChatTemplate is used when the model has no chat template llama.cpp can format, as llama-server
// does without Jinja.
const fallbackChatTemplate = "chatml"

// chatTemplate is the template for llama.cpp's formatter (--no-jinja): the model's when llama.cpp
// recognises it, else the fallback, checked once at load, so a model with an unusual template still
// serves chat instead of failing every request.
func (s *Server) chatTemplate(model *llama.Model) string {
	tmpl := model.ChatTemplate()
	if tmpl == "" {
		return fallbackChatTemplate
	}
	if !s.cfg.NoJinja {
		return tmpl // Jinja renders it; llama.cpp's formatter is not used
	}
	if _, err := llama.ApplyChatTemplate(tmpl, []llama.ChatMessage{{Role: "user", Content: "hi"}}, true); err != nil {
		s.log.Warn("the model's chat template is not one llama.cpp formats; using ChatML", "err", err)
		return fallbackChatTemplate
	}
	return tmpl
}

// errLoading is the answer to every request before the model is ready.
var errLoading = &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Message: messageLoadingModel}

// loadProgress is the fraction of the model loaded so far.
func (s *Server) loadProgress() float32 { return math.Float32frombits(s.progress.Load()) }

// ready wraps a handler that needs the loaded model: before that it answers 503 "Loading model".
func (s *Server) ready(h func(http.ResponseWriter, *http.Request, *engine)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e := s.eng.Load()
		if e == nil {
			s.writeLoading(w)
			return
		}
		h(w, r, e)
	}
}

// writeLoading answers llama-server's loading 503, with the load progress.
func (s *Server) writeLoading(w http.ResponseWriter) {
	body := errorBody(errLoading)
	body["progress"] = s.loadProgress()
	writeJSON(w, http.StatusServiceUnavailable, body)
}
