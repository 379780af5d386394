package runner

import (
	"encoding/json"
	"net/http"
	"strings"

	"custos/internal/llama"
)

// infillRequest is the body of llama-server's POST /infill: the code before and after a gap, optional files
// of context, an optional start of the text to fill in, and the native sampling fields.
type infillRequest struct {
	samplingFields
	InputPrefix *string         `json:"input_prefix"`
	InputSuffix *string         `json:"input_suffix"`
	InputExtra  json.RawMessage `json:"input_extra"`
	Prompt      json.RawMessage `json:"prompt"`
}

// infillChunk is one file of context of input_extra.
type infillChunk struct {
	Filename string
	Text     string
}

// The texts llama-server's fill-in-the-middle prompts use: the repository name and current file name of the
// repository-level pattern, the file name of a chunk without one, and the separator of chunks for a model
// without a file separator token.
const (
	fimRepoName       = "myproject\n"
	fimCurrentFile    = "filename\n"
	fimDefaultFile    = "tmp"
	fimChunkSeparator = "\n\n--- snippet ---\n\n"
)

// fimUnsupported is llama-server's 501 for a model that lacks some of the FIM tokens, or nil.
func fimUnsupported(fim llama.FIMTokens) *apiError {
	var missing strings.Builder
	for _, t := range []struct {
		name string
		tok  llama.Token
	}{{"prefix", fim.Prefix}, {"suffix", fim.Suffix}, {"middle", fim.Middle}} {
		if t.tok == llama.TokenNull {
			missing.WriteString(t.name + " token is missing. ")
		}
	}
	if missing.Len() == 0 {
		return nil
	}
	return &apiError{Status: http.StatusNotImplemented, Type: typeNotSupported,
		Message: "Infill is not supported by this model: " + missing.String()}
}

// parse checks the request as llama-server does, with its messages, and returns the extra chunks and the
// prompt text.
func (req *infillRequest) parse() ([]infillChunk, string, *apiError) {
	var prompt string
	if given(req.Prompt) && json.Unmarshal(req.Prompt, &prompt) != nil {
		return nil, "", badRequest("\"prompt\" must be a string")
	}
	if req.InputPrefix == nil {
		return nil, "", badRequest("\"input_prefix\" is required")
	}
	if req.InputSuffix == nil {
		return nil, "", badRequest("\"input_suffix\" is required")
	}
	if !given(req.InputExtra) {
		return nil, prompt, nil
	}
	var raw []map[string]json.RawMessage
	if json.Unmarshal(req.InputExtra, &raw) != nil {
		return nil, "", badRequest("\"input_extra\" must be an array of {\"filename\": string, \"text\": string}")
	}
	chunks := make([]infillChunk, len(raw))
	for i, c := range raw {
		if json.Unmarshal(c["text"], &chunks[i].Text) != nil {
			return nil, "", badRequest("extra_context chunk must contain a \"text\" field with a string value")
		}
		chunks[i].Filename = fimDefaultFile
		if name, ok := c["filename"]; ok && json.Unmarshal(name, &chunks[i].Filename) != nil {
			return nil, "", badRequest("extra_context chunk's \"filename\" field must be a string")
		}
	}
	return chunks, prompt, nil
}

// infillPrompt builds the fill-in-the-middle prompt with llama-server's layout and budget:
//
//	[extra context] [BOS] <PRE> prefix prompt <SUF> suffix <MID>
//
// where the extra context is the repository-level pattern (<REPO>myproject, then <SEP>filename and text per
// chunk, then <SEP> for the current file) when the model has those tokens, else the chunks' texts after a
// snippet separator. The prefix keeps its last 3/4 of a batch, the suffix its first quarter less the
// prompt, and the extra context its last tokens that leave a batch and twice the server's -n free in a slot.
func (e *engine) infillPrompt(prefix, suffix, prompt string, chunks []infillChunk, nBatch, nPredict int) ([]llama.Token, *apiError) {
	var tokErr error
	tok := func(text string, parseSpecial bool) []llama.Token {
		toks, err := e.model.Tokenize(text, false, parseSpecial)
		if err != nil && tokErr == nil {
			tokErr = err
		}
		return toks
	}
	fim := e.model.FIMTokens()
	var extra []llama.Token
	if fim.Repo != llama.TokenNull {
		extra = append(append(extra, fim.Repo), tok(fimRepoName, false)...)
	}
	for _, c := range chunks {
		if fim.Sep != llama.TokenNull {
			extra = append(append(extra, fim.Sep), tok(c.Filename+"\n", false)...)
		} else {
			extra = append(extra, tok(fimChunkSeparator, false)...)
		}
		extra = append(extra, tok(c.Text, false)...)
	}
	if fim.Sep != llama.TokenNull {
		extra = append(append(extra, fim.Sep), tok(fimCurrentFile, false)...)
	}
	pre, suf, mid := tok(prefix, false), tok(suffix, false), tok(prompt, true)
	if tokErr != nil {
		return nil, badRequest("tokenizing the infill input: %v", tokErr)
	}
	pre = pre[len(pre)-min(len(pre), 3*(nBatch/4)):]
	suf = suf[:min(len(suf), max(0, nBatch/4-(2+len(mid))))]
	extra = extra[len(extra)-min(len(extra), max(0, e.slotCtx-nBatch-2*nPredict)):]

	out := make([]llama.Token, 0, len(extra)+len(pre)+len(suf)+len(mid)+5)
	out = append(out, extra...)
	if e.model.AddBOS() {
		out = append(out, e.model.BOS())
	}
	out = append(append(out, fim.Prefix), pre...)
	out = append(out, mid...)
	out = append(append(out, fim.Suffix), suf...)
	return append(out, fim.Middle), nil
}

// handleInfill serves POST /infill: a native completion of the gap between input_prefix and input_suffix,
// for a model with fill-in-the-middle tokens (else 501, as llama-server answers).
func (s *Server) handleInfill(w http.ResponseWriter, r *http.Request, e *engine) {
	if err := fimUnsupported(e.model.FIMTokens()); err != nil {
		writeError(w, err)
		return
	}
	if s.cfg.Embeddings {
		writeError(w, errCompletionsInEmbeddingMode)
		return
	}
	var req infillRequest
	if err := s.decodeRequest(w, r, &req, epNative); err != nil {
		writeError(w, err)
		return
	}
	chunks, promptText, apiErr := req.parse()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	params, apiErr := s.resolveSingleChoice(req.samplingFields, epNative, e)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	prompt, apiErr := e.infillPrompt(*req.InputPrefix, *req.InputSuffix, promptText, chunks, s.cfg.BatchSize, s.cfg.NPredict)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	t, apiErr := e.startGeneration(r.Context(), prompt, params)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	c := newNativeChunker(e.alias, t.params, e.model.PromptText(prompt), len(prompt))
	if req.Stream {
		streamTask(r.Context(), w, t, c, false)
		return
	}
	outs, res, ok := collectAnswer(w, r, t)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, c.result(0, outs[0], res))
}
