package chattemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ardanlabs/jinja"
)

// maxDepth bounds the nesting of client JSON: tojson(indent=N) writes a line per value indented by its
// depth, so the prompt grows with the square of the depth (20,000 levels took a minute).
const maxDepth = 100

// valueFromJSON converts one JSON value to a template value, keeping the order of object keys: a tool's
// schema is printed back into the prompt, and the model should see it as the client wrote it.
func valueFromJSON(raw json.RawMessage) (jinja.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return jinja.Value{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return jinja.Value{}, errors.New("invalid JSON: unexpected data after the value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (jinja.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return jinja.Value{}, fmt.Errorf("invalid JSON: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth == maxDepth {
			return jinja.Value{}, fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
		}
		switch t {
		case '{':
			d := jinja.NewDict()
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return jinja.Value{}, fmt.Errorf("invalid JSON: %w", err)
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return jinja.Value{}, err
				}
				d.AsDict().Set(key.(string), v)
			}
			_, err := dec.Token()
			return d, err
		case '[':
			var items []jinja.Value
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return jinja.Value{}, err
				}
				items = append(items, v)
			}
			_, err := dec.Token()
			return jinja.NewList(items), err
		}
		return jinja.Value{}, fmt.Errorf("invalid JSON: unexpected %v", t)
	case json.Number:
		return jinja.FromGoValue(t), nil
	case nil:
		return jinja.None(), nil
	default:
		return jinja.FromGoValue(t), nil
	}
}
