// Package grammar writes GBNF grammars, the constraint language of llama.cpp's grammar sampler, for the
// outputs custos constrains: JSON valid against a JSON Schema (FromJSONSchema) and any JSON object
// (JSONObject).
//
// A grammar generates a subset of the documents a schema accepts, chosen so that a model's output is
// valid, ends, and reads as JSON is usually written:
//   - object properties come as llama-server writes them: the required ones, then the optional ones
//     that are written, each group in the schema's order;
//     without "additionalProperties" (or with false) no other property appears;
//   - whitespace (nothing, a space, or one or two line breaks and up to 20 spaces or tabs of indentation)
//     comes where llama-server's grammars allow it: after an opening bracket, a comma or a colon, and
//     before a closing bracket or a declared property's colon, not before a comma; numbers have at
//     most 16 digits in each part,
//     strings use the common escapes only, and a bounded number has no exponent;
//   - "oneOf" is generated as "anyOf": the output matches at least one branch;
//   - the formats date, time, date-time and uuid are written as llama-server writes them, and email,
//     hostname and ipv4 in a plain form every validator accepts.
//
// A schema keyword that the grammar cannot honour is an error naming the keyword and where it is (a JSON
// pointer), never a silently looser grammar. The exceptions are upper bounds above llama.cpp's repetition
// limit of 2000 ("maxLength", "maxItems", a regular expression's {n,m}), which llama.cpp's parser treats
// as unbounded, and a regular expression's unbounded repetition of something that may be empty, which is
// bounded at 32 repetitions; annotations ("title", "description", "default", "examples", ...) and
// keywords JSON Schema does not define are ignored.
package grammar
