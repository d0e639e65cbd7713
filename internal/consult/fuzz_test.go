package consult_test

import (
	"testing"

	"haven/internal/consult"
)

// FuzzParseHeader: whatever a client sends, the header parser answers a header whose fields
// hold or an error, and never panics.
func FuzzParseHeader(f *testing.F) {
	f.Add(envelope("visit.abc", "acct", "dev", 1, []byte("x")))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"v":1,"thread":"t","id":"AAAAAAAAAAAAAAAAAAAAAA","sender":{"account":"a","device":"d"},"seq":1} {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := consult.ParseHeader(b)
		if err != nil {
			return
		}
		if h.V != 1 || h.Seq < 1 || h.Thread == "" || h.Sender.Account == "" || h.Sender.Device == "" || len(h.ID) != 22 {
			t.Fatalf("accepted %+v from %q", h, b)
		}
	})
}
