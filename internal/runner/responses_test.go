package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// responseObject is the part of a Responses API object the tests read.
type responseObject struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	CreatedAt         int64  `json:"created_at"`
	Status            string `json:"status"`
	Model             string `json:"model"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Output []struct {
		Type    string `json:"type"`
		ID      string `json:"id"`
		Status  string `json:"status"`
		Role    string `json:"role"`
		Content []struct {
			Type        string `json:"type"`
			Text        string `json:"text"`
			Annotations []any  `json:"annotations"`
		} `json:"content"`
	} `json:"output"`
	Usage struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

// text is the response's output text, checking that the output is one assistant message.
func (r responseObject) text(t *testing.T) string {
	t.Helper()
	if len(r.Output) != 1 || r.Output[0].Type != "message" || r.Output[0].Role != "assistant" ||
		!strings.HasPrefix(r.Output[0].ID, "msg_") || len(r.Output[0].Content) != 1 ||
		r.Output[0].Content[0].Type != "output_text" || r.Output[0].Content[0].Annotations == nil {
		t.Fatalf("output is not one assistant message with one output_text part: %+v", r.Output)
	}
	return r.Output[0].Content[0].Text
}

func TestResponsesWholeAnswerShapeAndUsage(t *testing.T) {
	f := runnerFor(t, false)
	var r responseObject
	f.postOK(t, "/v1/responses", map[string]any{"input": "hello world", "max_output_tokens": 9,
		"ignore_eos": true, "temperature": 1.0, "seed": 3}, &r)
	if !strings.HasPrefix(r.ID, "resp_") || r.Object != "response" || r.CreatedAt == 0 || r.Model != "tiny" {
		t.Fatalf("response %+v", r)
	}
	if r.Status != responseIncomplete || r.IncompleteDetails == nil || r.IncompleteDetails.Reason != "max_output_tokens" {
		t.Fatalf("status %q, incomplete_details %+v after max_output_tokens, want incomplete/max_output_tokens",
			r.Status, r.IncompleteDetails)
	}
	if r.text(t) == "" || r.Output[0].Status != responseIncomplete {
		t.Fatalf("output %+v", r.Output)
	}
	want := f.tokenCount(t, chatML("user", "hello world"))
	u := r.Usage
	if u.InputTokens != want || u.OutputTokens != 9 || u.TotalTokens != want+9 {
		t.Fatalf("usage %+v, want %d input tokens (from /tokenize), 9 output", u, want)
	}
}

// TestResponsesCompletedAtStopString stops the same seeded generation inside its text: the response is then
// completed, not incomplete, and its text ends before the stop string.
func TestResponsesCompletedAtStopString(t *testing.T) {
	f := runnerFor(t, false)
	body := func(extra map[string]any) map[string]any {
		b := map[string]any{"input": "tell me", "max_output_tokens": 24, "ignore_eos": true, "seed": 11, "temperature": 1.0}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	var full responseObject
	f.postOK(t, "/v1/responses", body(nil), &full)
	text := full.text(t)
	if len(text) < 8 {
		t.Fatalf("reply %q too short to cut", text)
	}
	stop := text[len(text)/2 : len(text)/2+2]
	var cut responseObject
	f.postOK(t, "/v1/responses", body(map[string]any{"stop": stop}), &cut)
	if cut.Status != responseCompleted || cut.IncompleteDetails != nil {
		t.Fatalf("status %q (%+v) at a stop string, want completed", cut.Status, cut.IncompleteDetails)
	}
	if got, want := cut.text(t), text[:strings.Index(text, stop)]; got != want {
		t.Fatalf("text %q, want %q (the full reply %q cut at %q)", got, want, text, stop)
	}
}

func TestResponsesStreamEvents(t *testing.T) {
	f := runnerFor(t, false)
	body := func() map[string]any {
		return map[string]any{"input": "hello world", "max_output_tokens": 12, "ignore_eos": true, "seed": 5, "temperature": 1.0}
	}
	var whole responseObject
	f.postOK(t, "/v1/responses", body(), &whole)
	events := f.typedEvents(t, "/v1/responses", body())

	wantNames := []string{"response.created", "response.in_progress", "response.output_item.added",
		"response.content_part.added"}
	got := names(events)
	if len(got) < len(wantNames)+5 || strings.Join(got[:4], " ") != strings.Join(wantNames, " ") {
		t.Fatalf("events %v", got)
	}
	tail := []string{"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"}
	if strings.Join(got[len(got)-4:], " ") != strings.Join(tail, " ") {
		t.Fatalf("stream ends with %v, want %v", got[len(got)-4:], tail)
	}
	var deltas strings.Builder
	for i, ev := range events {
		var d struct {
			Type           string `json:"type"`
			SequenceNumber *int   `json:"sequence_number"`
			Delta          string `json:"delta"`
			Text           string `json:"text"`
			ItemID         string `json:"item_id"`
		}
		if err := json.Unmarshal(ev.data, &d); err != nil {
			t.Fatal(err)
		}
		if d.Type != ev.name || d.SequenceNumber == nil || *d.SequenceNumber != i {
			t.Fatalf("event %d %s: type %q, sequence_number %v, want the event's name and %d", i, ev.name, d.Type, d.SequenceNumber, i)
		}
		switch {
		case i >= 4 && i < len(events)-4:
			if ev.name != "response.output_text.delta" || d.ItemID == "" {
				t.Fatalf("event %d: %s %s, want an output_text.delta", i, ev.name, ev.data)
			}
			deltas.WriteString(d.Delta)
		case ev.name == "response.output_text.done" && d.Text != deltas.String():
			t.Fatalf("output_text.done text %q, deltas %q", d.Text, deltas.String())
		}
	}
	var last struct {
		Response responseObject `json:"response"`
	}
	if err := json.Unmarshal(events[len(events)-1].data, &last); err != nil {
		t.Fatal(err)
	}
	if last.Response.Status != responseIncomplete || last.Response.text(t) != deltas.String() {
		t.Fatalf("final response %+v, deltas %q", last.Response, deltas.String())
	}
	if deltas.String() != whole.text(t) {
		t.Fatalf("streamed %q, whole %q with the same seed", deltas.String(), whole.text(t))
	}
	if last.Response.Usage != whole.Usage {
		t.Fatalf("streamed usage %+v, whole %+v", last.Response.Usage, whole.Usage)
	}
}

// TestResponsesInputItemsFormatAsChat checks the conversion of instructions and input items by the prompt's
// length: /v1/responses/input_tokens must count exactly the ChatML text the items stand for.
func TestResponsesInputItemsFormatAsChat(t *testing.T) {
	f := runnerFor(t, false)
	input := []any{
		map[string]any{"role": "developer", "content": "be brief"},
		map[string]any{"type": "message", "role": "user", "content": []any{
			map[string]any{"type": "input_text", "text": "first"}, map[string]any{"type": "input_text", "text": "second"}}},
		map[string]any{"type": "message", "role": "assistant", "content": []any{map[string]any{"type": "output_text", "text": "yes"}}},
		map[string]any{"role": "assistant", "content": "ok"},
		map[string]any{"role": "user", "content": "what now"},
	}
	want := f.tokenCount(t, chatML("system", "say hi", "system", "be brief", "user", "first\nsecond",
		"assistant", "yes\nok", "user", "what now"))
	var counted struct {
		Object      string `json:"object"`
		InputTokens int    `json:"input_tokens"`
	}
	f.postOK(t, "/v1/responses/input_tokens", map[string]any{"instructions": "say hi", "input": input}, &counted)
	if counted.Object != "response.input_tokens" || counted.InputTokens != want {
		t.Fatalf("input_tokens answer %+v, want %d tokens", counted, want)
	}
	var r responseObject
	f.postOK(t, "/v1/responses", map[string]any{"instructions": "say hi", "input": input, "max_output_tokens": 2}, &r)
	if r.Usage.InputTokens != want {
		t.Fatalf("usage.input_tokens %d, want %d", r.Usage.InputTokens, want)
	}
}

func TestResponsesRefusesWhatItCannotHonour(t *testing.T) {
	f := runnerFor(t, false)
	cases := []struct {
		name  string
		extra map[string]any
		field string
	}{
		{"stored state", map[string]any{"previous_response_id": "resp_1"}, "previous_response_id"},
		{"conversation", map[string]any{"conversation": "conv_1"}, "conversation"},
		{"hosted tool", map[string]any{"tools": []any{map[string]any{"type": "web_search"}}}, "tools[0]"},
		{"hosted tool choice", map[string]any{"tool_choice": map[string]any{"type": "file_search"}}, "tool_choice"},
		{"reasoning summary", map[string]any{"reasoning": map[string]any{"effort": "high", "summary": "detailed"}}, "reasoning.summary"},
		{"encrypted reasoning", map[string]any{"input": []any{map[string]any{"role": "user", "content": "hi"},
			map[string]any{"type": "reasoning", "summary": []any{}, "encrypted_content": "gAAA"}}}, "input[1].encrypted_content"},
		{"background", map[string]any{"background": true}, "background"},
		{"top_logprobs", map[string]any{"top_logprobs": 3}, "top_logprobs"},
		{"truncation", map[string]any{"truncation": "auto"}, "truncation"},
		{"image input", map[string]any{"input": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "input_image", "image_url": "http://x/y.png"}}}}}, "input[0].content[0]"},
		{"image in a function call's output", map[string]any{"input": []any{map[string]any{"type": "function_call_output",
			"call_id": "c", "output": []any{map[string]any{"type": "input_image", "image_url": "http://x/y.png"}}}}}, "input[0].output[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{"input": "hi", "max_output_tokens": 2}
			for k, v := range c.extra {
				body[k] = v
			}
			status, raw := f.post(t, "/v1/responses", body)
			msg, typ := errorOf(t, raw)
			if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, `"`+c.field+`"`) ||
				!strings.Contains(msg, "not supported") {
				t.Fatalf("status %d, %s: %q; want 400 naming %q as not supported", status, typ, msg, c.field)
			}
		})
	}
}

func TestResponsesAcceptsNeutralValues(t *testing.T) {
	f := runnerFor(t, false)
	body := map[string]any{"input": "hi", "max_output_tokens": 2, "tools": []any{}, "tool_choice": "auto",
		"store": true, "truncation": "disabled", "reasoning": nil, "text": map[string]any{"format": map[string]any{"type": "text"}},
		"metadata": map[string]string{"k": "v"}, "user": "u1", "parallel_tool_calls": true}
	var r struct {
		responseObject
		Metadata map[string]string `json:"metadata"`
	}
	f.postOK(t, "/v1/responses", body, &r)
	if r.Metadata["k"] != "v" {
		t.Fatalf("metadata not echoed: %+v", r.Metadata)
	}
}

func TestResponsesBadInput(t *testing.T) {
	f := runnerFor(t, false)
	for _, body := range []map[string]any{
		{"max_output_tokens": 2},
		{"input": 5},
		{"input": []any{}},
		{"input": []any{"text"}},
		{"input": []any{map[string]any{"role": "tool", "content": "x"}}},
		{"input": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "input_text"}}}}},
		{"input": "hi", "max_output_tokens": -5},
	} {
		status, raw := f.post(t, "/v1/responses", body)
		if status != http.StatusBadRequest {
			t.Fatalf("%v: status %d %s, want 400", body, status, raw)
		}
		if msg, _ := errorOf(t, raw); body["max_output_tokens"] == -5 && !strings.Contains(msg, `"max_output_tokens"`) {
			t.Fatalf("%q does not name max_output_tokens", msg)
		}
	}
}

// TestResponsesMatchLlamaServer sends the same greedy request to the runner and to the real llama-server on
// the same model: the text, the token counts and the input token count must agree. The status differs by
// design: llama-server says completed where max_output_tokens cut the reply.
func TestResponsesMatchLlamaServer(t *testing.T) {
	f := runnerFor(t, false)
	model, err := testModel()
	if err != nil {
		t.Fatal(err)
	}
	ls := realLlamaServer(t, model, "-c", "8192", "-np", "4")
	body := func() map[string]any {
		return map[string]any{"instructions": "be brief", "max_output_tokens": 12, "temperature": 0,
			"input": []any{map[string]any{"role": "user", "content": "hello world"}}}
	}
	var ours, theirs responseObject
	f.postOK(t, "/v1/responses", body(), &ours)
	ls.postOK(t, "/v1/responses", body(), &theirs)
	if ours.text(t) != theirs.text(t) || ours.Usage != theirs.Usage {
		t.Fatalf("runner %q %+v, llama-server %q %+v", ours.text(t), ours.Usage, theirs.text(t), theirs.Usage)
	}
	if ours.Status != responseIncomplete || theirs.Status != responseCompleted {
		t.Fatalf("status %q, llama-server %q: the documented difference changed", ours.Status, theirs.Status)
	}
	var ourCount, theirCount map[string]any
	f.postOK(t, "/v1/responses/input_tokens", body(), &ourCount)
	ls.postOK(t, "/v1/responses/input_tokens", body(), &theirCount)
	if ourCount["input_tokens"] != theirCount["input_tokens"] || ourCount["object"] != theirCount["object"] {
		t.Fatalf("input_tokens %v, llama-server %v", ourCount, theirCount)
	}
	// (last: llama-server closes the connection after a stream, which a client reusing it would see as EOF)
	// streamed: the same events in the same order, but for the final one's name
	ourEvents, theirEvents := names(f.typedEvents(t, "/v1/responses", body())), names(ls.typedEvents(t, "/v1/responses", body()))
	if n := len(ourEvents); n > 0 && ourEvents[n-1] == "response.incomplete" {
		ourEvents[n-1] = "response.completed"
	}
	if strings.Join(ourEvents, " ") != strings.Join(theirEvents, " ") {
		t.Fatalf("events %v\nllama-server %v", ourEvents, theirEvents)
	}
}
