package runner

import "testing"

// greetingTemplate is ChatML that writes the chat_template_kwargs variable "greeting" first when given.
const greetingTemplate = "{%- if greeting is defined -%}{{- greeting + '\\n' -}}{%- endif -%}" +
	"{%- for message in messages -%}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}{%- endfor -%}" +
	"{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"

// TestTranslatedEndpointsPassChatTemplateKwargs: chat_template_kwargs reach the chat template from
// /v1/messages and /v1/responses as they do from chat completions (llama-server passes them on): each
// counts the prompt chat renders with them.
func TestTranslatedEndpointsPassChatTemplateKwargs(t *testing.T) {
	f := serveTemplate(t, greetingTemplate)
	kwargs := map[string]any{"greeting": "hello from the kwargs of the template"}
	count := func(path, key string, body map[string]any) int {
		t.Helper()
		var out map[string]any
		f.postOK(t, path, body, &out)
		n, ok := out[key].(float64)
		if !ok {
			t.Fatalf("POST %s: no %q in %v", path, key, out)
		}
		return int(n)
	}
	chatBody := func(kw any) map[string]any {
		return map[string]any{"messages": []map[string]any{{"role": "user", "content": "hi"}}, "chat_template_kwargs": kw}
	}
	plain := count("/v1/chat/completions/input_tokens", "input_tokens", chatBody(nil))
	want := count("/v1/chat/completions/input_tokens", "input_tokens", chatBody(kwargs))
	if want <= plain {
		t.Fatalf("chat counts %d tokens with the greeting and %d without: the template did not write it", want, plain)
	}
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/messages/count_tokens", map[string]any{"messages": []map[string]any{{"role": "user", "content": "hi"}}, "chat_template_kwargs": kwargs}},
		{"/v1/responses/input_tokens", map[string]any{"input": "hi", "chat_template_kwargs": kwargs}},
	} {
		if got := count(c.path, "input_tokens", c.body); got != want {
			t.Errorf("%s counts %d tokens with chat_template_kwargs; chat counts %d (%d without them)", c.path, got, want, plain)
		}
	}
}
