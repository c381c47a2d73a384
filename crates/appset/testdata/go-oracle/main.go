// Command go-oracle regenerates ../gotemplate-fixtures.json from cases.yaml by running each
// case through Go's text/template with the function map Argo CD's ApplicationSet controller
// uses (Sprig's generic functions without env, expandenv and getHostByName, plus normalize,
// slugify, toYaml, fromYaml and fromYamlArray), and by flattening parameter files the way
// the git files generator does in default (non-Go-template) mode.
//
// Run from this directory: go run . (needs the Go module proxy for the first run).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"github.com/gosimple/slug"
	"github.com/jeremywohl/flatten"
	"sigs.k8s.io/yaml"
)

type templateCase struct {
	Name     string         `json:"name"`
	Template string         `json:"template"`
	Data     map[string]any `json:"data"`
	Options  []string       `json:"options,omitempty"`
	Output   *string        `json:"output,omitempty"`
	Error    *string        `json:"error,omitempty"`
}

type flattenCase struct {
	Name   string            `json:"name"`
	File   string            `json:"file"`
	Output map[string]string `json:"output,omitempty"`
	Error  *string           `json:"error,omitempty"`
}

type cases struct {
	Templates []templateCase `json:"templates"`
	Flatten   []flattenCase  `json:"flatten"`
}

var invalidDNSNameChars = regexp.MustCompile("[^-a-z0-9.]")

// sanitizeName follows Argo CD's `normalize`: lower case, anything outside [-a-z0-9.] becomes
// '-', at most 253 bytes, no leading or trailing '-' or '.'.
func sanitizeName(name string) string {
	name = strings.ToLower(name)
	name = invalidDNSNameChars.ReplaceAllString(name, "-")
	if len(name) > 253 {
		name = name[:253]
	}
	return strings.Trim(name, "-.")
}

// slugifyName follows Argo CD's `slugify [maxSize [smartTruncate]] name`.
func slugifyName(args ...any) string {
	maxSize := 50
	smart := true
	name := ""
	for i, arg := range args {
		switch i {
		case len(args) - 1:
			name = arg.(string)
		case 0:
			maxSize = arg.(int)
		case 1:
			smart = arg.(bool)
		}
	}
	slug.EnableSmartTruncate = smart
	slug.MaxLength = maxSize
	return slug.Make(sanitizeName(name))
}

func toYAML(v any) (string, error) {
	data, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(data), "\n"), nil
}

func fromYAML(s string) (map[string]any, error) {
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

func fromYAMLArray(s string) ([]any, error) {
	a := []any{}
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		return nil, err
	}
	return a, nil
}

func funcMap() template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	delete(m, "getHostByName")
	m["normalize"] = sanitizeName
	m["slugify"] = slugifyName
	m["toYaml"] = toYAML
	m["fromYaml"] = fromYAML
	m["fromYamlArray"] = fromYAMLArray
	return m
}

func render(c templateCase) (string, error) {
	t := template.New("").Funcs(funcMap())
	for _, o := range c.Options {
		t = t.Option(o)
	}
	parsed, err := t.Parse(c.Template)
	if err != nil {
		return "", err
	}
	// Round-trip the data through JSON as Argo CD's generators do: numbers become float64.
	raw, err := json.Marshal(c.Data)
	if err != nil {
		return "", err
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := parsed.Execute(&out, data); err != nil {
		return "", err
	}
	return out.String(), nil
}

// flattenFile mirrors the git files generator in default mode: parse YAML or JSON into an
// object, flatten with dots, and print every leaf with %v.
func flattenFile(content string) (map[string]string, error) {
	obj := map[string]any{}
	if err := yaml.Unmarshal([]byte(content), &obj); err != nil {
		return nil, err
	}
	flat, err := flatten.Flatten(obj, "", flatten.DotStyle)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range flat {
		out[k] = fmt.Sprintf("%v", v)
	}
	return out, nil
}

func main() {
	src, err := os.ReadFile("cases.yaml")
	if err != nil {
		panic(err)
	}
	var cs cases
	if err := yaml.Unmarshal(src, &cs); err != nil {
		panic(err)
	}
	for i := range cs.Templates {
		out, err := render(cs.Templates[i])
		if err != nil {
			msg := err.Error()
			cs.Templates[i].Error = &msg
		} else {
			cs.Templates[i].Output = &out
		}
	}
	for i := range cs.Flatten {
		out, err := flattenFile(cs.Flatten[i].File)
		if err != nil {
			msg := err.Error()
			cs.Flatten[i].Error = &msg
		} else {
			cs.Flatten[i].Output = out
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cs); err != nil {
		panic(err)
	}
	if err := os.WriteFile("../gotemplate-fixtures.json", buf.Bytes(), 0o644); err != nil {
		panic(err)
	}
}
