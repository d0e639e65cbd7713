package web

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"

	"haven/internal/clinical"
	"haven/internal/clinical/upload"
	"haven/internal/httpx"
	"haven/internal/principal"
)

// Documents and images: the clinician's (or nurse's) list for a patient, and the patient's own,
// each with an upload form (a patient sends a photo or a letter from their phone) and download
// links. The record service decides, sniffs, strips and seals; a download is always an
// attachment.

func (u *UI) documentRoutes() []route {
	return []route{
		{"GET /clinician/patients/{id}/documents", u.staffDocuments},
		{"POST /clinician/patients/{id}/documents", u.staffUpload},
		{"GET /clinician/patients/{id}/documents/{docId}", u.staffDownload},
		{"GET /patient/documents", u.myDocuments},
		{"POST /patient/documents", u.myUpload},
		{"GET /patient/documents/{docId}", u.myDownload},
	}
}

type documentsData struct {
	PatientID string
	Docs      []clinical.Document
	Base      string // the list's address; downloads and the form are under it
	Mine      bool   // the patient's own page
	Accept    string
	Limit     string
}

func (u *UI) documentsPage(w http.ResponseWriter, r *http.Request, by principal.Subject, patientID, base string, status int, msg string) error {
	docs, err := u.d.Records.Documents(r.Context(), by, patientID, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	title := "Documents and images"
	if by.Role == principal.Patient {
		title = "My documents"
	}
	return u.render(w, r, status, "documents", page{Title: title, Error: msg, ErrorField: errField(msg),
		Data: documentsData{PatientID: patientID, Docs: docs, Base: base, Mine: by.Role == principal.Patient,
			Accept: upload.Accept, Limit: fmt.Sprintf("%d MB", clinical.MaxDocumentBytes>>20)}})
}

func errField(msg string) string {
	if msg == "" {
		return ""
	}
	return "file"
}

func staffBase(id string) string { return "/clinician/patients/" + url.PathEscape(id) + "/documents" }

func (u *UI) staffDocuments(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Clinician, principal.Nurse)
	if err != nil {
		return err
	}
	return u.documentsPage(w, r, by, r.PathValue("id"), staffBase(r.PathValue("id")), http.StatusOK, "")
}

func (u *UI) myDocuments(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Patient)
	if err != nil {
		return err
	}
	return u.documentsPage(w, r, by, by.PatientID, "/patient/documents", http.StatusOK, "")
}

func (u *UI) staffUpload(w http.ResponseWriter, r *http.Request) error {
	if _, err := signedIn(r, principal.Clinician, principal.Nurse); err != nil {
		return err
	}
	id := r.PathValue("id")
	return u.uploadFrom(w, r, id, staffBase(id))
}

func (u *UI) myUpload(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Patient)
	if err != nil {
		return err
	}
	return u.uploadFrom(w, r, by.PatientID, "/patient/documents")
}

// uploadFrom takes a multipart form's file: the door decides before the body is read, the body
// is bounded by the upload's own limit, and the whole form is kept in memory (a file part never
// goes to a temporary file on disk).
func (u *UI) uploadFrom(w http.ResponseWriter, r *http.Request, patientID, base string) error {
	by, err := u.admit(r, "document.upload", patientID, base)
	if err != nil {
		return err
	}
	const slack = 64 << 10 // the form's other fields and the multipart framing
	r.Body = httpx.BodyUpTo(w, r, clinical.MaxDocumentBytes+slack)
	if err := r.ParseMultipartForm(clinical.MaxDocumentBytes + 2*slack); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return u.documentsPage(w, r, by, patientID, base, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("The file is over %d MB. Send a smaller one, or a photo of fewer pages.", clinical.MaxDocumentBytes>>20))
		}
		return u.documentsPage(w, r, by, patientID, base, http.StatusBadRequest, "Choose a file to send, then try again.")
	}
	defer r.MultipartForm.RemoveAll()
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return u.documentsPage(w, r, by, patientID, base, http.StatusUnprocessableEntity, "Choose a file to send, then try again.")
	}
	defer f.Close()
	content, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("web: read upload: %w", err)
	}
	_, uerr := u.d.Records.UploadDocument(r.Context(), by, patientID, clinical.NewDocument{FileName: hdr.Filename,
		Title: strings.TrimSpace(r.PostFormValue("title")), DeclaredType: hdr.Header.Get("Content-Type"), Content: content}, httpx.Origin(r))
	if uerr != nil {
		msg, ferr := formError(uerr)
		if ferr != nil {
			return ferr
		}
		return u.documentsPage(w, r, by, patientID, base, http.StatusUnprocessableEntity, msg)
	}
	return goTo(base)
}

func (u *UI) staffDownload(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Clinician, principal.Nurse)
	if err != nil {
		return err
	}
	return u.download(w, r, by, r.PathValue("id"))
}

func (u *UI) myDownload(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Patient)
	if err != nil {
		return err
	}
	return u.download(w, r, by, by.PatientID)
}

func (u *UI) download(w http.ResponseWriter, r *http.Request, by principal.Subject, patientID string) error {
	doc, content, err := u.d.Records.DocumentContent(r.Context(), by, patientID, r.PathValue("docId"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.ServeAttachment(w, doc.ContentType, doc.FileName, content)
	return nil
}

// documentFuncs name what the document and note pages show in words.
func documentFuncs() template.FuncMap {
	return template.FuncMap{
		"sizeWords":     sizeWords,
		"typeWords":     typeWords,
		"categories":    func() []string { return clinical.Categories },
		"categoryWords": categoryWords,
	}
}

func sizeWords(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", (n+512)>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func typeWords(t string) string {
	switch t {
	case upload.PDF:
		return "PDF document"
	case upload.PNG, upload.JPEG, upload.WebP:
		return "Image"
	}
	return "File"
}

func categoryWords(c string) string {
	switch c {
	case clinical.CategoryMentalHealth:
		return "mental health"
	case clinical.CategorySubstanceUse:
		return "substance use"
	case clinical.CategorySexualHealth:
		return "sexual health"
	}
	return "sensitive"
}
