// Package chattemplate renders a model's chat template (tokenizer.chat_template, a Jinja template) into a
// prompt, with the variables llama-server's --jinja mode gives it: messages, tools, add_generation_prompt,
// bos_token, eos_token, the current date and the request's chat_template_kwargs.
//
// It uses github.com/ardanlabs/jinja, a pure-Go Jinja engine written for chat templates, and replaces three
// of its globals where they fall short of Python's Jinja as the templates expect it (see funcs.go).
package chattemplate

import (
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/ardanlabs/jinja"
)

// Template is a compiled chat template, safe for concurrent use.
type Template struct {
	src      string
	compiled *jinja.Template

	// objectArgs and system are learnt on first use by rendering probe conversations.
	objectArgsOnce sync.Once
	objectArgs     bool
	systemOnce     sync.Once
	system         bool
	capsOnce       sync.Once
	caps           Caps
}

// Compile parses src; an error is a *TemplateError.
func Compile(src string) (*Template, error) {
	t, err := jinja.Compile(ownFilters(src))
	if err != nil {
		return nil, &TemplateError{Err: err}
	}
	return &Template{src: src, compiled: t}, nil
}

// Source is the template's text.
func (t *Template) Source() string { return t.src }

// Render compiles tmpl and renders in with it. Callers rendering often should Compile once.
func Render(tmpl string, in Input) (string, error) {
	t, err := Compile(tmpl)
	if err != nil {
		return "", err
	}
	return t.Render(in)
}

// Render formats in with the template. The error is a *RaisedError when the template itself refused the
// conversation with raise_exception, else a *TemplateError.
func (t *Template) Render(in Input) (string, error) {
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	if !t.supportsSystemRole() {
		in.Messages = mergeSystemMessage(in.Messages)
	}
	return t.render(in, t.usesObjectArguments(), now)
}

func (t *Template) render(in Input, objectArgs bool, now time.Time) (string, error) {
	data, err := in.context(objectArgs)
	if err != nil {
		return "", err
	}
	raised := &raiseRecorder{}
	for name, fn := range globals(raised, now) {
		data[name] = fn
	}
	out, err := t.compiled.RenderValues(data)
	if err != nil {
		if raised.message != "" {
			return "", &RaisedError{Message: raised.message}
		}
		return "", &TemplateError{Err: err}
	}
	return out, nil
}

// tojsonFilter finds the tojson filter where a template applies it.
var tojsonFilter = regexp.MustCompile(`\|\s*tojson\b`)

// ownFilters points the template's tojson filter at this package's (see globals): the engine looks up its
// built-in filters before the render's variables, but unknown filter names in the variables.
func ownFilters(src string) string {
	return tojsonFilter.ReplaceAllString(src, "| "+tojsonName)
}

// TemplateError is a chat template that cannot be parsed or fails while rendering: the model's fault, not
// the client's.
type TemplateError struct {
	Err error
}

func (e *TemplateError) Error() string { return fmt.Sprintf("chat template: %v", e.Err) }
func (e *TemplateError) Unwrap() error { return e.Err }

// RaisedError is a template's raise_exception("..."): the template refused the conversation it was given
// (roles that do not alternate, a tool call id of the wrong shape), which is the client's to fix.
type RaisedError struct {
	Message string
}

func (e *RaisedError) Error() string { return "chat template refused the messages: " + e.Message }
