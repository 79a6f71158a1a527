// zinfer page: progressive enhancement of the upload form (which works without this script).
// Choose, drop or paste an image; it is previewed and sent to /api/v1/predict; the result is
// written into the same markup the server renders for the no-JavaScript form post.
(function () {
  "use strict";

  const form = document.getElementById("upload-form");
  const fileInput = document.getElementById("file");
  const dropzone = document.getElementById("dropzone");
  const fileName = document.getElementById("file-name");
  const modelSelect = document.getElementById("model");
  const modelInfo = document.getElementById("model-info");
  const submit = document.getElementById("submit");
  const result = document.getElementById("result");
  const errorBox = document.getElementById("error");
  const placeholder = document.getElementById("placeholder");
  const figure = document.getElementById("preview-figure");
  const preview = document.getElementById("preview");
  const list = document.getElementById("predictions");
  const timings = document.getElementById("timings");
  const topK = form.querySelector('input[name="top_k"]').value || "5";

  let current = null; // the File or Blob being shown
  let previewUrl = null;
  let models = {};

  function pct(score) { return (score * 100).toFixed(1); }
  function ms(value) { return typeof value === "number" ? value.toFixed(1) + " ms" : "–"; }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function describeModel() {
    const info = models[modelSelect.value];
    if (!info) { modelInfo.textContent = ""; return; }
    const color = info.input.color_mode === "grayscale" ? "grayscale" : "colour";
    modelInfo.textContent = info.input.width + "×" + info.input.height + " " + color + " input · " +
      info.labels + " classes · version " + info.version;
  }

  async function loadModels() {
    try {
      const response = await fetch("/api/v1/models", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const body = await response.json();
      const chosen = modelSelect.value || body.default;
      models = {};
      modelSelect.replaceChildren();
      for (const info of body.models) {
        models[info.name] = info;
        const option = el("option", null, info.name);
        option.value = info.name;
        option.selected = info.name === chosen;
        modelSelect.appendChild(option);
      }
      describeModel();
    } catch (err) {
      // The server-rendered list stays; the page still works.
    }
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function showPreview(blob) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(blob);
    preview.src = previewUrl;
    figure.hidden = false;
  }

  function showPrediction(body, totalMs) {
    list.replaceChildren();
    for (const p of body.predictions) {
      const item = el("li", "prediction");
      item.appendChild(el("span", "prediction-label", p.label));
      item.appendChild(el("span", "prediction-score", pct(p.score) + "%"));
      const meter = el("meter", null, pct(p.score) + "%");
      meter.min = 0; meter.max = 1; meter.value = p.score;
      meter.setAttribute("aria-label", p.label + ": " + pct(p.score) + " percent");
      item.appendChild(meter);
      list.appendChild(item);
    }
    const t = body.timings_ms || {};
    timings.replaceChildren(
      document.createTextNode(body.model + " v" + body.version + " · model server "),
      el("strong", null, ms(t.total)),
      document.createTextNode(" · web app "),
      el("strong", null, ms(t.webapp)),
      document.createTextNode(" · total "),
      el("strong", null, ms(totalMs)),
    );
    timings.hidden = false;
    placeholder.hidden = true;
  }

  async function classify() {
    if (!current) return;
    errorBox.hidden = true;
    result.setAttribute("aria-busy", "true");
    submit.disabled = true;
    const query = new URLSearchParams({ model: modelSelect.value, top_k: topK });
    const started = performance.now();
    try {
      const response = await fetch("/api/v1/predict?" + query.toString(), {
        method: "POST",
        body: current,
        headers: { "Content-Type": current.type || "application/octet-stream", Accept: "application/json" },
      });
      const totalMs = performance.now() - started;
      let body = null;
      try { body = await response.json(); } catch (err) { body = null; }
      if (!response.ok) {
        let message = (body && body.error) || ("The server answered " + response.status + ".");
        const retry = response.headers.get("Retry-After");
        if (response.status === 429 && retry) message += " (retry after " + retry + " s)";
        showError(message);
        list.replaceChildren();
        timings.hidden = true;
        return;
      }
      showPrediction(body, totalMs);
    } catch (err) {
      showError("The server could not be reached: " + err.message);
    } finally {
      result.setAttribute("aria-busy", "false");
      submit.disabled = false;
    }
  }

  function useFile(blob, name) {
    if (!blob) return;
    if (blob.type && !blob.type.startsWith("image/")) {
      showError("That is not an image (" + blob.type + "). Choose a JPEG, PNG, WebP, GIF or BMP file.");
      return;
    }
    current = blob;
    fileName.textContent = name || "pasted image";
    showPreview(blob);
    classify();
  }

  fileInput.addEventListener("change", function () {
    const file = fileInput.files && fileInput.files[0];
    if (file) useFile(file, file.name);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (current) classify();
    else fileInput.click();
  });

  modelSelect.addEventListener("change", function () { describeModel(); classify(); });

  ["dragenter", "dragover"].forEach(function (type) {
    dropzone.addEventListener(type, function (event) {
      event.preventDefault();
      dropzone.classList.add("is-dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    dropzone.addEventListener(type, function () { dropzone.classList.remove("is-dragging"); });
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) useFile(file, file.name);
  });

  document.addEventListener("paste", function (event) {
    const items = (event.clipboardData && event.clipboardData.items) || [];
    for (const item of items) {
      if (item.kind === "file" && item.type.startsWith("image/")) {
        event.preventDefault();
        useFile(item.getAsFile(), "pasted image");
        return;
      }
    }
  });

  fileInput.required = false; // the script handles an empty choice by opening the picker
  loadModels();
})();
