package llama

import (
	"reflect"
	"testing"
)

type logRecord struct {
	level int32
	line  string
}

func newRecordingLog() (*logLines, *[]logRecord) {
	var got []logRecord
	return &logLines{emit: func(level int32, line string) { got = append(got, logRecord{level, line}) }}, &got
}

func TestLogJoinsFragmentsIntoLines(t *testing.T) {
	l, got := newRecordingLog()
	l.write(ggmlLogInfo, "load: vocab ")
	l.write(ggmlLogContinue, "size = 259\nload: done")
	l.write(ggmlLogContinue, "\n")
	want := []logRecord{{ggmlLogInfo, "load: vocab size = 259"}, {ggmlLogInfo, "load: done"}}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("lines = %q, want %q", *got, want)
	}
}

func TestLogNewMessageFlushesUnterminatedLine(t *testing.T) {
	l, got := newRecordingLog()
	l.write(ggmlLogInfo, "progress .")
	l.write(ggmlLogWarn, "warning\n")
	want := []logRecord{{ggmlLogInfo, "progress ."}, {ggmlLogWarn, "warning"}}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("lines = %q, want %q", *got, want)
	}
}

func TestLogKeepsErrorLinesForFailureMessages(t *testing.T) {
	l, _ := newRecordingLog()
	l.write(ggmlLogError, "gguf_init: invalid magic\n")
	l.write(ggmlLogInfo, "later info\n")
	l.write(ggmlLogError, "llama_model_load: error loading model\n")
	if got, want := l.takeErrors(), "gguf_init: invalid magic; llama_model_load: error loading model"; got != want {
		t.Fatalf("takeErrors = %q, want %q", got, want)
	}
	if got := l.takeErrors(); got != "" {
		t.Fatalf("second takeErrors = %q, want them forgotten", got)
	}
}

func TestLogKeepsOnlyTheLatestErrorLines(t *testing.T) {
	l, _ := newRecordingLog()
	for i := range maxKeptErrors + 3 {
		l.write(ggmlLogError, string(rune('a'+i))+"\n")
	}
	if got, want := l.takeErrors(), "d; e; f; g"; got != want {
		t.Fatalf("takeErrors = %q, want the last %d lines %q", got, maxKeptErrors, want)
	}
}
