package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHostileRequests sends what a broken or malicious client sends, and
// checks each gets the right OpenAI-shaped answer while custos keeps serving.
func TestHostileRequests(t *testing.T) {
	c := startCustos(t, "max_body_bytes: 64KiB\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"malformed json", `{"model":"tiny",,}`, 400, "invalid_json"},
		{"truncated json", `{"model":"tiny","messages":[{"role":"us`, 400, "invalid_json"},
		{"not an object", `"tiny"`, 400, "invalid_json"},
		{"model wrong type", `{"model":["tiny"]}`, 400, "invalid_model"},
		{"stream wrong type", `{"model":"tiny","stream":1}`, 400, "invalid_stream"},
		{"unknown model", `{"model":"gpt-9"}`, 404, "model_not_found"},
		{"path traversal model", `{"model":"../../../etc/passwd"}`, 404, "model_not_found"},
		{"control characters in model", `{"model":"tiny\u0000\u001b[2J\r\n"}`, 404, "model_not_found"},
		{"duplicate model keys", `{"model":"tiny","model":"other"}`, 400, "duplicate_model"},
		{"invalid utf-8", "{\"model\":\"tiny\",\"prompt\":\"\xc3\x28\"}", 400, "invalid_json"},
		{"empty body", ``, 400, "invalid_json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post(context.Background(), "/v1/chat/completions", tc.body)
			var e struct {
				Error struct{ Message, Type, Code string } `json:"error"`
			}
			if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != tc.status || e.Error.Code != tc.code || e.Error.Type == "" || e.Error.Message == "" {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
		})
	}
	if r := c.chat(context.Background(), "tiny", false); r.Status != 200 {
		t.Fatalf("custos stopped serving after hostile input: %d %s", r.Status, r.Body)
	}
}

// gigabyte is a 1 GiB request body produced on the fly. The transport
// may still be reading it after the response arrives, hence the atomic.
type gigabyte struct{ left atomic.Int64 }

func (g *gigabyte) Read(p []byte) (int, error) {
	left := g.left.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), left)
	for i := range p[:n] {
		p[i] = 'x'
	}
	g.left.Add(-n)
	return int(n), nil
}

func TestGigabyteBodyIsRefusedWithoutReadingIt(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	for _, chunked := range []bool{false, true} {
		body := &gigabyte{}
		body.left.Store(1 << 30)
		req, _ := http.NewRequest("POST", c.URL("/v1/chat/completions"), body)
		if !chunked {
			req.ContentLength = 1 << 30
		}
		start := time.Now()
		resp, err := inferenceClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 413 || !strings.Contains(string(b), "body_too_large") {
				t.Fatalf("chunked=%v: got %d %s", chunked, resp.StatusCode, b)
			}
		}
		// The server may also close the connection while the client is
		// still sending; either way it must not read the whole gigabyte.
		if sent := (1 << 30) - body.left.Load(); sent > 256<<20 {
			t.Fatalf("chunked=%v: custos read %d MiB before refusing (%v)", chunked, sent>>20, time.Since(start))
		}
	}
}

func TestSlowHeadersAreCutOff(t *testing.T) {
	c := startCustos(t, "read_header_timeout: 500ms\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	conn, err := net.Dial("tcp", c.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
	// Trickle a header byte now and then, never finishing the headers.
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		close(closed)
	}()
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			return
		case <-deadline:
			t.Fatal("a client trickling its headers kept the connection open")
		case <-tick.C:
			_, _ = conn.Write([]byte("X"))
		}
	}
}

func TestSlowStreamReaderGetsEveryChunk(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--stream-chunks", "200"), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	resp, err := inferenceClient.Post(c.URL("/v1/chat/completions"), "application/json",
		strings.NewReader(`{"model":"tiny","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReaderSize(resp.Body, 16)
	events, done := 0, false
	for {
		line, err := rd.ReadString('\n')
		if strings.HasPrefix(line, "data: [DONE]") {
			done = true
		} else if strings.HasPrefix(line, "data: ") {
			events++
			if events%20 == 0 {
				time.Sleep(20 * time.Millisecond) // a slow reader
			}
		}
		if err != nil {
			break
		}
	}
	if events != 200 || !done {
		t.Fatalf("a slow reader got %d events (done %v)", events, done)
	}
	if r := c.chat(context.Background(), "tiny", false); r.Status != 200 {
		t.Fatalf("custos stopped serving: %d", r.Status)
	}
}
