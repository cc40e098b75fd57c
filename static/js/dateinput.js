/* dateinput.js: the date fields of every form (pinmap.i18n.date_input), typed as day/month/year.
   Thai pages use Buddhist Era years (01/09/2569), English ones Common Era (01/09/2026); a year of
   2400 or more is always read as Buddhist Era, as the server does (pinmap.fiscal.parse_day).
   When a field loses focus, what was typed ("1/9/69", "2569-09-01", Thai digits) is rewritten in
   the page's era, or the field is marked invalid with the page's own message. The server checks
   again: this only saves a round trip. No markup handlers (our Content-Security-Policy). */
(function () {
  "use strict";
  var THAI = "๐๑๒๓๔๕๖๗๘๙";

  function digits(text) {
    return text.replace(/[๐-๙]/g, function (d) { return String(THAI.indexOf(d)); });
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // [year CE, month, day] of a typed day, or null.
  function parseDay(text, era) {
    var m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text);
    var y, mo, d;
    if (m) { y = +m[1]; mo = +m[2]; d = +m[3]; } else {
      m = /^(\d{1,2})\s*[\/.\-]\s*(\d{1,2})\s*[\/.\-]\s*(\d{2}|\d{4})$/.exec(text);
      if (!m) return null;
      d = +m[1]; mo = +m[2]; y = +m[3];
      // Two digits are the end of a year in the page's era: 69 → 2569 in Thai, 26 → 2026.
      if (m[3].length === 2) y += era === "be" ? 2500 : 2000;
    }
    if (y >= 2400) y -= 543;
    var probe = new Date(Date.UTC(y, mo - 1, d));
    if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return null;
    if (y < 1900 || y > 2200) return null;
    return [y, mo, d];
  }

  function normalise(input) {
    var typed = digits(input.value.trim());
    input.setCustomValidity("");
    if (!typed) return;
    var era = input.getAttribute("data-era");
    var time = "";
    if (input.getAttribute("data-date-input") === "time") {
      var t = /^(\S+?)[T ]\s*(\d{1,2})[:.](\d{2})(?::00)?$/.exec(typed);
      if (!t || +t[2] > 23 || +t[3] > 59) {
        input.setCustomValidity(input.getAttribute("data-invalid") || "");
        return;
      }
      typed = t[1];
      time = " " + pad(+t[2]) + ":" + t[3];
    }
    var day = parseDay(typed, era);
    if (!day) {
      input.setCustomValidity(input.getAttribute("data-invalid") || "");
      return;
    }
    var year = era === "be" ? day[0] + 543 : day[0];
    input.value = pad(day[2]) + "/" + pad(day[1]) + "/" + year + time;
  }

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el && el.matches && el.matches("input[data-date-input]")) normalise(el);
  });
  document.addEventListener("input", function (ev) {
    var el = ev.target;
    // A mark from an earlier attempt must not block submitting the corrected text.
    if (el && el.matches && el.matches("input[data-date-input]")) el.setCustomValidity("");
  });
})();
