package api

import (
	"cmp"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"haven/internal/clinical"
	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/identity/totp"
	"haven/internal/principal"
)

type (
	// loginRequest names the account by its e-mail address or, for a patient who has none, by
	// the phone number on their record with its country code ("+34 612 345 678"; the "+" and
	// the formatting optional). When both are given, the e-mail address is used.
	loginRequest struct {
		Email    string `json:"email"`
		Phone    string `json:"phone,omitempty"`
		Password string `json:"password"`
	}
	setupRequest struct {
		Token    string `json:"token"`
		Email    string `json:"email"`
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	activateRequest struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	codeRequest struct {
		Code string `json:"code"`
	}
	stageResponse struct {
		Stage identity.Stage `json:"stage"`
	}
	// enrolledResponse completes a second factor's enrolment. The account's first factor comes
	// with its recovery codes (identity.RecoveryCodeCount), in this answer only: they are
	// stored as MACs and never shown again. Later enrolments carry none.
	enrolledResponse struct {
		Stage         identity.Stage `json:"stage"`
		RecoveryCodes []string       `json:"recoveryCodes,omitempty"`
	}
	enrolmentResponse struct {
		Secret     string `json:"secret"`
		OTPAuthURL string `json:"otpauthUrl"`
		QRCodePNG  string `json:"qrCodePng"` // data: URL
	}
	okResponse struct {
		OK bool `json:"ok"`
	}
	meResponse struct {
		ID        string         `json:"id"`
		Role      principal.Role `json:"role"`
		Name      string         `json:"name,omitempty"`
		Email     string         `json:"email,omitempty"`
		PatientID string         `json:"patientId,omitempty"`
	}
	staffResponse struct {
		ID        string         `json:"id"`
		Role      principal.Role `json:"role"`
		Status    string         `json:"status"`
		Name      string         `json:"name"`
		Email     string         `json:"email"`
		HasTOTP   bool           `json:"hasTotp"`
		CreatedAt time.Time      `json:"createdAt"`
	}
	inviteRequest struct {
		Email string         `json:"email"`
		Name  string         `json:"name"`
		Role  principal.Role `json:"role"`
	}
	inviteResponse struct {
		AccountID string `json:"accountId"`
		linkResponse
	}
	// linkResponse carries a single-use link issued for someone else: e-mailed to its owner
	// (emailed), or, when Haven has no e-mail, in url, returned this once.
	linkResponse struct {
		URL     string `json:"url,omitempty"`
		Emailed bool   `json:"emailed"`
	}
	resetRequest struct {
		Email string `json:"email"`
	}
	resetCompleteRequest struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	emailChangeRequest struct {
		Email string `json:"email"`
	}
	emailChangeResponse struct {
		// Status is "changed", or "confirmation-sent" when the change waits for the link.
		Status identity.EmailChange `json:"status"`
	}
	tokenRequest struct {
		Token string `json:"token"`
	}
	roleRequest struct {
		Role principal.Role `json:"role"`
	}
	messageResponse struct {
		Message string `json:"message"`
	}
	patientIDResponse struct {
		PatientID    string   `json:"patientId"`
		ClinicianIDs []string `json:"clinicianIds"`
	}
	assignRequest struct {
		PatientID   string `json:"patientId"`
		ClinicianID string `json:"clinicianId"`
	}
	registrationResponse struct {
		PatientID string `json:"patientId"`
		linkResponse
	}
	searchRequest struct {
		// By, when given (name, birthDate, email or phone), matches q whole against that field,
		// as before free-text search; left out, q is free text.
		By    clinical.SearchKind `json:"by,omitempty"`
		Query string              `json:"q"`
	}
	noteRequest struct {
		Body string `json:"body"`
	}
	idResponse struct {
		ID string `json:"id"`
	}
)

func newLinkResponse(l identity.Link) linkResponse {
	return linkResponse{URL: l.URL, Emailed: l.Emailed}
}

func (a *API) setup(w http.ResponseWriter, r *http.Request) error {
	var req setupRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	token, err := a.d.Identity.CompleteSetup(r.Context(), req.Token, req.Email, req.Name, req.Password, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.SetSession(w, token)
	return httpx.WriteJSON(w, http.StatusCreated, stageResponse{identity.StageEnrol})
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		// Malformed input is a sign-in attempt too: it is audited like the rest.
		_, _, lerr := a.d.Identity.Login(r.Context(), "", "", httpx.Origin(r))
		return httpx.FromDomain(lerr)
	}
	token, stage, err := a.d.Identity.Login(r.Context(), cmp.Or(req.Email, req.Phone), req.Password, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.SetSession(w, token)
	return httpx.WriteJSON(w, http.StatusOK, stageResponse{stage})
}

func (a *API) verifyTOTP(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	token, err := a.d.Identity.VerifySecondFactor(r.Context(), httpx.Session(r), req.Code, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.SetSession(w, token)
	return httpx.WriteJSON(w, http.StatusOK, stageResponse{identity.StageFull})
}

func (a *API) beginEnrolment(w http.ResponseWriter, r *http.Request) error {
	k, err := a.d.Identity.BeginTOTPEnrolment(r.Context(), httpx.Session(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	png, err := totp.QRCode(k.URL)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, enrolmentResponse{Secret: k.Secret, OTPAuthURL: k.URL,
		QRCodePNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)})
}

func (a *API) confirmEnrolment(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	done, err := a.d.Identity.ConfirmTOTPEnrolment(r.Context(), httpx.Session(r), req.Code, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return writeEnrolled(w, http.StatusOK, done)
}

// writeEnrolled answers a completed enrolment: the new session cookie when it completed sign-in,
// and the first recovery codes when it issued them.
func writeEnrolled(w http.ResponseWriter, status int, done identity.Enrolled) error {
	if done.Token != "" {
		httpx.SetSession(w, done.Token)
	}
	return httpx.WriteJSON(w, status, enrolledResponse{Stage: identity.StageFull, RecoveryCodes: done.RecoveryCodes})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Identity.Logout(r.Context(), httpx.Session(r), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	httpx.ClearSession(w)
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) activate(w http.ResponseWriter, r *http.Request) error {
	var req activateRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	token, stage, err := a.d.Identity.ActivateInvite(r.Context(), req.Token, req.Password, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.SetSession(w, token)
	return httpx.WriteJSON(w, http.StatusCreated, stageResponse{stage})
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	acct, err := a.d.Identity.Account(r.Context(), s.Subject.AccountID)
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, meResponse{ID: acct.ID, Role: acct.Role, Name: acct.Name, Email: acct.Email, PatientID: acct.PatientID})
}

func (a *API) sessions(w http.ResponseWriter, r *http.Request) error {
	list, err := a.d.Identity.Sessions(r.Context(), httpx.Session(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, list)
}

func (a *API) revokeSession(w http.ResponseWriter, r *http.Request) error {
	err := a.d.Identity.RevokeSession(r.Context(), httpx.Session(r), r.PathValue("id"), httpx.Origin(r))
	if errors.Is(err, identity.ErrNoSession) {
		return httpx.ErrNotFound
	}
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

type (
	recoveryCountResponse struct {
		Remaining int `json:"remaining"`
	}
	recoveryCodesResponse struct {
		Codes []string `json:"codes"`
	}
)

func (a *API) stepUp(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Identity.StepUp(r.Context(), httpx.Session(r), req.Code, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) recoveryCount(w http.ResponseWriter, r *http.Request) error {
	n, err := a.d.Identity.RecoveryCodesLeft(r.Context(), httpx.Session(r).Subject.AccountID)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, recoveryCountResponse{n})
}

func (a *API) regenerateRecovery(w http.ResponseWriter, r *http.Request) error {
	codes, err := a.d.Identity.RegenerateRecoveryCodes(r.Context(), httpx.Session(r), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, recoveryCodesResponse{codes})
}

type passwordChangeRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req passwordChangeRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Identity.ChangePassword(r.Context(), httpx.Session(r), req.Current, req.New, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) changeEmail(w http.ResponseWriter, r *http.Request) error {
	var req emailChangeRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	done, err := a.d.Identity.ChangeEmail(r.Context(), httpx.Session(r), req.Email, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, emailChangeResponse{done})
}

func (a *API) confirmEmailChange(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Identity.ConfirmEmailChange(r.Context(), req.Token, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

// requestPasswordReset is the self-service "forgot password". Its answer is the same whether
// or not an account uses the address.
func (a *API) requestPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var req resetRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Identity.RequestPasswordReset(r.Context(), req.Email, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusAccepted, messageResponse{identity.ResetRequestedMessage})
}

func (a *API) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var req resetCompleteRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	token, stage, err := a.d.Identity.ResetPassword(r.Context(), req.Token, req.Password, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.SetSession(w, token)
	return httpx.WriteJSON(w, http.StatusOK, stageResponse{stage})
}
