package api

import (
	"cmp"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"haven/internal/httpx"
)

// The OpenAPI document is derived from the route table, so it cannot drift from the router. What
// the table does not say is filled in here, from the route's properties where they imply it:
//
//   - every operation can answer 500 (a fault, logged under the request id) and 503 (a session
//     lookup or an audit entry could not be done, so the request is refused);
//   - a route needing a session answers 401 without one and 403 for a refusal;
//   - a state-changing method answers 403 to a cross-site browser request;
//   - a route with a body answers 400 (not JSON for it), 413 (over httpx.MaxBodyBytes) and 422;
//   - a route with a path parameter answers 404.
//
// The rest, one operation at a time, is in operationNotes, keyed by OperationID so that adding a
// route needs no edit here unless the route answers something its properties do not imply.

// opNotes is what the document says of one operation beyond what its route implies.
type opNotes struct {
	errors []int  // statuses beyond the derived ones
	media  string // the success answer's media type, if not JSON (a string Response is text/plain); several are separated by ", "
	// binary lists the media types of a success answer that is raw bytes (a document download).
	binary []string
}

// operationNotes lists, by OperationID, the statuses an operation answers that its route's
// properties do not imply, from the domain errors its handler maps (httpx.FromDomain).
func operationNotes() map[string]opNotes {
	return map[string]opNotes{
		"completeSetup":            {errors: []int{http.StatusConflict, http.StatusGone}},
		"login":                    {errors: []int{http.StatusUnauthorized, http.StatusTooManyRequests}},
		"verifyTOTP":               {errors: []int{http.StatusTooManyRequests}},
		"stepUp":                   {errors: []int{http.StatusTooManyRequests}},
		"changeEmail":              {errors: []int{http.StatusConflict}},
		"confirmEmailChange":       {errors: []int{http.StatusConflict, http.StatusGone}},
		"removeTOTP":               {errors: []int{http.StatusConflict}},
		"beginPasskeySignIn":       {errors: []int{http.StatusUnprocessableEntity, http.StatusTooManyRequests}},
		"finishPasskeySignIn":      {errors: []int{http.StatusUnauthorized, http.StatusTooManyRequests}},
		"beginPasskeyVerification": {errors: []int{http.StatusUnprocessableEntity}},
		"beginPasskeyRegistration": {errors: []int{http.StatusUnprocessableEntity}},
		"removePasskey":            {errors: []int{http.StatusConflict}},
		"activateInvite":           {errors: []int{http.StatusConflict, http.StatusGone}},
		"requestPasswordReset":     {errors: []int{http.StatusConflict, http.StatusTooManyRequests}},
		"resetPassword":            {errors: []int{http.StatusGone}},
		"disableStaff":             {errors: []int{http.StatusUnprocessableEntity}},
		"enableStaff":              {errors: []int{http.StatusConflict, http.StatusUnprocessableEntity}},
		"resendStaffInvitation":    {errors: []int{http.StatusConflict, http.StatusUnprocessableEntity}},
		"resetStaffPassword":       {errors: []int{http.StatusUnprocessableEntity}},
		"inviteStaff":              {errors: []int{http.StatusConflict}},
		"assignCareTeam":           {errors: []int{http.StatusNotFound}},
		"registerPatient":          {errors: []int{http.StatusConflict}},
		"downloadDocument":         {binary: documentMedia},
		"saveVisitNote":            {errors: []int{http.StatusConflict, http.StatusNotFound}},
		"getVisitNote":             {errors: []int{http.StatusNotFound}},
		"signNote":                 {errors: []int{http.StatusConflict, http.StatusUnprocessableEntity}},
		"addAddendum":              {errors: []int{http.StatusConflict}},
		"sendPatientSignInLink":    {errors: []int{http.StatusUnprocessableEntity}},
		"getMyRecord":              {errors: []int{http.StatusNotFound}},
		"getPatientRecord":         {errors: []int{http.StatusGone}},
		"addNote":                  {errors: []int{http.StatusGone}},
		"requestMyErasure":         {errors: []int{http.StatusNotFound}},
		"recordErasureRequest":     {errors: []int{http.StatusNotFound}},
		"approveErasure":           {errors: []int{http.StatusConflict, http.StatusNotFound}},
		"refuseErasure":            {errors: []int{http.StatusConflict, http.StatusNotFound}},
		"placeLegalHold":           {errors: []int{http.StatusNotFound}},
		"liftLegalHold":            {errors: []int{http.StatusConflict}},
		"updateMyContact":          {errors: []int{http.StatusConflict, http.StatusNotFound}},
		"getMyAccessLog":           {errors: []int{http.StatusBadRequest, http.StatusNotFound}},
		"getAccessLog":             {errors: []int{http.StatusBadRequest, http.StatusUnprocessableEntity}},
		"removeFromCareTeam":       {errors: []int{http.StatusNotFound}},
		"reportAccess":             {errors: []int{http.StatusBadRequest}},
		"exportAuditEvents":        {media: "application/fhir+ndjson"},
		"getAuditCheckpoint":       {errors: []int{http.StatusNotFound}},
		"publishAuditCheckpoint":   {errors: []int{http.StatusNotFound}},
		"getCalendarFeed":          {media: "text/calendar"},
		"writePrescription":        {errors: []int{http.StatusNotFound}},
		"updatePrescription":       {errors: []int{http.StatusConflict, http.StatusNotFound}},
		"getPrescription":          {errors: []int{http.StatusNotFound}},
		"beginPrescriptionSigning": {errors: []int{http.StatusConflict, http.StatusNotFound, http.StatusUnprocessableEntity}},
		"signPrescription":         {errors: []int{http.StatusConflict, http.StatusNotFound, http.StatusUnauthorized}},
		"cancelPrescription":       {errors: []int{http.StatusConflict, http.StatusNotFound}},
		"renewPrescription":        {errors: []int{http.StatusConflict, http.StatusNotFound}},
		"getPrescriptionPrintable": {media: "text/html", errors: []int{http.StatusConflict, http.StatusNotFound}},
		"getPrescriptionPDF":       {media: "application/pdf", errors: []int{http.StatusConflict, http.StatusNotFound}},
		"verifyPrescription":       {errors: []int{http.StatusNotFound, http.StatusTooManyRequests}},
		"dispensePrescription":     {errors: []int{http.StatusConflict, http.StatusNotFound, http.StatusTooManyRequests}},
		"exportMyRecord":           {media: "application/fhir+json, text/html, application/zip", errors: []int{http.StatusBadRequest, http.StatusNotFound}},

		"acceptTelehealthConsent": {errors: []int{http.StatusConflict}},
		"checkIn":                 {errors: []int{http.StatusConflict}},
		"submitIntake":            {errors: []int{http.StatusConflict}},
		"allowGuests":             {errors: []int{http.StatusConflict}},
		"admitPatient":            {errors: []int{http.StatusConflict}},
		"inviteGuest":             {errors: []int{http.StatusConflict}},
		"endVisit":                {errors: []int{http.StatusConflict}},
		"redeemGuestLink":         {errors: []int{http.StatusGone}},
		"joinQueue":               {errors: []int{http.StatusConflict}},
		"getMyQueuePlace":         {errors: []int{http.StatusNotFound}},
		"leaveQueue":              {errors: []int{http.StatusNotFound}},
		"takeNextFromQueue":       {errors: []int{http.StatusConflict}},
		"followVisit":             {media: "text/event-stream"},
		"followWaitingRoom":       {media: "text/event-stream"},
		// Scheduling: a window that is not RFC 3339 is a bad request, one too long or ending
		// before it starts is invalid; a slot just taken, or an appointment no longer in a state
		// that allows the act (cancelled, started, ended, not yet started for a no-show), is a
		// conflict.
		"listSlots":             {errors: []int{http.StatusBadRequest, http.StatusUnprocessableEntity}},
		"listAppointments":      {errors: []int{http.StatusBadRequest, http.StatusUnprocessableEntity}},
		"bookAppointment":       {errors: []int{http.StatusConflict}},
		"rescheduleAppointment": {errors: []int{http.StatusConflict}},
		"cancelAppointment":     {errors: []int{http.StatusConflict}},
		"markNoShow":            {errors: []int{http.StatusConflict}},
		// Billing: a visit not ended, already charged, or a status move its life does not
		// allow is a conflict; a charge no one may know of is not found.
		"createCharge":  {errors: []int{http.StatusConflict, http.StatusNotFound}},
		"listCharges":   {errors: []int{http.StatusBadRequest, http.StatusUnprocessableEntity}},
		"updateCharge":  {errors: []int{http.StatusConflict}},
		"exportCharges": {errors: []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, media: "text/csv, application/fhir+json"},
		// Consultations: too many devices, or a message whose sequence number or id is taken,
		// is a conflict; a directory that cannot be proven now is unavailable (derived).
		"registerDevice":     {errors: []int{http.StatusConflict}},
		"postMessage":        {errors: []int{http.StatusConflict}},
		"getTURNCredentials": {errors: []int{http.StatusUnprocessableEntity}},
		"downloadAttachment": {binary: []string{"application/octet-stream"}},
	}
}

// statuses returns every status rt can answer, its success first, then the errors in order.
func (rt Route) statuses(notes opNotes) []int {
	errs := []int{http.StatusInternalServerError, http.StatusServiceUnavailable}
	if !rt.Public {
		errs = append(errs, http.StatusUnauthorized, http.StatusForbidden)
	}
	if rt.Method != http.MethodGet && rt.Method != http.MethodHead {
		errs = append(errs, http.StatusForbidden) // cross-origin protection
	}
	if rt.Request != nil || rt.BodyLimit > 0 {
		errs = append(errs, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
	}
	if slices.ContainsFunc(rt.Query, func(p Param) bool { return p.In == "path" }) {
		errs = append(errs, http.StatusNotFound)
	}
	errs = append(errs, notes.errors...)
	slices.Sort(errs)
	return append([]int{cmp.Or(rt.Status, http.StatusOK)}, slices.Compact(errs)...)
}

// errorResponses names the shared response of each error status, in components.responses.
func errorResponses() map[int]struct{ name, description string } {
	return map[int]struct{ name, description string }{
		http.StatusBadRequest:            {"BadRequest", "the request is malformed: the body is not valid JSON for the operation, or a parameter is not of its type"},
		http.StatusUnauthorized:          {"Unauthenticated", "no session, an expired session, or wrong credentials"},
		http.StatusForbidden:             {"Forbidden", "not permitted (the refusal is in the audit log); a sensitive act that needs a fresh second factor (the message ends in \"(step-up)\"); a session that has not finished signing in; or a cross-site browser request"},
		http.StatusNotFound:              {"NotFound", "no such resource, or none the caller may know of"},
		http.StatusConflict:              {"Conflict", "the request conflicts with the current state: an e-mail address or a sign-in phone number in use, removing the last second factor, a self-service reset where Haven has no e-mail, an account not in the state the act needs (enabling one that is not disabled, re-sending the invitation of one already activated); a time slot someone else has just booked; an appointment no longer in a state that allows the act (cancelled, started, ended; not yet started, for a no-show); a visit not in the state the act needs (checking in before it opens, admitting a patient who has not checked in or has not accepted the telehealth consent in force, ending one that has not started); a telehealth consent version no longer in force"},
		http.StatusGone:                  {"Gone", "a single-use link or token that was used or has expired"},
		http.StatusRequestEntityTooLarge: {"PayloadTooLarge", "the request body is over 1 MiB (over 10 MiB for a document upload)"},
		http.StatusUnprocessableEntity:   {"UnprocessableEntity", "a field failed validation; the message names the field"},
		http.StatusTooManyRequests:       {"TooManyRequests", "too many attempts; wait as Retry-After says and try again"},
		http.StatusInternalServerError:   {"InternalError", "something went wrong; the request id finds the cause in the server's log"},
		http.StatusServiceUnavailable:    {"Unavailable", "the audit log or the database cannot be reached, so the request is refused; or an e-mail that must go out could not be sent, and nothing changed"},
	}
}

// OpenAPI builds the OpenAPI 3.1 document from the route table.
func (a *API) OpenAPI() map[string]any {
	notes := operationNotes()
	errs := errorResponses()
	paths := map[string]any{}
	for _, rt := range a.routes {
		n := notes[rt.OperationID]
		responses := map[string]any{}
		for i, status := range rt.statuses(n) {
			if i == 0 {
				responses[strconv.Itoa(status)] = successResponse(rt, n)
				continue
			}
			responses[strconv.Itoa(status)] = map[string]any{"$ref": "#/components/responses/" + errs[status].name}
		}
		op := map[string]any{
			"operationId": rt.OperationID,
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
			"responses":   responses,
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
			op["requestBody"] = map[string]any{"required": !rt.RequestOptional, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaOf(t, false)}}}
		}
		if len(rt.RequestMedia) > 0 {
			content := map[string]any{}
			for _, m := range rt.RequestMedia {
				content[m] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary", "maxLength": rt.BodyLimit}}
			}
			op["requestBody"] = map[string]any{"required": true, "content": content}
		}
		path := Prefix + rt.Path
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	responses := map[string]any{}
	for status, e := range errs {
		r := map[string]any{"description": e.description, "content": map[string]any{
			"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
		if status == http.StatusTooManyRequests {
			r["headers"] = map[string]any{"Retry-After": map[string]any{"required": true,
				"description": "seconds to wait before trying again",
				"schema":      map[string]any{"type": "integer", "minimum": 1}}}
		}
		responses[e.name] = r
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Haven API", "version": a.d.Version,
			"description": "Haven's JSON API. Every operation needs a session cookie unless it declares `security: []`. " +
				"Errors are {\"error\", \"requestId\"} with a safe message. A method a path does not serve answers 405 with an Allow header."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"session": map[string]any{"type": "apiKey", "in": "cookie", "name": httpx.SessionCookie}},
			"schemas": map[string]any{"Error": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"error":     map[string]any{"type": "string", "description": "a message safe to show to a user"},
					"requestId": map[string]any{"type": "string", "description": "finds the cause in the server's log"}},
				"required":             []string{"error", "requestId"},
				"additionalProperties": false,
			}},
			"responses": responses,
		},
		"security": []any{map[string]any{"session": []any{}}},
	}
}

// successResponse documents rt's success answer: JSON unless its notes say otherwise; text/plain
// for a string Response.
func successResponse(rt Route, n opNotes) map[string]any {
	t := typeOf(rt.Response)
	var content map[string]any
	switch {
	case len(n.binary) > 0:
		content = map[string]any{}
		for _, m := range n.binary {
			content[m] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
		}
	case n.media != "":
		// Not one JSON value (NDJSON is one per line): the media type is the contract. An
		// operation answering in a format the caller chooses lists each.
		content = map[string]any{}
		for _, m := range strings.Split(n.media, ", ") {
			content[m] = map[string]any{}
		}
	case t != nil && t.Kind() == reflect.String:
		content = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
	default:
		content = map[string]any{"application/json": map[string]any{"schema": schemaOf(t, true)}}
	}
	return map[string]any{"description": "success", "content": content}
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) error {
	return httpx.WriteJSON(w, http.StatusOK, a.OpenAPI())
}

var (
	timeType       = reflect.TypeFor[time.Time]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
)

// schemaOf derives a JSON Schema from a Go type as encoding/json encodes it. An object is closed
// (additionalProperties: false): decoding refuses unknown fields, and an answer has no others.
// In an answer (response true) every field without omitempty or omitzero is required, as it is
// always sent; in a request none is, as a missing field decodes to its zero value.
func schemaOf(t reflect.Type, response bool) map[string]any {
	if t == nil {
		return map[string]any{}
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawMessageType:
		return map[string]any{} // any JSON value
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType):
		return map[string]any{} // encodes itself: reflection cannot say how
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), response)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), response)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), response)}
	case reflect.Struct:
		props := map[string]any{}
		required := []string{}
		addFields(t, response, true, props, &required)
		slices.Sort(required)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{} // an interface: any JSON value
}

// addFields adds t's JSON fields to props, flattening embedded structs as encoding/json does
// (an embedded struct's fields are the outer object's, even when its type is unexported). A field
// already named by a shallower struct wins. always is false under an embedded pointer, whose
// fields are absent when it is nil.
func addFields(t reflect.Type, response, always bool, props map[string]any, required *[]string) {
	var embedded []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		ft := f.Type
		if f.Anonymous && name == "" && (ft.Kind() == reflect.Struct || ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct) {
			embedded = append(embedded, f)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, ok := props[name]; ok {
			continue
		}
		props[name] = schemaOf(ft, response)
		omit := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		if response && always && !omit {
			*required = append(*required, name)
		}
	}
	for _, f := range embedded {
		ft, fieldsAlways := f.Type, always
		if ft.Kind() == reflect.Pointer {
			ft, fieldsAlways = ft.Elem(), false
		}
		addFields(ft, response, fieldsAlways, props, required)
	}
}
