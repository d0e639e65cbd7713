package api

import (
	"io"
	"net/http"

	"haven/internal/httpx"
	"haven/internal/privacy"
)

// checkpoint serves the latest stored signed tree head. It carries the log's size and root hash
// only: no entry, no identifier. It never signs: anyone may call it.
func (a *API) checkpoint(w http.ResponseWriter, r *http.Request) error {
	cp, err := a.d.Privacy.LatestCheckpoint(r.Context())
	if err != nil {
		return err
	}
	return writeCheckpoint(w, cp)
}

func writeCheckpoint(w http.ResponseWriter, cp privacy.Checkpoint) error {
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
	cp, witnessErr, err := a.d.Privacy.PublishCheckpoint(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return err
	}
	if witnessErr != nil {
		// Stored and signed; a witness did not take its copy. The schedule retries with the next.
		a.d.Log.Warn("audit checkpoint witness", "request_id", httpx.RequestID(r), "error", witnessErr.Error())
	}
	return writeCheckpoint(w, cp)
}

func (a *API) auditKey(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := io.WriteString(w, a.d.AuditKey+"\n")
	return err
}
