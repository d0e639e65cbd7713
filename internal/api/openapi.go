package api

import (
	"cmp"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"haven/internal/httpx"
)

// OpenAPI builds the OpenAPI 3.1 document from the route table.
func (a *API) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range a.routes {
		op := map[string]any{
			"operationId": rt.OperationID,
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
			"responses":   a.responses(rt),
		}
		if rt.Public {
			op["security"] = []any{}
		}
		var params []any
		for _, p := range rt.Query {
			params = append(params, map[string]any{"name": p.Name, "in": p.In, "required": p.Required,
				"description": p.Description, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if t := typeOf(rt.Request); t != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaOf(t)}}}
		}
		path := Prefix + rt.Path
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Haven API", "version": a.d.Version,
			"description": "Haven's JSON API. Every operation needs a session cookie unless it declares `security: []`. Errors are {\"error\", \"requestId\"} with a safe message."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"session": map[string]any{"type": "apiKey", "in": "cookie", "name": httpx.SessionCookie}},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "properties": map[string]any{
				"error": map[string]any{"type": "string"}, "requestId": map[string]any{"type": "string"}}}},
		},
		"security": []any{map[string]any{"session": []any{}}},
	}
}

func (a *API) responses(rt Route) map[string]any {
	errRef := map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	withDesc := func(d string) map[string]any {
		m := map[string]any{"description": d}
		for k, v := range errRef {
			m[k] = v
		}
		return m
	}
	out := map[string]any{
		strconv.Itoa(cmp.Or(rt.Status, http.StatusOK)): map[string]any{"description": "success", "content": map[string]any{"application/json": map[string]any{"schema": schemaOf(typeOf(rt.Response))}}},
		"400": withDesc("malformed request"),
	}
	if !rt.Public {
		out["401"] = withDesc("no session, or the session has expired")
		out["403"] = withDesc("not permitted")
	}
	return out
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) error {
	return httpx.WriteJSON(w, http.StatusOK, a.OpenAPI())
}

var timeType = reflect.TypeOf(time.Time{})

// schemaOf derives a JSON Schema from a Go type through its json tags.
func schemaOf(t reflect.Type) map[string]any {
	if t == nil {
		return map[string]any{}
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = schemaOf(f.Type)
		}
		return map[string]any{"type": "object", "properties": props}
	case reflect.Interface:
		return map[string]any{}
	}
	return map[string]any{}
}
