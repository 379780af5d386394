package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"custos/internal/chattemplate"
	"custos/internal/toolcall"
)

// Thinking templates written for these tests, in the two shapes llama-server tells apart: one whose
// generation prompt opens the reasoning (DeepSeek-R1, Qwen3 thinking: the reply has only the closing
// tag), and one whose model writes both tags. Both show an earlier reply's reasoning_content.
const (
	thinkingAssistant = "{%- for message in messages -%}" +
		"{%- if message.role == 'assistant' -%}{{- '<|im_start|>assistant\\n' -}}" +
		"{%- if message.reasoning_content -%}{{- '<think>\\n' + message.reasoning_content + '\\n</think>\\n\\n' -}}{%- endif -%}" +
		"{{- message.content + '<|im_end|>\\n' -}}" +
		"{%- else -%}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}{%- endif -%}" +
		"{%- endfor -%}"
	openThinkingTemplate = thinkingAssistant + "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}" +
		"{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think>\\n\\n</think>\\n\\n' -}}" +
		"{%- else -%}{{- '<think>\\n' -}}{%- endif -%}{%- endif -%}"
	closedThinkingTemplate = thinkingAssistant +
		"{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
	// r1StyleTemplate cuts past replies at </think>, as DeepSeek-R1's does, and never shows reasoning.
	r1StyleTemplate = "{%- for message in messages -%}{%- set content = message.content -%}" +
		"{%- if message.role == 'assistant' -%}{%- set content = content.split('</think>')[-1] -%}{%- endif -%}" +
		"{{- '<|' + message.role + '|>' + content -}}{%- endfor -%}" +
		"{%- if add_generation_prompt -%}{{- '<|assistant|><think>\\n' -}}{%- endif -%}"
	// smolStyleTemplate changes its system prompt with enable_thinking, as SmolLM3's does, and closes an
	// empty reasoning when thinking is off.
	smolStyleTemplate = "{{- '<|im_start|>system\\nReasoning: ' + ('/think' if enable_thinking else '/no_think') + '<|im_end|>\\n' -}}" +
		"{%- for message in messages -%}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}{%- endfor -%}" +
		"{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}" +
		"{%- if not enable_thinking -%}{{- '<think>\\n\\n</think>\\n' -}}{%- endif -%}{%- endif -%}"
	// hermesThinkingTemplate is a Qwen3-like template: it thinks and calls tools in <tool_call>.
	hermesThinkingTemplate = "{%- if tools -%}{{- '<|im_start|>system\\nCall tools in <tool_call></tool_call>.<|im_end|>\\n' -}}{%- endif -%}" +
		closedThinkingTemplate
)

func tagsOf(t *testing.T, src string) thinkingTags {
	t.Helper()
	tmpl, err := chattemplate.Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	return detectThinking(tmpl.Render, src)
}

func TestDetectThinkingFindsTheTemplatesTags(t *testing.T) {
	for name, c := range map[string]struct {
		src  string
		want thinkingTags
	}{
		"opens in the generation prompt": {openThinkingTemplate, thinkingTags{"<think>\n", "\n</think>\n\n"}},
		"model writes both tags":         {closedThinkingTemplate, thinkingTags{"<think>\n", "\n</think>\n\n"}},
		"DeepSeek-R1 style":              {r1StyleTemplate, thinkingTags{"<think>", "</think>"}},
		"SmolLM3 style":                  {smolStyleTemplate, thinkingTags{"<think>", "</think>"}},
		"ChatML does not think":          {defaultJinjaTemplate, thinkingTags{}},
	} {
		if got := tagsOf(t, c.src); got != c.want {
			t.Errorf("%s: tags %q, want %q", name, got, c.want)
		}
	}
}

type splitCase struct {
	name               string
	r                  *thinkingReply
	output             string
	reasoning, content string
}

// splitCases are replies and how llama-server (this release) read them, for the same template and output.
func splitCases(t *testing.T) []splitCase {
	open := tagsOf(t, openThinkingTemplate).reply("<|im_start|>assistant\n<think>\n", true)
	closed := tagsOf(t, closedThinkingTemplate).reply("<|im_start|>assistant\n", true)
	openNone := tagsOf(t, openThinkingTemplate).reply("<|im_start|>assistant\n<think>\n", false)
	closedNone := tagsOf(t, closedThinkingTemplate).reply("<|im_start|>assistant\n", false)
	thinkingOff := tagsOf(t, openThinkingTemplate).reply("<|im_start|>assistant\n<think>\n\n</think>\n\n", false)
	xml := tagsOf(t, openThinkingTemplate).reply("<|im_start|>assistant\n<think>\n", true)
	xml.readAsXMLFamily("<tool_call>")
	return []splitCase{
		// Qwen3.5 and Nemotron 3 Nano, read by llama-server's Qwen3-Coder parser.
		{"XML family: a call marker ends the reasoning", xml, " abc <tool_call>\n<function=f>", "abc ", "<tool_call>\n<function=f>"},
		{"XML family: whitespace after either tag is skipped", xml, "  abc\n</think>\n\n  hello", "abc\n", "hello"},
		{"XML family: the first of the two ends it", xml, "abc</think>x<tool_call>", "abc", "x<tool_call>"},
		{"XML family: cut inside the call marker", xml, "abc<tool_c", "abc", ""},
		{"closing tag only", open, "abc def\n</think>\n\nhello world", "abc def\n", "hello world"},
		{"never closed", open, ` "[wi notgood`, ` "[wi notgood`, ""},
		{"cut inside the closing tag", open, "abc</th", "abc", ""},
		{"only newlines of the tag are optional", open, "abc</think> ", "abc", " "},
		{"a second closing tag is content", open, "abc</think>x</think>y", "abc", "x</think>y"},
		{"whitespace after the opened tag is reasoning", open, "\n\nhello", "\n\nhello", ""},
		{"both tags", closed, "<think>\nabc\n</think>\n\nhello", "abc\n", "hello"},
		{"leading whitespace skipped", closed, "  <think>abc</think>hello", "abc", "hello"},
		{"empty reasoning is none", closed, "<think>\n\n</think>\n\n\n hello", "", "\n hello"},
		{"a tag later on is content", closed, "hello <think>x</think> y", "", "hello <think>x</think> y"},
		{"no tags", closed, "\n\nhello", "", "hello"},
		{"none keeps the opened tag", openNone, "abc</think>hi", "", "<think>\nabc</think>hi"},
		{"none still skips leading whitespace", closedNone, "\n\nhello", "", "hello"},
		{"none with thinking off", thinkingOff, "abc", "", "<think>\n\n</think>\n\nabc"},
	}
}

func TestThinkingReplySplitsAsLlamaServer(t *testing.T) {
	for _, c := range splitCases(t) {
		reasoning, content := c.r.split(c.output)
		if reasoning != c.reasoning || content != c.content {
			t.Errorf("%s: %q gave reasoning %q, content %q; want %q, %q", c.name, c.output, reasoning, content, c.reasoning, c.content)
		}
	}
}

// However a reply arrives, in two pieces cut anywhere or a byte at a time, its stream sends what the
// whole reply reads as.
func TestStreamedThinkingMatchesTheWholeReply(t *testing.T) {
	for _, c := range splitCases(t) {
		cuts := [][]string{strings.Split(c.output, "")}
		for i := range len(c.output) {
			cuts = append(cuts, []string{c.output[:i], c.output[i:]})
		}
		for _, pieces := range cuts {
			s := (&replyFormat{thinking: c.r}).stream()
			var reasoning, content strings.Builder
			for _, p := range pieces {
				r, text := s.feed(p)
				reasoning.WriteString(r)
				content.WriteString(text)
			}
			if reasoning.String() != c.reasoning || content.String() != c.content {
				t.Errorf("%s in pieces %q: streamed reasoning %q, content %q; want %q, %q", c.name, pieces,
					reasoning.String(), content.String(), c.reasoning, c.content)
				break
			}
		}
	}
}

// streamedChunks feeds pieces to a chat chunker for r, ends the reply at an end of generation, and returns
// the chunks it sent as one JSON array.
func streamedChunks(t *testing.T, r *replyFormat, pieces []string) []byte {
	t.Helper()
	c := newChatChunker("m", genParams{}, r)
	var events []any
	for _, piece := range pieces {
		switch ev := c.text(event{text: piece}).(type) {
		case nil:
		case []any:
			events = append(events, ev...)
		default:
			events = append(events, ev)
		}
	}
	events = append(events, c.final(&result{choices: []choiceEnd{{finishReason: finishStop, stopType: stopTypeEOS}}})...)
	raw, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// streamed feeds pieces to a chat chunker for r and returns the deltas of its chunks, in order.
func streamed(t *testing.T, r *replyFormat, pieces []string) []map[string]any {
	t.Helper()
	raw := streamedChunks(t, r, pieces)
	var chunks []struct {
		Choices []struct {
			Delta map[string]any `json:"delta"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(raw, &chunks); err != nil {
		t.Fatal(err)
	}
	var deltas []map[string]any
	for _, ch := range chunks {
		for _, c := range ch.Choices {
			deltas = append(deltas, c.Delta)
		}
	}
	return deltas
}

func TestStreamedReasoningComesInItsOwnDeltas(t *testing.T) {
	r := &replyFormat{thinking: tagsOf(t, openThinkingTemplate).reply("<|im_start|>assistant\n<think>\n", true)}
	pieces := []string{"let me", " think\n</", "thi", "nk>\n", "\nHello", " there"}
	var reasoning, content strings.Builder
	for _, d := range streamed(t, r, pieces) {
		if s, ok := d["reasoning_content"].(string); ok {
			if content.Len() > 0 {
				t.Errorf("reasoning %q after content began", s)
			}
			reasoning.WriteString(s)
		}
		if s, ok := d["content"].(string); ok {
			content.WriteString(s)
		}
	}
	msg, _ := r.message(strings.Join(pieces, ""), finishStop)
	if reasoning.String() != "let me think\n" || content.String() != "Hello there" ||
		msg["reasoning_content"] != reasoning.String() || msg["content"] != content.String() {
		t.Errorf("streamed reasoning %q, content %q; whole reply %v", reasoning.String(), content.String(), msg)
	}
}

func TestReasoningIsReadBeforeToolCalls(t *testing.T) {
	tags := tagsOf(t, hermesThinkingTemplate)
	r := &replyFormat{family: toolcall.Hermes, parallel: true, thinking: tags.reply("<|im_start|>assistant\n", true)}
	out := "<think>\nI need the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	msg, finish := r.message(out, finishStop)
	calls, _ := msg["tool_calls"].([]map[string]any)
	if finish != finishToolCalls || len(calls) != 1 || msg["content"] != "" || msg["reasoning_content"] != "I need the weather.\n" {
		t.Errorf("finish %q, message %v", finish, msg)
	}
	var reasoning strings.Builder
	var streamedCalls int
	for _, d := range streamed(t, r, []string{out[:20], out[20:60], out[60:]}) {
		if s, ok := d["reasoning_content"].(string); ok {
			reasoning.WriteString(s)
		}
		if _, ok := d["tool_calls"]; ok {
			streamedCalls++
		}
		if s, _ := d["content"].(string); strings.Contains(s, "tool_call") || strings.Contains(s, "think") {
			t.Errorf("a marker leaked into the streamed content: %q", s)
		}
	}
	if reasoning.String() != "I need the weather.\n" || streamedCalls != 1 {
		t.Errorf("streamed reasoning %q and %d calls", reasoning.String(), streamedCalls)
	}
}

// A random model writes no closing tag, so these requests constrain the output with a grammar.
func TestChatPutsReasoningInReasoningContent(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	grammar := `root ::= "plan it" "\n</think>\n\n" "done"`
	for format, want := range map[string]struct{ reasoning, content string }{
		"":                {"plan it\n", "done"},
		"auto":            {"plan it\n", "done"},
		"deepseek":        {"plan it\n", "done"},
		"deepseek-legacy": {"plan it\n", "done"},
		"none":            {"", "<think>\nplan it\n</think>\n\ndone"},
	} {
		extra := map[string]any{"grammar": grammar, "max_tokens": 32}
		if format != "" {
			extra["reasoning_format"] = format
		}
		var out struct {
			Choices []struct {
				Message map[string]any `json:"message"`
			} `json:"choices"`
		}
		f.postOK(t, "/v1/chat/completions", chatBody("hi", extra), &out)
		msg := out.Choices[0].Message
		reasoning, has := msg["reasoning_content"]
		if msg["content"] != want.content || (want.reasoning == "" && has) || (want.reasoning != "" && reasoning != want.reasoning) {
			t.Errorf("reasoning_format %q: message %v, want reasoning %q and content %q", format, msg, want.reasoning, want.content)
		}
	}
	f.expectRefusal(t, "/v1/chat/completions", chatBody("hi", map[string]any{"reasoning_format": "bogus"}), `"reasoning_format"`)
	events, _ := f.streamEvents(t, "/v1/chat/completions", chatBody("hi", map[string]any{"grammar": grammar, "max_tokens": 32}))
	var reasoning, content strings.Builder
	for _, raw := range events {
		var ch struct {
			Choices []struct {
				Delta struct {
					Reasoning *string `json:"reasoning_content"`
					Content   *string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(raw, &ch); err != nil || len(ch.Choices) == 0 {
			continue
		}
		if d := ch.Choices[0].Delta; d.Reasoning != nil {
			reasoning.WriteString(*d.Reasoning)
		} else if d.Content != nil {
			content.WriteString(*d.Content)
		}
	}
	if reasoning.String() != "plan it\n" || content.String() != "done" {
		t.Errorf("stream: reasoning %q, content %q", reasoning.String(), content.String())
	}
}

func TestReasoningFormatFlagIsTheDefault(t *testing.T) {
	model := templateModel(t, openThinkingTemplate)
	f := &fixture{base: serveRunner(t, Config{ModelPath: model, CtxSize: 4096, Seed: testSeed, NPredict: -1, ReasoningFormat: "none"})}
	var out chatReply
	f.postOK(t, "/v1/chat/completions", chatBody("hi", map[string]any{"grammar": `root ::= "a</think>b"`, "max_tokens": 16}), &out)
	if got := out.Choices[0].Message.Content; got != "<think>\na</think>b" {
		t.Errorf("--reasoning-format none: content %q, want the reasoning left in it", got)
	}
	if _, err := (Config{ModelPath: model, ReasoningFormat: "r1"}).withDefaults(); err == nil {
		t.Error("--reasoning-format r1 was accepted")
	}
}

func TestEarlierReasoningIsShownToTheTemplate(t *testing.T) {
	f := serveTemplate(t, closedThinkingTemplate)
	body := map[string]any{"messages": []map[string]any{{"role": "user", "content": "hi"},
		{"role": "assistant", "content": "yo", "reasoning_content": "greet back"}, {"role": "user", "content": "ok"}}}
	if got := applyTemplate(t, f, body); !strings.Contains(got, "<think>\ngreet back\n</think>\n\nyo") {
		t.Errorf("prompt %q lacks the earlier reply's reasoning", got)
	}
	status, _ := f.post(t, "/v1/chat/completions", map[string]any{"messages": body["messages"], "max_tokens": 2})
	if status != http.StatusOK {
		t.Errorf("chat with an earlier reasoning_content: status %d", status)
	}
}

// The prompts are llama-server's (this release) for the same templates and conversations.
func TestContinuedReplyOpensAndClosesTheReasoning(t *testing.T) {
	for _, tmpl := range []string{openThinkingTemplate, closedThinkingTemplate} {
		f := serveTemplate(t, tmpl)
		for _, c := range []struct {
			last map[string]any
			want string
		}{
			{map[string]any{"role": "assistant", "content": "Hello the"}, "<|im_start|>assistant\n<think>\n\n</think>\n\nHello the"},
			{map[string]any{"role": "assistant", "content": "", "reasoning_content": "Let me"}, "<|im_start|>assistant\n<think>\nLet me"},
		} {
			body := map[string]any{"messages": []map[string]any{{"role": "user", "content": "hi"}, c.last}}
			if got := applyTemplate(t, f, body); got != "<|im_start|>user\nhi<|im_end|>\n"+c.want {
				t.Errorf("continuing %v: prompt %q, want it to end %q", c.last, got, c.want)
			}
		}
	}
}
