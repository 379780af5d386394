package runner

import (
	"encoding/json"
	"reflect"
	"testing"
)

// A stream that breaks after it began ends with one error event, in each API's shape: OpenAI's error
// event for /v1/responses, llama-server's error object for /v1/messages.
func TestTypedStreamsEndABreakWithAnErrorEvent(t *testing.T) {
	broken := shuttingDown()
	rs := &responseState{req: &responsesRequest{}}
	rs.open()
	evs := rs.fail(broken)
	if len(evs) != 1 || evs[0].name != "error" {
		t.Fatalf("responses: %+v, want one error event", evs)
	}
	got, _ := json.Marshal(evs[0].data)
	var data map[string]any
	_ = json.Unmarshal(got, &data)
	want := map[string]any{"type": "error", "code": typeUnavailable, "message": broken.Message, "param": nil, "sequence_number": 2.0}
	if !reflect.DeepEqual(data, want) {
		t.Fatalf("responses error event %s, want %v", got, want)
	}

	evs = (&messageState{}).fail(broken)
	if len(evs) != 1 || evs[0].name != "error" {
		t.Fatalf("messages: %+v, want one error event", evs)
	}
	got, _ = json.Marshal(evs[0].data)
	want = map[string]any{"code": 503.0, "message": broken.Message, "type": typeUnavailable}
	data = nil
	_ = json.Unmarshal(got, &data)
	if !reflect.DeepEqual(data, want) {
		t.Fatalf("messages error event %s, want %v", got, want)
	}
}
