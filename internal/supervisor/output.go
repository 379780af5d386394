package supervisor

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
)

// jsonRecord is a line of a backend's output that is a structured log
// record (slog's JSON, as custos runner writes when not on a terminal).
type jsonRecord struct {
	level slog.Level
	msg   string
	attrs []slog.Attr
}

// parseJSONRecord reads a JSON log record with at least "level" and
// "msg", so that custos logs it as the record it is, at its level, rather
// than as text with a record inside. Its own time is dropped: custos's
// line has one. Anything else is not a record.
func parseJSONRecord(line string) (jsonRecord, bool) {
	if !strings.HasPrefix(line, "{") {
		return jsonRecord{}, false
	}
	var fields map[string]any
	if json.Unmarshal([]byte(line), &fields) != nil {
		return jsonRecord{}, false
	}
	level, lok := fields["level"].(string)
	msg, mok := fields["msg"].(string)
	var rec jsonRecord
	if !lok || !mok || rec.level.UnmarshalText([]byte(level)) != nil {
		return jsonRecord{}, false
	}
	rec.msg = msg
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "time" && k != "level" && k != "msg" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		rec.attrs = append(rec.attrs, slog.Any(k, fields[k]))
	}
	return rec, true
}
