package api

import (
	"io"
	"net/http"
	"strconv"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/httpx"
)

// checkpoint serves the latest stored signed tree head. It carries the log's size and root hash
// only: no entry, no identifier. It never signs: anyone may call it.
func (a *API) checkpoint(w http.ResponseWriter, r *http.Request) error {
	cp, err := audit.Latest(r.Context(), a.d.DB)
	if err != nil {
		return err
	}
	return writeCheckpoint(w, cp)
}

func writeCheckpoint(w http.ResponseWriter, cp audit.Checkpoint) error {
	if cp.Size == 0 {
		return httpx.Errorf(http.StatusNotFound, "no audit checkpoint has been published yet")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(cp.Signed)
	return err
}

// publishCheckpoint signs the current tree head now (administrators, on demand).
func (a *API) publishCheckpoint(w http.ResponseWriter, r *http.Request) error {
	by, err := a.requireAdmin(r, "audit.checkpoint")
	if err != nil {
		return err
	}
	cp, err := a.d.Checkpoints.Publish(r.Context())
	if err != nil && cp.Signed == nil {
		return err
	}
	o := httpx.Origin(r)
	if _, aerr := a.d.Audit.Append(r.Context(), audit.Entry{ActorID: by.AccountID, ActorRole: string(by.Role), Action: "audit.checkpoint",
		ResourceType: "Checkpoint", ResourceID: strconv.FormatInt(cp.Size, 10), Outcome: audit.Success, SourceAddr: o.Addr, RequestID: o.RequestID,
		Purpose: access.PurposeOfUse(by)}); aerr != nil {
		return httpx.FromDomain(aerr)
	}
	if err != nil {
		// Stored and signed; a witness did not take its copy. The schedule retries with the next.
		a.d.Log.Warn("audit checkpoint witness", "request_id", httpx.RequestID(r), "error", err.Error())
	}
	return writeCheckpoint(w, cp)
}

func (a *API) auditKey(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := io.WriteString(w, a.d.AuditKey+"\n")
	return err
}
