package conformance

import "testing"

// fimModel is the suite's model with fill-in-the-middle tokens, which /infill needs.
var fimModel = func() (string, error) { return generateModel("tiny-256x4-fim.gguf", "--fim") }

const seededInfill = `{"input_prefix":"def f(","input_suffix":"):","n_predict":8,"seed":5,"ignore_eos":true`

var infillCases = []testCase{
	{"infill", "POST", "/infill", seededInfill + `}`, seeded("content", "prompt", "tokens_evaluated"), nil},
	{"infill null prompt", "POST", "/infill", seededInfill + `,"prompt":null}`, seeded("content", "prompt"), nil},
	{"infill null input_extra", "POST", "/infill", seededInfill + `,"input_extra":null}`, values("error.type", "error.code", "error.message"), nil},
	{"infill null chunk text", "POST", "/infill", seededInfill + `,"input_extra":[{"text":null}]}`, values("error.type", "error.code", "error.message"), nil},
	{"infill null chunk filename", "POST", "/infill", seededInfill + `,"input_extra":[{"text":"x","filename":null}]}`, values("error.type", "error.code", "error.message"), nil},
	{"infill lazy grammar never triggered", "POST", "/infill", seededInfill + `,"grammar":"root ::= \"<q>\" [0-9]+","grammar_lazy":true,"grammar_triggers":[{"type":1,"value":"<q>"}]}`, seeded("content"), nil},
	{"infill null input_prefix", "POST", "/infill", `{"input_prefix":null,"input_suffix":"):","n_predict":4}`, errorShape, allow(badTypeIs400)},
}

// TestConformanceInfill runs the infill cases against a runner and a llama-server on the model with FIM
// tokens.
func TestConformanceInfill(t *testing.T) {
	p := startPairOn(t, fimModel, nil, nil)
	for _, c := range infillCases {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}
