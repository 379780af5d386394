package supervisor

import (
	"log/slog"
	"testing"
)

func TestParseJSONRecord(t *testing.T) {
	cases := []struct {
		line  string
		ok    bool
		level slog.Level
		msg   string
		attrs int
	}{
		{`{"time":"2026-11-29T14:31:40Z","level":"WARN","msg":"slot cancelled","slot":2,"reason":"client gone"}`, true, slog.LevelWarn, "slot cancelled", 2},
		{`{"time":"x","level":"INFO","msg":"runner ready"}`, true, slog.LevelInfo, "runner ready", 0},
		{`{"level":"LOUD","msg":"x"}`, false, 0, "", 0},
		{`{"msg":"no level"}`, false, 0, "", 0},
		{`{"level":"INFO","msg":`, false, 0, "", 0},
		{`main: server is listening on http://127.0.0.1:8080`, false, 0, "", 0},
		{`[1,2,3]`, false, 0, "", 0},
	}
	for _, tc := range cases {
		rec, ok := parseJSONRecord(tc.line)
		if ok != tc.ok || (ok && (rec.level != tc.level || rec.msg != tc.msg || len(rec.attrs) != tc.attrs)) {
			t.Errorf("%s: got %+v %v", tc.line, rec, ok)
		}
	}
}
