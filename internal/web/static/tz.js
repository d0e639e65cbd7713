// Haven shows times in the reader's time zone. This module tells the server which zone the
// browser is in (its IANA name, e.g. "Europe/Madrid") in the tz cookie; the server checks the
// name and otherwise uses the organisation's zone. Pages work without it.
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
if (zone) {
  const value = encodeURIComponent(zone);
  if (!document.cookie.split("; ").includes("tz=" + value)) {
    document.cookie = "tz=" + value + "; Path=/; Max-Age=31536000; SameSite=Lax; Secure";
  }
}
