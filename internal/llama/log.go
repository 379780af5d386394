package llama

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

// Values of enum ggml_log_level (ggml.h).
const (
	ggmlLogDebug    int32 = 1
	ggmlLogInfo     int32 = 2
	ggmlLogWarn     int32 = 3
	ggmlLogError    int32 = 4
	ggmlLogContinue int32 = 5 // the text continues the previous message
)

// logger receives llama.cpp's messages; nil means slog.Default().
var logger atomic.Pointer[slog.Logger]

// SetLogger routes llama.cpp's and ggml's log messages to l (slog.Default() when l is nil). Their
// informational chatter (dozens of lines per model load) is logged at Debug level, warnings and errors at
// Warn and Error, so a default Info-level logger shows only what needs attention.
func SetLogger(l *slog.Logger) {
	logger.Store(l)
}

func currentLogger() *slog.Logger {
	if l := logger.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// logLines reassembles llama.cpp's log output into lines. The library hands over fragments: a message may
// arrive in several calls, the later ones with the level "continue", and a line ends with '\n'. It may be
// called from any thread, hence the mutex.
type logLines struct {
	mu      sync.Mutex
	level   int32
	pending []byte
	emit    func(level int32, line string)
	// errors are the latest error lines (at most maxKeptErrors), kept to explain a failure that the C API
	// reports only as NULL or a bare code.
	errors []string
}

// maxKeptErrors bounds the error lines kept between two takeErrors calls.
const maxKeptErrors = 4

// write takes one fragment from llama.cpp and emits every line it completes.
func (l *logLines) write(level int32, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if level != ggmlLogContinue {
		l.flushLocked()
		l.level = level
	}
	l.pending = append(l.pending, text...)
	for {
		i := bytes.IndexByte(l.pending, '\n')
		if i < 0 {
			return
		}
		l.emitLocked(string(l.pending[:i]))
		l.pending = l.pending[i+1:]
	}
}

func (l *logLines) flushLocked() {
	if len(l.pending) > 0 {
		l.emitLocked(string(l.pending))
		l.pending = l.pending[:0]
	}
}

func (l *logLines) emitLocked(line string) {
	if line == "" {
		return
	}
	if l.level == ggmlLogError {
		if len(l.errors) == maxKeptErrors {
			l.errors = append(l.errors[:0], l.errors[1:]...)
		}
		l.errors = append(l.errors, line)
	}
	l.emit(l.level, line)
}

// takeErrors returns the error lines logged since the last call, joined with "; ", and forgets them.
func (l *logLines) takeErrors() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := strings.Join(l.errors, "; ")
	l.errors = l.errors[:0]
	return e
}

// slogLevel maps a ggml log level to the slog level custos logs it at.
func slogLevel(level int32) slog.Level {
	switch level {
	case ggmlLogError:
		return slog.LevelError
	case ggmlLogWarn:
		return slog.LevelWarn
	case ggmlLogInfo:
		return slog.LevelDebug
	case ggmlLogDebug:
		return slog.LevelDebug - 4
	default:
		return slog.LevelInfo
	}
}

// libraryLog is the one log router of the process, fed by the C callback Init installs.
var libraryLog = &logLines{emit: func(level int32, line string) {
	currentLogger().Log(context.Background(), slogLevel(level), line, "source", "llama.cpp")
}}

// logCallback is installed with llama_log_set; its signature is ggml_log_callback.
func logCallback(level int32, text *byte, _ uintptr) {
	libraryLog.write(level, goString(text))
}
