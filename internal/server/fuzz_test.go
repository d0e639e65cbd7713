package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"haven/internal/httpx"
	"haven/internal/server/servertest"
)

// FuzzAPIBodies sends arbitrary bytes as the body of every state-changing API operation, as a
// signed-in clinician: bad input gets a clear 4xx, never a 5xx, a panic, or a leak of the cause.
func FuzzAPIBodies(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@b.c","password":"x"}`, `{"name":"A B","birthDate":"1980-02-29","phone":"555 0100","email":"a@b.test"}`,
		`{"by":"name","q":"x"}`, `{"body":"note"}`, `{"code":"123456"}`, `{"text":"Penicillin","severity":"severe"}`, `{"code":{"code":"85354-9"},"systolic":1e400}`, `{"token":"x","password":"yyyyyyyyy"}`,
		`{`, `[]`, `null`, `{"name":"\u0000"}`, `{"birthDate":"9999-99-99"}`, `{"by":"name; DROP TABLE patients","q":"x"}`,
		strings.Repeat(`{"a":`, 1000), `{"body":"` + strings.Repeat("x", 30000) + `"}`,
	} {
		f.Add(seed)
	}
	e := servertest.New(f, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "fuzz@haven.test")
	_, pid := e.Patient(dr, ada)
	cookie := &http.Cookie{Name: httpx.SessionCookie, Value: dr.SessionCookie()}
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/api/v1/auth/login", "/api/v1/setup", "/api/v1/invites/activate",
			"/api/v1/patients", "/api/v1/patients/search", "/api/v1/patients/" + pid + "/notes", "/api/v1/admin/care-team",
			"/api/v1/patients/" + pid + "/allergies", "/api/v1/patients/" + pid + "/observations"} {
			req := httptest.NewRequest("POST", "https://localhost"+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.AddCookie(cookie)
			w := httptest.NewRecorder()
			e.Srv.Handler().ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("POST %s with %q = %d %s", path, body, w.Code, w.Body)
			}
			if strings.Contains(w.Body.String(), "sql") || strings.Contains(w.Body.String(), "SQLSTATE") {
				t.Fatalf("POST %s leaked an internal error: %s", path, w.Body)
			}
		}
	})
}
