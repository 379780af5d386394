package runner

import (
	"encoding/json"
	"strings"
	"testing"

	"custos/internal/chattemplate"
)

func TestContinuationWritesThePartTheModeAsksFor(t *testing.T) {
	tags := thinkingTags{"<think>\n", "\n</think>\n\n"}
	opening := "<|im_start|>assistant\n<think>\n"
	both := chattemplate.Message{Role: "assistant", Content: "Hello", ReasoningContent: "Let me"}
	reasoningOnly := chattemplate.Message{Role: "assistant", ReasoningContent: "Let me"}
	for name, c := range map[string]struct {
		tags thinkingTags
		m    chattemplate.Message
		mode continueMode
		want string
	}{
		"auto continues the content":               {tags, both, continueAuto, "<|im_start|>assistant\n<think>\nLet me\n</think>\n\nHello"},
		"auto continues a reasoning only":          {tags, reasoningOnly, continueAuto, "<|im_start|>assistant\n<think>\nLet me"},
		"content closes a reasoning only":          {tags, reasoningOnly, continueContent, "<|im_start|>assistant\n<think>\nLet me\n</think>\n\n"},
		"reasoning leaves the content out":         {tags, both, continueReasoning, "<|im_start|>assistant\n<think>\nLet me"},
		"no reasoning mode: the content":           {thinkingTags{}, both, continueAuto, opening + "Hello"},
		"no reasoning mode: reasoning, no content": {thinkingTags{}, both, continueReasoning, opening},
	} {
		if got := c.tags.continuation(opening, c.m, c.mode); got != c.want {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}

func TestContinueFinalMessageIsCheckedAsLlamaServerChecksIt(t *testing.T) {
	f := runnerFor(t, false)
	conversation := []map[string]any{{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello the"}}
	for _, c := range []struct {
		extra map[string]any
		want  string
	}{
		{map[string]any{"continue_final_message": true}, "Cannot set both add_generation_prompt and continue_final_message to true."},
		{map[string]any{"continue_final_message": "all", "add_generation_prompt": false}, `"continue_final_message" must be true, false`},
	} {
		body := map[string]any{"messages": conversation, "max_tokens": 2}
		for k, v := range c.extra {
			body[k] = v
		}
		f.expectRefusal(t, "/v1/chat/completions", body, c.want)
	}
	f.expectRefusal(t, "/v1/chat/completions", map[string]any{"messages": conversation[:1], "max_tokens": 2,
		"continue_final_message": true, "add_generation_prompt": false}, "needs a conversation that ends with an assistant message")
	var out struct{ Prompt string }
	f.postOK(t, "/apply-template", map[string]any{"messages": conversation, "continue_final_message": "content", "add_generation_prompt": false}, &out)
	if want := "Hello the"; len(out.Prompt) < len(want) || out.Prompt[len(out.Prompt)-len(want):] != want {
		t.Errorf("the prompt continuing the content: %q, want it to end with %q", out.Prompt, want)
	}
}

func TestAContinuedChatReplyStartsWithTheMessageItContinues(t *testing.T) {
	r := &replyFormat{continued: "Well, "}
	if msg, _ := r.message("hi", finishStop); msg["content"] != "Well, hi" {
		t.Errorf("whole reply %v, want the content \"Well, hi\"", msg)
	}
	s := r.stream()
	if _, c := s.feed("h"); c != "Well, h" {
		t.Errorf("first streamed piece %q, want \"Well, h\"", c)
	}
	if _, c := s.feed("i"); c != "i" {
		t.Errorf("second streamed piece %q, want \"i\"", c)
	}
	thinking := &replyFormat{thinking: thinkingTags{"<think>\n", "\n</think>\n\n"}.reply("<|im_start|>assistant\n<think>\nLet me", true)}
	if reasoning, _ := thinking.answer(" see"); reasoning != "Let me see" {
		t.Errorf("continued reasoning %q, want \"Let me see\"", reasoning)
	}
}

// llama-server's chat repeats the continued message; Anthropic's Messages API gives only what the model
// wrote after a prefilled assistant turn, which the runner keeps there.
func TestOnlyChatRepeatsTheContinuedMessage(t *testing.T) {
	f := runnerFor(t, false)
	conversation := []map[string]any{{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Well, "}}
	var chat struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	f.postOK(t, "/v1/chat/completions", map[string]any{"messages": conversation, "max_tokens": 4}, &chat)
	if len(chat.Choices) != 1 || !strings.HasPrefix(chat.Choices[0].Message.Content, "Well, ") {
		t.Errorf("chat continuing \"Well, \": %+v, want content starting with it", chat)
	}
	var msg struct {
		Content []struct{ Text string } `json:"content"`
	}
	f.postOK(t, "/v1/messages", map[string]any{"model": "m", "messages": conversation, "max_tokens": 4, "temperature": 0}, &msg)
	if len(msg.Content) > 0 && strings.HasPrefix(msg.Content[0].Text, "Well, ") {
		t.Errorf("messages continuing \"Well, \": %+v, want only what the model wrote", msg)
	}
}

// continuedReasoning is a conversation whose final assistant message holds reasoning only, and a grammar
// that goes on with it, closes it and answers (a random model would never close it).
var continuedReasoning = struct {
	user, last map[string]any
	grammar    string
}{
	map[string]any{"role": "user", "content": "hi"},
	map[string]any{"role": "assistant", "content": "", "reasoning_content": "Let me"},
	`root ::= " plan" "\n</think>\n\n" "done"`,
}

// A reply that continues a message's reasoning is read as reasoning on every route: chat repeats the
// message, the Anthropic and Responses routes give only what the model wrote, and none of them takes
// the end of the reasoning for content.
func TestEveryRouteReadsTheReasoningItContinues(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	c := continuedReasoning
	var chat thinkingAnswer
	f.postOK(t, "/v1/chat/completions", map[string]any{"messages": []any{c.user, c.last}, "max_tokens": 32, "grammar": c.grammar}, &chat)
	if len(chat.Choices) != 1 || chat.Choices[0].Message.ReasoningContent != "Let me plan\n" || chat.Choices[0].Message.Content != "done" {
		t.Errorf("chat: %+v, want the reasoning \"Let me plan\\n\" and the content \"done\"", chat.Choices)
	}

	// The Messages API takes no grammar (nor does llama-server's): a random model's reasoning never closes,
	// and at temperature 0 it is what chat repeats after the message.
	f.postOK(t, "/v1/chat/completions", map[string]any{"messages": []any{c.user, c.last}, "max_tokens": 8, "temperature": 0}, &chat)
	repeated := ""
	if len(chat.Choices) == 1 {
		repeated = chat.Choices[0].Message.ReasoningContent
	}
	var msg struct {
		Content []anthropicBlockReply `json:"content"`
	}
	thinkingBlock := []any{map[string]any{"type": "thinking", "thinking": "Let me", "signature": ""}}
	messages := func() map[string]any {
		return map[string]any{"model": "tiny", "max_tokens": 8, "temperature": 0,
			"messages": []any{c.user, map[string]any{"role": "assistant", "content": thinkingBlock}}}
	}
	f.postOK(t, "/v1/messages", messages(), &msg)
	if len(msg.Content) != 1 || msg.Content[0].Type != "thinking" || msg.Content[0].Thinking == "" ||
		"Let me"+msg.Content[0].Thinking != repeated {
		t.Errorf("messages: %+v, want one thinking block, what chat's reasoning %q holds after \"Let me\"", msg.Content, repeated)
	}
	var thinking, text strings.Builder
	for _, ev := range f.typedEvents(t, "/v1/messages", messages()) {
		var d anthropicEventData
		if err := json.Unmarshal(ev.data, &d); err != nil {
			t.Fatal(err)
		}
		thinking.WriteString(d.Delta.Thinking)
		text.WriteString(d.Delta.Text)
	}
	if "Let me"+thinking.String() != repeated || text.String() != "" {
		t.Errorf("messages streamed: thinking %q, text %q, want the thinking after \"Let me\" in %q and no text", thinking.String(), text.String(), repeated)
	}

	var resp reasoningResponse
	f.postOK(t, "/v1/responses", map[string]any{"max_output_tokens": 32, "grammar": c.grammar, "input": []any{
		map[string]any{"role": "user", "content": "hi"},
		map[string]any{"type": "reasoning", "summary": []any{}, "content": []any{map[string]any{"type": "reasoning_text", "text": "Let me"}}},
	}}, &resp)
	out := resp.Output
	if len(out) != 2 || out[0].Type != "reasoning" || len(out[0].Content) != 1 || out[0].Content[0].Text != " plan\n" ||
		out[1].Type != "message" || len(out[1].Content) != 1 || out[1].Content[0].Text != "done" {
		t.Errorf("responses: %+v, want a reasoning item \" plan\\n\" and a message \"done\"", out)
	}
}

// continue_final_message true continues the reasoning of a message that holds reasoning only, and reads
// the reply from there, as llama-server resolves it by the message.
func TestContinueFinalMessageTrueReadsAReasoningOnlyMessageAsReasoning(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	c := continuedReasoning
	var chat thinkingAnswer
	f.postOK(t, "/v1/chat/completions", map[string]any{"messages": []any{c.user, c.last}, "max_tokens": 32, "grammar": c.grammar,
		"continue_final_message": true, "add_generation_prompt": false}, &chat)
	if len(chat.Choices) != 1 || chat.Choices[0].Message.ReasoningContent != " plan\n" || chat.Choices[0].Message.Content != "done" {
		t.Errorf("chat: %+v, want the reasoning \" plan\\n\" and the content \"done\"", chat.Choices)
	}
}
