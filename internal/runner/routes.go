package runner

import (
	"net/http"

	"custos/internal/resumable"
)

// routes maps llama-server's endpoints, with the path aliases it accepts, to their handlers.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("GET /v1/health", s.handleHealth)
	for _, p := range []string{"/v1/chat/completions", "/chat/completions"} {
		mux.HandleFunc("POST "+p, s.resumable(s.ready(s.handleChat)))
	}
	for _, p := range []string{"/v1/completions", "/completions"} {
		mux.HandleFunc("POST "+p, s.resumable(s.ready(s.handleOpenAICompletion)))
	}
	mux.HandleFunc("POST /completion", s.resumable(s.ready(s.handleNativeCompletion)))
	mux.HandleFunc("POST /v1/embeddings", s.ready(s.unlessReranking(s.handleEmbeddings)))
	for _, p := range []string{"/embeddings", "/embedding"} {
		mux.HandleFunc("POST "+p, s.ready(s.unlessReranking(s.handleNativeEmbeddings)))
	}
	for _, p := range []string{"/v1/chat/completions/input_tokens", "/chat/completions/input_tokens"} {
		mux.HandleFunc("POST "+p, s.ready(s.handleChatInputTokens))
	}
	mux.HandleFunc("POST /slots/{id}", s.ready(s.handleSlotAction))
	mux.HandleFunc("GET /lora-adapters", s.ready(s.handleListLoRA))
	mux.HandleFunc("POST /lora-adapters", s.ready(s.handleSetLoRA))
	mux.HandleFunc("POST /apply-template", s.ready(s.handleApplyTemplate))
	mux.HandleFunc("POST /tokenize", s.ready(s.handleTokenize))
	mux.HandleFunc("POST /detokenize", s.ready(s.handleDetokenize))
	for _, p := range []string{"/v1/models", "/models"} {
		mux.HandleFunc("GET "+p, s.ready(s.handleModels))
	}
	mux.HandleFunc("GET /props", s.ready(s.handleProps))
	mux.HandleFunc("POST /props", s.handleSetProps)
	mux.HandleFunc("GET /slots", s.ready(s.handleSlots))
	mux.HandleFunc("GET /metrics", s.ready(s.handleMetrics))
	for _, p := range []string{"/v1/responses", "/responses"} {
		mux.HandleFunc("POST "+p, s.resumable(s.ready(s.handleResponses)))
		mux.HandleFunc("POST "+p+"/input_tokens", s.ready(s.handleResponsesInputTokens))
	}
	mux.HandleFunc("POST /v1/chat/completions/control", s.ready(s.handleControl))
	mux.HandleFunc("POST /v1/messages", s.resumable(s.ready(s.handleMessages)))
	mux.HandleFunc("POST /v1/messages/count_tokens", s.ready(s.handleCountTokens))
	mux.HandleFunc("POST /infill", s.resumable(s.ready(s.handleInfill)))
	for _, p := range []string{"/rerank", "/reranking", "/v1/rerank", "/v1/reranking"} {
		mux.HandleFunc("POST "+p, s.ready(s.handleRerank))
	}
	streams := resumable.Handlers{Store: s.streams, Error: writeStreamError, MaxBodyBytes: s.cfg.MaxBodyBytes}
	mux.HandleFunc("GET /v1/stream", streams.Replay)
	mux.HandleFunc("DELETE /v1/stream", streams.Stop)
	mux.HandleFunc("POST /v1/streams/lookup", streams.Lookup)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: typeNotFound, Message: "no such endpoint: " + r.URL.Path})
	})
	return mux
}

// handleHealth answers 200 {"status":"ok"} once the model is ready, 503 with the load progress before.
func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	if s.eng.Load() == nil {
		s.writeLoading(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// resumable makes a generation route keep its stream for a client that comes back, when the request carries
// an X-Conversation-Id, as llama-server's generation routes do.
func (s *Server) resumable(h http.HandlerFunc) http.HandlerFunc {
	return s.streams.Wrap(h).ServeHTTP
}

// writeStreamError answers a resumable-stream route's error in llama-server's shape.
func writeStreamError(w http.ResponseWriter, status int, _, message string) {
	typ := typeInvalidRequest
	if status == http.StatusNotFound {
		typ = typeNotFound
	}
	writeError(w, &apiError{Status: status, Type: typ, Message: message})
}
