package chattemplate

import (
	"maps"
	"testing"
)

// TestCapsAreLlamaServers: each template's capabilities are those llama-server v0.5.0 reports for it in
// /props chat_template_caps (recorded from the real server started with --chat-template-file).
func TestCapsAreLlamaServers(t *testing.T) {
	all := func(tools, parallel, objectArgs bool) map[string]bool {
		return map[string]bool{"supports_string_content": true, "supports_typed_content": false,
			"supports_system_role": true, "supports_tools": tools, "supports_tool_calls": tools,
			"supports_parallel_tool_calls": parallel, "supports_object_arguments": objectArgs,
			"supports_preserve_reasoning": false, "supports_reasoning_effort": false}
	}
	for file, want := range map[string]map[string]bool{
		chatMLFile:  all(false, false, false),
		qwen25File:  all(true, true, true),
		llama31File: all(true, false, true),
		llama32File: all(true, false, true),
		nemoFile:    all(true, true, true),
	} {
		if got := compileFile(t, file).Caps().Map(); !maps.Equal(got, want) {
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %s = %v, llama-server says %v", file, k, got[k], v)
				}
			}
		}
	}
}

// TestCapsSeeWhatATemplateReads: small templates that each read one more thing than ChatML have that
// capability, and only that one.
func TestCapsSeeWhatATemplateReads(t *testing.T) {
	const each = `{%- for m in messages -%}`
	const plain = `{{- m.role + ': ' + m.content + '\n' -}}`
	for name, c := range map[string]struct {
		src  string
		want string
	}{
		"typed parts": {each + `{%- if m.content is string -%}` + plain + `{%- else -%}{%- for p in m.content -%}{{- p.text -}}{%- endfor -%}{%- endif -%}{%- endfor -%}`,
			"supports_typed_content"},
		"earlier reasoning": {each + `{{- (m.reasoning_content or '') + m.content -}}{%- endfor -%}`, "supports_preserve_reasoning"},
		"an effort level":   {each + plain + `{%- endfor -%}{%- if reasoning_effort == 'max' -%}think hard{%- endif -%}`, "supports_reasoning_effort"},
	} {
		tmpl, err := Compile(c.src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := tmpl.Caps().Map()
		for k, v := range got {
			want := k == c.want || k == "supports_string_content" || k == "supports_system_role"
			if v != want {
				t.Errorf("%s: %s = %v, want %v", name, k, v, want)
			}
		}
	}
}
