package fhir

import (
	"context"
	"time"

	"haven/internal/clinical"
)

// DocumentReference is a document or an image in a patient's record (package clinical),
// described without its content: the attachment's URL is the Binary that downloads it, so a
// search never opens a file, and each download is its own guarded read.
type DocumentReference struct {
	Head
	Status      string           `json:"status"`
	DocStatus   string           `json:"docStatus,omitempty"`
	Type        *CodeableConcept `json:"type,omitempty"`
	Subject     *Reference       `json:"subject"`
	Date        string           `json:"date,omitempty"`
	Author      []*Reference     `json:"author,omitempty"`
	Description string           `json:"description,omitempty"`
	Content     []docContent     `json:"content"`
}

// docContent is one content of a DocumentReference: its attachment.
type docContent struct {
	Attachment Attachment `json:"attachment"`
}

// Binary is a document's bytes. As FHIR JSON they are base64 in data; a client that does not
// ask for JSON gets the bytes themselves, as an attachment (Type.Raw).
type Binary struct {
	Head
	ContentType     string     `json:"contentType"`
	SecurityContext *Reference `json:"securityContext,omitempty"`
	Data            []byte     `json:"data,omitempty"`
}

func (f *FHIR) documentReferenceType() *Type {
	return &Type{
		Name: "DocumentReference",
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			d, err := f.d.Records.DocumentInfo(ctx, c.By, id, c.Origin)
			if err != nil {
				return nil, err
			}
			return documentReference(f.d.BaseURL, d), nil
		},
		Search: func(ctx context.Context, c Caller, q Query) ([]Resource, error) {
			patientID, err := docPatient(q, c)
			if err != nil {
				return nil, err
			}
			return f.documentReferences(ctx, c, patientID, q)
		},
		Params: docPatientParams(
			Param{Name: "date", Type: "date", Doc: "when the document was added to the record, with a prefix"},
			Param{Name: "status", Type: "token", Doc: "current: every document is"},
			Param{Name: "contenttype", Type: "token", Doc: "the file's media type (application/pdf, image/png, image/jpeg, image/webp)"},
		),
		Everything: func(ctx context.Context, c Caller, patientID string) ([]Resource, error) {
			return f.documentReferences(ctx, c, patientID, NewQuery(nil))
		},
	}
}

// documentReferences are a patient's documents matching q, newest first.
func (f *FHIR) documentReferences(ctx context.Context, c Caller, patientID string, q Query) ([]Resource, error) {
	dates, err := q.Dates("date")
	if err != nil {
		return nil, err
	}
	docs, err := f.d.Records.Documents(ctx, c.By, patientID, c.Origin)
	if err != nil {
		return nil, err
	}
	out := []Resource{}
	for _, d := range docs {
		if !MatchDates(dates, d.CreatedAt, time.Time{}) || !docStatus(q, "http://hl7.org/fhir/document-reference-status", "current") ||
			!MatchTokens(q.Tokens("contenttype"), Coding{System: "urn:ietf:bcp:13", Code: d.ContentType}) {
			continue
		}
		out = append(out, documentReference(f.d.BaseURL, d))
	}
	return out, nil
}

// documentReference describes d; site is the installation's base URL, under which the
// attachment's Binary is.
func documentReference(site string, d clinical.Document) *DocumentReference {
	dr := &DocumentReference{
		Head:        NewHead("DocumentReference", d.ID, d.CreatedAt, 0),
		Status:      "current",
		Subject:     Ref("Patient", d.PatientID),
		Date:        Instant(d.CreatedAt),
		Description: d.Title,
		Content: []docContent{{Attachment: Attachment{
			ContentType: d.ContentType,
			URL:         resourceURL(site, "Binary/"+d.ID),
			Size:        d.Size,
			Title:       d.FileName,
			Creation:    Instant(d.CreatedAt),
		}}},
	}
	switch {
	case d.ByPatient:
		dr.Author = []*Reference{Ref("Patient", d.PatientID)}
	case d.UploadedByName != "":
		dr.Author = []*Reference{{Display: d.UploadedByName}}
	}
	return dr
}

func (f *FHIR) binaryType() *Type {
	return &Type{
		Name: "Binary",
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			d, content, err := f.d.Records.DocumentByID(ctx, c.By, id, c.Origin)
			if err != nil {
				return nil, err
			}
			return &Binary{Head: NewHead("Binary", d.ID, d.CreatedAt, 0), ContentType: d.ContentType,
				SecurityContext: Ref("DocumentReference", d.ID), Data: content}, nil
		},
		Raw: func(ctx context.Context, c Caller, id string) (Content, error) {
			d, content, err := f.d.Records.DocumentByID(ctx, c.By, id, c.Origin)
			if err != nil {
				return Content{}, err
			}
			return Content{Type: d.ContentType, Filename: d.FileName, Data: content}, nil
		},
	}
}
