package runner

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"custos/internal/llama"
)

// errRerankingDisabled answers /rerank on a server without rank pooling, with llama-server's words.
var errRerankingDisabled = &apiError{Status: http.StatusNotImplemented, Type: typeNotSupported,
	Message: "This server does not support reranking. Start it with `--reranking`"}

// errEmbeddingsWhenReranking answers /v1/embeddings on a reranking server, whose pooled output per input is
// a score, not a vector (llama-server answers a vector of zeros there).
var errEmbeddingsWhenReranking = &apiError{Status: http.StatusNotImplemented, Type: typeNotSupported,
	Message: "This server is started with `--reranking`, whose outputs are scores: use /rerank, or start it with `--embeddings` for embeddings"}

// rerankRequest is the body of POST /rerank: Jina's API (documents), or Hugging Face TEI's (texts).
type rerankRequest struct {
	Model           *string         `json:"model"`
	Query           json.RawMessage `json:"query"`
	Documents       json.RawMessage `json:"documents"`
	Texts           json.RawMessage `json:"texts"`
	TopN            *int            `json:"top_n"`
	ReturnText      bool            `json:"return_text"`
	ReturnDocuments bool            `json:"return_documents"`
}

// parse checks the request with llama-server's messages and returns the query and the documents.
func (req *rerankRequest) parse() (string, []string, *apiError) {
	var query string
	if !given(req.Query) {
		return "", nil, badRequest("\"query\" must be provided")
	}
	if json.Unmarshal(req.Query, &query) != nil {
		return "", nil, badRequest("\"query\" must be a string")
	}
	raw := req.Documents
	if !given(raw) {
		raw = req.Texts
	}
	var docs []string
	if json.Unmarshal(raw, &docs) != nil || len(docs) == 0 {
		return "", nil, badRequest("\"documents\" must be a non-empty string array")
	}
	if req.TopN != nil && *req.TopN < 0 {
		return "", nil, badRequest("\"top_n\" must not be negative, got %d", *req.TopN)
	}
	return query, docs, nil
}

// rerankPrompt is the token sequence that scores doc against query, as llama-server builds it: the model's
// rerank template with {query} and {document} filled in, or else
// [BOS] query [EOS] [SEP] document [EOS], each marker where the model's tokenizer asks for it.
func (e *engine) rerankPrompt(i int, query, doc string) ([]llama.Token, *apiError) {
	var prompt []llama.Token
	var err error
	if tmpl := e.model.RerankTemplate(); tmpl != "" {
		text := strings.ReplaceAll(strings.ReplaceAll(tmpl, "{query}", query), "{document}", doc)
		prompt, err = e.model.Tokenize(text, false, true)
	} else {
		prompt, err = e.plainRerankPrompt(query, doc)
	}
	if err != nil {
		return nil, badRequest("tokenizing document %d: %v", i, err)
	}
	if len(prompt) == 0 {
		return nil, badRequest("document %d and the query make an empty prompt", i)
	}
	if limit := min(e.batchSize, e.slotCtx); len(prompt) > limit {
		return nil, &apiError{Status: http.StatusBadRequest, Type: typeExceedContext, Message: fmt.Sprintf(
			"the query and document %d have %d tokens, more than the %d one score may have; shorten them or raise -b/--batch-size and -c/--ctx-size",
			i, len(prompt), limit)}
	}
	return prompt, nil
}

func (e *engine) plainRerankPrompt(query, doc string) ([]llama.Token, error) {
	m := e.model
	q, err := m.Tokenize(query, false, false)
	if err != nil {
		return nil, err
	}
	d, err := m.Tokenize(doc, false, false)
	if err != nil {
		return nil, err
	}
	eos := m.EOS()
	if eos == llama.TokenNull {
		eos = m.SEP()
	}
	var out []llama.Token
	if m.AddBOS() {
		out = append(out, m.BOS())
	}
	out = append(out, q...)
	if m.AddEOS() {
		out = append(out, eos)
	}
	if m.AddSEP() {
		out = append(out, m.SEP())
	}
	out = append(out, d...)
	if m.AddEOS() {
		out = append(out, eos)
	}
	return out, nil
}

// handleRerank serves POST /rerank: each document's relevance to the query, by the reranking model's score,
// best first, as Jina's API ({"results": [...]}) or, when the request has "texts", as TEI's (a bare array).
func (s *Server) handleRerank(w http.ResponseWriter, r *http.Request, e *engine) {
	if !s.cfg.reranking() {
		writeError(w, errRerankingDisabled)
		return
	}
	var req rerankRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	query, docs, apiErr := req.parse()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	tasks := make([]*task, len(docs))
	for i, doc := range docs {
		prompt, apiErr := e.rerankPrompt(i, query, doc)
		if apiErr == nil {
			tasks[i] = newTask(r.Context(), prompt, genParams{}, true, e.slotCtx)
			apiErr = e.sched.enqueue(tasks[i])
		}
		if apiErr != nil {
			writeError(w, apiErr)
			return
		}
	}
	type ranked struct {
		index int
		score float32
	}
	ranks := make([]ranked, len(tasks))
	total := 0
	for i, t := range tasks {
		_, res, ok := collectAnswer(w, r, t)
		if !ok {
			return
		}
		if len(res.embedding) == 0 {
			writeError(w, serverError(fmt.Errorf("llama.cpp produced no score for document %d", i)))
			return
		}
		total += res.promptTokens
		ranks[i] = ranked{index: i, score: res.embedding[0]}
	}
	slices.SortStableFunc(ranks, func(a, b ranked) int { return cmp.Compare(b.score, a.score) })
	if req.TopN != nil {
		ranks = ranks[:min(*req.TopN, len(ranks))]
	}
	tei := given(req.Texts)
	label := "relevance_score"
	if tei {
		label = "score"
	}
	results := make([]map[string]any, len(ranks))
	for i, rk := range ranks {
		results[i] = map[string]any{"index": rk.index, label: rk.score}
		switch {
		case tei && req.ReturnText:
			results[i]["text"] = docs[rk.index]
		case !tei && req.ReturnDocuments:
			results[i]["document"] = map[string]string{"text": docs[rk.index]}
		}
	}
	if tei {
		writeJSON(w, http.StatusOK, results)
		return
	}
	model := e.alias
	if req.Model != nil {
		model = *req.Model
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": model, "object": "list", "results": results,
		"usage": map[string]int{"prompt_tokens": total, "total_tokens": total}})
}

// unlessReranking refuses a reranking server's requests to h (embeddings), whose outputs would be scores.
func (s *Server) unlessReranking(h func(http.ResponseWriter, *http.Request, *engine)) func(http.ResponseWriter, *http.Request, *engine) {
	return func(w http.ResponseWriter, r *http.Request, e *engine) {
		if s.cfg.reranking() {
			writeError(w, errEmbeddingsWhenReranking)
			return
		}
		h(w, r, e)
	}
}

// warnIfNotReranker logs when a reranking server loads a model not made for it: llama.cpp then scores each
// document from a hidden state no classifier was trained on, and the scores mean little.
func (s *Server) warnIfNotReranker(model *llama.Model) {
	if !s.cfg.reranking() {
		return
	}
	arch, _ := model.Meta("general.architecture")
	if pooling, _ := model.Meta(arch + ".pooling_type"); pooling != fmt.Sprint(int(llama.PoolingRank)) {
		s.log.Warn("--reranking with a model whose pooling type is not rank: its scores may mean nothing",
			"pooling_type", pooling)
	}
}
