// Package api is Haven's JSON API under /api/v1. One route table (Routes) feeds the router, the
// OpenAPI document and the route-walk test, so no operation can exist outside all three.
//
// A route is public only if it says so; every other route answers 401 without a session before
// its handler runs, so before any input is validated or any record looked up. Handlers hold no
// policy of their own: they decode, call a domain service (which decides, audits and seals), and
// encode.
package api

import (
	"net/http"
	"reflect"
	"slices"
	"strings"

	"haven/internal/clinical"
	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/monitor"
	"haven/internal/principal"
	"haven/internal/privacy"
	"haven/internal/services"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Route is one API operation.
type Route struct {
	Method      string
	Path        string // under Prefix, with {name} wildcards
	OperationID string
	Summary     string
	Tag         string
	// Public routes need no session; they declare `security: []` in the OpenAPI document.
	Public bool
	// Stage is the session stage the route needs (StageFull unless set). Ignored if Public.
	Stage   identity.Stage
	Request any // a value of the request body type, for the schema; nil if none
	// RequestOptional: the body may be left out (the document says so).
	RequestOptional bool
	// RequestMedia lists the media types of a raw (not JSON) body, such as a document's bytes;
	// BodyLimit is then that route's own bound on it, instead of httpx.MaxBodyBytes.
	RequestMedia []string
	BodyLimit    int64
	Response     any // a value of the response body type
	Status       int // the success status, 200 unless set
	Query        []Param
	// Act is the policy action the route performs when the caller's right can be decided before
	// the body is read (administrative routes, and PHI routes that take a body): the guard asks
	// the door first, so a refusal is decided and audited whatever the body holds.
	Act string
	// PatientParam names the path parameter holding the patient the Act is on, if any.
	PatientParam string
	// Guest: a visit guest's session may call the route (its own visit's page). Every other
	// route refuses a guest with 403 before its handler runs.
	Guest   bool
	Handler httpx.HandlerFunc
}

// Param is a query or path parameter.
type Param struct {
	Name, In, Description string
	Required              bool
}

// Pattern is the route's net/http mux pattern.
func (rt Route) Pattern() string { return rt.Method + " " + Prefix + rt.Path }

// Deps are the services the API calls: the same set every transport gets.
type Deps = services.Services

// API serves /api/v1.
type API struct {
	d      Deps
	routes []Route
}

// New builds the API and its route table.
func New(d Deps) *API {
	a := &API{d: d}
	a.routes = a.table()
	return a
}

// Routes returns the route table.
func (a *API) Routes() []Route { return a.routes }

// Mount registers every route on mux, each behind its session check. A route that takes a body
// reads at most httpx.MaxBodyBytes of it, after the session check.
func (a *API) Mount(mux *http.ServeMux) {
	for _, rt := range a.routes {
		h := rt.Handler
		switch {
		case rt.BodyLimit > 0:
			h = httpx.LimitBodyTo(rt.BodyLimit, h)
		case rt.Request != nil:
			h = httpx.LimitBody(h)
		}
		mux.Handle(rt.Pattern(), httpx.Adapt(a.d.Log, httpx.JSONError, a.guard(rt, h)))
	}
	// Anything else under the prefix is a JSON error: 405 with the methods the path serves if it
	// is in the route table (the table is public: the OpenAPI document lists it), otherwise a 404
	// after the same session rule.
	allowed := allowedMethods(a.routes)
	mux.Handle(Prefix+"/", httpx.Adapt(a.d.Log, httpx.JSONError, func(w http.ResponseWriter, r *http.Request) error {
		if allow := allowed(r); allow != "" {
			return &httpx.Error{Status: http.StatusMethodNotAllowed, Message: "this path does not answer " + r.Method,
				Header: http.Header{"Allow": {allow}}}
		}
		if httpx.Session(r) == nil {
			return httpx.ErrUnauthenticated
		}
		return httpx.ErrNotFound
	}))
}

// allowedMethods returns a function naming, for a request no route took, the methods the route
// table serves at its path ("GET, HEAD, POST"), or "" if none does. It asks a mux of its own
// holding the table's patterns, so it matches paths exactly as the router does.
func allowedMethods(routes []Route) func(*http.Request) string {
	probe := http.NewServeMux()
	var methods []string
	for _, rt := range routes {
		probe.Handle(rt.Pattern(), http.NotFoundHandler())
		if !slices.Contains(methods, rt.Method) {
			methods = append(methods, rt.Method)
		}
	}
	if slices.Contains(methods, http.MethodGet) {
		methods = append(methods, http.MethodHead) // a GET pattern serves HEAD too
	}
	slices.Sort(methods)
	return func(r *http.Request) string {
		var allow []string
		for _, m := range methods {
			if _, pattern := probe.Handler(&http.Request{Method: m, URL: r.URL, Host: r.Host}); pattern != "" {
				allow = append(allow, m)
			}
		}
		return strings.Join(allow, ", ")
	}
}

// guard refuses a non-public route without a session at its stage before h, the route's
// handler, runs.
func (a *API) guard(rt Route, h httpx.HandlerFunc) httpx.HandlerFunc {
	if rt.Public {
		return h
	}
	stage := rt.Stage
	if stage == "" {
		stage = identity.StageFull
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		if stage == stageAny {
			if httpx.Session(r) == nil {
				return httpx.ErrUnauthenticated
			}
		} else if _, err := httpx.RequireSession(r, stage); err != nil {
			return err
		}
		if httpx.Session(r).Subject.Role == principal.Guest && !rt.Guest {
			return httpx.ErrGuestOnlyVisit
		}
		if rt.Act != "" {
			var patientID string
			if rt.PatientParam != "" {
				patientID = r.PathValue(rt.PatientParam)
			}
			if err := a.d.Admit(r.Context(), httpx.Session(r).Subject, rt.Act, patientID, httpx.Origin(r)); err != nil {
				return err
			}
		}
		return h(w, r)
	}
}

func (a *API) table() []Route {
	rs := a.coreRoutes()
	rs = append(rs, a.scheduleRoutes()...)
	rs = append(rs, a.visitRoutes()...)
	rs = append(rs, a.calendarRoutes()...)
	rs = append(rs, a.chargeRoutes()...)
	rs = append(rs, a.recordRoutes()...)
	rs = append(rs, a.documentRoutes()...)
	rs = append(rs, a.noteRoutes()...)
	rs = append(rs, a.prescriptionRoutes()...)
	rs = append(rs, a.governanceRoutes()...)
	rs = append(rs, a.erasureRoutes()...)
	rs = append(rs, a.integrationRoutes()...)
	rs = append(rs, a.consultRoutes()...)
	return rs
}

func (a *API) coreRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/openapi.json", OperationID: "getOpenAPI", Summary: "This API's OpenAPI 3 document", Tag: "meta",
			Public: true, Response: map[string]any{}, Handler: a.openAPI},

		{Method: "POST", Path: "/setup", OperationID: "completeSetup", Summary: "Create the first administrator with the one-time setup token", Tag: "auth",
			Public: true, Request: setupRequest{}, Response: stageResponse{}, Status: http.StatusCreated, Handler: a.setup},
		{Method: "POST", Path: "/auth/login", OperationID: "login", Summary: "Sign in with e-mail address (or, for a patient who has none, phone number) and password (first factor)", Tag: "auth",
			Public: true, Request: loginRequest{}, Response: stageResponse{}, Handler: a.login},
		{Method: "POST", Path: "/auth/totp", OperationID: "verifyTOTP", Summary: "Complete sign-in with a TOTP code or a recovery code", Tag: "totp",
			Stage: identity.StageSecondFactor, Request: codeRequest{}, Response: stageResponse{}, Handler: a.verifyTOTP},
		{Method: "GET", Path: "/auth/totp/enrolment", OperationID: "beginTOTPEnrolment", Summary: "Get the TOTP secret to enrol (QR code as PNG data URL): while enrolling, or signed in after a step-up", Tag: "totp",
			Stage: stageAny, Response: enrolmentResponse{}, Handler: a.beginEnrolment},
		{Method: "POST", Path: "/auth/totp/enrolment", OperationID: "confirmTOTPEnrolment", Summary: "Confirm TOTP enrolment with a code; the account's first second factor comes with its ten recovery codes, in this answer only", Tag: "totp",
			Stage: stageAny, Request: codeRequest{}, Response: enrolledResponse{}, Handler: a.confirmEnrolment},
		{Method: "POST", Path: "/auth/logout", OperationID: "logout", Summary: "End the session", Tag: "auth",
			Stage: stageAny, Response: okResponse{}, Handler: a.logout},
		{Method: "POST", Path: "/auth/step-up", OperationID: "stepUp", Summary: "Confirm a second factor again (TOTP or recovery code) before a sensitive act", Tag: "auth",
			Request: codeRequest{}, Response: okResponse{}, Handler: a.stepUp},
		{Method: "POST", Path: "/password", OperationID: "changePassword", Summary: "Change the caller's password (needs the current one and a recent step-up); other sessions end", Tag: "auth",
			Request: passwordChangeRequest{}, Response: okResponse{}, Handler: a.changePassword},
		{Method: "PUT", Path: "/email", OperationID: "changeEmail", Summary: "Move the caller's staff account to another e-mail address (needs a recent step-up); with e-mail on, it waits for the link sent there", Tag: "account",
			Request: emailChangeRequest{}, Response: emailChangeResponse{}, Handler: a.changeEmail},
		{Method: "POST", Path: "/email/confirm", OperationID: "confirmEmailChange", Summary: "Confirm a new e-mail address with the single-use link sent to it", Tag: "account", Public: true,
			Request: tokenRequest{}, Response: okResponse{}, Handler: a.confirmEmailChange},
		{Method: "GET", Path: "/recovery-codes", OperationID: "countRecoveryCodes", Summary: "How many unused recovery codes the caller has", Tag: "recovery-codes",
			Response: recoveryCountResponse{}, Handler: a.recoveryCount},
		{Method: "POST", Path: "/recovery-codes", OperationID: "regenerateRecoveryCodes", Summary: "Replace the caller's recovery codes (needs a recent step-up); the codes are shown once", Tag: "recovery-codes",
			Response: recoveryCodesResponse{}, Status: http.StatusCreated, Handler: a.regenerateRecovery},
		{Method: "DELETE", Path: "/totp", OperationID: "removeTOTP", Summary: "Remove the caller's authenticator app (needs a recent step-up and a passkey left)", Tag: "totp",
			Response: okResponse{}, Handler: a.removeTOTP},

		{Method: "POST", Path: "/auth/passkeys/sign-in/options", OperationID: "beginPasskeySignIn", Summary: "Start a passwordless sign-in with a passkey: WebAuthn request options", Tag: "passkeys",
			Public: true, Response: identity.PasskeyOptions{}, Handler: a.beginPasskeySignIn},
		{Method: "POST", Path: "/auth/passkeys/sign-in", OperationID: "finishPasskeySignIn", Summary: "Finish a passwordless sign-in with the authenticator's assertion", Tag: "passkeys",
			Public: true, Request: passkeyFinishRequest{}, Response: stageResponse{}, Handler: a.finishPasskeySignIn},
		{Method: "POST", Path: "/auth/passkeys/verify/options", OperationID: "beginPasskeyVerification", Summary: "Ask the caller's passkeys for an assertion: second factor after a password, or step-up", Tag: "passkeys",
			Stage: stageAny, Response: identity.PasskeyOptions{}, Handler: a.beginPasskeyVerification},
		{Method: "POST", Path: "/auth/passkeys/verify", OperationID: "finishPasskeyVerification", Summary: "Complete the second factor or a step-up with a passkey assertion", Tag: "passkeys",
			Stage: stageAny, Request: passkeyFinishRequest{}, Response: stageResponse{}, Handler: a.finishPasskeyVerification},
		{Method: "GET", Path: "/passkeys", OperationID: "listPasskeys", Summary: "The caller's passkeys: name, created, last used", Tag: "passkeys",
			Response: []identity.Passkey{}, Handler: a.listPasskeys},
		{Method: "POST", Path: "/passkeys/options", OperationID: "beginPasskeyRegistration", Summary: "Start adding a passkey (while enrolling, or after a recent step-up): WebAuthn creation options", Tag: "passkeys",
			Stage: stageAny, Response: identity.PasskeyOptions{}, Handler: a.beginPasskeyRegistration},
		{Method: "POST", Path: "/passkeys", OperationID: "registerPasskey", Summary: "Finish adding a passkey with the authenticator's attestation and a name; the account's first second factor comes with its ten recovery codes, in this answer only", Tag: "passkeys",
			Stage: stageAny, Request: passkeyFinishRequest{}, Response: enrolledResponse{}, Status: http.StatusCreated, Handler: a.registerPasskey},
		{Method: "PATCH", Path: "/passkeys/{id}", OperationID: "renamePasskey", Summary: "Rename one of the caller's passkeys", Tag: "passkeys",
			Query: []Param{{Name: "id", In: "path", Required: true, Description: "credential ID (base64url)"}}, Request: passkeyRenameRequest{}, Response: okResponse{}, Handler: a.renamePasskey},
		{Method: "DELETE", Path: "/passkeys/{id}", OperationID: "removePasskey", Summary: "Remove one of the caller's passkeys (needs a recent step-up; not the last second factor)", Tag: "passkeys",
			Query: []Param{{Name: "id", In: "path", Required: true, Description: "credential ID (base64url)"}}, Response: okResponse{}, Handler: a.removePasskey},

		{Method: "POST", Path: "/invites/activate", OperationID: "activateInvite", Summary: "Set a password from a single-use invitation", Tag: "auth",
			Public: true, Request: activateRequest{}, Response: stageResponse{}, Status: http.StatusCreated, Handler: a.activate},
		{Method: "POST", Path: "/password-resets", OperationID: "requestPasswordReset", Summary: "Forgot password: e-mail a 30-minute reset link to this address if an account uses it (same answer either way)", Tag: "password-resets",
			Public: true, Status: http.StatusAccepted, Request: resetRequest{}, Response: messageResponse{}, Handler: a.requestPasswordReset},
		{Method: "POST", Path: "/password-resets/complete", OperationID: "resetPassword", Summary: "Set a new password from a single-use reset link; the session starts at the second factor", Tag: "password-resets",
			Public: true, Request: resetCompleteRequest{}, Response: stageResponse{}, Handler: a.resetPassword},

		{Method: "GET", Path: "/me", OperationID: "getMe", Summary: "The signed-in account", Tag: "account",
			Response: meResponse{}, Handler: a.me},

		{Method: "GET", Path: "/sessions", OperationID: "listSessions", Summary: "The caller's sessions: device, address, last seen", Tag: "sessions",
			Response: []identity.SessionInfo{}, Handler: a.sessions},
		{Method: "DELETE", Path: "/sessions/{id}", OperationID: "revokeSession", Summary: "End one of the caller's sessions", Tag: "sessions",
			Query: []Param{{Name: "id", In: "path", Required: true, Description: "session handle from listSessions"}}, Response: okResponse{}, Handler: a.revokeSession},
		{Method: "POST", Path: "/admin/staff/{id}/disable", OperationID: "disableStaff", Summary: "Disable a staff account and end all its sessions", Tag: "admin",
			Query: []Param{{Name: "id", In: "path", Required: true, Description: "account identifier"}}, Response: okResponse{}, Act: "account.disable", Handler: a.disableStaff},
		{Method: "POST", Path: "/admin/staff/{id}/enable", OperationID: "enableStaff", Summary: "Let a disabled staff account sign in again (needs a recent step-up); no session comes back", Tag: "admin",
			Query: []Param{{Name: "id", In: "path", Required: true, Description: "account identifier"}}, Response: okResponse{}, Act: "account.enable", Handler: a.enableStaff},
		{Method: "POST", Path: "/admin/staff/{id}/invitation", OperationID: "resendStaffInvitation", Summary: "Send a staff member who has not activated their account a new invitation link (needs a recent step-up); the earlier link stops working; e-mailed, or returned once", Tag: "admin",
			Status: http.StatusCreated, Query: []Param{{Name: "id", In: "path", Required: true, Description: "account identifier"}}, Response: linkResponse{}, Act: "account.invite-resend", Handler: a.resendStaffInvitation},
		{Method: "PUT", Path: "/admin/staff/{id}/role", OperationID: "changeStaffRole", Summary: "Give a staff member another role (needs a recent step-up); their sessions end", Tag: "admin",
			Query: []Param{{Name: "id", In: "path", Required: true, Description: "account identifier"}}, Request: roleRequest{}, Response: okResponse{}, Act: "account.role-change", Handler: a.changeStaffRole},
		{Method: "POST", Path: "/admin/staff/{id}/password-reset", OperationID: "resetStaffPassword", Summary: "Issue a staff member a password-reset link (needs a recent step-up); e-mailed, or returned once", Tag: "password-resets",
			Status: http.StatusCreated, Query: []Param{{Name: "id", In: "path", Required: true, Description: "account identifier"}}, Response: linkResponse{}, Act: "account.reset-issue", Handler: a.resetStaffPassword},

		{Method: "GET", Path: "/admin/staff", OperationID: "listStaff", Summary: "List staff accounts", Tag: "admin",
			Response: []staffResponse{}, Act: "accounts.manage", Handler: a.listStaff},
		{Method: "POST", Path: "/admin/staff", OperationID: "inviteStaff", Summary: "Invite a staff member; the one-time link is returned once", Tag: "admin",
			Request: inviteRequest{}, Response: inviteResponse{}, Status: http.StatusCreated, Act: "account.invite", Handler: a.inviteStaff},
		{Method: "GET", Path: "/admin/patients", OperationID: "listPatientIDs", Summary: "Patient identifiers and their care teams (no PHI)", Tag: "admin",
			Response: []patientIDResponse{}, Act: "accounts.manage", Handler: a.listPatientIDs},
		{Method: "POST", Path: "/admin/care-team", OperationID: "assignCareTeam", Summary: "Put a clinician in a patient's care team", Tag: "admin",
			Request: assignRequest{}, Response: okResponse{}, Act: "careteam.assign", Handler: a.assign},
		{Method: "DELETE", Path: "/admin/care-team", OperationID: "removeFromCareTeam", Summary: "Take a clinician out of a patient's care team; from the next request on they cannot open the record", Tag: "admin",
			Request: assignRequest{}, Response: okResponse{}, Act: "careteam.remove", Handler: a.unassign},

		{Method: "GET", Path: "/patients", OperationID: "listMyPatients", Summary: "Patients in the caller's care team", Tag: "clinical",
			Response: []clinical.Patient{}, Handler: a.myPatients},
		{Method: "POST", Path: "/patients", OperationID: "registerPatient", Summary: "Register a patient; the patient's one-time activation link is returned once. A record with the same name and birth date answers 409 unless confirmDuplicate is true", Tag: "clinical",
			Request: clinical.NewPatient{}, Response: registrationResponse{}, Status: http.StatusCreated, Act: "patient.register", Handler: a.register},
		{Method: "POST", Path: "/patients/search", OperationID: "searchPatients", Summary: "Find patients in the caller's care: q is free text (name parts in any order or their first 3+ letters, a phone number with or without country code, a birth date YYYY-MM-DD, an e-mail address; every term must match; case, accents and hyphens ignored); with by, q matches that one field whole", Tag: "clinical",
			Request: searchRequest{}, Response: []clinical.Patient{}, Act: "patient.search", Handler: a.search},
		{Method: "GET", Path: "/patients/{id}", OperationID: "getPatientRecord", Summary: "A patient's record", Tag: "clinical",
			Query: []Param{{Name: "id", In: "path", Required: true, Description: "patient identifier"}}, Response: clinical.Record{}, Handler: a.record},
		{Method: "POST", Path: "/patients/{id}/notes", OperationID: "addNote", Summary: "Add a clinical note", Tag: "clinical",
			Query: []Param{{Name: "id", In: "path", Required: true, Description: "patient identifier"}}, Request: noteRequest{}, Response: idResponse{}, Status: http.StatusCreated, Act: "note.write", PatientParam: "id", Handler: a.addNote},
		{Method: "POST", Path: "/patients/{id}/sign-in-link", OperationID: "sendPatientSignInLink", Summary: "Issue a patient in the caller's care a password-reset link (needs a recent step-up); e-mailed, or returned once", Tag: "password-resets",
			Status: http.StatusCreated, Query: []Param{{Name: "id", In: "path", Required: true, Description: "patient identifier"}}, Response: linkResponse{}, Handler: a.sendSignInLink},
		{Method: "GET", Path: "/me/record", OperationID: "getMyRecord", Summary: "The signed-in patient's own record", Tag: "clinical",
			Response: clinical.Record{}, Handler: a.myRecord},
		{Method: "PUT", Path: "/me/contact", OperationID: "updateMyContact", Summary: "Change the signed-in patient's phone number and e-mail address (both sent; an address cannot be removed); a new address applies once the link e-mailed to it is opened, or at once where Haven sends no e-mail; emailChange says which", Tag: "clinical",
			Request: clinical.Contact{}, Response: clinical.ContactUpdate{}, Handler: a.updateMyContact},

		{Method: "GET", Path: "/me/access-log", OperationID: "getMyAccessLog", Summary: "Who opened the signed-in patient's record, when, what and why, newest first; one item per audit entry",
			Tag: "privacy", Query: logPaging, Response: []privacy.AccessEvent{}, Handler: a.myAccessLog},
		{Method: "POST", Path: "/me/access-log/{seq}/report", OperationID: "reportAccess", Summary: "Report an access the patient does not recognise", Tag: "privacy",
			Query: []Param{{Name: "seq", In: "path", Required: true, Description: "audit entry index"}}, Response: okResponse{}, Status: http.StatusCreated, Handler: a.reportAccess},
		{Method: "GET", Path: "/patients/{id}/access-log", OperationID: "getAccessLog", Summary: "A patient's access log (privacy officer)", Tag: "privacy",
			Query: append([]Param{{Name: "id", In: "path", Required: true, Description: "patient identifier"}}, logPaging...), Response: []privacy.AccessEvent{}, Handler: a.accessLog},
		{Method: "GET", Path: "/audit/reviews", OperationID: "listAuditReviews", Summary: "Reports waiting for the privacy officer", Tag: "privacy",
			Response: []privacy.Review{}, Handler: a.reviews},
		{Method: "POST", Path: "/audit/reviews/{id}/resolve", OperationID: "resolveAuditReview", Summary: "Close a report with a finding (justified or unjustified) and a note the patient reads; without a body, close it with no finding",
			Tag: "privacy", Query: []Param{{Name: "id", In: "path", Required: true, Description: "review identifier"}}, Request: resolveRequest{}, RequestOptional: true,
			Response: okResponse{}, Handler: a.resolve},
		{Method: "POST", Path: "/audit/search", OperationID: "searchAuditTrail", Summary: "Search the audit trail (privacy officer)", Tag: "privacy",
			Request: auditSearchRequest{}, Response: []privacy.Entry{}, Act: "audit.review", Handler: a.searchTrail},
		{Method: "GET", Path: "/audit/alerts", OperationID: "listSecurityAlerts", Summary: "Recent security alerts from the detectors (privacy officer)", Tag: "privacy",
			Response: []monitor.Alert{}, Handler: a.alerts},
		{Method: "POST", Path: "/audit/flags", OperationID: "flagPatientRecord", Summary: "Flag a record (colleague, VIP) so every staff access raises an alert", Tag: "privacy",
			Request: flagRequest{}, Response: okResponse{}, Status: http.StatusCreated, Act: "audit.review", Handler: a.flag},
		{Method: "POST", Path: "/audit/export/fhir", OperationID: "exportAuditEvents", Summary: "Matching entries as FHIR R4 AuditEvent NDJSON (privacy officer)", Tag: "privacy",
			Request: auditSearchRequest{}, Response: "", Act: "audit.export", Handler: a.auditEventsNDJSON},

		{Method: "GET", Path: "/audit/checkpoint", OperationID: "getAuditCheckpoint", Summary: "The latest signed audit checkpoint (signed-note text)", Tag: "audit",
			Public: true, Response: "", Handler: a.checkpoint},
		{Method: "POST", Path: "/admin/audit/checkpoint", OperationID: "publishAuditCheckpoint", Summary: "Sign and publish an audit checkpoint now", Tag: "admin",
			Response: "", Act: "audit.checkpoint", Handler: a.publishCheckpoint},
		{Method: "GET", Path: "/audit/key", OperationID: "getAuditKey", Summary: "The audit checkpoint verifier key (note format)", Tag: "audit",
			Public: true, Response: "", Handler: a.auditKey},
	}
}

// logPaging are an access log's paging parameters; without them the answer is the newest 200.
var logPaging = []Param{
	{Name: "before", In: "query", Description: "only entries older than this seq (the last seq of the previous page)"},
	{Name: "limit", In: "query", Description: "at most this many items, 1 to 1000 (default 200)"},
}

// stageAny marks a route any session may call, whatever its stage (logout).
const stageAny identity.Stage = "any"

func typeOf(v any) reflect.Type {
	if v == nil {
		return nil
	}
	return reflect.TypeOf(v)
}
