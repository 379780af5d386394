// Package runner is custos's embedded inference engine: an HTTP server speaking llama.cpp's llama-server
// protocol (OpenAI chat and text completions, the native /completion, embeddings, tokenize, /health,
// /props, /slots and /metrics) on top of llama.cpp's libraries through package llama.
//
// One scheduler goroutine owns the llama.cpp context and every slot: each step it makes a single
// llama_decode over all active sequences (prompt chunks and one token per generating slot), so requests
// batch together continuously. HTTP handlers only parse, tokenize and validate; they hand the scheduler a
// task on a channel and read its text back on another. The supervisor runs this as `custos runner`, the
// same way it runs a real llama-server.
package runner
