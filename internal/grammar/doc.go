// Package grammar writes GBNF grammars, the constraint language of llama.cpp's grammar sampler, for the
// outputs custos constrains: JSON valid against a JSON Schema (FromJSONSchema) and any JSON object
// (JSONObject).
//
// A grammar generates a subset of the documents a schema accepts, chosen so that a model's output is
// valid, ends, and reads as JSON is usually written:
//   - object properties come in the schema's order; required ones always, optional ones possibly;
//     without "additionalProperties" (or with false) no other property appears;
//   - whitespace between tokens is at most 20 characters, numbers have at most 16 digits in each part,
//     strings use the common escapes only;
//   - "oneOf" is generated as "anyOf": the output matches at least one branch.
//
// A schema keyword that the grammar cannot honour is an error naming the keyword and where it is (a JSON
// pointer), never a silently looser grammar. The exception is an upper bound above llama.cpp's repetition
// limit of 2000 ("maxLength", "maxItems", a regular expression's {n,m}), which llama.cpp's parser treats
// as unbounded; annotations ("title", "description", "default", "examples", ...) are ignored.
package grammar
