// Selfie page, upgraded: each photo goes to the API on its own request and gets its verdict at once.
// Without this script the form posts to the page and the server renders the same verdicts.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var texts = document.getElementById("photo-texts").dataset;
  var input = document.getElementById("id_files");
  var dropzone = document.getElementById("dropzone");
  var counter = document.getElementById("set-counter");
  var stored = document.getElementById("stored-photos");
  var verdicts = document.getElementById("verdicts");
  var generateForm = document.getElementById("generate-form");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var thumbnailBase = window.location.pathname.replace(/\/selfies$/, "/selfies/");
  var queue = Promise.resolve();

  document.getElementById("upload-submit").hidden = true;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function messageList(messages) {
    var list = el("ul");
    (messages || []).forEach(function (m) { list.appendChild(el("li", null, m)); });
    return list;
  }

  function updateSet(set) {
    if (!set) { return; }
    counter.textContent = texts.counter.replace("{in_set}", set.in_set).replace("{required}", set.required);
    if (generateForm) {
      document.getElementById("generate-button").disabled = !set.ready;
      document.getElementById("generate-hint").textContent = set.ready ? texts.ready : texts.notReady;
    }
  }

  function verdictList() {
    var list = verdicts.querySelector("ul.photo-list");
    if (!list) {
      verdicts.textContent = "";
      list = el("ul", "photo-list");
      verdicts.appendChild(list);
    }
    return list;
  }

  function storedCard(selfie) {
    var empty = stored.querySelector("li.muted");
    if (empty) { empty.remove(); }
    var item = el("li", "photo " + (selfie.in_set ? "accepted" : "rejected"));
    item.id = "selfie-" + selfie.id;
    var img = el("img");
    img.src = thumbnailBase + selfie.id + "/thumbnail.jpg";
    img.alt = selfie.original_name;
    img.width = 320; img.height = 320;
    item.appendChild(img);
    var body = el("div", "body");
    body.appendChild(el("span", "verdict", selfie.in_set ? texts.inSet : texts.notCounted));
    if (selfie.set_messages && selfie.set_messages.length) { body.appendChild(messageList(selfie.set_messages)); }
    item.appendChild(body);
    var del = el("form", "delete-selfie");
    del.method = "post";
    del.action = thumbnailBase + selfie.id + "/delete";
    del.dataset.api = form.dataset.api + "/" + selfie.id;
    var button = el("button", "secondary", texts.delete);
    button.type = "submit";
    button.appendChild(el("span", "visually-hidden", " " + selfie.original_name));
    del.appendChild(button);
    item.appendChild(del);
    stored.appendChild(item);
  }

  // The card shows at once ("Checking…"); the photo itself waits its turn, one request at a time.
  function uploadOne(file) {
    var card = el("li", "photo pending");
    var preview = el("img");
    preview.alt = "";
    preview.width = 320; preview.height = 320;
    preview.onerror = function () { preview.remove(); };  // HEIC: the browser can't show it, the server can
    preview.src = URL.createObjectURL(file);
    card.appendChild(preview);
    var body = el("div", "body");
    body.appendChild(el("span", "name", file.name));
    body.appendChild(el("br"));
    var verdict = el("span", "verdict", texts.checking);
    body.appendChild(verdict);
    card.appendChild(body);
    verdictList().appendChild(card);
    return function () { return send(file, card, body, verdict); };
  }

  function send(file, card, body, verdict) {
    var data = new FormData();
    data.append("files", file, file.name);
    return fetch(form.dataset.api, {method: "POST", body: data, credentials: "same-origin",
                                     headers: {"X-CSRFToken": csrf, "Accept": "application/json"}})
      .then(function (response) { return response.json().catch(function () { return {}; }); })
      .then(function (result) {
        card.classList.remove("pending");
        var accepted = (result.accepted || [])[0];
        var rejected = (result.rejected || [])[0];
        if (accepted) {
          card.classList.add("accepted");
          verdict.textContent = accepted.in_set ? texts.accepted : texts.notCounted;
          if (accepted.set_messages.length) { body.appendChild(messageList(accepted.set_messages)); }
          storedCard(accepted);
        } else {
          card.classList.add("rejected");
          verdict.textContent = texts.rejected;
          body.appendChild(messageList(rejected ? rejected.messages : [result.detail || texts.failed]));
        }
        updateSet(result.set);
        return refreshStored();
      })
      .catch(function () {
        card.classList.remove("pending");
        card.classList.add("rejected");
        verdict.textContent = texts.rejected;
        body.appendChild(messageList([texts.failed]));
      });
  }

  function uploadAll(files) {
    Array.prototype.forEach.call(files, function (file) {
      queue = queue.then(uploadOne(file));
    });
    input.value = "";
  }

  // The set is re-judged after every change, so photos already stored can move in or out of it.
  function refreshStored() {
    return fetch(form.dataset.api, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (body) {
        (body.selfies || []).forEach(function (selfie) {
          var item = document.getElementById("selfie-" + selfie.id);
          if (!item) { return; }
          item.className = "photo " + (selfie.in_set ? "accepted" : "rejected");
          item.querySelector(".verdict").textContent = selfie.in_set ? texts.inSet : texts.notCounted;
        });
        updateSet(body.set);
      });
  }

  input.addEventListener("change", function () { uploadAll(input.files); });
  form.addEventListener("submit", function (event) { event.preventDefault(); uploadAll(input.files); });
  ["dragenter", "dragover"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) { event.preventDefault(); dropzone.classList.add("is-over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropzone.addEventListener(name, function () { dropzone.classList.remove("is-over"); });
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) { uploadAll(event.dataTransfer.files); }
  });

  stored.addEventListener("submit", function (event) {
    var del = event.target.closest("form.delete-selfie");
    if (!del) { return; }
    event.preventDefault();
    fetch(del.dataset.api, {method: "DELETE", credentials: "same-origin", headers: {"X-CSRFToken": csrf}})
      .then(function (response) {
        if (response.status === 204) { del.closest("li").remove(); return refreshStored(); }
        del.submit();  // let the server explain
      });
  });

  if (generateForm) {
    generateForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById("generate-error");
      error.textContent = "";
      fetch(generateForm.dataset.api, {method: "POST", credentials: "same-origin", body: "{}",
                                       headers: {"X-CSRFToken": csrf, "Content-Type": "application/json",
                                                 "Accept": "application/json"}})
        .then(function (response) { return response.json().then(function (body) { return [response, body]; }); })
        .then(function (pair) {
          if (pair[0].status === 201) {
            window.location.assign(generateForm.dataset.progress.replace(/\/0$/, "/" + pair[1].id));
          } else {
            error.textContent = pair[1].detail || texts.failed;
          }
        })
        .catch(function () { error.textContent = texts.failed; });
    });
  }
}());
