package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A stream sent with an X-Conversation-Id goes on when its client leaves, and GET /v1/stream gives all of
// it again: on both servers, with the same seeded text.
func TestConformanceResumableStream(t *testing.T) {
	p := startPair(t, nil, nil)
	const conv = "conv-resumable"
	for _, base := range []string{p.runner, p.llama} {
		abandonStream(t, base, conv, "/v1/chat/completions", seededChat+`,"max_tokens":48,"stream":true}`)
		waitStreamDone(t, base, conv)
	}
	check(t, p, testCase{name: "replay", method: "GET", path: "/v1/stream?conv_id=" + conv,
		compare: seeded("text", "done", "last.choices[].finish_reason"), allow: allow(fingerprint, logprobsNull)})
	check(t, p, testCase{name: "replay from an offset", method: "GET", path: "/v1/stream?conv_id=" + conv + "&from=0",
		compare: seeded("text", "done"), allow: allow(fingerprint, logprobsNull)})
	check(t, p, testCase{name: "lookup", method: "POST", path: "/v1/streams/lookup",
		body: `{"conversation_ids":["` + conv + `","nobody"]}`, compare: comparison{same: []string{"[].conversation_id", "[].is_done"}}})
	for _, c := range []testCase{
		{name: "replay of an unknown conversation", method: "GET", path: "/v1/stream?conv_id=nobody"},
		{name: "replay without conv_id", method: "GET", path: "/v1/stream"},
		{name: "replay from a bad offset", method: "GET", path: "/v1/stream?conv_id=" + conv + "&from=x"},
		{name: "lookup of a broken body", method: "POST", path: "/v1/streams/lookup", body: `{"conversation_ids":`,
			allow: allow(difference{"llama-server's lookup answers a broken body without the error's code, which every other error of it and all of the runner's carry",
				[]allowance{{onlyRunner, "error.code"}}})},
		{name: "stop", method: "DELETE", path: "/v1/stream?conv_id=" + conv},
		{name: "replay after stop", method: "GET", path: "/v1/stream?conv_id=" + conv},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}

// abandonStream starts a streamed request with the conversation header, reads its first event and leaves.
func abandonStream(t *testing.T, base, conv, path, body string) {
	t.Helper()
	ctx, leave := context.WithTimeout(context.Background(), time.Minute)
	defer leave()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Conversation-Id", conv)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("starting the stream on %s: %v", base, err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("%s: the stream began with %d %q (%v)", base, resp.StatusCode, line, err)
	}
}

// waitStreamDone polls the lookup until the conversation's stream has ended.
func waitStreamDone(t *testing.T, base, conv string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := client.Post(base+"/v1/streams/lookup", "application/json", strings.NewReader(`{"conversation_ids":["`+conv+`"]}`))
		if err != nil {
			t.Fatalf("lookup on %s: %v", base, err)
		}
		var found []struct {
			IsDone bool `json:"is_done"`
		}
		err = json.NewDecoder(resp.Body).Decode(&found)
		resp.Body.Close()
		if err != nil || len(found) != 1 {
			t.Fatalf("lookup on %s: %d sessions (%v), want the abandoned stream's", base, len(found), err)
		}
		if found[0].IsDone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the abandoned stream had not ended within a minute", base)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
