// Command standin is a fake llama-server for fault-injection tests; see
// package custos/internal/standin.
package main

import (
	"flag"
	"fmt"
	"os"

	"custos/internal/standin"
)

func main() {
	var o standin.Options
	fs := flag.NewFlagSet("standin", flag.ExitOnError)
	fs.StringVar(&o.Host, "host", "127.0.0.1", "address to listen on")
	fs.IntVar(&o.Port, "port", -1, "TCP port to listen on (required; 0 picks a free one)")
	fs.StringVar(&o.Model, "m", "", "model path (echoed, not read)")
	fs.StringVar(&o.Model, "model", "", "model path (echoed, not read)")
	fs.StringVar(&o.Alias, "alias", "standin", "model name reported")
	// Accepted like llama-server's, so the stand-in can play a runner
	// backend; it serves any number of requests at once anyway.
	fs.IntVar(&o.Slots, "parallel", 1, "decoding slots reported by /props and /slots")
	fs.IntVar(&o.Slots, "np", 1, "decoding slots reported by /props and /slots")
	fs.DurationVar(&o.LoadTime, "load-time", 0, "how long the fake load takes")
	fs.BoolVar(&o.CrashDuringLoad, "crash-during-load", false, "exit 1 halfway through the load")
	fs.BoolVar(&o.HangHealthDuringLoad, "hang-health-during-load", false, "never answer /health while loading")
	fs.DurationVar(&o.CrashAfter, "crash-after", 0, "exit 1 this long after ready")
	fs.DurationVar(&o.HangAfter, "hang-after", 0, "stop answering this long after ready")
	fs.DurationVar(&o.RefuseAfter, "refuse-after", 0, "close the listener this long after ready, refusing connections but staying alive")
	fs.IntVar(&o.FailStarts, "fail-starts", 0, "the first N starts (counted in --state-file) exit 1")
	fs.StringVar(&o.StateFile, "state-file", "", "file counting starts for --fail-starts")
	fs.DurationVar(&o.ResponseDelay, "response-delay", 0, "delay before answering a completion")
	fs.IntVar(&o.StreamChunks, "stream-chunks", 8, "chunks per streamed answer")
	fs.DurationVar(&o.ChunkInterval, "chunk-interval", 0, "delay between stream chunks")
	fs.IntVar(&o.CrashMidStream, "crash-mid-stream", 0, "exit after flushing N stream chunks")
	fs.BoolVar(&o.CrashOnRequest, "crash-on-request", false, "exit when a completion request arrives")
	fs.BoolVar(&o.FailInference, "fail-inference", false, "answer every completion and embedding 500 while /health says 200")
	fs.BoolVar(&o.IgnoreSIGTERM, "ignore-sigterm", false, "ignore SIGTERM")
	fs.BoolVar(&o.NoNoDelay, "no-nodelay", false, "leave TCP_NODELAY off and write each answer's head and body apart, like Python's http.server")
	fs.BoolVar(&o.LogRequests, "log-requests", false, "write a line per request to stderr")
	fs.Int64Var(&o.HoldMemory, "hold-memory", 0, "allocate and keep this many `bytes` resident, as a loaded model is")
	fs.Parse(os.Args[1:])
	if o.Port < 0 {
		fmt.Fprintln(os.Stderr, "standin: --port is required")
		os.Exit(2)
	}
	if err := standin.Run(o); err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(1)
	}
}
