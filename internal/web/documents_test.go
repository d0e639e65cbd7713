package web_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// postFile sends a multipart form with one file, as a phone's browser does.
func postFile(t *testing.T, e *servertest.Env, c *servertest.Client, path, name, ctype string, content []byte) (int, string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	h.Set("Content-Type", ctype)
	part, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	mw.WriteField("title", "")
	mw.Close()
	req, err := http.NewRequest("POST", e.TS.URL+path, &b)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func get(t *testing.T, e *servertest.Env, c *servertest.Client, path string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := c.HTTP.Get(e.TS.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// TestPatientSendsAPhoto: a patient sends a photo from the documents page; its location is gone
// from what the clinician downloads, which comes as an attachment. A HEIC photo is refused with
// the advice, on the page, and one over the limit with the limit.
func TestPatientSendsAPhoto(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	patient, pid := e.Patient(dr, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada@example.test"})
	if code, _, body := get(t, e, patient, "/patient/documents"); code != 200 || !strings.Contains(string(body), `accept="application/pdf,image/png,image/jpeg,image/webp`) {
		t.Fatalf("documents page = %d %s", code, body)
	}
	m := image.NewRGBA(image.Rect(0, 0, 8, 8))
	m.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var j bytes.Buffer
	jpeg.Encode(&j, m, nil)
	exif := []byte("Exif\x00\x00MM\x00\x2aGPSLatitude 51.5 N")
	photo := append(append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0, byte(len(exif) + 2)}, exif...), j.Bytes()[2:]...)
	if code, loc, body := postFile(t, e, patient, "/patient/documents", "IMG_0042.jpg", "image/jpeg", photo); code != http.StatusSeeOther || loc != "/patient/documents" {
		t.Fatalf("upload = %d %s %s", code, loc, body)
	}
	heic, err := os.ReadFile("../clinical/upload/testdata/photo.heic")
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := postFile(t, e, patient, "/patient/documents", "IMG_0043.HEIC", "image/heic", heic); code != http.StatusUnprocessableEntity || !strings.Contains(body, "Most Compatible") {
		t.Fatalf("HEIC upload = %d %s", code, body)
	}
	big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0"), 11<<20)...)
	if code, _, body := postFile(t, e, patient, "/patient/documents", "scan.pdf", "application/pdf", big); code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "over 10 MB") {
		t.Fatalf("big upload = %d %.200s", code, body)
	}
	_, _, list := get(t, e, dr, "/clinician/patients/"+pid+"/documents")
	link := regexp.MustCompile(`href="(/clinician/patients/[^"]+/documents/[^"]+)"`).FindSubmatch(list)
	if link == nil || !strings.Contains(string(list), "IMG_0042.jpg") || !strings.Contains(string(list), "sent by the patient") {
		t.Fatalf("clinician's list = %s", list)
	}
	code, h, got := get(t, e, dr, string(link[1]))
	if code != 200 || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") || h.Get("Content-Type") != "image/jpeg" || bytes.Contains(got, []byte("GPSLatitude")) {
		t.Fatalf("download = %d %v (GPS kept: %v)", code, h, bytes.Contains(got, []byte("GPSLatitude")))
	}
}

// TestAddendumFromRecordPage: the record page shows a signed visit note's sections and offers an
// addendum; the addendum appears under the note, which is unchanged; a draft is saved from the
// visit page's form.
func TestAddendumFromRecordPage(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, drID := e.Clinician(admin, "dr@haven.test")
	_, pid := e.Patient(dr, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada@example.test"})
	const visit = "0123456789abcdef0123456789abcdef"
	if _, err := e.Srv.DB().ExecContext(t.Context(), `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at)
		VALUES ($1, $2, $3, 'scheduled', 'booked', $4, $5, $2, $4)`, visit, drID, pid, e.Clock.Now().UnixNano(), e.Clock.Now().Add(20*60e9).UnixNano()); err != nil {
		t.Fatal(err)
	}
	resp, err := dr.HTTP.PostForm(e.TS.URL+"/visits/"+visit+"/note", map[string][]string{"subjective": {"Low mood."}, "summary": {"Rest."}, "category": {"mental-health"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the draft = %d", resp.StatusCode)
	}
	n := dr.Must(200, "GET", "/api/v1/visits/"+visit+"/note", nil)
	if n["status"] != "draft" || n["category"] != "mental-health" {
		t.Fatalf("draft = %v", n)
	}
	dr.Must(200, "POST", "/api/v1/notes/"+n["id"].(string)+"/signature", nil)
	resp, err = dr.HTTP.PostForm(e.TS.URL+"/clinician/patients/"+pid+"/addenda", map[string][]string{"note": {n["id"].(string)}, "body": {"Referred to counselling."}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding the addendum = %d", resp.StatusCode)
	}
	_, _, page := get(t, e, dr, "/clinician/patients/"+pid)
	for _, want := range []string{"Low mood.", "Sensitive: mental health", "Referred to counselling.", "Add an addendum"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("record page lacks %q", want)
		}
	}
}
