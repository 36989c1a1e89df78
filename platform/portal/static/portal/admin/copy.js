// Copy buttons: <button data-copy="element-id"> copies that element's text to the clipboard and says so.
// Loaded as a file (the CSP forbids inline script); without JavaScript the values stay selectable text.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    var label = button.innerHTML;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) { return; }
      var text = (source.value !== undefined ? source.value : source.textContent).trim();
      var done = function () {
        button.textContent = button.getAttribute("data-copied") || "Copied";
        window.setTimeout(function () { button.innerHTML = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(source); });
      } else {
        select(source);
        try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected for Ctrl+C */ }
      }
    });
  });

  function select(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
})();
