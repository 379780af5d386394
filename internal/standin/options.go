// Package standin is a small llama-server-compatible fake backend used to
// inject faults (slow loads, crashes, hangs, refused connections, broken
// streams) into tests of the supervisor and the gateway, without needing a
// real model.
package standin

import (
	"io"
	"os"
	"time"
)

// Options mirrors the command-line flags of cmd/standin.
type Options struct {
	// Host is the address to listen on (default 127.0.0.1).
	Host string
	// Port is the TCP port to listen on; 0 picks a free port.
	Port int
	// Model is the model path; it is echoed, never read.
	Model string
	// Alias is the model name reported in responses (default "standin").
	Alias string
	// Slots is the number of decoding slots /props and /slots report (default 1); the stand-in serves any
	// number of requests at once anyway.
	Slots int

	// LoadTime is how long the fake model takes to load; /health answers
	// 503 with rising progress until it elapses (default 0).
	LoadTime time.Duration
	// CrashDuringLoad exits with status 1 halfway through the load.
	CrashDuringLoad bool
	// HangHealthDuringLoad makes /health never answer while loading.
	HangHealthDuringLoad bool
	// CrashAfter exits with status 1 this long after becoming ready (0: never).
	CrashAfter time.Duration
	// HangAfter stops answering anything this long after becoming ready (0: never).
	HangAfter time.Duration
	// RefuseAfter closes the listener, and each connection once idle, this
	// long after becoming ready, while the process lives on: new connections
	// are refused, yet nothing exits for a supervisor to notice (0: never).
	RefuseAfter time.Duration
	// FailStarts makes the first FailStarts starts, counted in StateFile, exit 1 at once.
	FailStarts int
	// StateFile holds the start counter used by FailStarts.
	StateFile string

	// ResponseDelay is waited before answering a completion (non-stream
	// answer or first stream chunk).
	ResponseDelay time.Duration
	// StreamChunks is the number of chunks of a streamed answer (default 8).
	StreamChunks int
	// ChunkInterval is waited between stream chunks (default 0).
	ChunkInterval time.Duration
	// CrashMidStream exits after writing and flushing this many chunks (0: never).
	CrashMidStream int
	// CrashOnRequest exits when a completion request arrives, before answering.
	CrashOnRequest bool
	// FailInference answers every completion and embedding request 500
	// while /health keeps answering 200: a backend that looks healthy and
	// serves nothing.
	FailInference bool
	// IgnoreSIGTERM ignores SIGTERM so callers must escalate to SIGKILL.
	IgnoreSIGTERM bool
	// NoNoDelay leaves TCP_NODELAY off on accepted connections and writes
	// each answer's head and body in two writes, as Python's http.server
	// does: Nagle's algorithm then holds the body until the head is
	// acknowledged, so a client that delays its ACKs waits for each answer.
	// TCP_NODELAY is cleared by Run's server; a Server behind httptest
	// only writes apart.
	NoNoDelay bool
	// HoldMemory allocates and touches this many bytes at start and keeps
	// them, so the process is resident as a loaded model is (for tests of
	// a memory budget).
	HoldMemory int64
	// LogRequests writes a line per request to Stderr. Off by default:
	// at benchmark rates the lines would cost the stand-in, and custos
	// logging them, more than the requests.
	LogRequests bool

	// Stdout receives the "standin listening on" line (default os.Stdout).
	Stdout io.Writer
	// Stderr receives the start-up lines and, with LogRequests, one line
	// per request (default os.Stderr).
	Stderr io.Writer
	// Exit ends the process with a status (default os.Exit). In-process
	// tests replace it to observe crashes; when it returns, the current
	// request is aborted.
	Exit func(code int)
}

// withDefaults fills in every default in one place.
func (o Options) withDefaults() Options {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Alias == "" {
		o.Alias = "standin"
	}
	if o.Slots <= 0 {
		o.Slots = 1
	}
	if o.StreamChunks <= 0 {
		o.StreamChunks = 8
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Exit == nil {
		o.Exit = os.Exit
	}
	return o
}
