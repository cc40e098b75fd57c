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
    // Dashboard: fetch the fresh page and swap its report tables in place.
    fetch(window.location.href, { headers: { Accept: "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-live-office]");
        if (fresh) { root.innerHTML = fresh.innerHTML; }
        document.documentElement.setAttribute("data-last-change", String(change.id));
      });
  });
})();
