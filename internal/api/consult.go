package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"haven/internal/consult"
	"haven/internal/httpx"
)

// The consultation's routes (docs/e2ee.md): the key directory with its proofs, encrypted
// threads and attachments, and TURN credentials. Every body here is public keys or ciphertext;
// the server checks senders, sizes and order, and stores what it gets as it came.

var (
	deviceParam        = []Param{{Name: "id", In: "path", Required: true, Description: "device identifier"}}
	consultVisitParam  = []Param{{Name: "id", In: "path", Required: true, Description: "visit (appointment) identifier"}}
	threadParam        = []Param{{Name: "thread", In: "path", Required: true, Description: "thread identifier: visit.<visit id> or patient.<patient id>"}}
	threadPatientParam = []Param{{Name: "id", In: "path", Required: true, Description: "patient identifier"}}
)

// envelopeSchema documents an envelope (docs/e2ee.md section 3); the server reads only its header.
type envelopeSchema struct {
	V      int    `json:"v"`
	Thread string `json:"thread"`
	ID     string `json:"id"`
	Sender struct {
		Account string `json:"account"`
		Device  string `json:"device"`
	} `json:"sender"`
	Seq        int64  `json:"seq"`
	SentAt     string `json:"sentAt"`
	EPK        string `json:"epk"`
	Recipients []struct {
		Device  string `json:"device"`
		IV      string `json:"iv"`
		Wrapped string `json:"wrapped"`
	} `json:"recipients"`
	IV         string `json:"iv"`
	Ciphertext string `json:"ciphertext"`
	Sig        string `json:"sig"`
}

type messagesResponse struct {
	Messages []envelopeSchema `json:"messages"`
}

type attachmentResponse struct {
	ID string `json:"id"`
}

type devicesResponse struct {
	Devices []consult.Device `json:"devices"`
}

func (a *API) consultRoutes() []Route {
	withAttachment := append(append([]Param{}, threadParam...), Param{Name: "attachmentId", In: "path", Required: true, Description: "attachment identifier"})
	messagesQuery := append(append([]Param{}, threadParam...), Param{Name: "after", In: "query", Description: "answer the messages after this message id (oldest first); all when left out"})
	turnQuery := append(append([]Param{}, consultVisitParam...), Param{Name: "device", In: "query", Required: true, Description: "the caller's registered device the credential is for"})
	return []Route{
		{Method: "POST", Path: "/me/devices", OperationID: "registerDevice", Summary: "Register this device's public keys (Ed25519 signing, X25519 agreement; 32 bytes each, base64url) in the key directory. Each addition is a leaf of the audit log, covered by a signed checkpoint before the answer; the same keys again answer the device already registered", Tag: "consult",
			Request: consult.NewDevice{}, Response: consult.Device{}, Status: http.StatusCreated, Guest: true, Handler: a.registerDevice},
		{Method: "GET", Path: "/me/devices", OperationID: "listMyDevices", Summary: "One's own registered devices, each with the audit entry that added it", Tag: "consult",
			Response: devicesResponse{}, Guest: true, Handler: a.listMyDevices},
		{Method: "DELETE", Path: "/me/devices/{id}", OperationID: "removeDevice", Summary: "Take one of one's own devices out of the key directory (a leaf of the audit log); messages are no longer encrypted to it", Tag: "consult",
			Query: deviceParam, Response: okResponse{}, Guest: true, Handler: a.removeDevice},
		{Method: "GET", Path: "/visits/{id}/keys", OperationID: "getVisitKeys", Summary: "The device keys of a visit's participants, each with its audit entry and inclusion proof against the signed checkpoint; a client verifies them before use", Tag: "consult",
			Query: consultVisitParam, Response: consult.Keys{}, Guest: true, Handler: a.visitKeys},
		{Method: "GET", Path: "/patients/{id}/thread/keys", OperationID: "getThreadKeys", Summary: "The device keys of a patient's secure-messaging thread's members (the patient and their care team), with proofs as for a visit", Tag: "consult",
			Query: threadPatientParam, Response: consult.Keys{}, Handler: a.threadKeys},
		{Method: "POST", Path: "/threads/{thread}/messages", OperationID: "postMessage", Summary: "Send an end-to-end encrypted message (an envelope, at most 256 KiB). The server checks the sender, the thread, the size and that the sequence number is new, and stores it as it came", Tag: "consult",
			Query: threadParam, Request: envelopeSchema{}, Response: consult.Posted{}, Status: http.StatusCreated, Guest: true, Handler: a.postMessage},
		{Method: "GET", Path: "/threads/{thread}/messages", OperationID: "listMessages", Summary: "A thread's envelopes as they were sent, oldest first (at most 200)", Tag: "consult",
			Query: messagesQuery, Response: messagesResponse{}, Guest: true, Handler: a.listMessages},
		{Method: "POST", Path: "/threads/{thread}/attachments", OperationID: "uploadAttachment", Summary: "Upload an attachment encrypted on the device (the ciphertext only, at most 10 MiB); its key travels inside the message", Tag: "consult",
			Query: threadParam, RequestMedia: []string{"application/octet-stream"}, BodyLimit: consult.MaxAttachmentBytes, Response: attachmentResponse{}, Status: http.StatusCreated, Guest: true, Handler: a.uploadAttachment},
		{Method: "GET", Path: "/threads/{thread}/attachments/{attachmentId}", OperationID: "downloadAttachment", Summary: "An attachment's ciphertext, as it was uploaded", Tag: "consult",
			Query: withAttachment, Response: "", Guest: true, Handler: a.downloadAttachment},
		{Method: "GET", Path: "/visits/{id}/turn", OperationID: "getTURNCredentials", Summary: "A TURN relay credential for one participant's device in one visit, good for ten minutes (no servers when the relay is off)", Tag: "consult",
			Query: turnQuery, Response: consult.ICE{}, Guest: true, Handler: a.turnCredentials},
	}
}

func (a *API) registerDevice(w http.ResponseWriter, r *http.Request) error {
	var in consult.NewDevice
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	d, err := a.d.Consult.RegisterDevice(r.Context(), httpx.Session(r).Subject, in, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, d)
}

func (a *API) listMyDevices(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.d.Consult.MyDevices(r.Context(), httpx.Session(r).Subject)
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"devices": ds})
}

func (a *API) removeDevice(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Consult.RemoveDevice(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{OK: true})
}

func (a *API) visitKeys(w http.ResponseWriter, r *http.Request) error {
	k, err := a.d.Consult.VisitKeys(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, k)
}

func (a *API) threadKeys(w http.ResponseWriter, r *http.Request) error {
	k, err := a.d.Consult.ThreadKeys(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, k)
}

func (a *API) postMessage(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body) // already read whole and bounded (httpx.LimitBody)
	if err != nil {
		return fmt.Errorf("api: read envelope: %w", err)
	}
	p, err := a.d.Consult.PostMessage(r.Context(), httpx.Session(r).Subject, r.PathValue("thread"), body, httpx.Origin(r))
	if errors.Is(err, consult.ErrEnvelopeTooLarge) {
		return &httpx.Error{Status: http.StatusRequestEntityTooLarge, Message: consult.ErrEnvelopeTooLarge.Message, Err: err}
	}
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, p)
}

// listMessages answers the envelopes byte for byte as they were stored.
func (a *API) listMessages(w http.ResponseWriter, r *http.Request) error {
	ms, err := a.d.Consult.Messages(r.Context(), httpx.Session(r).Subject, r.PathValue("thread"), r.URL.Query().Get("after"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	var b bytes.Buffer
	b.WriteString(`{"messages":[`)
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(m)
	}
	b.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b.Bytes())
	return err
}

func (a *API) uploadAttachment(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body) // already read whole and bounded (httpx.LimitBodyTo)
	if err != nil {
		return fmt.Errorf("api: read attachment: %w", err)
	}
	id, err := a.d.Consult.PutAttachment(r.Context(), httpx.Session(r).Subject, r.PathValue("thread"), body, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, attachmentResponse{ID: id})
}

func (a *API) downloadAttachment(w http.ResponseWriter, r *http.Request) error {
	b, err := a.d.Consult.Attachment(r.Context(), httpx.Session(r).Subject, r.PathValue("thread"), r.PathValue("attachmentId"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.ServeAttachment(w, "application/octet-stream", "attachment.bin", b)
	return nil
}

func (a *API) turnCredentials(w http.ResponseWriter, r *http.Request) error {
	ice, err := a.d.Consult.TURNCredentials(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), r.URL.Query().Get("device"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, ice)
}
