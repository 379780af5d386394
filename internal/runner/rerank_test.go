package runner

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"custos/internal/gguf"
)

// rerankModel is the generated reranker (rank pooling, non-causal attention) the rerank tests serve; see
// fimModel about its training context.
var rerankModel = gguf.GenOptions{Seed: 1, Reranker: true, ContextLength: 8192}

func rerankRunner(t *testing.T) *fixture {
	return variantRunner(t, "rerank", rerankModel, Config{Alias: "ranker", CtxSize: 4096, Parallel: 2, Reranking: true})
}

// rerankReply is a Jina-style /rerank answer.
type rerankReply struct {
	Model   string `json:"model"`
	Object  string `json:"object"`
	Results []struct {
		Index          int     `json:"index"`
		RelevanceScore float64 `json:"relevance_score"`
		Document       *struct {
			Text string `json:"text"`
		} `json:"document"`
	} `json:"results"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

var rerankDocs = []string{"the model", "hello", "what is a token", "hello world", "good day to you"}

func TestRerankOrdersDocumentsByScore(t *testing.T) {
	f := rerankRunner(t)
	var r rerankReply
	f.postOK(t, "/v1/rerank", map[string]any{"query": "hello world", "documents": rerankDocs}, &r)
	if r.Object != "list" || r.Model != "ranker" || len(r.Results) != len(rerankDocs) {
		t.Fatalf("reply %+v", r)
	}
	var seen []int
	for i, res := range r.Results {
		if i > 0 && res.RelevanceScore > r.Results[i-1].RelevanceScore {
			t.Fatalf("results not best first: %+v", r.Results)
		}
		if math.IsNaN(res.RelevanceScore) || res.Document != nil {
			t.Fatalf("result %+v", res)
		}
		seen = append(seen, res.Index)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("indexes %v, want each document once", seen)
	}
	if r.Results[0].RelevanceScore == r.Results[len(r.Results)-1].RelevanceScore {
		t.Fatalf("every document scored %v", r.Results[0].RelevanceScore)
	}
	// prompt: [BOS] query document, each tokenized alone
	want := 0
	for _, d := range rerankDocs {
		want += 1 + f.tokenCountPlain(t, "hello world") + f.tokenCountPlain(t, d)
	}
	if r.Usage.PromptTokens != want || r.Usage.TotalTokens != want {
		t.Fatalf("usage %+v, want %d prompt tokens", r.Usage, want)
	}
	// a document scores the same alone, with top_n, through every alias
	best := r.Results[0]
	for _, path := range []string{"/rerank", "/reranking", "/v1/reranking"} {
		var one rerankReply
		f.postOK(t, path, map[string]any{"query": "hello world", "documents": rerankDocs, "top_n": 1,
			"return_documents": true, "model": "asked-for"}, &one)
		if len(one.Results) != 1 || one.Results[0].Index != best.Index || one.Results[0].RelevanceScore != best.RelevanceScore ||
			one.Results[0].Document == nil || one.Results[0].Document.Text != rerankDocs[best.Index] || one.Model != "asked-for" {
			t.Fatalf("%s top_n 1: %+v, want document %d scoring %v", path, one, best.Index, best.RelevanceScore)
		}
	}
}

// tokenCountPlain is /tokenize's count of text without special tokens.
func (f *fixture) tokenCountPlain(t *testing.T, text string) int {
	t.Helper()
	var tok struct {
		Tokens []int `json:"tokens"`
	}
	f.postOK(t, "/tokenize", map[string]any{"content": text}, &tok)
	return len(tok.Tokens)
}

func TestRerankTEIFormat(t *testing.T) {
	f := rerankRunner(t)
	status, raw := f.post(t, "/rerank", map[string]any{"query": "hello world", "texts": rerankDocs[:2], "return_text": true})
	var results []struct {
		Index int      `json:"index"`
		Score *float64 `json:"score"`
		Text  string   `json:"text"`
	}
	if status != http.StatusOK || json.Unmarshal(raw, &results) != nil || len(results) != 2 {
		t.Fatalf("status %d: %s; want a bare array of 2 results", status, raw)
	}
	for _, r := range results {
		if r.Score == nil || r.Text != rerankDocs[r.Index] {
			t.Fatalf("result %+v", r)
		}
	}
}

func TestRerankBadInput(t *testing.T) {
	f := rerankRunner(t)
	for _, c := range []struct {
		body map[string]any
		msg  string
	}{
		{map[string]any{"documents": []string{"a"}}, `"query" must be provided`},
		{map[string]any{"query": 1, "documents": []string{"a"}}, `"query" must be a string`},
		{map[string]any{"query": "q", "documents": []string{}}, `"documents" must be a non-empty string array`},
		{map[string]any{"query": "q", "documents": []any{"a", 2}}, `"documents" must be a non-empty string array`},
		{map[string]any{"query": "q"}, `"documents" must be a non-empty string array`},
		{map[string]any{"query": "q", "documents": []string{"a"}, "top_n": -1}, `"top_n" must not be negative`},
	} {
		status, raw := f.post(t, "/v1/rerank", c.body)
		msg, typ := errorOf(t, raw)
		if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, c.msg) {
			t.Fatalf("%v: status %d, %s %q; want 400 with %q", c.body, status, typ, msg, c.msg)
		}
	}
	long := strings.Repeat("x ", 3000)
	status, raw := f.post(t, "/v1/rerank", map[string]any{"query": "q", "documents": []string{long}})
	if _, typ := errorOf(t, raw); status != http.StatusBadRequest || typ != typeExceedContext {
		t.Fatalf("a document past the batch: status %d %s", status, raw)
	}
}

func TestRerankWithoutRerankingIs501(t *testing.T) {
	for _, embeddings := range []bool{false, true} {
		f := runnerFor(t, embeddings)
		status, raw := f.post(t, "/v1/rerank", map[string]any{"query": "q", "documents": []string{"a"}})
		msg, typ := errorOf(t, raw)
		if status != http.StatusNotImplemented || typ != typeNotSupported || msg != errRerankingDisabled.Message {
			t.Fatalf("embeddings %v: status %d, %s %q; want llama-server's 501", embeddings, status, typ, msg)
		}
	}
}

func TestRerankingServerRefusesEmbeddingsAndCompletions(t *testing.T) {
	f := rerankRunner(t)
	status, raw := f.post(t, "/v1/embeddings", map[string]any{"input": "hello"})
	if _, typ := errorOf(t, raw); status != http.StatusNotImplemented || typ != typeNotSupported {
		t.Fatalf("/v1/embeddings on a reranker: status %d %s, want 501", status, raw)
	}
	status, raw = f.post(t, "/v1/chat/completions", chatBody("hi", nil))
	if _, typ := errorOf(t, raw); status != http.StatusNotImplemented || typ != typeNotSupported {
		t.Fatalf("chat on a reranker: status %d %s, want 501", status, raw)
	}
}

// TestRerankMatchesLlamaServer compares the scores with the real llama-server's --reranking on the same
// model: the same order, and scores equal but for floating-point rounding (its libraries are built for this
// machine, the runner's are the prebuilt ones). llama-server runs with one slot: with several, it batches
// documents together and llama.cpp v0.5.0 mis-scores all but the first of a batch (see
// TestRerankScoresDoNotDependOnTheBatch).
func TestRerankMatchesLlamaServer(t *testing.T) {
	f := rerankRunner(t)
	model, err := variantModel("rerank", rerankModel)
	if err != nil {
		t.Fatal(err)
	}
	ls := realLlamaServer(t, model, "--reranking", "-c", "4096", "-np", "1")
	body := func() map[string]any { return map[string]any{"query": "hello world", "documents": rerankDocs} }
	var ours, theirs rerankReply
	f.postOK(t, "/v1/rerank", body(), &ours)
	ls.postOK(t, "/v1/rerank", body(), &theirs)
	if len(ours.Results) != len(theirs.Results) || ours.Usage != theirs.Usage {
		t.Fatalf("runner %+v\nllama-server %+v", ours, theirs)
	}
	for i := range ours.Results {
		a, b := ours.Results[i], theirs.Results[i]
		if a.Index != b.Index || math.Abs(a.RelevanceScore-b.RelevanceScore) > 1e-4 {
			t.Fatalf("result %d: runner %+v, llama-server %+v\nrunner %+v\nllama-server %+v", i, a, b, ours.Results, theirs.Results)
		}
	}
}

// TestRerankScoresDoNotDependOnTheBatch: a document scores the same whether it is ranked alone or among
// others that the scheduler could have decoded in the same batch (llama.cpp's rank pooling gets a batch of
// several sequences wrong, so the runner decodes them one per batch).
func TestRerankScoresDoNotDependOnTheBatch(t *testing.T) {
	f := rerankRunner(t)
	var all rerankReply
	f.postOK(t, "/v1/rerank", map[string]any{"query": "hello world", "documents": rerankDocs}, &all)
	for _, res := range all.Results {
		var one rerankReply
		f.postOK(t, "/v1/rerank", map[string]any{"query": "hello world", "documents": []string{rerankDocs[res.Index]}}, &one)
		if len(one.Results) != 1 || one.Results[0].RelevanceScore != res.RelevanceScore {
			t.Fatalf("document %d scored %v among others, %+v alone", res.Index, res.RelevanceScore, one.Results)
		}
	}
}
