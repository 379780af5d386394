package runner

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"testing"
)

// embeddingReply is an /v1/embeddings answer with vectors as numbers.
type embeddingReply struct {
	Data []struct {
		Embedding []float64 `json:"embedding"`
	} `json:"data"`
}

// TestBase64EmbeddingsDecodeToTheFloatVector: encoding_format base64 carries the same vector as "float",
// as little-endian float32 bytes.
func TestBase64EmbeddingsDecodeToTheFloatVector(t *testing.T) {
	f := runnerFor(t, true)
	var floats embeddingReply
	f.postOK(t, "/v1/embeddings", map[string]any{"input": "a text to embed", "encoding_format": "float"}, &floats)
	var encoded struct {
		Data []struct {
			Embedding      string `json:"embedding"`
			EncodingFormat string `json:"encoding_format"`
		} `json:"data"`
	}
	f.postOK(t, "/v1/embeddings", map[string]any{"input": "a text to embed", "encoding_format": "base64"}, &encoded)
	raw, err := base64.StdEncoding.DecodeString(encoded.Data[0].Embedding)
	if err != nil {
		t.Fatalf("the base64 embedding does not decode: %v", err)
	}
	want := floats.Data[0].Embedding
	if len(raw) != 4*len(want) {
		t.Fatalf("%d bytes decoded, want 4 per value of %d", len(raw), len(want))
	}
	for i := range want {
		got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if float64(got) != float64(float32(want[i])) {
			t.Fatalf("value %d: base64 gives %v, float gives %v", i, got, want[i])
		}
	}
}

// TestEmbeddingFormatsAndDimensionsRefusedByName: an unknown encoding_format and a width other than the
// model's are 400s naming the field; the model's own width is accepted.
func TestEmbeddingFormatsAndDimensionsRefusedByName(t *testing.T) {
	f := runnerFor(t, true)
	f.expectRefusal(t, "/v1/embeddings", map[string]any{"input": "x", "encoding_format": "int8"}, `"encoding_format"`)
	f.expectRefusal(t, "/v1/embeddings", map[string]any{"input": "x", "dimensions": 32}, `"dimensions" is not supported for this model`)
	var r embeddingReply
	f.postOK(t, "/v1/embeddings", map[string]any{"input": "x", "dimensions": 64}, &r)
	if len(r.Data[0].Embedding) != 64 {
		t.Fatalf("dimensions 64 gave %d values", len(r.Data[0].Embedding))
	}
}

// TestEmbdNormalizeChoosesTheNorm: -1 leaves the pooled vector as the model made it, 1 gives unit taxicab
// length, and the default unit Euclidean length.
func TestEmbdNormalizeChoosesTheNorm(t *testing.T) {
	f := runnerFor(t, true)
	norms := func(v []float64) (l1, l2 float64) {
		for _, x := range v {
			l1 += math.Abs(x)
			l2 += x * x
		}
		return l1, math.Sqrt(l2)
	}
	var raw, taxicab, unit embeddingReply
	f.postOK(t, "/v1/embeddings", map[string]any{"input": "norms", "embd_normalize": -1}, &raw)
	f.postOK(t, "/v1/embeddings", map[string]any{"input": "norms", "embd_normalize": 1}, &taxicab)
	f.postOK(t, "/v1/embeddings", map[string]any{"input": "norms"}, &unit)
	if _, l2 := norms(unit.Data[0].Embedding); math.Abs(l2-1) > 1e-3 {
		t.Fatalf("default norm %v, want Euclidean 1", l2)
	}
	if l1, _ := norms(taxicab.Data[0].Embedding); math.Abs(l1-1) > 1e-3 {
		t.Fatalf("embd_normalize 1 gives taxicab norm %v, want 1", l1)
	}
	_, rawL2 := norms(raw.Data[0].Embedding)
	if math.Abs(rawL2-1) < 1e-3 {
		t.Fatalf("embd_normalize -1 gives a unit vector (norm %v): it must not normalize", rawL2)
	}
	for i, x := range raw.Data[0].Embedding {
		if math.Abs(x/rawL2-unit.Data[0].Embedding[i]) > 1e-4 {
			t.Fatalf("value %d: the unnormalized vector is not the unit one scaled", i)
		}
	}
	f.expectRefusal(t, "/v1/embeddings", map[string]any{"input": "x", "embd_normalize": -2}, `"embd_normalize"`)
}
