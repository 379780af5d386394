package runner

import (
	"net/http"
)

// routes maps llama-server's endpoints, with the path aliases it accepts, to their handlers.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("GET /v1/health", s.handleHealth)
	for _, p := range []string{"/v1/chat/completions", "/chat/completions"} {
		mux.HandleFunc("POST "+p, s.ready(s.handleChat))
	}
	for _, p := range []string{"/v1/completions", "/completions"} {
		mux.HandleFunc("POST "+p, s.ready(s.handleOpenAICompletion))
	}
	mux.HandleFunc("POST /completion", s.ready(s.handleNativeCompletion))
	mux.HandleFunc("POST /v1/embeddings", s.ready(s.unlessReranking(s.handleEmbeddings)))
	for _, p := range []string{"/embeddings", "/embedding"} {
		mux.HandleFunc("POST "+p, s.ready(s.unlessReranking(s.handleNativeEmbeddings)))
	}
	for _, p := range []string{"/v1/chat/completions/input_tokens", "/chat/completions/input_tokens"} {
		mux.HandleFunc("POST "+p, s.ready(s.handleChatInputTokens))
	}
	mux.HandleFunc("POST /slots/{id}", s.ready(s.handleSlotAction))
	mux.HandleFunc("GET /lora-adapters", s.handleListLoRA)
	mux.HandleFunc("POST /lora-adapters", s.handleSetLoRA)
	mux.HandleFunc("POST /apply-template", s.ready(s.handleApplyTemplate))
	mux.HandleFunc("POST /tokenize", s.ready(s.handleTokenize))
	mux.HandleFunc("POST /detokenize", s.ready(s.handleDetokenize))
	for _, p := range []string{"/v1/models", "/models"} {
		mux.HandleFunc("GET "+p, s.ready(s.handleModels))
	}
	mux.HandleFunc("GET /props", s.ready(s.handleProps))
	mux.HandleFunc("GET /slots", s.ready(s.handleSlots))
	mux.HandleFunc("GET /metrics", s.ready(s.handleMetrics))
	for _, p := range []string{"/v1/responses", "/responses"} {
		mux.HandleFunc("POST "+p, s.ready(s.handleResponses))
		mux.HandleFunc("POST "+p+"/input_tokens", s.ready(s.handleResponsesInputTokens))
	}
	mux.HandleFunc("POST /v1/messages", s.ready(s.handleMessages))
	mux.HandleFunc("POST /v1/messages/count_tokens", s.ready(s.handleCountTokens))
	mux.HandleFunc("POST /infill", s.ready(s.handleInfill))
	for _, p := range []string{"/rerank", "/reranking", "/v1/rerank", "/v1/reranking"} {
		mux.HandleFunc("POST "+p, s.ready(s.handleRerank))
	}
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
