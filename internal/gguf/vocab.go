package gguf

import (
	"fmt"
	"strings"
)

// Token types of tokenizer.ggml.token_type (llama_token_type in llama.h).
const (
	tokenNormal      int32 = 1
	tokenUnknown     int32 = 2
	tokenControl     int32 = 3
	tokenUserDefined int32 = 4
	tokenByte        int32 = 6
)

// Ids of the special tokens of a generated vocabulary.
const (
	unkID = 0
	bosID = 1
	eosID = 2
)

// spaceMark is SentencePiece's visible space (U+2581), which llama.cpp's SPM
// tokenizer puts in place of every space before matching pieces.
const spaceMark = "▁"

// chatMLTemplate is the ChatML format as a Jinja template. llama.cpp's
// llama_chat_apply_template recognises the family by "<|im_start|>" in the
// text and formats messages the same way.
const chatMLTemplate = "{% for message in messages %}" +
	"{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
	"{% endfor %}" +
	"{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// chatMarkers are the markers of the common chat template families. A generated vocabulary gives each
// one its template uses a token of its own, so llama.cpp tokenizes the rendered prompt as the real model's
// vocabulary would. Markers that frame turns are control tokens, left out of generated text as llama.cpp
// does; tool-call markers are user-defined tokens, which generated text shows, so that calls can be read
// back from it.
var chatMarkers = []struct {
	text string
	typ  int32
}{
	// Llama 3.x.
	{"<|start_header_id|>", tokenControl},
	{"<|end_header_id|>", tokenControl},
	{"<|eot_id|>", tokenControl},
	{"<|eom_id|>", tokenControl},
	{"<|python_tag|>", tokenUserDefined},
	// Mistral.
	{"[INST]", tokenControl},
	{"[/INST]", tokenControl},
	{"[AVAILABLE_TOOLS]", tokenControl},
	{"[/AVAILABLE_TOOLS]", tokenControl},
	{"[TOOL_RESULTS]", tokenControl},
	{"[/TOOL_RESULTS]", tokenControl},
	{"[TOOL_CALLS]", tokenUserDefined},
	// Hermes / Qwen, inside ChatML.
	{"<tool_call>", tokenUserDefined},
	{"</tool_call>", tokenUserDefined},
	{"<tool_response>", tokenUserDefined},
	{"</tool_response>", tokenUserDefined},
}

// controlToolMarkers retypes the tool-call markers, user-defined tokens by default, as control tokens.
func (v *vocab) controlToolMarkers() {
	for _, m := range chatMarkers {
		if m.typ != tokenUserDefined {
			continue
		}
		for i, t := range v.tokens {
			if t == m.text {
				v.types[i] = tokenControl
			}
		}
	}
}

// vocabWords are whole words given their own pieces, so common text
// tokenizes into fewer tokens than one per letter.
var vocabWords = []string{
	"the", "a", "an", "is", "are", "was", "of", "and", "or", "to", "in", "on", "it", "that", "this",
	"you", "I", "we", "they", "he", "she", "be", "not", "for", "with", "as", "at", "by", "from",
	"hello", "world", "yes", "no", "ok", "hi", "what", "how", "why", "who", "when", "where",
	"model", "token", "test", "custos", "llama", "say", "one", "two", "three", "four", "five",
	"good", "day", "time", "user", "assistant", "system", "answer", "question",
}

// vocab is a generated SentencePiece-style vocabulary: every byte has a
// fallback token, so any text tokenizes, and printable pieces keep ordinary
// text short.
type vocab struct {
	tokens []string
	scores []float32
	types  []int32
}

func (v *vocab) add(piece string, score float32, typ int32) {
	v.tokens = append(v.tokens, piece)
	v.scores = append(v.scores, score)
	v.types = append(v.types, typ)
}

// newVocab builds the vocabulary for a model with chat template tmpl. Layout: <unk>, <s>, </s>, the
// 256 byte tokens <0x00>..<0xFF>, the ChatML markers, the chatMarkers tmpl contains, then normal pieces: vocabWords
// with every prefix, with and without a leading space mark (SentencePiece
// merges adjacent pairs, so a word is reachable only through its prefixes),
// the space mark alone, and every printable ASCII character with and without
// a leading space mark. Normal pieces score -rank in that order, so whole
// words win over letters.
func newVocab(tmpl string) vocab {
	var v vocab
	v.add("<unk>", 0, tokenUnknown)
	v.add("<s>", 0, tokenControl)
	v.add("</s>", 0, tokenControl)
	for b := range 256 {
		v.add(fmt.Sprintf("<0x%02X>", b), 0, tokenByte)
	}
	v.add("<|im_start|>", 0, tokenControl)
	v.add("<|im_end|>", 0, tokenControl)
	for _, m := range chatMarkers {
		if strings.Contains(tmpl, m.text) {
			v.add(m.text, 0, m.typ)
		}
	}

	seen := make(map[string]bool, len(v.tokens)+512)
	for _, t := range v.tokens {
		seen[t] = true
	}
	var pieces []string
	addPiece := func(p string) {
		if !seen[p] {
			seen[p] = true
			pieces = append(pieces, p)
		}
	}
	for _, w := range vocabWords {
		for n := len(w); n >= 1; n-- {
			addPiece(spaceMark + w[:n])
		}
		for n := len(w); n >= 2; n-- {
			addPiece(w[:n])
		}
	}
	addPiece(spaceMark)
	for c := byte('!'); c <= '~'; c++ {
		addPiece(spaceMark + string(c))
		addPiece(string(c))
	}
	for rank, p := range pieces {
		v.add(p, -float32(rank), tokenNormal)
	}
	return v
}
