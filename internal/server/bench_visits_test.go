package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"haven/internal/store/storetest"
	"haven/internal/visits"
)

// Scheduling benchmarks (docs/benchmarks.md §5). Each measures two operations in alternating
// phases of the same run on the same server, and reports their ratio, so that the machine's
// other load, which comes and goes, weighs on both alike.

// visitPhase is how long one phase of a paired scheduling benchmark runs.
const visitPhase = 500 * time.Millisecond

// BenchmarkBookingPaired: bookings per second with 64 concurrent clients, each booking a
// distinct slot (the clinician booking follow-ups for a patient in their care: one audited,
// unique-index-guarded insert each), against audited note writes per second by 64 clients on
// the same server, in alternating phases. Reports bookings/s, notes/s and bookings/notes
// (goal ≥ 0.8).
//
//	go test -run '^$' -bench BenchmarkBookingPaired -benchtime 6x ./internal/server/
func BenchmarkBookingPaired(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			env := newReadEnv(b, d, false)
			defer env.s.Close()
			me := env.clinicianID(b)
			env.setAvailability(b, me, `{"timeZone":"UTC","slotMinutes":5,"weekly":[`+everyDay("00:00", "24:00")+`]}`)
			slots := env.slotStarts(b, me, 180)
			var next atomic.Int64
			book := func(int) (string, string, int) {
				i := next.Add(1) - 1
				if int(i) >= len(slots) {
					b.Fatalf("ran out of slots after %d bookings: lower -benchtime", i)
				}
				return "/api/v1/appointments", fmt.Sprintf(`{"clinicianId":%q,"patientId":%q,"start":%q}`, me, env.pid, slots[i]), http.StatusCreated
			}
			note := func(int) (string, string, int) {
				return "/api/v1/patients/" + env.pid + "/notes", `{"body":"benchmark note"}`, http.StatusCreated
			}
			const callers = 64
			var booked, noted reads
			for i := range b.N {
				first, second := book, note
				into1, into2 := &booked, &noted
				if i%2 == 1 {
					first, second, into1, into2 = note, book, &noted, &booked
				}
				into1.add(env.posts(b, callers, first, time.Now().Add(visitPhase)))
				into2.add(env.posts(b, callers, second, time.Now().Add(visitPhase)))
			}
			b.ReportMetric(booked.perSecond(), "bookings/s")
			b.ReportMetric(noted.perSecond(), "notes/s")
			b.ReportMetric(booked.perSecond()/noted.perSecond(), "bookings/notes")
		})
	}
}

// BenchmarkSlotsPaired: computing a month of one clinician's free slots (weekday hours in
// Europe/Madrid with a lunch break, 20-minute slots and a 5-minute buffer, a week off, an extra
// Saturday morning, and 120 booked appointments), served as GET /clinicians/{id}/slots for 31
// days, against one PHI read (GET /patients/{id}), one caller each, in alternating phases.
// Reports the mean time of each and slots/read (goal ≤ 1), and, in a third phase, the
// computation alone (visits.ComputeSlots in process, no database, no HTTP) and compute/read.
//
//	go test -run '^$' -bench BenchmarkSlotsPaired -benchtime 6x ./internal/server/
func BenchmarkSlotsPaired(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			env := newReadEnv(b, d, false)
			defer env.s.Close()
			me := env.clinicianID(b)
			env.setAvailability(b, me, `{"timeZone":"Europe/Madrid","slotMinutes":20,"bufferMinutes":5,
				"weekly":[`+weekdays("09:00", "13:00")+`,`+weekdays("14:00", "18:00")+`],
				"exceptions":[{"kind":"off","date":"2026-12-07","until":"2026-12-11"},{"kind":"extra","date":"2026-12-12","start":"09:00","end":"13:00"}]}`)
			free := env.slotStarts(b, me, 31)
			for i := 0; i < 120 && i*3 < len(free); i++ {
				env.post(b, "/api/v1/appointments", fmt.Sprintf(`{"clinicianId":%q,"patientId":%q,"start":%q}`, me, env.pid, free[i*3]), http.StatusCreated)
			}
			from := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
			slotsPath := fmt.Sprintf("/api/v1/clinicians/%s/slots?from=%s&to=%s", me, from.Format(time.RFC3339), from.AddDate(0, 0, 31).Format(time.RFC3339))
			var av visits.Availability
			if w := env.do("GET", "/api/v1/clinicians/"+me+"/availability", ""); w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &av) != nil {
				b.Fatalf("GET availability: %d %s", w.Code, w.Body)
			}
			// The computation alone: the month's slots from the hours, in process.
			compute := func(deadline time.Time) reads {
				var r reads
				began := time.Now()
				for time.Now().Before(deadline) {
					t0 := time.Now()
					if _, err := visits.ComputeSlots(av, from, from.AddDate(0, 0, 31)); err != nil {
						b.Fatal(err)
					}
					r.lat = append(r.lat, time.Since(t0))
				}
				r.elapsed, r.cpu = time.Since(began), -1
				return r
			}
			var slots, phi, computed reads
			for i := range b.N {
				if i%2 == 0 {
					slots.add(env.gets(b, slotsPath, time.Now().Add(visitPhase)))
					phi.add(env.gets(b, "/api/v1/patients/"+env.pid, time.Now().Add(visitPhase)))
					computed.add(compute(time.Now().Add(visitPhase / 5)))
				} else {
					computed.add(compute(time.Now().Add(visitPhase / 5)))
					phi.add(env.gets(b, "/api/v1/patients/"+env.pid, time.Now().Add(visitPhase)))
					slots.add(env.gets(b, slotsPath, time.Now().Add(visitPhase)))
				}
			}
			meanUS := func(r reads) float64 { return float64(r.elapsed.Microseconds()) / float64(len(r.lat)) }
			b.ReportMetric(meanUS(slots), "slots-µs")
			b.ReportMetric(meanUS(phi), "phi-read-µs")
			b.ReportMetric(meanUS(computed), "compute-µs")
			b.ReportMetric(meanUS(slots)/meanUS(phi), "slots/read")
			b.ReportMetric(meanUS(computed)/meanUS(phi), "compute/read")
			b.ReportMetric(float64(len(free)-120), "free-slots")
		})
	}
}

func everyDay(start, end string) string {
	return daysRange([]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, start, end)
}

func weekdays(start, end string) string {
	return daysRange([]string{"mon", "tue", "wed", "thu", "fri"}, start, end)
}

func daysRange(days []string, start, end string) string {
	var parts []string
	for _, d := range days {
		parts = append(parts, fmt.Sprintf(`{"day":%q,"start":%q,"end":%q}`, d, start, end))
	}
	return strings.Join(parts, ",")
}

// do serves one request as the clinician and returns the recorder.
func (env *readEnv) do(method, path, body string) *httptest.ResponseRecorder {
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, "https://localhost"+path, nil)
	} else {
		req = httptest.NewRequest(method, "https://localhost"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	for _, k := range env.clin {
		req.AddCookie(k)
	}
	w := httptest.NewRecorder()
	env.h.ServeHTTP(w, req)
	return w
}

func (env *readEnv) post(b *testing.B, path, body string, want int) {
	b.Helper()
	if w := env.do("POST", path, body); w.Code != want {
		b.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
	}
}

func (env *readEnv) clinicianID(b *testing.B) string {
	b.Helper()
	w := env.do("GET", "/api/v1/me", "")
	var me struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &me); err != nil || me.ID == "" {
		b.Fatalf("GET /me: %d %s", w.Code, w.Body)
	}
	return me.ID
}

func (env *readEnv) setAvailability(b *testing.B, id, spec string) {
	b.Helper()
	if w := env.do("PUT", "/api/v1/clinicians/"+id+"/availability", spec); w.Code != http.StatusOK {
		b.Fatalf("PUT availability: %d %s", w.Code, w.Body)
	}
}

// slotStarts lists the clinician's free slot starts over the next days, 31 days at a time.
func (env *readEnv) slotStarts(b *testing.B, id string, days int) []string {
	b.Helper()
	var out []string
	from := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for done := 0; done < days; done += 31 {
		to := from.AddDate(0, 0, min(31, days-done))
		w := env.do("GET", fmt.Sprintf("/api/v1/clinicians/%s/slots?from=%s&to=%s", id, from.Format(time.RFC3339), to.Format(time.RFC3339)), "")
		var got struct{ Slots []struct{ Start string } }
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
			b.Fatalf("GET slots: %d %s", w.Code, w.Body)
		}
		for _, s := range got.Slots {
			out = append(out, s.Start)
		}
		from = to
	}
	return out
}

// posts has callers goroutines POST what req(caller) gives, each as soon as its previous
// request is answered, until the deadline.
func (env *readEnv) posts(b *testing.B, callers int, req func(int) (path, body string, want int), deadline time.Time) reads {
	b.Helper()
	lat := make([][]time.Duration, callers)
	var failed atomic.Value
	var wg sync.WaitGroup
	began := time.Now()
	for c := range callers {
		wg.Go(func() {
			for time.Now().Before(deadline) && failed.Load() == nil {
				path, body, want := req(c)
				t0 := time.Now()
				w := env.do("POST", path, body)
				lat[c] = append(lat[c], time.Since(t0))
				if w.Code != want {
					failed.Store(fmt.Sprintf("POST %s: %d %s", path, w.Code, w.Body))
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return reads{lat: all, elapsed: time.Since(began), cpu: -1}
}

// gets GETs path as one caller until the deadline.
func (env *readEnv) gets(b *testing.B, path string, deadline time.Time) reads {
	b.Helper()
	var r reads
	r.cpu = -1
	began := time.Now()
	for time.Now().Before(deadline) {
		t0 := time.Now()
		w := env.do("GET", path, "")
		r.lat = append(r.lat, time.Since(t0))
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
	}
	r.elapsed = time.Since(began)
	return r
}
