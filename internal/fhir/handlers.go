package fhir

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/principal"
)

// Paging bounds.
const (
	defaultCount = 20
	maxCount     = 100
)

// read answers GET [type]/[id]: the resource, with its version as ETag. A Binary is served
// as its bytes unless the client asks for FHIR JSON.
func (f *FHIR) read(w http.ResponseWriter, r *http.Request, c Caller) error {
	t, err := f.typeOf(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if t.Raw != nil && !wantsJSON(r) {
		content, err := t.Raw(r.Context(), c.As(principal.Read), id)
		if err != nil {
			return err
		}
		httpx.ServeAttachment(w, content.Type, content.Filename, content.Data)
		return nil
	}
	if t.Read == nil {
		return errNotSupported(t.Name + " cannot be read by id here")
	}
	res, err := t.Read(r.Context(), c.As(principal.Read), id)
	if err != nil {
		return err
	}
	setVersionHeaders(w, res)
	return writeJSON(w, http.StatusOK, res)
}

// searchType answers GET [type]?params and POST [type]/_search (a form body).
func (f *FHIR) searchType(w http.ResponseWriter, r *http.Request, c Caller) error {
	t, err := f.typeOf(r)
	if err != nil {
		return err
	}
	if t.Search == nil {
		return errNotSupported(t.Name + " cannot be searched here")
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return ErrInvalid("send the search parameters as a form (application/x-www-form-urlencoded)")
		}
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		params = r.Form
	}
	if err := t.checkParams(params); err != nil {
		return err
	}
	q := NewQuery(params)
	count, offset, err := pageWindow(params)
	if err != nil {
		return err
	}
	if t.SearchPage != nil && count > 0 {
		res, total, paged, err := t.SearchPage(r.Context(), c.As(principal.Search), q, offset, count)
		if err != nil {
			return err
		}
		if paged {
			return writeJSON(w, http.StatusOK, f.bundle(t.Name, params, res, total, offset, count))
		}
	}
	res, err := t.Search(r.Context(), c.As(principal.Search), q)
	if err != nil {
		return err
	}
	res, err = applyCommon(q, res)
	if err != nil {
		return err
	}
	b, err := f.page(t.Name, params, res)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

// checkParams refuses a parameter the type does not understand: a search that silently
// ignored one would return more than the client asked for.
func (t *Type) checkParams(v url.Values) error {
	if _, ok := v["_lastUpdated"]; ok && t.NoLastUpdated {
		return ErrInvalid("_lastUpdated is not supported for " + t.Name + ": Haven does not record when it changes")
	}
	for name := range v {
		base, _, _ := strings.Cut(name, ":")
		if ignoredParams[base] || slices.ContainsFunc(commonParams, func(p Param) bool { return p.Name == base }) ||
			slices.ContainsFunc(t.Params, func(p Param) bool { return p.Name == base }) {
			if base != name {
				return ErrInvalid("search modifiers (" + name + ") are not supported; use the parameter without one")
			}
			continue
		}
		var known []string
		for _, p := range t.Params {
			known = append(known, p.Name)
		}
		return ErrInvalid("unknown search parameter " + strconv.Quote(name) + " for " + t.Name + "; supported: " + strings.Join(append(known, "_id", "_lastUpdated", "_count"), ", "))
	}
	return nil
}

// applyCommon filters by _id and _lastUpdated, which every type supports.
func applyCommon(q Query, res []Resource) ([]Resource, error) {
	ids := q.Values("_id")
	updated, err := q.Dates("_lastUpdated")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 && len(updated) == 0 {
		return res, nil
	}
	out := res[:0:0]
	for _, r := range res {
		h := HeadOf(r)
		ok := true
		for _, or := range ids {
			ok = ok && slices.Contains(or, h.ID)
		}
		if len(updated) > 0 {
			var at time.Time
			if h.Meta != nil {
				at, _ = time.Parse(time.RFC3339, h.Meta.LastUpdated)
			}
			ok = ok && MatchDates(updated, at, time.Time{})
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// page cuts res to the page _count and _offset name and wraps it in a searchset Bundle with
// self and next links that repeat the search.
func (f *FHIR) page(path string, params url.Values, res []Resource) (*Bundle, error) {
	count, offset, err := pageWindow(params)
	if err != nil {
		return nil, err
	}
	var shown []Resource
	if offset < len(res) {
		shown = res[offset:min(offset+count, len(res))]
	}
	return f.bundle(path, params, shown, len(res), offset, count), nil
}

// pageWindow reads a search's page size (_count) and start (_offset).
func pageWindow(params url.Values) (count, offset int, err error) {
	count = defaultCount
	if v := params.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, ErrInvalid("_count must be a whole number from 0 to " + strconv.Itoa(maxCount))
		}
		count = min(n, maxCount)
	}
	if v := params.Get("_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, ErrInvalid("_offset must be a whole number from 0; follow the bundle's next link rather than writing it")
		}
		offset = n
	}
	return count, offset, nil
}

// bundle is the searchset of one page (shown, starting at offset) of total matches, with
// self, next and previous links that repeat the search.
func (f *FHIR) bundle(path string, params url.Values, shown []Resource, total, offset, count int) *Bundle {
	b := &Bundle{Head: Head{ResourceType: "Bundle"}, Type: "searchset", Total: &total}
	link := func(rel string, off int) {
		v := url.Values{}
		for k, vs := range params {
			if k != "_offset" && k != "_format" && k != "_pretty" {
				v[k] = vs
			}
		}
		v.Set("_count", strconv.Itoa(count))
		if off > 0 {
			v.Set("_offset", strconv.Itoa(off))
		}
		b.Link = append(b.Link, BundleLink{Relation: rel, URL: f.url(path) + "?" + v.Encode()})
	}
	link("self", offset)
	for _, r := range shown {
		b.Entry = append(b.Entry, f.entry(r, "match"))
	}
	if end := offset + count; count > 0 && end < total {
		link("next", end)
	}
	if offset > 0 {
		link("previous", max(offset-count, 0))
	}
	return b
}

// url is the absolute URL of a path under the base.
func (f *FHIR) url(path string) string { return resourceURL(f.d.BaseURL, path) }

// resourceURL is the absolute URL of a path under the FHIR base of the installation at site
// (services.Services.BaseURL).
func resourceURL(site, path string) string { return site + Base + "/" + path }

func (f *FHIR) entry(r Resource, mode string) BundleEntry {
	h := HeadOf(r)
	return BundleEntry{FullURL: f.url(h.ResourceType + "/" + h.ID), Resource: r, Search: &EntrySearch{Mode: mode}}
}

// operation answers GET [type]/[id]/$op: Patient/[id]/$everything.
func (f *FHIR) operation(w http.ResponseWriter, r *http.Request, c Caller) error {
	if r.PathValue("type") != "Patient" || r.PathValue("op") != "$everything" {
		return errNotSupported("the only operation served is Patient/[id]/$everything")
	}
	params := r.URL.Query()
	for name := range params {
		if name != "_count" && name != "_offset" && !ignoredParams[name] {
			return ErrInvalid("$everything takes _count only")
		}
	}
	res, err := f.everything(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	b, err := f.page("Patient/"+r.PathValue("id")+"/$everything", params, res)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

// everything is the patient and every resource of theirs the caller may see: each type's
// read is its own guarded act. A connected system gets the types its scopes allow and is not
// asked for the others; a person's role refused a type (a nurse and charges) leaves it out.
func (f *FHIR) everything(r *http.Request, c Caller, patientID string) ([]Resource, error) {
	pt := f.types["Patient"]
	if pt == nil || pt.Read == nil {
		return nil, errNotSupported("Patient is not served")
	}
	p, err := pt.Read(r.Context(), c.As(principal.Read), patientID)
	if err != nil {
		return nil, err
	}
	out := []Resource{p}
	for _, name := range f.order {
		t := f.types[name]
		if t.Everything == nil {
			continue
		}
		if c.Integration() && !c.By.Scopes.Allow(t.Name, principal.Search) {
			continue
		}
		res, err := t.Everything(r.Context(), c.As(principal.Search), patientID)
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Kind == fault.Forbidden {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// create answers POST [type]: 201 with the stored resource, Location and ETag.
func (f *FHIR) create(w http.ResponseWriter, r *http.Request, c Caller) error {
	t, err := f.typeOf(r)
	if err != nil {
		return err
	}
	if t.Create == nil {
		return errNotSupported(t.Name + " cannot be created here")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	res, err := t.Create(r.Context(), c.As(principal.Create), body)
	if err != nil {
		return err
	}
	setVersionHeaders(w, res)
	w.Header().Set("Location", f.location(res))
	return writeJSON(w, http.StatusCreated, res)
}

// update answers PUT [type]/[id], with If-Match versioning: a stale version is 412.
func (f *FHIR) update(w http.ResponseWriter, r *http.Request, c Caller) error {
	t, err := f.typeOf(r)
	if err != nil {
		return err
	}
	if t.Update == nil {
		return errNotSupported(t.Name + " cannot be updated here")
	}
	version, err := ifMatch(r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	res, err := t.Update(r.Context(), c.As(principal.Update), r.PathValue("id"), version, body)
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Kind == fault.Conflict && version != "" {
		return &httpx.Error{Status: http.StatusPreconditionFailed, Message: "the resource changed since version " + version + "; read it again and apply your change to the new version", Err: err}
	}
	if err != nil {
		return err
	}
	setVersionHeaders(w, res)
	w.Header().Set("Location", f.location(res))
	return writeJSON(w, http.StatusOK, res)
}

// ifMatch reads a version id from an If-Match header: W/"3" or "3".
func ifMatch(h string) (string, error) {
	if h == "" {
		return "", nil
	}
	v := strings.TrimPrefix(strings.TrimSpace(h), "W/")
	v, err := strconv.Unquote(v)
	if err != nil || v == "" {
		return "", ErrInvalid(`If-Match must name a version as an ETag, such as W/"3"`)
	}
	return v, nil
}

// readBody reads a FHIR JSON body of at most httpx.MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != MediaType && mt != "application/json" {
		return nil, &httpx.Error{Status: http.StatusUnsupportedMediaType, Message: "send the resource as " + MediaType}
	}
	b, err := io.ReadAll(httpx.BodyUpTo(w, r, httpx.MaxBodyBytes))
	if err != nil {
		return nil, &httpx.Error{Status: http.StatusRequestEntityTooLarge, Message: "the resource is too large", Err: err}
	}
	return b, nil
}

// location is a resource's versioned URL.
func (f *FHIR) location(res Resource) string {
	h := HeadOf(res)
	u := f.url(h.ResourceType + "/" + h.ID)
	if h.Meta != nil && h.Meta.VersionID != "" {
		u += "/_history/" + h.Meta.VersionID
	}
	return u
}

// setVersionHeaders sends a resource's version as a weak ETag and its last change.
func setVersionHeaders(w http.ResponseWriter, res Resource) {
	h := HeadOf(res)
	if h.Meta == nil {
		return
	}
	if h.Meta.VersionID != "" {
		w.Header().Set("ETag", `W/"`+h.Meta.VersionID+`"`)
	}
	if t, err := time.Parse(time.RFC3339, h.Meta.LastUpdated); err == nil {
		w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	}
}

// wantsJSON reports whether the client asked for FHIR JSON (or JSON) rather than raw bytes.
func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "json") || r.URL.Query().Get("_format") == "json"
}

// Bundle is a searchset (or any other) Bundle.
type Bundle struct {
	Head
	Type string `json:"type"`
	// Timestamp is when a collection was assembled (an export); a searchset has none.
	Timestamp string        `json:"timestamp,omitempty"`
	Total     *int          `json:"total,omitempty"`
	Link      []BundleLink  `json:"link,omitempty"`
	Entry     []BundleEntry `json:"entry,omitempty"`
}

// BundleLink is a Bundle's link (self, next, previous).
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one resource in a Bundle.
type BundleEntry struct {
	FullURL  string       `json:"fullUrl,omitempty"`
	Resource Resource     `json:"resource,omitempty"`
	Search   *EntrySearch `json:"search,omitempty"`
}

// EntrySearch says why an entry is in a searchset: a match or an include.
type EntrySearch struct {
	Mode string `json:"mode"`
}
