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
	lazyGrammarFields
	InputPrefix json.RawMessage `json:"input_prefix"`
	InputSuffix json.RawMessage `json:"input_suffix"`
	InputExtra  json.RawMessage `json:"input_extra"`
	Prompt      json.RawMessage `json:"prompt"`
}

// infillInput is the code before or after the gap: a string, or, as llama-server takes it, an array of
// strings and token ids, each string tokenized on its own.
type infillInput []infillPiece

// infillPiece is one element of an infillInput: text, or a token id when isToken.
type infillPiece struct {
	text    string
	token   int
	isToken bool
}

// parseInfillInput reads field (input_prefix or input_suffix), which must be present. Null is not a
// string: llama-server fails on it (500), so it gets the 400 of a value of the wrong type, as does a null
// element.
func parseInfillInput(field string, raw json.RawMessage) (infillInput, *apiError) {
	if len(raw) == 0 {
		return nil, badRequest("%q is required", field)
	}
	if text, ok := stringOf(raw); ok {
		return infillInput{{text: text}}, nil
	}
	var items []json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &items) != nil {
		return nil, badRequest("%q must be a string or an array of strings and token ids", field)
	}
	in := make(infillInput, len(items))
	for i, item := range items {
		if text, ok := stringOf(item); ok {
			in[i].text = text
			continue
		}
		if isNull(item) || json.Unmarshal(item, &in[i].token) != nil {
			return nil, badRequest("%q: element %d is neither a string nor a token id", field, i)
		}
		in[i].isToken = true
	}
	return in, nil
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

// infillParts is what an /infill request asks to fill in: the code around the gap, the files of context and
// the start of the text to fill in.
type infillParts struct {
	prefix, suffix infillInput
	chunks         []infillChunk
	prompt         string
}

// parse checks the request as llama-server does, with its messages. A field given as null is given, as
// llama-server reads it: input_extra and a chunk's text and filename must then have their type. A null
// prompt is no prompt, which is what llama-server makes of it too.
func (req *infillRequest) parse() (infillParts, *apiError) {
	var p infillParts
	if given(req.Prompt) && json.Unmarshal(req.Prompt, &p.prompt) != nil {
		return p, badRequest("\"prompt\" must be a string")
	}
	var apiErr *apiError
	if p.prefix, apiErr = parseInfillInput("input_prefix", req.InputPrefix); apiErr != nil {
		return p, apiErr
	}
	if p.suffix, apiErr = parseInfillInput("input_suffix", req.InputSuffix); apiErr != nil {
		return p, apiErr
	}
	if len(req.InputExtra) == 0 {
		return p, nil
	}
	var raw []map[string]json.RawMessage
	if isNull(req.InputExtra) || json.Unmarshal(req.InputExtra, &raw) != nil {
		return p, badRequest("\"input_extra\" must be an array of {\"filename\": string, \"text\": string}")
	}
	p.chunks = make([]infillChunk, len(raw))
	for i, c := range raw {
		var ok bool
		if p.chunks[i].Text, ok = stringOf(c["text"]); !ok {
			return p, badRequest("extra_context chunk must contain a \"text\" field with a string value")
		}
		p.chunks[i].Filename = fimDefaultFile
		if name, named := c["filename"]; named {
			if p.chunks[i].Filename, ok = stringOf(name); !ok {
				return p, badRequest("extra_context chunk's \"filename\" field must be a string")
			}
		}
	}
	return p, nil
}

// infillPrompt builds the fill-in-the-middle prompt with llama-server's layout and budget:
//
//	[extra context] [BOS] <PRE> prefix prompt <SUF> suffix <MID>
//
// or, with spm (--spm-infill, for models trained on suffix-prefix-middle),
//
//	[extra context] [BOS] <SUF> suffix <PRE> prefix prompt <MID>
//
// where the extra context is the repository-level pattern (<REPO>myproject, then <SEP>filename and text per
// chunk, then <SEP> for the current file) when the model has those tokens, else the chunks' texts after a
// snippet separator. The prefix keeps its last 3/4 of a batch, the suffix its first quarter less the
// prompt, and the extra context its last tokens that leave a batch and twice the server's -n free in a slot.
func (e *engine) infillPrompt(p infillParts, nBatch, nPredict int, spm bool) ([]llama.Token, *apiError) {
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
	for _, c := range p.chunks {
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
	var idErr *apiError
	mixed := func(field string, in infillInput) []llama.Token {
		var out []llama.Token
		for i, piece := range in {
			if !piece.isToken {
				out = append(out, tok(piece.text, false)...)
				continue
			}
			id, err := e.checkTokenID(field, i, piece.token)
			if err != nil && idErr == nil {
				idErr = err
			}
			out = append(out, id)
		}
		return out
	}
	pre, suf, mid := mixed("input_prefix", p.prefix), mixed("input_suffix", p.suffix), tok(p.prompt, true)
	if idErr != nil {
		return nil, idErr
	}
	if tokErr != nil {
		return nil, badRequest("tokenizing the infill input: %v", tokErr)
	}
	pre = pre[len(pre)-min(len(pre), 3*(nBatch/4)):]
	suf = suf[:min(len(suf), max(0, nBatch/4-(2+len(mid))))]
	extra = extra[len(extra)-min(len(extra), max(0, e.slotCtx-nBatch-2*nPredict)):]

	before := append(append([]llama.Token{fim.Prefix}, pre...), mid...)
	after := append([]llama.Token{fim.Suffix}, suf...)
	if spm {
		before, after = after, before
	}
	out := make([]llama.Token, 0, len(extra)+len(before)+len(after)+2)
	out = append(out, extra...)
	if e.model.AddBOS() {
		out = append(out, e.model.BOS())
	}
	out = append(append(out, before...), after...)
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
	parts, apiErr := req.parse()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	params, apiErr := s.resolveSingleChoice(req.samplingFields, epNative, e)
	if apiErr == nil {
		apiErr = e.lazyGrammar(&params, req.lazyGrammarFields)
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	prompt, apiErr := e.infillPrompt(parts, s.cfg.BatchSize, s.cfg.NPredict, s.cfg.SPMInfill)
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
	if t.params.stream {
		streamTask(r.Context(), w, t, c, false)
		return
	}
	outs, res, ok := collectAnswer(w, r, t)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, c.result(0, outs[0], res))
}
