package runner

import "encoding/json"

// The Responses API's structured output: text.format {"type": "text"}, {"type": "json_object"}, or
// {"type": "json_schema", "name", "schema", "strict"}, which constrains the reply as chat's
// response_format does. llama-server reads no text.format and answers free text.

// textFormat is the format member of a Responses "text" object.
type textFormat struct {
	Type   string          `json:"type"`
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict *bool           `json:"strict"`
}

// textFormatOutput reads raw, the request's "text", into the JSON it asks for; nil for plain text or
// when it says nothing of the format.
func textFormatOutput(raw json.RawMessage) (*jsonOutput, *apiError) {
	if !given(raw) {
		return nil, nil
	}
	var text struct {
		Format json.RawMessage `json:"format"`
	}
	if json.Unmarshal(raw, &text) != nil {
		return nil, badRequest("\"text\" must be an object")
	}
	if !given(text.Format) {
		return nil, nil
	}
	var f textFormat
	if json.Unmarshal(text.Format, &f) != nil {
		return nil, badRequest(`"text.format" must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "schema": {...}}`)
	}
	switch f.Type {
	case "text":
		return nil, nil
	case "json_object":
		return &jsonOutput{field: "text.format"}, nil
	case "json_schema":
		// "strict" false or true, the output is constrained to the schema either way.
		var schema schemaText
		if given(f.Schema) && schema.UnmarshalJSON(f.Schema) != nil {
			return nil, badRequest("\"text.format.schema\" must be a JSON Schema (an object)")
		}
		return &jsonOutput{field: "text.format.schema", schema: schema}, nil
	}
	return nil, badRequest(`"text.format.type" must be "text", "json_object" or "json_schema", got %q`, f.Type)
}

// echoedText is the response's "text": the request's as it sent it, plain text by default.
func (req *responsesRequest) echoedText() any {
	if given(req.Text) {
		return req.Text
	}
	return map[string]any{"format": map[string]string{"type": "text"}}
}
