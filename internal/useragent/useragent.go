// Package useragent names the device behind a User-Agent header in a person's words ("Chrome on
// Android", "Safari on iPhone"), for the list of a person's sessions.
//
// It recognises the browsers and systems people sign in from, by the tokens each puts in its
// header, and nothing else: it is not a device database, and it refuses to guess versions or
// models. Its answers come from a fixed vocabulary and never repeat any part of the header, so
// an odd or hostile header cannot put its own text on a page.
package useragent

import "strings"

// Unknown is the name of a device whose header says nothing recognisable.
const Unknown = "Unknown device"

// browsers are matched in order: many browsers name others in their header (every Chromium
// browser says "Chrome" and "Safari", Chrome on iPhone says "Safari"), so the most particular
// token comes first.
var browsers = []struct{ token, name string }{
	{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
	{"OPR/", "Opera"}, {"OPT/", "Opera"}, {"Opera", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"YaBrowser/", "Yandex Browser"},
	{"Vivaldi/", "Vivaldi"},
	{"DuckDuckGo/", "DuckDuckGo"},
	{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
	{"CriOS/", "Chrome"},
	{"Chromium/", "Chromium"},
	{"Chrome/", "Chrome"},  // HeadlessChrome/ too
	{"Version/", "Safari"}, // with "Safari/", below
	{"curl/", "curl"},
	{"Go-http-client/", "a Go program"},
	{"python-requests/", "a Python program"},
}

// systems are matched in order: iPhone and iPad headers say "like Mac OS X", Android headers say
// "Linux".
var systems = []struct{ token, name string }{
	{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"iPod", "iPod"},
	{"Android", "Android"},
	{"Windows", "Windows"},
	{"CrOS", "ChromeOS"},
	{"Macintosh", "Mac"}, {"Mac OS X", "Mac"},
	{"Linux", "Linux"},
}

// Describe names the device behind ua: "Browser on System", the browser or the system alone
// when only one is known, or Unknown.
func Describe(ua string) string {
	var browser, system string
	for _, b := range browsers {
		if strings.Contains(ua, b.token) {
			if b.name == "Safari" && !strings.Contains(ua, "Safari/") {
				continue
			}
			browser = b.name
			break
		}
	}
	for _, s := range systems {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return capitalise(browser)
	case system != "":
		return "A browser on " + system
	}
	return Unknown
}

// capitalise starts a name that stands alone with a capital ("a Go program" → "A Go program").
func capitalise(s string) string {
	if strings.HasPrefix(s, "a ") {
		return "A" + s[1:]
	}
	return s
}
