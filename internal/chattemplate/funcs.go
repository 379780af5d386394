package chattemplate

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/ardanlabs/jinja"
)

// globals are the functions this package gives every render in place of the engine's own:
//   - raise_exception records its message, so that Render can tell a template's refusal of the messages
//     (the client's fault) from a broken template; the engine returns both as a plain error.
//   - strftime_now formats the input's time and knows more of Python's directives than the engine's
//     (which prints %e, %y or %j literally).
//   - the tojson filter keeps object keys in order and does not escape <, > and & with indent=N too: the
//     engine's indented form sorts keys and escapes HTML, unlike Python's json.dumps, which the templates
//     were written against (Llama 3.x prints its tools with tojson(indent=4)). Compile renames the filter
//     in the template's text to tojsonName, which the engine finds among the render's variables.
func globals(raised *raiseRecorder, now time.Time) map[string]jinja.Value {
	return map[string]jinja.Value{
		"raise_exception": jinja.NewCallable("raise_exception", raised.raise),
		"strftime_now": jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 || !args[0].IsString() {
				return jinja.Undefined(), errors.New("strftime_now expects one format string")
			}
			return jinja.NewString(strftime(now, args[0].AsString())), nil
		}),
		tojsonName: jinja.NewCallable("tojson", tojson),
	}
}

// tojsonName is the name the tojson filter is renamed to in a compiled template.
const tojsonName = "custos_tojson"

// raiseRecorder is one render's raise_exception.
type raiseRecorder struct {
	message string
}

func (r *raiseRecorder) raise(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	r.message = "raise_exception called"
	if len(args) > 0 {
		r.message = printable(args[0])
	}
	return jinja.Undefined(), errors.New(r.message)
}

// printable is a value as the template would print it.
func printable(v jinja.Value) string {
	if v.IsString() {
		return v.AsString()
	}
	return v.String()
}

// strftime formats t with Python's strftime directives.
func strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			fmt.Fprintf(&b, "%02d", (t.Hour()+11)%12+1)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// tojson is Jinja's tojson filter as Python's json.dumps(ensure_ascii=False) writes it: ", " and ": "
// between items without indent, "," and ": " with one, keys in their order.
func tojson(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("tojson: no value")
	}
	enc := jsonEncoder{indent: -1, itemSep: ", ", keySep: ": "}
	if v, ok := kwargs["indent"]; ok && v.IsInt() {
		enc.indent = int(v.AsInt())
		enc.itemSep = ","
	}
	if len(args) > 1 && args[1].IsInt() {
		enc.indent = int(args[1].AsInt())
		enc.itemSep = ","
	}
	if v, ok := kwargs["separators"]; ok && v.IsList() && v.AsList().Len() == 2 {
		items := v.AsList().Items
		if !items[0].IsString() || !items[1].IsString() {
			return jinja.Undefined(), errors.New("tojson: separators must be two strings")
		}
		enc.itemSep, enc.keySep = items[0].AsString(), items[1].AsString()
	}
	if v, ok := kwargs["ensure_ascii"]; ok {
		enc.ascii = v.IsTruthy()
	}
	if err := enc.encode(args[0], 0); err != nil {
		return jinja.Undefined(), err
	}
	return jinja.NewString(enc.b.String()), nil
}

type jsonEncoder struct {
	b               strings.Builder
	indent          int
	itemSep, keySep string
	// ascii escapes every non-ASCII character, as Python's ensure_ascii=True.
	ascii bool
}

func (e *jsonEncoder) newline(level int) {
	if e.indent >= 0 {
		e.b.WriteByte('\n')
		e.b.WriteString(strings.Repeat(" ", e.indent*level))
	}
}

func (e *jsonEncoder) encode(v jinja.Value, level int) error {
	switch {
	case v.IsNone(), v.IsUndefined(), v.IsCallable():
		e.b.WriteString("null")
	case v.IsBool():
		e.b.WriteString(strconv.FormatBool(v.AsBool()))
	case v.IsInt():
		e.b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		f := v.AsFloat()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("tojson: cannot encode %v", f)
		}
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0" // Python writes floats with a decimal point
		}
		e.b.WriteString(s)
	case v.IsString():
		writeJSONString(&e.b, v.AsString(), e.ascii)
	case v.IsList():
		items := v.AsList().Items
		e.b.WriteByte('[')
		for i, item := range items {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(level + 1)
			if err := e.encode(item, level+1); err != nil {
				return err
			}
		}
		if len(items) > 0 {
			e.newline(level)
		}
		e.b.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		keys := d.OrderedKeys()
		e.b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(level + 1)
			writeJSONString(&e.b, k, e.ascii)
			e.b.WriteString(e.keySep)
			item, _ := d.Get(k)
			if err := e.encode(item, level+1); err != nil {
				return err
			}
		}
		if len(keys) > 0 {
			e.newline(level)
		}
		e.b.WriteByte('}')
	default:
		e.b.WriteString("null")
	}
	return nil
}

// writeJSONString writes s as a JSON string, escaping only what JSON requires (Python's
// ensure_ascii=False), or also every non-ASCII character as \uXXXX, in UTF-16 as Python does.
func writeJSONString(b *strings.Builder, s string, ascii bool) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(b, `\u%04x`, r)
			case ascii && r > 0x7f:
				for _, u := range utf16.Encode([]rune{r}) {
					fmt.Fprintf(b, `\u%04x`, u)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
