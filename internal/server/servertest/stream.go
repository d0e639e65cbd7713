package servertest

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Event is one Server-Sent Event as a live page receives it.
type Event struct {
	Event, Data string
}

// Stream is a live answer (Server-Sent Events) being read by a client. A refusal is an
// ordinary answer: Status and Body hold it.
type Stream struct {
	Status int
	Header http.Header
	Body   []byte // a refusal's whole body; empty for a stream
	events chan Event
	cancel context.CancelFunc
	tr     *http.Transport
	once   sync.Once
}

// Stream opens a live route as the client, with its session. The status and headers are
// checked against the OpenAPI document (a stream's body is not one JSON value), a refusal's
// body too. The stream is closed at the end of the test if not before.
func (c *Client) Stream(path string) *Stream {
	c.e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.e.TS.URL+path, nil)
	if err != nil {
		cancel()
		c.e.t.Fatal(err)
	}
	// Not the contract transport: it reads an answer to its end, and a stream has none.
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // test server's own certificate
	hc := &http.Client{Jar: c.HTTP.Jar, Transport: tr, CheckRedirect: c.HTTP.CheckRedirect}
	resp, err := hc.Do(req)
	if err != nil {
		cancel()
		c.e.t.Fatal(err)
	}
	s := &Stream{Status: resp.StatusCode, Header: resp.Header, events: make(chan Event, 64), cancel: cancel, tr: tr}
	c.e.t.Cleanup(s.Close)
	if resp.StatusCode != http.StatusOK {
		s.Body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		close(s.events)
	} else {
		go s.read(resp.Body)
	}
	if err := c.e.Contract.Check(req, resp.StatusCode, resp.Header, s.Body); err != nil {
		c.e.t.Errorf("GET %s = %d: the answer breaks the OpenAPI document: %v", path, resp.StatusCode, err)
	}
	return s
}

// read parses the stream into events until it ends.
func (s *Stream) read(body io.ReadCloser) {
	defer close(s.events)
	defer body.Close()
	sc := bufio.NewScanner(body)
	var ev Event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev != (Event{}) {
				s.events <- ev
			}
			ev = Event{}
		case strings.HasPrefix(line, "event:"):
			ev.Event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			ev.Data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
}

// Next returns the next event, or false if the stream ended or none came within wait.
func (s *Stream) Next(wait time.Duration) (Event, bool) {
	select {
	case ev, ok := <-s.events:
		return ev, ok
	case <-time.After(wait):
		return Event{}, false
	}
}

// Await returns the first event named name, skipping others, or false if the stream ended or
// none came within wait.
func (s *Stream) Await(name string, wait time.Duration) (Event, bool) {
	deadline := time.After(wait)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return Event{}, false
			}
			if ev.Event == name {
				return ev, true
			}
		case <-deadline:
			return Event{}, false
		}
	}
}

// Ended reports whether the server ended the stream within wait.
func (s *Stream) Ended(wait time.Duration) bool {
	deadline := time.After(wait)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// Close ends the stream as a page going away does.
func (s *Stream) Close() {
	s.once.Do(func() {
		s.cancel()
		for range s.events {
		}
		s.tr.CloseIdleConnections()
	})
}
