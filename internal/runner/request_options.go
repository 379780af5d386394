package runner

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"custos/internal/llama"
)

// Bounds of the probability fields: OpenAI's for top_logprobs, and the same for the legacy logprobs. The
// native n_probs may ask for more, up to maxNProbs: the runner holds a whole answer's probabilities until
// it is sent, and all of a large vocabulary's for every token would be an allocation of the client's
// choosing (llama-server has no bound).
const (
	maxTopLogprobs = 20
	maxNProbs      = 1024
)

// resolveSingleChoice is resolveRequest, constraints included, for the endpoints whose answer has one
// choice and no token probabilities (/infill, /v1/responses): asking for more is refused by name rather
// than ignored.
func (s *Server) resolveSingleChoice(f samplingFields, ep endpoint, e *engine) (genParams, *apiError) {
	p, err := s.resolveRequest(f, ep, e)
	switch {
	case err != nil:
		return p, err
	case p.choices() > 1:
		return p, unsupportedField("n", "this endpoint answers with one choice")
	case p.probs.want:
		return p, unsupportedField("logprobs", "this endpoint reports no token probabilities")
	}
	return p, e.constrain(&p, f.constraintFields)
}

// resolveRequest turns a generation request's fields into the parameters the scheduler runs: the sampling
// settings of resolveParams, then the choices, probabilities, slot use and further samplers, which depend
// on the endpoint (logprobs is a boolean on chat and an integer elsewhere) and on the loaded model.
func (s *Server) resolveRequest(f samplingFields, ep endpoint, e *engine) (genParams, *apiError) {
	p, err := resolveParams(f, s.cfg.Seed, s.cfg.NPredict)
	if err != nil {
		return p, err
	}
	if p.n, err = resolveChoices(f, s.cfg.Parallel); err != nil {
		return p, err
	}
	if p.probs, err = resolveProbs(f, ep, e.model.NVocab()); err != nil {
		return p, err
	}
	if f.CachePrompt != nil {
		p.noCachePrompt = !*f.CachePrompt
	}
	if f.IDSlot != nil && *f.IDSlot != -1 {
		if *f.IDSlot < 0 || *f.IDSlot >= s.cfg.Parallel {
			return p, badRequest("\"id_slot\" must be -1 (any slot) or between 0 and %d, got %d", s.cfg.Parallel-1, *f.IDSlot)
		}
		p.pinSlot, p.slotID = true, *f.IDSlot
	}
	p.returnTokens = f.ReturnTokens
	if f.NIndent != nil {
		if *f.NIndent < 0 {
			return p, badRequest("\"n_indent\" must not be negative, got %d", *f.NIndent)
		}
		p.nIndent = *f.NIndent
	}
	p.timingsPerToken = f.TimingsPerToken
	if p.pingInterval, err = s.pingInterval(f.SSEPingInterval); err != nil {
		return p, err
	}
	p.responseFields = f.ResponseFields
	p.returnProgress = f.Stream && f.ReturnProgress
	if err := resolveBestOf(f, ep, s.cfg.Parallel, &p); err != nil {
		return p, err
	}
	if ep == epCompletions && f.Echo {
		p.echo = true
		// Every prompt position's logits are needed, so none of the prompt may come from the cache.
		p.scorePrompt, p.noCachePrompt = p.probs.want, p.noCachePrompt || p.probs.want
	}
	if f.TMaxPredictMS != nil {
		if *f.TMaxPredictMS < -1 {
			return p, badRequest("\"t_max_predict_ms\" must be -1 or more, got %d", *f.TMaxPredictMS)
		}
		p.maxPredictTime = time.Duration(max(*f.TMaxPredictMS, 0)) * time.Millisecond
	}
	p.includeUsage = f.Stream && f.StreamOptions != nil && f.StreamOptions.IncludeUsage
	if err := resolveSamplers(f, &p.sampler); err != nil {
		return p, err
	}
	if p.sampler.LogitBias, err = resolveLogitBias(f.LogitBias, e.model); err != nil {
		return p, err
	}
	if p.ignoreEOS {
		p.sampler.LogitBias = append(p.sampler.LogitBias, e.eogBans...)
	}
	if len(f.LoRA) > 0 && !isNull(f.LoRA) {
		if p.lora, err = parseLoRAList(f.LoRA, len(e.loras), "\"lora\""); err != nil {
			return p, err
		}
	}
	return p, nil
}

// eogBans are the logit biases of ignore_eos: minus infinity for every end-of-generation token, after the
// request's own biases, as llama-server appends them. A banned token is never sampled, so the sampler's
// distribution is that of llama-server, and an end of generation can then come only from a grammar that
// allows nothing more (see onToken).
func eogBans(m *llama.Model) []llama.LogitBias {
	var out []llama.LogitBias
	for _, t := range m.EOGTokens() {
		out = append(out, llama.LogitBias{Token: t, Bias: float32(math.Inf(-1))})
	}
	return out
}

// resolveChoices reads n (or llama-server's n_cmpl, which wins when both are given): from 1 to the number
// of slots, since every choice generates on a slot of its own.
func resolveChoices(f samplingFields, slots int) (int, *apiError) {
	name, v := "n", f.N
	if f.NCmpl != nil {
		name, v = "n_cmpl", f.NCmpl
	}
	if v == nil {
		return 1, nil
	}
	if *v < 1 || *v > slots {
		return 0, badRequest("%q must be between 1 and %d (the number of slots, -np), got %d", name, slots, *v)
	}
	return *v, nil
}

// resolveBestOf reads OpenAI's best_of on /v1/completions: generate best_of choices and return the n
// with the highest mean log-probability per token. Like OpenAI, it needs best_of >= n and no stream.
func resolveBestOf(f samplingFields, ep endpoint, slots int, p *genParams) *apiError {
	if ep != epCompletions || f.BestOf == nil {
		return nil
	}
	bestOf, n := *f.BestOf, p.choices()
	switch {
	case bestOf < n:
		return badRequest("\"best_of\" must be at least \"n\" (%d), got %d", n, bestOf)
	case bestOf > slots:
		return badRequest("\"best_of\" must be at most %d (the number of slots, -np), got %d", slots, bestOf)
	case bestOf == n:
		return nil
	case f.Stream:
		return badRequest("\"best_of\" greater than \"n\" cannot be streamed: the best choices are known only at the end")
	}
	p.n, p.keepBest = bestOf, n
	if !p.probs.want {
		p.probs, p.hideProbs = probsRequest{want: true}, true
	}
	return nil
}

// resolveProbs reads the probability fields of the endpoint: chat's logprobs (boolean) and top_logprobs,
// /v1/completions' logprobs (integer), and the native n_probs, for which llama-server also reads logprobs;
// n_probs and post_sampling_probs are accepted everywhere, as llama-server does.
func resolveProbs(f samplingFields, ep endpoint, nVocab int) (probsRequest, *apiError) {
	var p probsRequest
	given := len(f.Logprobs) > 0 && !bytes.Equal(bytes.TrimSpace(f.Logprobs), []byte("null"))
	switch ep {
	case epChat:
		var on bool
		if given && json.Unmarshal(f.Logprobs, &on) != nil {
			return p, badRequest("invalid type for \"logprobs\": expected a boolean, got %s", f.Logprobs)
		}
		if f.TopLogprobs != nil {
			if !on {
				return p, badRequest("\"top_logprobs\" requires \"logprobs\" to be true")
			}
			if *f.TopLogprobs < 0 || *f.TopLogprobs > maxTopLogprobs {
				return p, badRequest("\"top_logprobs\" must be between 0 and %d, got %d", maxTopLogprobs, *f.TopLogprobs)
			}
			p.n = *f.TopLogprobs
		}
		p.want = on
	case epCompletions:
		if given {
			n, err := intField("logprobs", f.Logprobs, 0, maxTopLogprobs)
			if err != nil {
				return p, err
			}
			p.want, p.n = true, n
		}
	case epNative:
		if given && f.NProbs == nil {
			n, err := intField("logprobs", f.Logprobs, 0, maxNProbs)
			if err != nil {
				return p, err
			}
			p.want, p.n = n > 0, n
		}
	}
	if f.NProbs != nil && *f.NProbs != 0 {
		if *f.NProbs < 0 || *f.NProbs > maxNProbs {
			return p, badRequest("\"n_probs\" must be between 0 and %d, got %d", maxNProbs, *f.NProbs)
		}
		p.want, p.n = true, min(*f.NProbs, nVocab)
	}
	p.post = p.want && f.PostSamplingProbs
	return p, nil
}

// intField reads an integer field given as raw JSON, within [lo, hi].
func intField(name string, raw json.RawMessage, lo, hi int) (int, *apiError) {
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, badRequest("invalid type for %q: expected an integer, got %s", name, raw)
	}
	if n < lo || n > hi {
		return 0, badRequest("%q must be between %d and %d, got %d", name, lo, hi, n)
	}
	return n, nil
}

// resolveSamplers sets llama-server's further samplers; each one's default (neutral) value leaves it off.
func resolveSamplers(f samplingFields, s *llama.SamplerParams) *apiError {
	unit := func(name string, v *float64) (float32, bool, *apiError) {
		if v == nil {
			return 0, false, nil
		}
		if *v < 0 || *v > 1 {
			return 0, false, badRequest("%q must be between 0 and 1, got %g", name, *v)
		}
		return float32(*v), true, nil
	}
	s.TypicalP, s.TopNSigma = defaultTypicalP, defaultTopNSigma
	if f.TypicalP != nil {
		s.TypicalP = float32(*f.TypicalP)
	}
	if f.MinKeep != nil {
		if *f.MinKeep < 0 {
			return badRequest("\"min_keep\" must not be negative, got %d", *f.MinKeep)
		}
		s.MinKeep = *f.MinKeep
	}
	if f.TopNSigma != nil {
		s.TopNSigma = float32(*f.TopNSigma)
	}
	var err *apiError
	if s.XTCProbability, _, err = unit("xtc_probability", f.XTCProbability); err != nil {
		return err
	}
	s.XTCThreshold = defaultXTCThreshold
	if v, ok, err := unit("xtc_threshold", f.XTCThreshold); err != nil {
		return err
	} else if ok {
		s.XTCThreshold = v
	}
	if f.DynatempRange != nil {
		if *f.DynatempRange < 0 {
			return badRequest("\"dynatemp_range\" must not be negative, got %g", *f.DynatempRange)
		}
		s.DynatempRange = float32(*f.DynatempRange)
	}
	s.DynatempExponent = defaultDynatempExponent
	if f.DynatempExponent != nil {
		s.DynatempExponent = float32(*f.DynatempExponent)
	}
	if f.Mirostat != nil {
		if *f.Mirostat < 0 || *f.Mirostat > 2 {
			return badRequest("\"mirostat\" must be 0 (off), 1 or 2, got %d", *f.Mirostat)
		}
		s.Mirostat = *f.Mirostat
	}
	if err := resolveDRY(f, s); err != nil {
		return err
	}
	if err := resolveOrder(f.Samplers, s); err != nil {
		return err
	}
	s.AdaptiveTarget, s.AdaptiveDecay = defaultAdaptiveTarget, defaultAdaptiveDecay
	if f.AdaptiveTarget != nil {
		if *f.AdaptiveTarget > 1 {
			return badRequest("\"adaptive_target\" must be at most 1 (negative: disabled), got %g", *f.AdaptiveTarget)
		}
		s.AdaptiveTarget = float32(*f.AdaptiveTarget)
	}
	if f.AdaptiveDecay != nil {
		if *f.AdaptiveDecay < 0 || *f.AdaptiveDecay > 0.99 {
			return badRequest("\"adaptive_decay\" must be between 0 and 0.99, got %g", *f.AdaptiveDecay)
		}
		s.AdaptiveDecay = float32(*f.AdaptiveDecay)
	}
	if s.AdaptiveTarget >= 0 && !slices.Contains(s.Order, llama.StageAdaptiveP) {
		// llama-server ignores it then; a request that sets it means it.
		return badRequest("\"adaptive_target\" takes effect only with \"adaptive_p\" in \"samplers\"")
	}
	s.MirostatTau, s.MirostatEta = defaultMirostatTau, defaultMirostatEta
	if f.MirostatTau != nil {
		s.MirostatTau = float32(*f.MirostatTau)
	}
	if f.MirostatEta != nil {
		s.MirostatEta = float32(*f.MirostatEta)
	}
	return nil
}

// resolveDRY sets the DRY repetition penalty, off unless dry_multiplier > 0. As in llama-server, a
// dry_base below 1 takes the default; the sequence breakers are bounded like stop strings, since the
// sampler scans for them at every token.
func resolveDRY(f samplingFields, s *llama.SamplerParams) *apiError {
	if f.DRYMultiplier != nil {
		if *f.DRYMultiplier < 0 {
			return badRequest("\"dry_multiplier\" must not be negative, got %g", *f.DRYMultiplier)
		}
		s.DRYMultiplier = float32(*f.DRYMultiplier)
	}
	s.DRYBase = defaultDRYBase
	if f.DRYBase != nil && *f.DRYBase >= 1 {
		s.DRYBase = float32(*f.DRYBase)
	}
	s.DRYAllowedLength, s.DRYPenaltyLastN = defaultDRYAllowedLength, defaultDRYPenaltyLastN
	for _, v := range []struct {
		name string
		in   *int
		out  *int
	}{{"dry_allowed_length", f.DRYAllowedLength, &s.DRYAllowedLength}, {"dry_penalty_last_n", f.DRYPenaltyLastN, &s.DRYPenaltyLastN}} {
		if v.in == nil {
			continue
		}
		if *v.in < 0 {
			return badRequest("%q must not be negative, got %d", v.name, *v.in)
		}
		*v.out = *v.in
	}
	s.DRYSequenceBreakers = defaultDRYBreakers
	if f.DRYBreakers != nil {
		if len(f.DRYBreakers) == 0 || len(f.DRYBreakers) > maxStopStrings {
			return badRequest("\"dry_sequence_breakers\" must hold 1 to %d strings, got %d", maxStopStrings, len(f.DRYBreakers))
		}
		for _, b := range f.DRYBreakers {
			if b == "" || len(b) > maxStopBytes {
				return badRequest("a \"dry_sequence_breakers\" string must have 1 to %d bytes", maxStopBytes)
			}
		}
		s.DRYSequenceBreakers = f.DRYBreakers
	}
	return nil
}

// stageNames are llama-server's canonical names of the sampler stages, which generation_settings reports.
// samplerStages names the stages of its "samplers" field: the canonical names, their kebab-case and
// no-underscore spellings, and its aliases; samplerChars are the one-letter forms of a string value.
var (
	stageNames = map[llama.Stage]string{llama.StagePenalties: "penalties", llama.StageDRY: "dry",
		llama.StageTopNSigma: "top_n_sigma", llama.StageTopK: "top_k", llama.StageTypicalP: "typ_p",
		llama.StageTopP: "top_p", llama.StageMinP: "min_p", llama.StageXTC: "xtc",
		llama.StageTemperature: "temperature", llama.StageAdaptiveP: "adaptive_p"}
	samplerStages = func() map[string]llama.Stage {
		m := map[string]llama.Stage{"nucleus": llama.StageTopP, "temp": llama.StageTemperature, "typ": llama.StageTypicalP}
		for stage, name := range stageNames {
			m[name] = stage
			m[strings.ReplaceAll(name, "_", "-")] = stage
			m[strings.ReplaceAll(name, "_", "")] = stage
		}
		return m
	}()
	samplerChars = map[rune]llama.Stage{'e': llama.StagePenalties, 'd': llama.StageDRY, 's': llama.StageTopNSigma,
		'k': llama.StageTopK, 'y': llama.StageTypicalP, 'p': llama.StageTopP, 'm': llama.StageMinP,
		'x': llama.StageXTC, 't': llama.StageTemperature, 'a': llama.StageAdaptiveP}
)

// maxStages bounds the chain a request can build (each stage runs at every token).
const maxStages = 32

// resolveOrder reads "samplers", an array of stage names or a string of their letters, into the chain's
// order. Unlike llama-server, which skips names it does not know, an unknown or unsupported name (infill)
// is refused by name.
func resolveOrder(raw json.RawMessage, s *llama.SamplerParams) *apiError {
	if len(raw) == 0 || isNull(raw) {
		return nil
	}
	var names []string
	var letters string
	switch {
	case json.Unmarshal(raw, &names) == nil:
	case json.Unmarshal(raw, &letters) == nil:
		for _, c := range letters {
			names = append(names, string(c))
		}
	default:
		return badRequest("invalid \"samplers\": expected an array of sampler names or a string of their letters")
	}
	if len(names) > maxStages {
		return badRequest("\"samplers\" lists %d samplers; at most %d are accepted", len(names), maxStages)
	}
	order := []llama.Stage{}
	for _, name := range names {
		stage, ok := samplerStages[strings.ToLower(name)]
		if r := []rune(name); !ok && len(r) == 1 {
			stage, ok = samplerChars[r[0]]
		}
		if !ok {
			return badRequest("\"samplers\": %q is not a sampler the runner supports (penalties, dry, top_n_sigma, "+
				"top_k, typ_p, top_p, min_p, xtc, temperature, adaptive_p)", name)
		}
		order = append(order, stage)
	}
	s.Order = order
	return nil
}

// defaultDRYBreakers are llama-server's DRY sequence breakers.
var defaultDRYBreakers = []string{"\n", ":", "\"", "*"}

// Defaults of the further samplers, llama-server's.
const (
	defaultDRYBase          = 1.75
	defaultDRYAllowedLength = 2
	defaultDRYPenaltyLastN  = 64
	defaultXTCThreshold     = 0.1
	defaultDynatempExponent = 1.0
	defaultAdaptiveTarget   = -1.0
	defaultAdaptiveDecay    = 0.9
	defaultMirostatTau      = 5.0
	defaultMirostatEta      = 0.1
	defaultTypicalP         = 1.0  // off
	defaultTopNSigma        = -1.0 // off
)

// resolveLogitBias reads logit_bias in the shapes llama-server accepts: an array of [token, bias] pairs or
// an object {token: bias}, where a token is an id or a text (every token of that text gets the bias) and a
// bias is a number or false (never produce the token). Unlike llama-server, which skips them, malformed
// entries and ids outside the vocabulary are refused.
func resolveLogitBias(raw json.RawMessage, m *llama.Model) ([]llama.LogitBias, *apiError) {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	type entry struct {
		token json.RawMessage
		bias  json.RawMessage
	}
	var entries []entry
	var pairs [][]json.RawMessage
	var object map[string]json.RawMessage
	switch {
	case json.Unmarshal(raw, &pairs) == nil:
		for i, pair := range pairs {
			if len(pair) != 2 {
				return nil, badRequest("\"logit_bias\"[%d] must be a [token, bias] pair", i)
			}
			entries = append(entries, entry{pair[0], pair[1]})
		}
	case json.Unmarshal(raw, &object) == nil:
		for key, bias := range object {
			token, _ := json.Marshal(key)
			if _, err := strconv.Atoi(key); err == nil {
				token = json.RawMessage(key)
			}
			entries = append(entries, entry{token, bias})
		}
	default:
		return nil, badRequest("invalid \"logit_bias\": expected an array of [token, bias] pairs or an object {token: bias}")
	}
	var out []llama.LogitBias
	for _, en := range entries {
		bias, err := biasValue(en.bias)
		if err != nil {
			return nil, err
		}
		var id int
		var text string
		switch {
		case json.Unmarshal(en.token, &id) == nil:
			if id < 0 || id >= m.NVocab() {
				return nil, badRequest("\"logit_bias\": token id %d is outside the vocabulary (0 to %d)", id, m.NVocab()-1)
			}
			out = append(out, llama.LogitBias{Token: llama.Token(id), Bias: bias})
		case json.Unmarshal(en.token, &text) == nil:
			toks, err := m.Tokenize(text, false, false)
			if err != nil {
				return nil, badRequest("\"logit_bias\": tokenizing %q: %v", text, err)
			}
			for _, t := range toks {
				out = append(out, llama.LogitBias{Token: t, Bias: bias})
			}
		default:
			return nil, badRequest("\"logit_bias\": a token must be an id or a text, got %s", en.token)
		}
	}
	return out, nil
}

// biasValue is a logit_bias value: a finite number, or false for -Inf.
func biasValue(raw json.RawMessage) (float32, *apiError) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if b {
			return 0, badRequest("\"logit_bias\": a bias is a number, or false to ban the token; true means nothing")
		}
		return float32(math.Inf(-1)), nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, badRequest("\"logit_bias\": a bias must be a number or false, got %s", raw)
	}
	return float32(v), nil
}
