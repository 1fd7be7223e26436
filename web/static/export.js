// The export form with a progress bar: fetch the file (the form's POST, with its CSRF field), count the
// bytes against Content-Length, then hand the file to the browser. Without this script the form posts
// as it is and the browser's download bar shows the progress instead.
(function () {
  "use strict";
  var form = document.getElementById("export-form");
  if (!form || !window.fetch || !window.URL) { return; }
  var status = document.getElementById("export-status");
  var bar = document.getElementById("export-progress");
  var text = document.getElementById("export-text");
  var button = document.getElementById("export-button");

  function say(key, done) {
    text.textContent = status.dataset[key];
    if (done !== undefined) { bar.max = 1; bar.value = done; }
  }

  function filenameOf(response) {
    var match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    return match ? match[1] : "pintu-export";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    status.hidden = false;
    button.disabled = true;
    bar.removeAttribute("value");  // indeterminate while the server builds the file
    say("preparing");
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok || !response.body) { throw new Error(String(response.status)); }
        var total = Number(response.headers.get("Content-Length")) || 0;
        var reader = response.body.getReader();
        var chunks = [];
        var received = 0;
        say("receiving", 0);
        function pump() {
          return reader.read().then(function (step) {
            if (step.done) { return new Blob(chunks, { type: response.headers.get("Content-Type") }); }
            chunks.push(step.value);
            received += step.value.length;
            if (total) { bar.value = received / total; }
            return pump();
          });
        }
        return pump().then(function (blob) { return [blob, filenameOf(response)]; });
      })
      .then(function (result) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(result[0]);
        link.download = result[1];
        document.body.appendChild(link);
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
        say("done", 1);
      })
      .catch(function () { say("failed", 0); })
      .finally(function () { button.disabled = false; });
  });
})();
