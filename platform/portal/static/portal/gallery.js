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

  function renderTags(card, headshot) {
    var tags = card.querySelector(".tags");
    tags.textContent = "";
    function tag(className, label) {
      var span = document.createElement("span");
      span.className = className;
      span.textContent = label;
      tags.appendChild(span);
      tags.appendChild(document.createTextNode(" "));
    }
    if (headshot.approved) { tag("tag approved", t.labelApproved); }
    if (headshot.selected) { tag("tag", t.labelSelected); }
    card.classList.toggle("is-selected", headshot.selected);
    card.classList.toggle("is-approved", headshot.approved);
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
        renderTags(card, headshot);
        if (approve) {
          form.remove();
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
