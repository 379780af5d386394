package grammar

// The rules of JSON shared by every grammar. Lengths are bounded where an unbounded repetition would let
// a model that has lost its way write whitespace or digits forever.
const (
	// wsBody is the whitespace llama-server's grammars allow where they allow any (after an opening
	// bracket, a comma or a colon, before a closing bracket or a colon): nothing, a space, or one or two
	// line breaks and an indentation of up to 20 spaces or tabs.
	wsBody = `(" " | "\n" "\n"? [ \t]{0,20})?`
	// charBody is one character inside a JSON string, as llama-server's grammars write it: anything but a
	// quote, a backslash, DEL or a control character, or an escape other than \/.
	charBody      = `[^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4})`
	stringBody    = `"\"" char* "\""`
	integralBody  = `"0" | [1-9] [0-9]{0,15}`
	numberBody    = `"-"? integral ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,16})?`
	integerBody   = `"-"? integral`
	booleanBody   = `"true" | "false"`
	nullBody      = `"null"`
	valueBody     = `object | array | string | number | boolean | null`
	objectBody    = `"{" ws (string ":" ws value ("," ws string ":" ws value)*)? ws "}"`
	arrayBody     = `"[" ws (value ("," ws value)*)? ws "]"`
	separatorBody = `"," ws`
)

func (r *rules) ws() string     { return r.fixed("ws", wsBody) }
func (r *rules) char() string   { return r.fixed("char", charBody) }
func (r *rules) sep() string    { r.ws(); return r.fixed("sep", separatorBody) }
func (r *rules) string() string { r.char(); return r.fixed("string", stringBody) }

func (r *rules) integral() string { return r.fixed("integral", integralBody) }
func (r *rules) number() string   { r.integral(); return r.fixed("number", numberBody) }
func (r *rules) integer() string  { r.integral(); return r.fixed("integer", integerBody) }
func (r *rules) boolean() string  { return r.fixed("boolean", booleanBody) }
func (r *rules) null() string     { return r.fixed("null", nullBody) }

// value is any JSON value.
func (r *rules) value() string {
	r.ws()
	r.string()
	r.number()
	r.boolean()
	r.null()
	r.fixed("object", objectBody)
	r.fixed("array", arrayBody)
	return r.fixed("value", valueBody)
}

// anyObject is any JSON object.
func (r *rules) anyObject() string {
	r.value()
	return "object"
}

// JSONObject is a grammar of any JSON object, the output of response_format {"type": "json_object"}.
func JSONObject() string {
	r := newRules()
	r.define("root", r.anyObject())
	return r.text()
}

// String formats: dates and times of RFC 3339 and UUIDs as llama-server generates them, and plain forms
// of e-mail addresses, host names and IPv4 addresses that every validator of those formats accepts.
var formatBodies = map[string]string{
	"email":     `[a-zA-Z0-9_%+-]{1,32} ("." [a-zA-Z0-9_%+-]{1,32}){0,3} "@" format-hostname-label ("." format-hostname-label){0,3} "." [a-zA-Z]{2,10}`,
	"hostname":  `format-hostname-label ("." format-hostname-label){0,4}`,
	"ipv4":      `format-ipv4-octet "." format-ipv4-octet "." format-ipv4-octet "." format-ipv4-octet`,
	"date":      `[0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [12] [0-9] | "3" [01])`,
	"time":      `([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])`,
	"date-time": `format-date "T" format-time`,
	"uuid":      `[0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12}`,
}

// format is a string of the given format, quotes included; false when the format is not known.
func (r *rules) format(name string) (string, bool) {
	body, ok := formatBodies[name]
	if !ok {
		return "", false
	}
	switch name {
	case "date-time":
		r.format("date")
		r.format("time")
	case "email", "hostname":
		r.fixed("format-hostname-label", `[a-zA-Z0-9] ([a-zA-Z0-9-]{0,30} [a-zA-Z0-9])?`)
	case "ipv4":
		r.fixed("format-ipv4-octet", `"25" [0-5] | "2" [0-4] [0-9] | "1" [0-9] [0-9] | [1-9] [0-9] | [0-9]`)
	}
	inner := r.fixed("format-"+name, body)
	return r.fixed("format-"+name+"-string", `"\"" `+inner+` "\""`), true
}
