/* formkeeper.js: nothing typed into a form is lost. Pages opt in with attributes only (our CSP
   runs no inline script and no handler attribute, so the behaviour lives here):
     <form data-keep>       (and every POST form with a text field, unless data-keep="off" or
                            it holds a password: sign-in and password forms are never kept)
                            warns before leaving with unsaved changes, and keeps a copy of the
                            typed text in sessionStorage (keyed by the form's action URL). When
                            the page comes back after a refusal the server could not redraw (an
                            expired session or CSRF token), the copy goes back into the fields
                            the server left empty or unchanged; an accepted save clears it.
     <form data-keep data-autosave="URL">
                            after edits, POSTs the form's FormData (its CSRF field included) to
                            URL; the JSON answer {"saved_at": "14:05", "version": 7} sets the
                            hidden `version` input and says "Saved at 14:05" in the form's
                            [data-autosave-status] element; a 4xx {"error": "..."} is shown there
                            and the text stays.
     <button|a data-confirm="question">   asks before acting (also on a <form>: before sending).
   Words come translated from the server: data attributes on this script's tag (base.html), which
   a form or its status element may override (data-saved-text with "{time}", data-failed-text,
   data-restored-text). */
(function () {
  "use strict";
  var PREFIX = "formkeeper:";
  var SENT = PREFIX + "sent";
  var COPY_DELAY_MS = 300;
  var script = document.currentScript;
  var states = typeof WeakMap === "function" ? new WeakMap() : null;
  var leaving = false;

  function words(el, name) {
    var at = el;
    while (at && at.getAttribute) {
      if (at.hasAttribute("data-" + name)) return at.getAttribute("data-" + name);
      at = at.parentElement;
    }
    return (script && script.getAttribute("data-" + name)) || "";
  }

  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }
  function readCopy(key) {
    var s = storage();
    if (!s) return null;
    try { return JSON.parse(s.getItem(key) || "null"); } catch (e) { return null; }
  }
  function writeCopy(key, value) {
    var s = storage();
    if (!s) return;
    // A full store (quota) costs the copy, never the page.
    try { s.setItem(key, JSON.stringify(value)); } catch (e) { /* nothing else to do */ }
  }
  function dropCopy(key) {
    var s = storage();
    if (s) try { s.removeItem(key); } catch (e) { /* ignore */ }
  }

  function keyOf(form) {
    var url = new URL(form.getAttribute("action") || window.location.href, window.location.href);
    return PREFIX + url.pathname + url.search;
  }

  // The fields worth keeping: what a person types or chooses, never the CSRF token, the
  // version, passwords or files (a browser cannot put a file back).
  var SKIP = { hidden: 1, file: 1, password: 1, submit: 1, button: 1, reset: 1, image: 1 };
  function fields(form) {
    var out = [];
    var seen = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || SKIP[el.type] || el.tagName === "BUTTON") return;
      if (el.tagName === "FIELDSET" || el.tagName === "OUTPUT" || el.tagName === "OBJECT") return;
      var slot;
      if (el.type === "checkbox" || el.type === "radio") {
        slot = "c:" + el.name + "=" + el.value;
      } else {
        var n = seen[el.name] = (seen[el.name] || 0) + 1;
        slot = "v:" + el.name + "#" + n;
      }
      out.push({ slot: slot, el: el });
    });
    return out;
  }
  function valueOf(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.checked ? "1" : "";
    if (el.tagName === "SELECT" && el.multiple) {
      return Array.prototype.filter.call(el.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; }).join("\n");
    }
    return el.value;
  }
  function setValue(el, value) {
    if (el.type === "checkbox" || el.type === "radio") { el.checked = value === "1"; return; }
    if (el.tagName === "SELECT" && el.multiple) {
      var wanted = value.split("\n");
      Array.prototype.forEach.call(el.options, function (o) {
        o.selected = wanted.indexOf(o.value) >= 0;
      });
      return;
    }
    el.value = value;
  }
  function snapshot(form) {
    var values = {};
    fields(form).forEach(function (f) { values[f.slot] = valueOf(f.el); });
    return values;
  }
  function versionOf(form) {
    var v = form.elements.namedItem && form.elements.namedItem("version");
    return v && v.value !== undefined ? v.value : null;
  }

  function state(form) {
    var st = states ? states.get(form) : form.__formkeeper;
    if (st) return st;
    // `base` is what the server drew: a field still showing it may take the kept copy back.
    st = { key: keyOf(form), base: snapshot(form), dirty: false, timer: 0,
           saveTimer: 0, saving: false, again: false };
    if (states) states.set(form, st); else form.__formkeeper = st;
    return st;
  }

  function keepCopy(form) {
    var st = state(form);
    clearTimeout(st.timer);
    st.timer = 0;
    if (!st.dirty) return;
    writeCopy(st.key, { values: snapshot(form), base: st.base, version: versionOf(form),
                        at: Date.now() });
  }

  function statusOf(form) {
    var el = form.querySelector("[data-autosave-status]");
    if (!el && form.id) el = document.querySelector('[data-autosave-status][data-for="' + form.id + '"]');
    return el;
  }
  function say(form, text, isError) {
    var el = statusOf(form);
    if (!el || !text) return;
    el.textContent = text;
    el.classList.toggle("is-error", !!isError);
    el.hidden = false;
  }

  // ---- restoring a copy after a refusal the server could not redraw -------------------------
  function navigationStatus() {
    try {
      var nav = performance.getEntriesByType("navigation")[0];
      return nav && typeof nav.responseStatus === "number" ? nav.responseStatus : 0;
    } catch (e) { return 0; }
  }

  function settleSent() {
    // The form sent just before this page: an answer below 400 that is not the sign-in page
    // (where an expired session lands) means the server took it, so its copy is done with.
    var s = storage();
    var sent = s && s.getItem(SENT);
    if (!sent) return;
    try { s.removeItem(SENT); } catch (e) { /* ignore */ }
    var status = navigationStatus();
    var signIn = document.querySelector("input[type=password]");
    if (status >= 200 && status < 400 && !signIn) dropCopy(sent);
  }

  function restore(form) {
    var st = state(form);
    var copy = readCopy(st.key);
    if (!copy || !copy.values) return;
    var restored = 0;
    fields(form).forEach(function (f) {
      if (!(f.slot in copy.values)) return;
      var kept = copy.values[f.slot];
      var now = valueOf(f.el);
      if (now === kept) return;
      var base = copy.base ? copy.base[f.slot] : undefined;
      // Only where the server has nothing newer: an empty field, or one still as it was drawn
      // when the text was typed. Anything else someone saved since wins.
      if (now === "" || (base !== undefined && now === base)) {
        setValue(f.el, kept);
        restored += 1;
      }
    });
    if (!restored) { dropCopy(st.key); return; }
    st.dirty = true;
    form.setAttribute("data-keep-restored", String(restored));
    say(form, words(form, "restored-text"), false);
    form.dispatchEvent(new CustomEvent("formkeeper:restored", { bubbles: true, detail: restored }));
  }

  // ---- autosave -----------------------------------------------------------------------------
  function autosaveDelay(form) {
    var ms = parseInt(form.getAttribute("data-autosave-delay") || "", 10);
    return ms >= 0 ? ms : 2000;
  }
  function scheduleSave(form) {
    var st = state(form);
    clearTimeout(st.saveTimer);
    st.saveTimer = setTimeout(function () { autosave(form); }, autosaveDelay(form));
  }
  function autosave(form) {
    var st = state(form);
    if (leaving || !st.dirty) return;
    if (st.saving) { st.again = true; return; }
    st.saving = true;
    st.again = false;
    var edits = st.edits || 0;
    var body = new FormData(form);
    // Autosave keeps text, never files: a chosen file goes with the form's own button only
    // (sending megabytes every few seconds would cost the office's line and the server).
    var files = [];
    body.forEach(function (value, name) { if (typeof value !== "string") files.push(name); });
    files.forEach(function (name) { body.delete(name); });
    var token = body.get("csrf_token");
    var headers = { Accept: "application/json" };
    if (token) headers["X-CSRFToken"] = String(token);
    form.setAttribute("aria-busy", "true");
    fetch(new URL(form.getAttribute("data-autosave"), window.location.href).href, {
      method: "POST", body: body, headers: headers, credentials: "same-origin"
    }).then(function (r) {
      return r.json().then(function (data) { return { r: r, data: data }; },
                           function () { return { r: r, data: null }; });
    }).then(function (res) {
      var data = res.data || {};
      if (res.r.ok && data.saved_at) {
        var v = form.elements.namedItem("version");
        if (v && data.version !== undefined && data.version !== null) v.value = String(data.version);
        var text = words(statusOf(form) || form, "saved-text") || "{time}";
        say(form, text.split("{time}").join(String(data.saved_at)), false);
        // The server now holds what was sent; later edits make the form dirty again.
        st.base = snapshot(form);
        if ((st.edits || 0) === edits) { st.dirty = false; dropCopy(st.key); }
        form.setAttribute("data-autosaved-at", String(data.saved_at));
      } else {
        say(form, data.error || data.message || words(statusOf(form) || form, "failed-text"), true);
        keepCopy(form);
      }
    }).catch(function () {
      say(form, words(statusOf(form) || form, "failed-text"), true);
      keepCopy(form);
    }).then(function () {
      st.saving = false;
      form.removeAttribute("aria-busy");
      if (st.submitAfter) {
        st.submitAfter = false;
        var by = st.submitter;
        st.submitter = null;
        if (form.requestSubmit) form.requestSubmit(by && by.form === form ? by : undefined);
        else form.submit();
        return;
      }
      if (st.again && st.dirty) scheduleSave(form);
    });
  }

  // ---- events -------------------------------------------------------------------------------
  // Which forms are kept: every POST form with a text field, and any form marked data-keep;
  // never one marked data-keep="off", and never one holding a password (sign-in, password
  // change: nothing of those may sit in sessionStorage).
  var TEXT = { text: 1, email: 1, url: 1, search: 1, tel: 1, number: 1 };
  function kept(form) {
    if (!form || form.tagName !== "FORM" || !form.getAttribute) return false;
    var mark = form.getAttribute("data-keep");
    if (mark === "off") return false;
    if (form.querySelector("input[type=password]")) return false;
    if (mark !== null) return true;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return false;
    return Array.prototype.some.call(form.elements, function (el) {
      return el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && TEXT[el.type] === 1);
    });
  }
  function keptForms() { return Array.prototype.filter.call(document.forms, kept); }
  function keptForm(el) {
    var form = el && (el.form || (el.closest && el.closest("form")));
    return kept(form) ? form : null;
  }
  function edited(ev) {
    var form = keptForm(ev.target);
    if (!form || !ev.target.name || SKIP[ev.target.type]) return;
    var st = state(form);
    st.dirty = true;
    st.edits = (st.edits || 0) + 1;
    clearTimeout(st.timer);
    st.timer = setTimeout(function () { keepCopy(form); }, COPY_DELAY_MS);
    if (form.hasAttribute("data-autosave")) scheduleSave(form);
  }
  // Before the first keystroke, so `base` is what the server drew (forms swapped in later too).
  document.addEventListener("focusin", function (ev) {
    var form = keptForm(ev.target);
    if (form) state(form);
  });
  document.addEventListener("input", edited);
  document.addEventListener("change", function (ev) {
    edited(ev);
    // page.js submits a [data-autosubmit] form with form.submit(), which fires no submit event.
    if (ev.target && ev.target.matches && ev.target.matches("[data-autosubmit]")) leaving = true;
  });

  function keepAll() {
    keptForms().forEach(keepCopy);
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.hasAttribute && form.hasAttribute("data-confirm") && !ev.defaultPrevented &&
        !window.confirm(form.getAttribute("data-confirm"))) {
      ev.preventDefault();
      return;
    }
    if (ev.defaultPrevented) return;
    if (kept(form) && state(form).saving) {
      // An autosave is on its way and will change the version: send once it has answered, with
      // the new version, or this save would be refused as stale by our own autosave.
      ev.preventDefault();
      state(form).submitter = ev.submitter || null;
      state(form).submitAfter = true;
      return;
    }
    // Any form sent from this page (an evidence upload, say) reloads it: every kept form's text
    // goes to the copy first, so leaving needs no warning and the text comes back.
    keepAll();
    leaving = true;
    // A form that opens elsewhere or downloads a file leaves this page where it was.
    setTimeout(function () { leaving = false; }, 10000);
    if (kept(form)) {
      var st = state(form);
      clearTimeout(st.saveTimer);
      var s = storage();
      if (s) try { s.setItem(SENT, st.key); } catch (e) { /* ignore */ }
    }
  });

  window.addEventListener("beforeunload", function (ev) {
    if (leaving) return;
    var dirty = keptForms().some(function (form) { return state(form).dirty; });
    if (!dirty) return;
    keepAll();
    ev.preventDefault();
    ev.returnValue = ""; // older Chromium shows the dialogue only with a returnValue
    return "";
  });
  // Back from the browser's page cache: the page is as it was left, and may be left again.
  window.addEventListener("pageshow", function (ev) { if (ev.persisted) leaving = false; });

  document.addEventListener("click", function (ev) {
    var el = ev.target && ev.target.closest ? ev.target.closest("[data-confirm]") : null;
    if (!el || el.tagName === "FORM") return;
    if (!window.confirm(el.getAttribute("data-confirm"))) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);

  function start() {
    settleSent();
    keptForms().forEach(function (form) {
      state(form);
      restore(form);
      if (state(form).dirty) {
        // A restored copy is unsaved work again: autosave it like fresh typing.
        if (form.hasAttribute("data-autosave")) scheduleSave(form);
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
