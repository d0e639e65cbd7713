package api_test

import (
	"maps"
	"net/http"
	"slices"
	"testing"
)

// TestOpenAPICalendarFeed: the feed is public (its URL is the key), answers text/calendar, and
// 404 for a token that does not work; making and revoking it need a session.
func TestOpenAPICalendarFeed(t *testing.T) {
	_, doc := loadDocument(t)
	feed := operation(t, doc, "GET", "/calendar/{token}")
	if feed.Security == nil || len(*feed.Security) != 0 {
		t.Errorf("the feed declares security %v, want none (public)", feed.Security)
	}
	if got := slices.Collect(maps.Keys(feed.Responses.Status(http.StatusOK).Value.Content)); !slices.Equal(got, []string{"text/calendar"}) {
		t.Errorf("the feed answers %v, want text/calendar", got)
	}
	if feed.Responses.Status(http.StatusNotFound) == nil {
		t.Error("the feed does not list 404")
	}
	for _, op := range []struct{ method, path string }{{"POST", "/me/calendar-feed"}, {"DELETE", "/me/calendar-feed"}} {
		if o := operation(t, doc, op.method, op.path); o.Security != nil || o.Responses.Status(http.StatusUnauthorized) == nil {
			t.Errorf("%s %s: security %v; want the session and a 401", op.method, op.path, o.Security)
		}
	}
}
