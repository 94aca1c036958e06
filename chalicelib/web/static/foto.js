/* The Lapor form's photos (an enhancement: without this script the form works and photos are added on the
   receipt page). Chosen photos are checked here (type, size, how many), uploaded one by one straight to the
   bucket with an upload slot from POST /photo-uploads, and the form is then sent with their upload ids; the
   server checks and re-encodes every photo again. The page's policy allows this script (script-src 'self')
   and connections to our API and the bucket only (connect-src). */
(function () {
  "use strict";
  var picker = document.getElementById("photo-picker");
  if (!picker || !window.fetch || !window.FormData || !window.Promise) { return; }
  var form = picker.closest("form");
  var input = document.getElementById("f-photos");
  var status = document.getElementById("photo-status");
  var data = picker.dataset;
  var max = Number(data.max), maxBytes = Number(data.maxBytes), types = data.accept.split(",");
  var nojs = form.querySelector(".js-off");
  if (nojs) { nojs.hidden = true; }
  picker.hidden = false;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  function say(text, bad) {
    status.textContent = text;
    status.className = bad ? "photo-status error" : "photo-status";
  }
  function chosen() { return Array.prototype.slice.call(input.files || []); }
  function uploaded() { return form.querySelectorAll('input[name="photo_upload_id"]').length; }
  function problem(files) {
    if (files.length + uploaded() > max) { return fill(data.msgTooMany, { max: max }); }
    for (var i = 0; i < files.length; i += 1) {
      if (types.indexOf(files[i].type) < 0) { return fill(data.msgBadType, { name: files[i].name }); }
      if (files[i].size > maxBytes) { return fill(data.msgTooBig, { name: files[i].name, mb: data.mb }); }
    }
    return "";
  }
  var added = [];
  function upload(file) {
    return fetch(data.uploadUrl, { method: "POST", credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("upload slot: " + answer.status); }
        return answer.json();
      })
      .then(function (slot) {
        var body = new FormData();
        Object.keys(slot.fields).forEach(function (name) { body.append(name, slot.fields[name]); });
        body.append("file", file);  /* last: S3 ignores every field after the file */
        return fetch(slot.url, { method: "POST", body: body, mode: "cors", credentials: "omit" })
          .then(function (answer) {
            if (!answer.ok) { throw new Error("upload: " + answer.status); }
            var hidden = document.createElement("input");
            hidden.type = "hidden";
            hidden.name = "photo_upload_id";
            hidden.value = slot.upload_id;
            form.appendChild(hidden);
            added.push(hidden);
          });
      });
  }

  input.addEventListener("change", function () {
    var found = problem(chosen());
    say(found, Boolean(found));
  });
  var sending = false;
  form.addEventListener("submit", function (event) {
    var files = chosen();
    if (!files.length || sending) { return; }  /* nothing to upload: the form goes as it is */
    event.preventDefault();
    var found = problem(files);
    if (found) { say(found, true); input.focus(); return; }
    sending = true;
    var button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    var done = Promise.resolve();
    files.forEach(function (file, index) {
      done = done.then(function () {
        say(fill(data.msgUploading, { i: index + 1, n: files.length }), false);
        return upload(file);
      });
    });
    done.then(function () {
      input.value = "";
      form.submit();  /* the uploads' ids go with the report; submit() fires no submit event */
    }, function () {
      added.forEach(function (hidden) { hidden.remove(); });  /* a retry uploads all of them again */
      added = [];
      sending = false;
      button.disabled = false;
      say(data.msgFailed, true);
    });
  });
}());
