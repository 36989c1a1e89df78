// Gallery: favourite and approve through the API without leaving the page (the forms still work without it).
(function () {
  "use strict";
  var gallery = document.getElementById("gallery");
  if (!gallery || !window.fetch) { return; }
  var t = gallery.dataset;
  var status = document.getElementById("gallery-status");

  function announce(message) {
    status.textContent = message;
    status.classList.remove("visually-hidden");
    status.className = "message success";
  }

  // Each state is shown once: the pressed star button says "favourite", the label that replaces the approve
  // button says "in the directory".
  function renderState(card, headshot) {
    card.classList.toggle("is-selected", headshot.selected);
    card.classList.toggle("is-approved", headshot.approved);
    var approveForm = card.querySelector(".approve-form");
    if (headshot.approved && approveForm) {
      var label = document.createElement("p");
      label.className = "approved-state";
      label.textContent = t.labelApproved;
      label.tabIndex = -1;
      approveForm.replaceWith(label);
      label.focus();  // the button that had focus is gone
    }
  }

  gallery.addEventListener("submit", function (event) {
    var form = event.target;
    var card = form.closest("li.headshot");
    var approve = form.classList.contains("approve-form");
    if (!card || !(approve || form.classList.contains("favourite-form"))) { return; }
    event.preventDefault();
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    var body = approve ? {} : {selected: form.querySelector("input[name=selected]").value === "true"};
    var url = t.api + "/" + card.dataset.id + (approve ? "/approve" : "/select");
    fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
                headers: {"X-CSRFToken": csrf, "Content-Type": "application/json", "Accept": "application/json"}})
      .then(function (response) { return response.json().then(function (b) { return [response.ok, b]; }); })
      .then(function (pair) {
        if (!pair[0]) { announce(pair[1].detail || t.textFailed); return; }
        var headshot = pair[1];
        renderState(card, headshot);
        if (approve) {
          announce(t.textApproved);
        } else {
          var button = form.querySelector("button");
          form.querySelector("input[name=selected]").value = headshot.selected ? "false" : "true";
          button.setAttribute("aria-pressed", headshot.selected ? "true" : "false");
          announce(headshot.selected ? t.textFavourite : t.textUnfavourite);
        }
      })
      .catch(function () { announce(t.textFailed); });
  });
}());
