// Brand kit editor: re-render the preview (server-side, cached by spec) a moment after the admin stops editing.
(function () {
  "use strict";
  var form = document.getElementById("kit-form");
  var image = document.getElementById("kit-preview");
  var status = document.getElementById("preview-status");
  var backendLabel = document.getElementById("preview-backend-label");
  var attireNotice = document.getElementById("attire-notice");
  if (!form) { return; }

  // Fields that apply to one choice only (a gradient's bottom colour, the image upload, the clothing colour) are
  // hidden for the others: data-show-when="<field name>=<value>". Without this script they all show.
  function fieldValue(name) {
    var inputs = form.elements[name];
    if (!inputs) { return ""; }
    if (inputs.type === "checkbox") { return inputs.checked ? inputs.value || "on" : ""; }
    return inputs.value;
  }
  function applyConditions() {
    form.querySelectorAll("[data-show-when]").forEach(function (element) {
      var rule = element.getAttribute("data-show-when").split("=");
      element.hidden = fieldValue(rule[0]) !== rule[1];
    });
  }
  applyConditions();
  form.addEventListener("change", applyConditions);

  if (!image || !status || !window.fetch) { return; }
  var url = form.getAttribute("data-preview-url");
  var timer = null;
  var latest = 0;
  var objectUrl = null;

  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrfmiddlewaretoken" && typeof value === "string") { params.append(key, value); }
    });
    return params.toString();
  }

  function refresh() {
    var ticket = ++latest;
    status.textContent = status.getAttribute("data-updating") || "Updating the preview…";
    form.setAttribute("aria-busy", "true");
    fetch(url + "?" + query(), { credentials: "same-origin" }).then(function (response) {
      if (ticket !== latest) { return null; }
      if (!response.ok) {
        return response.text().then(function (message) { throw new Error(message); });
      }
      var notice = response.headers.get("X-Kit-Attire-Notice");
      if (notice !== null && attireNotice) {
        attireNotice.textContent = decodeURIComponent(notice);
        attireNotice.hidden = !notice;
      }
      var label = response.headers.get("X-Kit-Backend-Label");
      if (label && backendLabel) {
        backendLabel.textContent = label;
        backendLabel.setAttribute("data-backend", response.headers.get("X-Kit-Backend") || "");
      }
      return response.blob();
    }).then(function (blob) {
      if (!blob || ticket !== latest) { return; }
      if (objectUrl) { URL.revokeObjectURL(objectUrl); }
      objectUrl = URL.createObjectURL(blob);
      image.src = objectUrl;
      status.textContent = status.getAttribute("data-updated") || "Preview updated.";
    }).catch(function (error) {
      if (ticket === latest) { status.textContent = error.message || "The preview could not be made."; }
    }).then(function () {
      if (ticket === latest) { form.removeAttribute("aria-busy"); }
    });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 600);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
