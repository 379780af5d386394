package runner

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// paddedTokenize is a /tokenize body of exactly size bytes: JSON white
// space inside the object, so the whole body is read to decode it.
func paddedTokenize(size int) string {
	const head, tail = `{"content": "hi"`, `}`
	return head + strings.Repeat(" ", size-len(head)-len(tail)) + tail
}

// A runner given a body limit above its old fixed 8 MiB reads bodies up
// to that limit, so a body custos's gateway accepts is not refused by its
// backend, and still refuses a larger one.
func TestRunnerBodyLimitIsMaxBodyBytesNotAFixed8MiB(t *testing.T) {
	const limit = 12 << 20
	base := serveRunner(t, Config{CtxSize: 512, MaxBodyBytes: limit})
	client := &http.Client{Timeout: 30 * time.Second}
	post := func(size int) (int, string) {
		t.Helper()
		resp, err := client.Post(base+"/tokenize", "application/json", strings.NewReader(paddedTokenize(size)))
		if err != nil {
			t.Fatalf("POST /tokenize with %d bytes: %v", size, err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("POST /tokenize with %d bytes: reading the answer: %v", size, err)
		}
		return resp.StatusCode, string(out)
	}
	if status, out := post(10 << 20); status != http.StatusOK {
		t.Fatalf("a 10 MiB body under a 12 MiB limit: %d %s, want 200", status, out)
	}
	status, out := post(limit + 1024)
	if status != http.StatusBadRequest || !strings.Contains(out, "larger than "+strconv.Itoa(limit)+" bytes") {
		t.Fatalf("a body over the 12 MiB limit: %d %s, want 400 naming the limit", status, out)
	}
}

// Without the flag the runner keeps its 8 MiB limit; a negative one is a
// configuration error, not "no limit".
func TestRunnerBodyLimitDefaultsTo8MiB(t *testing.T) {
	c, err := Config{ModelPath: "m.gguf"}.withDefaults()
	if err != nil || c.MaxBodyBytes != 8<<20 {
		t.Fatalf("default MaxBodyBytes = %d (%v), want 8 MiB", c.MaxBodyBytes, err)
	}
	if _, err := (Config{ModelPath: "m.gguf", MaxBodyBytes: -1}).withDefaults(); err == nil || !strings.Contains(err.Error(), "max-body-bytes") {
		t.Fatalf("a negative MaxBodyBytes: %v, want an error naming max-body-bytes", err)
	}
}
