// Package rxprint renders a signed prescription for paper: an HTML page and a PDF, each with a
// QR code carrying the public check page's address and, after "#", the one-time verification
// code (a fragment never reaches a server's logs). It reads what package clinical hands it and
// decides nothing: whoever may print was decided at the door.
package rxprint

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"

	"haven/internal/clinical"
)

// CheckURL is the public check page of a prescription, with its code in the fragment.
func CheckURL(base, id, code string) string {
	return strings.TrimRight(base, "/") + "/rx/" + id + "#" + code
}

// Paper is what the printout shows, in the reader's words.
type Paper struct {
	Medication, Directions, Quantity, Refills, Schedule, Notes string
	Patient, BirthDate, Prescriber, Issued, Status             string
	Code, URL, ID                                              string
	SignedWith                                                 string
	Verifies                                                   bool
	QR                                                         template.HTML // inline SVG: the page's CSP allows no data: images
	qrPNG                                                      []byte
}

// New builds the paper of p, with times in loc.
func New(p clinical.Printable, base string, loc *time.Location) (Paper, error) {
	x := p.Prescription
	url := CheckURL(base, x.ID, p.Code)
	qr, err := qrcode.New(url, qrcode.Medium)
	if err != nil {
		return Paper{}, fmt.Errorf("rxprint: QR code: %w", err)
	}
	png, err := qr.PNG(256)
	if err != nil {
		return Paper{}, fmt.Errorf("rxprint: QR code: %w", err)
	}
	if loc == nil {
		loc = time.UTC
	}
	issued := ""
	if x.IssuedAt != nil {
		issued = x.IssuedAt.In(loc).Format("2 January 2006")
	}
	refills := "No refills"
	if x.Refills == 1 {
		refills = "1 refill"
	} else if x.Refills > 1 {
		refills = strconv.Itoa(x.Refills) + " refills"
	}
	schedule := ""
	if x.Schedule != "" {
		schedule = "Controlled substance, schedule " + x.Schedule
	}
	signed := "Haven's key for this prescriber, after a fresh second factor"
	if x.SignedWith == clinical.SignPasskey {
		signed = "the prescriber's passkey"
	}
	status := map[string]string{clinical.RxSigned: "Valid", clinical.RxDispensed: "Dispensed", clinical.RxCancelled: "Cancelled"}[x.Status]
	return Paper{Medication: clinical.MedicationLine(x.Content), Directions: clinical.Directions(x.Content), Quantity: x.Quantity,
		Refills: refills, Schedule: schedule, Notes: x.Notes, Patient: p.PatientName, BirthDate: p.PatientBirthDate,
		Prescriber: x.PrescriberName, Issued: issued, Status: status, Code: p.Code, URL: url, ID: x.ID, SignedWith: signed,
		Verifies: p.Verifies, QR: svg(qr.Bitmap()), qrPNG: png}, nil
}

var page = template.Must(template.New("rx").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Prescription: {{.Medication}}</title><link rel="stylesheet" href="/static/haven.css"></head>
<body class="printable"><main>
<h1>Prescription</h1>
{{if not .Verifies}}<p role="alert">This prescription's signature does not verify. Do not use it; ask the prescriber.</p>{{end}}
<dl class="facts">
<dt>Patient</dt><dd>{{.Patient}}, born {{.BirthDate}}</dd>
<dt>Medication</dt><dd><strong>{{.Medication}}</strong></dd>
{{if .Directions}}<dt>How to take it</dt><dd>{{.Directions}}</dd>{{end}}
<dt>Quantity</dt><dd>{{.Quantity}}</dd>
<dt>Refills</dt><dd>{{.Refills}}</dd>
{{if .Schedule}}<dt>Schedule</dt><dd>{{.Schedule}}</dd>{{end}}
{{if .Notes}}<dt>For the pharmacist</dt><dd>{{.Notes}}</dd>{{end}}
<dt>Prescriber</dt><dd>{{.Prescriber}}</dd>
<dt>Issued</dt><dd>{{.Issued}}</dd>
<dt>Status</dt><dd>{{.Status}}</dd>
<dt>Signed with</dt><dd>{{.SignedWith}}</dd>
</dl>
<h2>For the pharmacy</h2>
<p>Scan the code, or open <a href="{{.URL}}">the check page</a> and enter the verification code.</p>
{{.QR}}
<p>Verification code: <strong class="code">{{.Code}}</strong></p>
<p>Prescription number: {{.ID}}</p>
<p><a href="pdf">Download as PDF</a></p>
</main></body></html>
`))

// HTML renders the printable page.
func (p Paper) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("rxprint: page: %w", err)
	}
	return b.Bytes(), nil
}

// PDF renders the printable document.
func (p Paper) PDF() ([]byte, error) {
	doc := fpdf.New("P", "mm", "A4", "")
	doc.SetTitle("Prescription", true)
	doc.SetCreator("Haven", true)
	doc.AddPage()
	tr := doc.UnicodeTranslatorFromDescriptor("") // cp1252: the core fonts' encoding
	doc.SetFont("Helvetica", "B", 18)
	doc.Cell(0, 10, "Prescription")
	doc.Ln(14)
	line := func(label, value string) {
		if value == "" {
			return
		}
		doc.SetFont("Helvetica", "B", 11)
		doc.CellFormat(45, 7, tr(label), "", 0, "", false, 0, "")
		doc.SetFont("Helvetica", "", 11)
		doc.MultiCell(0, 7, tr(value), "", "", false)
	}
	if !p.Verifies {
		line("Warning", "This prescription's signature does not verify. Do not use it.")
	}
	line("Patient", p.Patient+", born "+p.BirthDate)
	line("Medication", p.Medication)
	line("How to take it", p.Directions)
	line("Quantity", p.Quantity)
	line("Refills", p.Refills)
	line("Schedule", p.Schedule)
	line("For the pharmacist", p.Notes)
	line("Prescriber", p.Prescriber)
	line("Issued", p.Issued)
	line("Status", p.Status)
	line("Signed with", p.SignedWith)
	doc.Ln(6)
	doc.RegisterImageOptionsReader("qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(p.qrPNG))
	doc.ImageOptions("qr", 15, doc.GetY(), 50, 50, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	doc.SetY(doc.GetY() + 54)
	line("Verification code", p.Code)
	line("Check page", p.URL)
	line("Prescription", p.ID)
	var b bytes.Buffer
	if err := doc.Output(&b); err != nil {
		return nil, fmt.Errorf("rxprint: PDF: %w", err)
	}
	return b.Bytes(), nil
}

// svg draws a QR bitmap as one path, one unit per module.
func svg(bits [][]bool) template.HTML {
	var d strings.Builder
	for y, row := range bits {
		for x, on := range row {
			if on {
				fmt.Fprintf(&d, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	n := len(bits)
	return template.HTML(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="200" height="200" role="img" aria-label="QR code of the prescription's check page with its verification code"><rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`, n, n, n, n, d.String()))
}
