package runner

import (
	"encoding/json"
	"strings"
	"testing"
)

// personSchema bounds every string, so that even a random model finishes its document.
const personSchema = `{"type":"object","properties":{
	"name":{"type":"string","minLength":1,"maxLength":12},
	"age":{"type":"integer","minimum":0,"maximum":120},
	"role":{"enum":["admin","user"]},
	"active":{"type":"boolean"},
	"tags":{"type":"array","items":{"type":"string","maxLength":5},"maxItems":2}},
	"required":["name","age","role","active"],"additionalProperties":false}`

// checkPerson fails the test unless text is a JSON object valid against personSchema.
func checkPerson(t *testing.T, text string) {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("output %q is not a JSON object: %v", text, err)
	}
	var p struct {
		Name   *string  `json:"name"`
		Age    *float64 `json:"age"`
		Role   *string  `json:"role"`
		Active *bool    `json:"active"`
		Tags   []string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		t.Fatalf("output %q has a property of the wrong type: %v", text, err)
	}
	switch {
	case p.Name == nil || p.Age == nil || p.Role == nil || p.Active == nil:
		t.Fatalf("output %q lacks a required property", text)
	case len([]rune(*p.Name)) < 1 || len([]rune(*p.Name)) > 12:
		t.Fatalf("output %q: name of %d characters", text, len([]rune(*p.Name)))
	case *p.Age != float64(int(*p.Age)) || *p.Age < 0 || *p.Age > 120:
		t.Fatalf("output %q: age %v is not an integer in [0, 120]", text, *p.Age)
	case *p.Role != "admin" && *p.Role != "user":
		t.Fatalf("output %q: role %q", text, *p.Role)
	case len(p.Tags) > 2:
		t.Fatalf("output %q: %d tags", text, len(p.Tags))
	}
	for k := range doc {
		if !strings.Contains("name age role active tags", k) {
			t.Fatalf("output %q: property %q the schema forbids", text, k)
		}
	}
}

func TestJSONSchemaConstrainsEveryEndpoint(t *testing.T) {
	f := runnerFor(t, false)
	schema := json.RawMessage(personSchema)
	sampling := map[string]any{"temperature": 0.8, "max_tokens": 400}
	for seed := 1; seed <= 3; seed++ {
		with := func(extra map[string]any) map[string]any {
			body := map[string]any{"seed": seed}
			for k, v := range sampling {
				body[k] = v
			}
			for k, v := range extra {
				body[k] = v
			}
			return body
		}
		var native nativeReply
		f.postOK(t, "/completion", with(map[string]any{"prompt": "A person:", "json_schema": schema}), &native)
		if native.StopType != stopTypeEOS {
			t.Fatalf("seed %d, /completion: stop_type %q, want eos; content %q", seed, native.StopType, native.Content)
		}
		checkPerson(t, native.Content)
		t.Logf("seed %d, /completion: %s", seed, native.Content)

		var chat chatReply
		f.postOK(t, "/v1/chat/completions", chatBody("Describe a person", with(map[string]any{
			"response_format": map[string]any{"type": "json_schema",
				"json_schema": map[string]any{"name": "person", "strict": seed%2 == 0, "schema": schema}}})), &chat)
		if chat.Choices[0].FinishReason != finishStop {
			t.Fatalf("seed %d, chat: finish_reason %q; content %q", seed, chat.Choices[0].FinishReason, chat.Choices[0].Message.Content)
		}
		checkPerson(t, chat.Choices[0].Message.Content)

		var cmpl struct {
			Choices []struct {
				Text         string `json:"text"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
		}
		f.postOK(t, "/v1/completions", with(map[string]any{"prompt": "A person:",
			"response_format": map[string]any{"type": "json_object", "schema": schema}}), &cmpl)
		checkPerson(t, cmpl.Choices[0].Text)
	}
}

func TestJSONObjectResponseFormatDefersToJSONSchema(t *testing.T) {
	f := runnerFor(t, false)
	var chat chatReply
	f.postOK(t, "/v1/chat/completions", chatBody("Pick", map[string]any{"seed": 2, "max_tokens": 20,
		"response_format": map[string]any{"type": "json_object"},
		"json_schema":     json.RawMessage(`{"enum":["left","right"]}`)}), &chat)
	if c := chat.Choices[0].Message.Content; c != `"left"` && c != `"right"` {
		t.Fatalf("reply %q, want one of the json_schema's values", c)
	}
}

func TestJSONObjectResponseFormatGivesAnObject(t *testing.T) {
	f := runnerFor(t, false)
	ended := 0
	for seed := 1; seed <= 4; seed++ {
		var chat chatReply
		f.postOK(t, "/v1/chat/completions", chatBody("Reply in JSON", map[string]any{"seed": seed, "max_tokens": 300,
			"response_format": map[string]any{"type": "json_object"}}), &chat)
		text := chat.Choices[0].Message.Content
		if !strings.HasPrefix(text, "{") {
			t.Fatalf("seed %d: reply %q does not start an object", seed, text)
		}
		if chat.Choices[0].FinishReason != finishStop {
			continue // a random model may write one long string until max_tokens
		}
		ended++
		var obj map[string]any
		if err := json.Unmarshal([]byte(text), &obj); err != nil {
			t.Fatalf("seed %d: reply %q is not a JSON object: %v", seed, text, err)
		}
	}
	if ended == 0 {
		t.Fatal("no reply ended within 300 tokens")
	}
}

func TestGrammarAllowsOnlyItsWords(t *testing.T) {
	f := runnerFor(t, false)
	gbnf := `root ::= "yes" | "no"`
	for seed := 1; seed <= 4; seed++ {
		var native nativeReply
		f.postOK(t, "/completion", map[string]any{"prompt": "Answer:", "grammar": gbnf, "seed": seed,
			"temperature": 1.0, "n_predict": 20}, &native)
		if native.Content != "yes" && native.Content != "no" {
			t.Fatalf("seed %d, /completion: %q, want yes or no", seed, native.Content)
		}
		var chat chatReply
		f.postOK(t, "/v1/chat/completions", chatBody("yes or no?", map[string]any{"grammar": gbnf, "seed": seed}), &chat)
		if c := chat.Choices[0].Message.Content; c != "yes" && c != "no" {
			t.Fatalf("seed %d, chat: %q, want yes or no", seed, c)
		}
	}
}

func TestStreamedGrammarOutputIsTheWholeOutput(t *testing.T) {
	f := runnerFor(t, false)
	body := func() map[string]any {
		return map[string]any{"prompt": "A person:", "json_schema": json.RawMessage(personSchema), "seed": 5,
			"temperature": 0.8, "n_predict": 400}
	}
	var whole nativeReply
	f.postOK(t, "/completion", body(), &whole)
	events, _ := f.streamEvents(t, "/completion", body())
	streamed := streamedText(t, events, func(ev json.RawMessage) (string, bool) {
		var c struct {
			Content string `json:"content"`
		}
		return c.Content, json.Unmarshal(ev, &c) == nil
	})
	if streamed != whole.Content {
		t.Fatalf("streamed %q, whole %q", streamed, whole.Content)
	}
	checkPerson(t, streamed)
}

// TestIgnoreEOSEndsWhereTheGrammarEnds: under ignore_eos the end-of-generation tokens are banned by a logit
// bias, as llama-server bans them; a grammar that is complete then allows nothing, and the choice ends there
// rather than sampling end-of-sequence tokens until the token limit (llama-server answers 500).
func TestIgnoreEOSEndsWhereTheGrammarEnds(t *testing.T) {
	f := runnerFor(t, false)
	var r struct {
		Content         string `json:"content"`
		StopType        string `json:"stop_type"`
		TokensPredicted int    `json:"tokens_predicted"`
		Settings        struct {
			LogitBias []struct {
				Bias  *float64 `json:"bias"`
				Token int      `json:"token"`
			} `json:"logit_bias"`
		} `json:"generation_settings"`
	}
	f.postOK(t, "/completion", map[string]any{"prompt": "answer:", "n_predict": 32, "seed": 5, "ignore_eos": true,
		"grammar": `root ::= "yes" | "no"`}, &r)
	if (r.Content != "yes" && r.Content != "no") || r.StopType != stopTypeEOS || r.TokensPredicted >= 32 {
		t.Fatalf("content %q, stop_type %q after %d tokens; want yes or no, ended by the grammar (eos)", r.Content, r.StopType, r.TokensPredicted)
	}
	if len(r.Settings.LogitBias) == 0 {
		t.Fatal("generation_settings.logit_bias lists no banned end-of-generation token")
	}
	for _, b := range r.Settings.LogitBias {
		if b.Bias != nil {
			t.Errorf("logit_bias of token %d is %g, want null (minus infinity)", b.Token, *b.Bias)
		}
	}
}
