package toolcall

import (
	"encoding/json"
	"strings"
	"testing"

	"custos/internal/grammar"
)

func TestCallSchemaShapes(t *testing.T) {
	tools := []Tool{{Name: "a", Parameters: json.RawMessage(`{"type":"object","properties":{"x":{"type":"integer"}}}`)}, {Name: "b"}}
	for _, tc := range []struct {
		family   Family
		parallel bool
		want     string
	}{
		{Hermes, true, `{"anyOf":[{"additionalProperties":false,"properties":{"arguments":{"type":"object","properties":{"x":{"type":"integer"}}},"name":{"const":"a"}},"required":["name","arguments"],"type":"object"},{"additionalProperties":false,"properties":{"arguments":{"type":"object","properties":{},"additionalProperties":false},"name":{"const":"b"}},"required":["name","arguments"],"type":"object"}]}`},
		{Llama3, true, `{"anyOf":[{"additionalProperties":false,"properties":{"name":{"const":"a"},"parameters":{"type":"object","properties":{"x":{"type":"integer"}}}},"required":["name","parameters"],"type":"object"},{"additionalProperties":false,"properties":{"name":{"const":"b"},"parameters":{"type":"object","properties":{},"additionalProperties":false}},"required":["name","parameters"],"type":"object"}]}`},
		{Mistral, false, `{"items":{"anyOf":[{"additionalProperties":false,"properties":{"arguments":{"type":"object","properties":{"x":{"type":"integer"}}},"name":{"const":"a"}},"required":["name","arguments"],"type":"object"},{"additionalProperties":false,"properties":{"arguments":{"type":"object","properties":{},"additionalProperties":false},"name":{"const":"b"}},"required":["name","arguments"],"type":"object"}]},"maxItems":1,"minItems":1,"type":"array"}`},
	} {
		got, err := CallSchema(tc.family, tools, tc.parallel)
		if err != nil || string(got) != tc.want {
			t.Errorf("%v: %s, %v\nwant %s", tc.family, got, err, tc.want)
		}
	}
	if one, _ := CallSchema(Hermes, tools[:1], true); string(one[:9]) == `{"anyOf":` {
		t.Errorf("a single tool needs no anyOf: %s", one)
	}
	for _, params := range []string{`{}`, `true`, `{"properties":{"a":{"type":"integer"}}}`} {
		got, _ := CallSchema(Llama3, []Tool{{Name: "p", Parameters: json.RawMessage(params)}}, true)
		var schema struct {
			Properties struct {
				Parameters map[string]any `json:"parameters"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(got, &schema); err != nil || schema.Properties.Parameters["type"] != "object" {
			t.Errorf("parameters %s: the arguments' schema %v does not describe an object (%v)", params, schema.Properties.Parameters, err)
		}
	}
	if Opening(Hermes) != "<tool_call>\n" || Opening(Mistral) != "[TOOL_CALLS]" || Opening(Llama3) != "" {
		t.Errorf("openings %q %q %q", Opening(Hermes), Opening(Mistral), Opening(Llama3))
	}
}

// A forced Hermes reply may list further calls after the first only when parallel, separated by commas
// as Parse reads them; the other families' grammars are their CallSchema's.
func TestForcedGrammarRepeatsHermesCallsOnlyWhenParallel(t *testing.T) {
	tools := []Tool{{Name: "get_time"}}
	parallel, err := ForcedGrammar(Hermes, tools, true)
	if err != nil || !strings.HasPrefix(parallel, `root ::= tool-call (ws "," ws tool-call)*`+"\n") {
		t.Fatalf("parallel Hermes grammar (%v):\n%s", err, parallel)
	}
	for _, f := range []Family{Hermes, Llama3, Mistral} {
		for _, p := range []bool{false, true} {
			if f == Hermes && p {
				continue
			}
			schema, _ := CallSchema(f, tools, p)
			want, _ := grammar.FromJSONSchema(schema)
			if got, err := ForcedGrammar(f, tools, p); err != nil || got != want {
				t.Errorf("%v (parallel %v): %v\n%s\nwant the call schema's grammar\n%s", f, p, err, got, want)
			}
		}
	}
}
