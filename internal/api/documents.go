package api

import (
	"fmt"
	"io"
	"net/http"
	"net/url"

	"haven/internal/clinical"
	"haven/internal/httpx"
)

var documentParams = []Param{{Name: "id", In: "path", Required: true, Description: "patient identifier"}}

// documentMedia are the types a document upload may declare in Content-Type (the body is
// sniffed all the same, and a declaration that disagrees with it is refused).
var documentMedia = []string{"application/pdf", "image/png", "image/jpeg", "image/webp"}

func (a *API) documentRoutes() []Route {
	withDoc := append(append([]Param{}, documentParams...), Param{Name: "docId", In: "path", Required: true, Description: "document identifier"})
	upload := append(append([]Param{}, documentParams...),
		Param{Name: "X-Filename", In: "header", Description: "the file's name, percent-encoded UTF-8, shown in the list and given to the download (sealed; a header, as no PHI goes in a URL)"},
		Param{Name: "X-Title", In: "header", Description: "an optional title, percent-encoded UTF-8 (sealed)"})
	return []Route{
		{Method: "POST", Path: "/patients/{id}/documents", OperationID: "uploadDocument", Summary: "Add a document or image to a patient's record: the raw bytes as the body, their type in Content-Type. The type is sniffed from the bytes (PDF, PNG, JPEG or WebP; HEIC is refused with advice; a Content-Type that disagrees is refused), an image's metadata (EXIF, XMP, text chunks) is removed, and the whole is sealed under the patient's key. Up to 10 MiB", Tag: "documents",
			Query: upload, RequestMedia: documentMedia, BodyLimit: clinical.MaxDocumentBytes, Response: clinical.Document{}, Status: http.StatusCreated,
			Act: "document.upload", PatientParam: "id", Handler: a.uploadDocument},
		{Method: "GET", Path: "/patients/{id}/documents", OperationID: "listDocuments", Summary: "A patient's documents and images, newest first, without their content", Tag: "documents",
			Query: documentParams, Response: []clinical.Document{}, Handler: a.listDocuments},
		{Method: "GET", Path: "/patients/{id}/documents/{docId}", OperationID: "downloadDocument", Summary: "Download one document: always an attachment (Content-Disposition), with its stored, allow-listed type and nosniff, never shown inline", Tag: "documents",
			Query: withDoc, Response: "", Handler: a.downloadDocument},
	}
}

func (a *API) uploadDocument(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body) // already read whole and bounded (httpx.LimitBodyTo)
	if err != nil {
		return fmt.Errorf("api: read document: %w", err)
	}
	doc, err := a.d.Records.UploadDocument(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), clinical.NewDocument{
		FileName: unescapeHeader(r, "X-Filename"), Title: unescapeHeader(r, "X-Title"), DeclaredType: r.Header.Get("Content-Type"), Content: body}, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, doc)
}

func (a *API) listDocuments(w http.ResponseWriter, r *http.Request) error {
	docs, err := a.d.Records.Documents(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, docs)
}

func (a *API) downloadDocument(w http.ResponseWriter, r *http.Request) error {
	doc, content, err := a.d.Records.DocumentContent(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), r.PathValue("docId"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.ServeAttachment(w, doc.ContentType, doc.FileName, content)
	return nil
}

// unescapeHeader is header name's value, percent-decoded (a header carries ASCII only); a value
// that does not decode is taken as it is.
func unescapeHeader(r *http.Request, name string) string {
	v := r.Header.Get(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}
