/* page.js: small behaviours every page may use, kept out of the markup: our
   Content-Security-Policy runs no handler attribute (onclick=, onchange=) and no javascript: URL.
   Delegated from the document, so markup swapped in later (the portal's live refresh) works too.
     <select data-autosubmit>   submits its form when the choice changes
     <button data-print>        opens the browser's print dialogue
     <button data-toggles="ID">  shows or hides element ID (class is-open), with aria-expanded */
(function () {
  "use strict";
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el && el.matches && el.matches("[data-autosubmit]") && el.form) el.form.submit();
  });
  document.addEventListener("click", function (ev) {
    var toggle = ev.target && ev.target.closest ? ev.target.closest("[data-toggles]") : null;
    var target = toggle && document.getElementById(toggle.getAttribute("data-toggles"));
    if (target) {
      var open = target.classList.toggle("is-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    var el = ev.target && ev.target.closest ? ev.target.closest("[data-print]") : null;
    if (!el) return;
    ev.preventDefault();
    window.print();
  });
})();
