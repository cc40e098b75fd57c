/* portal.js: live updates in the office portal. The dashboard refreshes itself when one of the
   office's reports changes; a report form warns when someone else saved a newer version. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live-office]");
  if (!root || !window.EventSource) return;
  var office = root.getAttribute("data-live-office");
  var entryId = root.getAttribute("data-entry-id");
  var version = root.getAttribute("data-version");
  var source = new EventSource(root.getAttribute("data-stream-url"));
  source.addEventListener("change", function (ev) {
    var change = JSON.parse(ev.data);
    if (change.office_code !== office) return;
    if (entryId) {
      var p = change.payload || {};
      if (String(p.entry_id) === entryId && String(p.version) !== version) {
        var note = document.getElementById("stale-note");
        if (note) note.hidden = false;
      }
      return;
    }
    refresh(change.id);
  });

  // Dashboard: fetch the fresh page and swap its report tables in place. A failed fetch is
  // retried (the server may be restarting); changes arriving during a fetch cost one more
  // fetch after it, not one each, and none is missed.
  var RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];
  var inFlight = false, again = false, newest = 0;
  function refresh(changeId) {
    newest = Math.max(newest, changeId);
    if (inFlight) { again = true; return; }
    inFlight = true;
    load(newest, 0);
  }
  function load(upTo, attempt) {
    fetch(window.location.href, { headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-live-office]");
        if (fresh) { root.innerHTML = fresh.innerHTML; }
        document.documentElement.setAttribute("data-last-change", String(upTo));
        done();
      })
      .catch(function (e) {
        if (attempt < RETRY_DELAYS_MS.length) {
          setTimeout(function () { load(newest, attempt + 1); }, RETRY_DELAYS_MS[attempt]);
        } else {
          console.warn("portal:", e.message);
          done();
        }
      });
  }
  function done() {
    inFlight = false;
    if (again) { again = false; refresh(newest); }
  }
})();
