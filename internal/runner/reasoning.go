package runner

import (
	"cmp"
	"strings"

	"custos/internal/chattemplate"
	"custos/internal/llama"
)

// Reasoning formats, as llama-server names them (its --reasoning-format and the request's
// reasoning_format). In this release every one but "none" reads the reasoning out of the reply into
// reasoning_content, streamed too: llama-server reports deepseek-legacy's reasoning_in_content but no
// longer acts on it.
const (
	reasoningNone           = "none"
	reasoningAuto           = "auto"
	reasoningDeepSeek       = "deepseek"
	reasoningDeepSeekLegacy = "deepseek-legacy"
)

// validReasoningFormat reports whether name is one of llama-server's reasoning formats.
func validReasoningFormat(name string) bool {
	switch name {
	case reasoningNone, reasoningAuto, reasoningDeepSeek, reasoningDeepSeekLegacy:
		return true
	}
	return false
}

// extractsReasoning reads the request's reasoning_format (the server's --reasoning-format when not
// given): whether a thinking model's reasoning is read out of its reply.
func (f *chatFormat) extractsReasoning(req *chatRequest) (bool, *apiError) {
	format := f.reasoningFormat
	if req.ReasoningFormat != nil {
		format = *req.ReasoningFormat
	}
	if !validReasoningFormat(format) {
		return false, badRequest("\"reasoning_format\": %q is not one of \"none\", \"auto\", \"deepseek\", \"deepseek-legacy\"", format)
	}
	return format != reasoningNone, nil
}

// thinkingTags are the markers a thinking template puts around an assistant's reasoning, with the
// whitespace it writes next to them ("<think>\n", "\n</think>\n\n"), found as llama-server finds them: by
// rendering the template and comparing. A model need not write that whitespace, so reading a reply
// takes each whitespace character of a tag as optional. start may be empty: a template that only closes
// the reasoning.
type thinkingTags struct {
	start, end string
}

// thinks reports whether the template has a reasoning mode.
func (t thinkingTags) thinks() bool { return strings.TrimSpace(t.end) != "" }

// Sample texts for the comparisons; any text a template would not write itself does.
const (
	sampleUser      = "custos-sample-question"
	sampleAnswer    = "custos-sample-answer"
	sampleReasoning = "custos-sample-reasoning"
)

// detectThinking finds a template's reasoning markers, as llama-server's template analysis does:
//   - an assistant message rendered with and without reasoning_content: the markers around the reasoning;
//   - the generation prompt rendered with enable_thinking on and off: a marker one adds at its end, or
//     an empty reasoning's two markers after where the other ends;
//   - DeepSeek-R1-style templates, which cut the reasoning off past messages (content.split('</think>'))
//     and never show it, think in <think> … </think>.
func detectThinking(render func(chattemplate.Input) (string, error), source string) thinkingTags {
	var t thinkingTags
	user := chattemplate.Message{Role: "user", Content: sampleUser}
	answer := chattemplate.Message{Role: "assistant", Content: sampleAnswer}
	plain, errPlain := render(chattemplate.Input{Messages: []chattemplate.Message{user, answer}, EnableThinking: true})
	answer.ReasoningContent = sampleReasoning
	shown, errShown := render(chattemplate.Input{Messages: []chattemplate.Message{user, answer}, EnableThinking: true})
	if errPlain == nil && errShown == nil && plain != shown {
		if i := strings.Index(shown, sampleReasoning); i >= 0 {
			t.start, t.end = markersAround(shown[:i], shown[i+len(sampleReasoning):])
		}
	}
	opening := chattemplate.Input{Messages: []chattemplate.Message{user}, AddGenerationPrompt: true}
	off, errOff := render(opening)
	opening.EnableThinking = true
	on, errOn := render(opening)
	if errOff == nil && errOn == nil {
		prefix := sharedStart(off, on)
		added, removed := on[len(prefix):], off[len(prefix):]
		switch {
		case strings.TrimSpace(removed) == "" && strings.TrimSpace(added) != "" && t.start == "":
			t.start = added // the generation prompt opens the reasoning when thinking is on
		case strings.TrimSpace(added) == "" && strings.TrimSpace(removed) != "" && t.end == "":
			t.end = removed // thinking off writes an empty reasoning the generation prompt closes
			if m := trailingMarker(strings.TrimSpace(off[:len(off)-len(removed)])); m != "" && t.start == "" {
				t.start = m
			}
		case strings.TrimSpace(added) != "" && strings.TrimSpace(removed) != "":
			// More than the end changed (SmolLM3 rewrites its system prompt): one prompt may end as the
			// other does, followed by an empty reasoning's two markers.
			if start, end := markersPastTail(on, off); end != "" {
				t.start, t.end = cmp.Or(t.start, start), cmp.Or(t.end, end)
			} else if start, end := markersPastTail(off, on); end != "" {
				t.start, t.end = cmp.Or(t.start, start), cmp.Or(t.end, end)
			}
		}
	}
	if !t.thinks() && strings.Contains(source, "content.split('</think>')") && !strings.Contains(source, "reasoning_content") {
		t = thinkingTags{start: "<think>", end: "</think>"}
	}
	if !t.thinks() {
		return thinkingTags{}
	}
	return t
}

// markersAround reads the markers next to the reasoning in a rendered message: the one that ends before
// it (with the whitespace after it), and the one that begins after it (with the whitespace around it).
func markersAround(before, after string) (start, end string) {
	trimmed := strings.TrimRight(before, whitespace)
	if m := trailingMarker(trimmed); m != "" {
		start = m + before[len(trimmed):]
	}
	rest := strings.TrimLeft(after, whitespace)
	m := leadingMarker(rest)
	if m == "" {
		return "", ""
	}
	tail := rest[len(m):]
	return start, after[:len(after)-len(rest)] + m + tail[:len(tail)-len(strings.TrimLeft(tail, whitespace))]
}

// markersPastTail finds the end of base (its last 64 bytes) in extended and, when what follows there is
// two markers and whitespace only, returns them.
func markersPastTail(base, extended string) (start, end string) {
	anchor := base[len(base)-min(len(base), 64):]
	i := strings.LastIndex(extended, anchor)
	if anchor == "" || i < 0 {
		return "", ""
	}
	extra := strings.Trim(extended[i+len(anchor):], whitespace)
	start = leadingMarker(extra)
	rest := strings.TrimLeft(extra[len(start):], whitespace)
	end = leadingMarker(rest)
	if start == "" || end == "" || len(end) != len(rest) {
		return "", ""
	}
	return start, end
}

// A marker is text in angle or square brackets: <think>, [THINK].
var markerBrackets = map[byte]byte{'<': '>', '[': ']'}

func leadingMarker(s string) string {
	if s == "" {
		return ""
	}
	closing, ok := markerBrackets[s[0]]
	if !ok {
		return ""
	}
	if i := strings.IndexByte(s[1:], closing); i >= 0 {
		return s[:i+2]
	}
	return ""
}

func trailingMarker(s string) string {
	for open, closing := range markerBrackets {
		if !strings.HasSuffix(s, string(closing)) {
			continue
		}
		if i := strings.LastIndexByte(s, open); i >= 0 && !strings.ContainsRune(s[i+1:len(s)-1], rune(closing)) {
			return s[i:]
		}
	}
	return ""
}

// sharedStart is the longest start a and b share.
func sharedStart(a, b string) string {
	n := 0
	for n < min(len(a), len(b)) && a[n] == b[n] {
		n++
	}
	return a[:n]
}

// whitespace is what llama-server's parser skips between the parts of a reply.
const whitespace = " \t\r\n"

// thinkingReply reads a thinking template's reply the way llama-server's parser does. The reply is read
// after opened, the part of the generation prompt from its start marker on ("<think>\n" when the
// template opens the reasoning itself, else ""); leading whitespace is skipped. With extract, a reply
// that opens with the start marker has its reasoning, up to the end marker, taken out of the content;
// a reasoning never closed is all reasoning, as is the reply while it streams. Without extract the
// content is the whole text, opened included, as llama-server returns it under reasoning_format "none".
type thinkingReply struct {
	tags    thinkingTags
	opened  string
	extract bool
	// generationPrompt is the whole opening of the assistant's turn, which a reasoning budget starts from.
	generationPrompt string
	// callOpens is the marker of a tool call that also ends the reasoning ("" for most templates): the
	// reasoning stops before it, and the call is content. skipSpace skips all the whitespace after the
	// start marker and after the end marker, not only the markers' own. See readAsXMLFamily.
	callOpens string
	skipSpace bool
}

// readAsXMLFamily reads the reply as llama-server's parser for the thinking templates of the XML
// tool-call family (Qwen3.5, Nemotron 3 Nano) does: the marker that opens a call (callOpens) ends the
// reasoning too, and the whitespace after either marker is skipped.
func (r *thinkingReply) readAsXMLFamily(callOpens string) {
	r.callOpens, r.skipSpace = callOpens, true
}

// continuation is the opening of an assistant's turn that continues message m, as llama-server writes
// it: for a thinking template, the opening up to its start marker, the marker, m's reasoning_content,
// and, when the content goes on (continueContent, or continueAuto unless m holds reasoning only), the end
// marker; then, when the content goes on, m's content.
func (t thinkingTags) continuation(opening string, m chattemplate.Message, mode continueMode) string {
	mode = mode.resolve(m)
	if t.thinks() && t.start != "" {
		if i := strings.Index(opening, t.start); i >= 0 {
			opening = opening[:i]
		}
		opening += t.start + m.ReasoningContent
		if mode == continueContent {
			opening += t.end
		}
	}
	if mode == continueContent {
		opening += m.Content
	}
	return opening
}

// reply is how to read a reply that follows generationPrompt.
func (t thinkingTags) reply(generationPrompt string, extract bool) *thinkingReply {
	return t.replyAfter(generationPrompt, generationPrompt, extract)
}

// replyAfter is how to read a reply read after readFrom (see renderedChat), whose assistant's turn opened
// with generationPrompt.
func (t thinkingTags) replyAfter(readFrom, generationPrompt string, extract bool) *thinkingReply {
	r := &thinkingReply{tags: t, extract: extract, generationPrompt: generationPrompt}
	if start := strings.TrimSpace(t.start); start != "" {
		if i := strings.Index(readFrom, start); i >= 0 {
			r.opened = readFrom[i:]
		}
	}
	return r
}

// split divides text, the model's output so far, into reasoning and content. It holds back nothing of
// the content but a start or end marker cut short at the end of text, which is not yet either.
func (r *thinkingReply) split(text string) (reasoning, content string) {
	all := strings.TrimLeft(r.opened+text, whitespace)
	if !r.extract {
		return "", all
	}
	rest, ok := skipTag(all, r.tags.start)
	if !ok {
		if isCutShort(all, strings.TrimSpace(r.tags.start)) {
			return "", ""
		}
		return "", all
	}
	if r.skipSpace {
		rest = strings.TrimLeft(rest, whitespace)
	}
	end := strings.TrimSpace(r.tags.end)
	i := strings.Index(rest, end)
	if j := strings.Index(rest, r.callOpens); r.callOpens != "" && j >= 0 && (i < 0 || j < i) {
		reasoning, content = rest[:j], rest[j:]
	} else if i < 0 {
		reasoning = withoutCutMarker(withoutCutMarker(rest, end), r.callOpens)
	} else {
		reasoning = rest[:i]
		content, _ = skipTag(rest[i:], r.tags.end)
		if r.skipSpace {
			content = strings.TrimLeft(content, whitespace)
		}
	}
	if strings.TrimLeft(reasoning, whitespace) == "" {
		reasoning = "" // an empty reasoning (<think></think>) is none
	}
	return reasoning, content
}

// withoutCutMarker is s without the start of marker it may end with, which is not yet either.
func withoutCutMarker(s, marker string) string {
	for n := min(len(marker)-1, len(s)); n > 0; n-- {
		if strings.HasSuffix(s, marker[:n]) {
			return s[:len(s)-n]
		}
	}
	return s
}

// reasoningTokens counts the tokens of a reply, generated as text, that belong to its reasoning: those that
// begin before the content that follows the reasoning's end marker (all of them while it has not ended, or
// when nothing follows it). piece is each token's text in the reply (replyPiece); a token's invalid UTF-8,
// which the reply replaces, makes the count approximate.
func (r *replyFormat) reasoningTokens(text string, tokens []llama.Token, piece func(llama.Token) []byte) int {
	if r.thinking == nil {
		return 0
	}
	reasoning, content := r.thinking.split(r.continued + text)
	switch {
	case reasoning == "":
		return 0
	case content == "":
		return len(tokens)
	}
	end := len(text) - len(content)
	n, at := 0, 0
	for _, tok := range tokens {
		if at >= end {
			break
		}
		at += len(piece(tok))
		n++
	}
	return n
}

// skipTag consumes tag at the start of s, each of its leading and trailing whitespace characters being
// optional; an empty tag matches at once.
func skipTag(s, tag string) (string, bool) {
	core := strings.Trim(tag, whitespace)
	if core == "" {
		return s, true
	}
	at := strings.Index(tag, core)
	s = skipOptional(s, tag[:at])
	if !strings.HasPrefix(s, core) {
		return s, false
	}
	return skipOptional(s[len(core):], tag[at+len(core):]), true
}

// skipOptional drops from the start of s each character of chars in turn, where s has it.
func skipOptional(s, chars string) string {
	for i := 0; i < len(chars); i++ {
		if s != "" && s[0] == chars[i] {
			s = s[1:]
		}
	}
	return s
}

// isCutShort reports whether s is a proper, non-empty start of marker.
func isCutShort(s, marker string) bool {
	return s != "" && len(s) < len(marker) && strings.HasPrefix(marker, s)
}
