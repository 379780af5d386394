package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

const backendPath = "/models/tiny-Q8_0.gguf"

// rewriteCases are answers as llama-server writes them (keys sorted), and
// what the client must get when it asked for "tiny".
var rewriteCases = []struct{ name, in, want string }{
	{"chat",
		`{"choices":[{"message":{"content":"hi","model":"` + backendPath + `"}}],"id":"x","model":"` + backendPath + `","object":"chat.completion"}`,
		`{"choices":[{"message":{"content":"hi","model":"` + backendPath + `"}}],"id":"x","model":"tiny","object":"chat.completion"}`},
	{"embeddings, model after the data",
		`{"data":[{"embedding":[0.1,-2e-3,3],"index":0,"model":"` + backendPath + `"}],"model":"` + backendPath + `","object":"list"}`,
		`{"data":[{"embedding":[0.1,-2e-3,3],"index":0,"model":"` + backendPath + `"}],"model":"tiny","object":"list"}`},
	{"anthropic message_start",
		`{"message":{"content":[],"id":"m","model":"` + backendPath + `","role":"assistant"},"type":"message_start"}`,
		`{"message":{"content":[],"id":"m","model":"tiny","role":"assistant"},"type":"message_start"}`},
	{"responses event",
		`{"response":{"id":"r","metadata":{"model":"` + backendPath + `"},"model":"` + backendPath + `","output":[]},"type":"response.created"}`,
		`{"response":{"id":"r","metadata":{"model":"` + backendPath + `"},"model":"tiny","output":[]},"type":"response.created"}`},
	{"the path elsewhere is kept",
		"{ \"content\" : \"model: " + backendPath + "\",\"usage\":{\"model\":\"" + backendPath + "\"},\n \"model\" : \"" + backendPath + "\" }",
		"{ \"content\" : \"model: " + backendPath + "\",\"usage\":{\"model\":\"" + backendPath + "\"},\n \"model\" : \"tiny\" }"},
	{"escapes in strings", `{"text":"a\"model\":\"x\\","model":"C:\\models\\a \"b\".gguf"}`, `{"text":"a\"model\":\"x\\","model":"tiny"}`},
	{"a model that is not a string", `{"model":null,"x":1}`, `{"model":null,"x":1}`},
	{"already the requested id", `{"id":"x","model":"tiny"}`, `{"id":"x","model":"tiny"}`},
	{"a model that starts like the id", `{"model":"tiny-2"}`, `{"model":"tiny"}`},
	{"a top-level array", `[{"model":"` + backendPath + `"}]`, `[{"model":"` + backendPath + `"}]`},
	{"not JSON", `model: ` + backendPath, `model: ` + backendPath},
	{"no model", `{"tokens":[1,2,3]}`, `{"tokens":[1,2,3]}`},
	{"a JSON error", `{"error":{"code":400,"message":"model","type":"invalid_request_error"}}`, `{"error":{"code":400,"message":"model","type":"invalid_request_error"}}`},
}

// Whatever the reads cut, the client gets the answer with only its model
// replaced.
func TestModelRewriteReplacesOnlyTheModelWhateverTheReadsCut(t *testing.T) {
	for _, tc := range rewriteCases {
		for cut := 0; cut <= len(tc.in); cut++ {
			for cut2 := cut; cut2 <= len(tc.in); cut2 += max(1, len(tc.in)/7) {
				r := newModelRewriter([]byte(`"tiny"`))
				var got bytes.Buffer
				for _, part := range []string{tc.in[:cut], tc.in[cut:cut2], tc.in[cut2:]} {
					out, _ := r.feed([]byte(part))
					got.Write(out)
				}
				got.Write(r.flush())
				if got.String() != tc.want {
					t.Fatalf("%s, cut at %d and %d:\n got %s\nwant %s", tc.name, cut, cut2, got.String(), tc.want)
				}
				if d := int64(len(tc.want) - len(tc.in)); r.delta != d {
					t.Fatalf("%s: delta %d, want %d", tc.name, r.delta, d)
				}
			}
		}
	}
}

// An answer that already names the requested model is passed on as it
// came: the same bytes, no copy.
func TestModelRewriteDoesNotCopyAnAnswerAlreadyRight(t *testing.T) {
	in := []byte(`{"choices":[{"text":"x"}],"model":"tiny","object":"text_completion"}`)
	r := newModelRewriter([]byte(`"tiny"`))
	out, changed := r.feed(in)
	if changed || &out[0] != &in[0] || len(out) != len(in) || r.changed {
		t.Fatalf("changed %v: %s", changed, out)
	}
	allocs := testing.AllocsPerRun(100, func() {
		r.reset()
		r.feed(in)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations passing an unchanged answer", allocs)
	}
}

// Each event's data is its own document: every event's model is
// rewritten, event: lines and comments pass as they came, and an event
// without its model is untouched.
func TestModelRewriteInEvents(t *testing.T) {
	in := "event: message_start\ndata: {\"message\":{\"model\":\"" + backendPath + "\"},\"type\":\"message_start\"}\n\n" +
		": ping\n\n" +
		"event: content_block_delta\ndata: {\"delta\":{\"text\":\"model\"},\"type\":\"content_block_delta\"}\r\n\r\n" +
		"data: {\"choices\":[],\"model\":\"" + backendPath + "\"}\n\n" +
		"data: [DONE]\n\n"
	want := strings.ReplaceAll(in, `"model":"`+backendPath+`"`, `"model":"tiny"`)
	r := newModelRewriter([]byte(`"tiny"`))
	if got := string(r.rewriteEvents([]byte(in))); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	unchanged := []byte("event: ping\ndata: {\"type\":\"ping\"}\n\n")
	if out := r.rewriteEvents(unchanged); &out[0] != &unchanged[0] {
		t.Fatal("an event without a model was copied")
	}
}

func FuzzModelRewrite(f *testing.F) {
	for _, tc := range rewriteCases {
		f.Add([]byte(tc.in), 3)
	}
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		if cut < 0 || cut > len(in) {
			cut = len(in) / 2
		}
		whole := newModelRewriter([]byte(`"tiny"`))
		a, _ := whole.feed(in)
		want := string(a) + string(whole.flush())
		r := newModelRewriter([]byte(`"tiny"`))
		b1, _ := r.feed(in[:cut])
		got := string(b1)
		b2, _ := r.feed(in[cut:])
		got += string(b2) + string(r.flush())
		if got != want {
			t.Fatalf("cut at %d: %q, whole: %q", cut, got, want)
		}
		if json.Valid(in) && !json.Valid([]byte(want)) {
			t.Fatalf("rewriting broke the JSON: %q became %q", in, want)
		}
	})
}

// BenchmarkModelRewrite is what naming the requested model costs per
// answer: a chat answer already right (scanned, not copied), one naming
// the backend's file (rewritten), a stream event, and an embeddings answer
// of 1,024 numbers whose model comes after them.
func BenchmarkModelRewrite(b *testing.B) {
	chat := `{"choices":[{"index":0,"message":{"content":"The capital of France is Paris.","role":"assistant"}}],"created":1,"id":"chatcmpl-1","model":%s,"object":"chat.completion","usage":{"completion_tokens":8,"prompt_tokens":20,"total_tokens":28}}`
	var emb strings.Builder
	for i := range 1024 {
		if i > 0 {
			emb.WriteByte(',')
		}
		emb.WriteString("-0.0123456789")
	}
	cases := []struct{ name, body string }{
		{"chat-unchanged", strings.Replace(chat, "%s", `"tiny"`, 1)},
		{"chat-renamed", strings.Replace(chat, "%s", `"`+backendPath+`"`, 1)},
		{"event-renamed", "data: " + strings.Replace(chat, "%s", `"`+backendPath+`"`, 1) + "\n\n"},
		{"embeddings-renamed", `{"data":[{"embedding":[` + emb.String() + `],"index":0,"object":"embedding"}],"model":"` + backendPath + `","object":"list"}`},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			r := newModelRewriter([]byte(`"tiny"`))
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r.reset()
				if strings.HasPrefix(tc.name, "event") {
					r.rewriteEvents(body)
				} else {
					r.feed(body)
				}
			}
		})
	}
}

// Whatever a stream holds, rewriting its events never fails, and an event
// stream that names no model comes out as it went in.
func FuzzModelRewriteEvents(f *testing.F) {
	f.Add([]byte("event: message_start\ndata: {\"message\":{\"model\":\"x\"}}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"model\":\"a\r\n\r\ndata: \"b\"}\r\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out := newModelRewriter([]byte(`"tiny"`)).rewriteEvents(in)
		if !bytes.Contains(in, []byte("model")) && !bytes.Equal(out, in) {
			t.Fatalf("%q became %q", in, out)
		}
	})
}
