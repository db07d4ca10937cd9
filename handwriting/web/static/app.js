// Digit Reader page: upload or draw, send to /api/digit_recognize, show what the model read.
// No inline script and no third-party code, so the page runs under a strict Content-Security-Policy.
"use strict";

(() => {
  const API = "/api/digit_recognize";
  const DRAW_DELAY_MS = 350; // debounce while the pen moves
  const LIFT_DELAY_MS = 120; // shorter wait once the pen is lifted
  const UNSURE = 0.6; // below this probability a digit is flagged
  const TITLES = {
    not_an_image: "That file is not an image",
    corrupt_image: "The image could not be decoded",
    empty_file: "The file is empty",
    unsupported_type: "That format is not supported",
    too_large: "The file is too large",
    too_many_pixels: "The image has too many pixels",
    model_unavailable: "The model is not loaded",
    unknown_model: "That model is not available",
    not_explainable: "This model cannot show where it looked",
    network: "The server could not be reached",
  };
  const HINTS = { // where the API's own message would only repeat the title
    not_explainable: "The linear baseline has no convolutional layers. Pick another model, or turn the heatmaps off.",
    not_an_image: "Choose a photo, scan or screenshot: JPEG, PNG, WebP, BMP, TIFF or GIF.",
    corrupt_image: "The file may be truncated or damaged. Try saving or exporting it again.",
    empty_file: "The file has no content. Choose another one.",
  };

  const $ = (id) => document.getElementById(id);
  const main = $("main");
  const maxBytes = Number(main.dataset.maxBytes);
  const els = {
    tabs: [$("tab-upload"), $("tab-draw")],
    fileInput: $("file-input"),
    dropzone: $("dropzone"),
    pad: $("pad"),
    brush: $("brush"),
    brushValue: $("brush-value"),
    undo: $("undo"),
    clear: $("clear"),
    canvasTheme: $("canvas-theme"),
    model: $("model"),
    modelHint: $("model-hint"),
    explain: $("explain"),
    minConfidence: $("min-confidence"),
    minConfidenceValue: $("min-confidence-value"),
    status: $("status"),
    error: $("error"),
    errorTitle: $("error-title"),
    errorMessage: $("error-message"),
    result: $("result"),
    text: $("result-text"),
    meta: $("result-meta"),
    stage: $("stage"),
    preview: $("preview"),
    overlay: $("overlay"),
    cards: $("cards"),
  };

  let sequence = 0; // the newest request; older answers are dropped
  let inFlight = null;
  let lastSource = null; // {blob} or {dataUrl}, to re-read when the options change
  let previewUrl = null;

  // ---- talking to the API -------------------------------------------------------------------

  function query() {
    const params = new URLSearchParams({ crops: "1" });
    if (els.model.value) params.set("model", els.model.value);
    if (els.explain.checked) params.set("explain", "1");
    const minimum = Number(els.minConfidence.value) / 100;
    if (minimum > 0) params.set("min_confidence", String(minimum));
    return `${API}?${params}`;
  }

  async function recognise(source, imageUrl) {
    const id = ++sequence;
    if (inFlight) inFlight.abort();
    inFlight = new AbortController();
    lastSource = source;
    setBusy("Reading…");
    let body;
    let headers = {};
    if (source.blob) {
      body = new FormData();
      body.append("file", source.blob, source.blob.name || "image");
    } else {
      body = JSON.stringify({ image: source.dataUrl });
      headers = { "Content-Type": "application/json" };
    }
    let response;
    let payload;
    try {
      response = await fetch(query(), { method: "POST", body, headers, signal: inFlight.signal });
      payload = await response.json();
    } catch (error) {
      if (error.name === "AbortError" || id !== sequence) return;
      showError("network", "Check your connection and try again.");
      return;
    }
    if (id !== sequence) return;
    inFlight = null;
    if (!payload.success) {
      showError(payload.error.code, payload.error.message);
      return;
    }
    showResult(payload, imageUrl);
  }

  // ---- showing results ------------------------------------------------------------------------

  function setBusy(message) {
    els.status.textContent = message;
    els.status.classList.add("busy");
  }

  function setStatus(message) {
    els.status.textContent = message;
    els.status.classList.remove("busy");
  }

  function sentence(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1).replace(/([^.!?])$/, "$1.") : "";
  }

  function showError(code, message) {
    els.errorTitle.textContent = TITLES[code] || "The image could not be read";
    els.errorMessage.textContent = HINTS[code] || sentence(message);
    els.error.hidden = false;
    els.result.hidden = true;
    setStatus("");
  }

  function percent(probability) {
    const value = probability * 100;
    return `${value >= 99.95 || value < 0.05 ? value.toFixed(0) : value.toFixed(1)}%`;
  }

  function svg(name, attributes) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    return node;
  }

  function drawOverlay(payload) {
    const { width, height } = payload.image;
    const overlay = els.overlay;
    overlay.replaceChildren();
    overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
    els.stage.style.aspectRatio = `${width} / ${height}`;
    for (const prediction of payload.predictions) {
      const { x, y, width: w, height: h } = prediction.box;
      const side = Math.min(width, height);
      const tagSize = Math.min(Math.max(h * 0.25, side / 18), side / 7);
      const unsure = prediction.probability < UNSURE ? " unsure" : "";
      overlay.append(svg("rect", {
        class: `box${unsure}`, x, y, width: w, height: h, rx: Math.min(w, h) * 0.08,
        "vector-effect": "non-scaling-stroke",
      }));
      const tagY = y - tagSize >= 0 ? y - tagSize : y;
      overlay.append(svg("rect", { class: `tag${unsure}`, x, y: tagY, width: tagSize, height: tagSize }));
      const label = svg("text", {
        class: "tag-text", x: x + tagSize / 2, y: tagY + tagSize * 0.78,
        "font-size": tagSize * 0.8, "text-anchor": "middle",
      });
      label.textContent = String(prediction.digit);
      overlay.append(label);
    }
  }

  function thumbnail(png, className, label, description) {
    const image = document.createElement("img");
    image.className = className;
    image.src = `data:image/png;base64,${png}`;
    image.alt = description;
    image.width = 28;
    image.height = 28;
    const caption = document.createElement("span");
    caption.className = "crop-caption";
    caption.textContent = label;
    return [image, caption];
  }

  function card(prediction, index) {
    const item = document.createElement("li");
    item.className = prediction.probability < UNSURE ? "card unsure" : "card";
    const best = { digit: prediction.digit, probability: prediction.probability };
    const ranked = [best, ...prediction.alternatives].slice(0, 3);
    item.setAttribute("aria-label", `Digit ${index + 1}: ${prediction.digit}, ${percent(prediction.probability)} sure. `
      + `Next: ${ranked.slice(1).map((r) => `${r.digit} ${percent(r.probability)}`).join(", ") || "none"}.`);

    const side = document.createElement("div");
    side.className = "card-side";
    const digit = document.createElement("span");
    digit.className = "card-digit";
    digit.textContent = String(prediction.digit);
    side.append(digit);
    if (prediction.crop) {
      side.append(...thumbnail(prediction.crop, "crop", "28×28 input",
        `The 28 by 28 image the model saw for digit ${index + 1}`));
    }
    if (prediction.heatmap) {
      side.append(...thumbnail(prediction.heatmap, "crop heatmap", "Grad-CAM",
        `Where the model looked for digit ${index + 1}: warmer colours weighed more`));
    }

    const body = document.createElement("div");
    body.className = "card-main";
    const head = document.createElement("p");
    head.className = "card-head";
    const strong = document.createElement("strong");
    strong.textContent = percent(prediction.probability);
    head.append(strong, prediction.probability < UNSURE ? " sure, check this one" : " sure");
    const bars = document.createElement("ul");
    bars.className = "bars";
    bars.setAttribute("aria-hidden", "true");
    ranked.forEach((entry, rank) => {
      const row = document.createElement("li");
      row.className = rank === 0 ? "bar-row top" : "bar-row";
      const label = document.createElement("span");
      label.className = "bar-digit";
      label.textContent = String(entry.digit);
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.className = "bar-fill";
      fill.style.width = `${Math.max(entry.probability * 100, 0.5)}%`;
      bar.append(fill);
      const value = document.createElement("span");
      value.className = "bar-value";
      value.textContent = percent(entry.probability);
      row.append(label, bar, value);
      bars.append(row);
    });
    body.append(head, bars);
    item.append(side, body);
    return item;
  }

  function showResult(payload, imageUrl) {
    els.error.hidden = true;
    els.result.hidden = false;
    const found = payload.count > 0;
    els.text.textContent = found ? payload.text : "–";
    els.text.classList.toggle("empty", !found);
    const digits = `${payload.count} digit${payload.count === 1 ? "" : "s"}`;
    els.meta.textContent = `${digits} · ${Math.round(payload.elapsed_ms)} ms · model ${payload.model.name}`;
    if (els.preview.src !== imageUrl) els.preview.src = imageUrl;
    els.preview.alt = found
      ? `The image that was read, with a box around each of the ${digits}`
      : "The image that was read";
    drawOverlay(payload);
    els.cards.replaceChildren(...payload.predictions.map(card));
    if (found) {
      setStatus(`Read ${payload.text.replace(/\n/g, ", then ")} (${digits}).`);
    } else {
      setStatus(payload.message || "No digits found.");
    }
  }

  // ---- upload ---------------------------------------------------------------------------------

  function readFile(file) {
    if (!file) return;
    if (file.size > maxBytes) {
      const megabytes = (bytes) => (bytes / 1048576).toFixed(1).replace(/\.0$/, "");
      showError("too_large", `the file is ${megabytes(file.size)} MB; the limit is ${megabytes(maxBytes)} MB`);
      return;
    }
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    recognise({ blob: file }, previewUrl);
  }

  els.fileInput.addEventListener("change", () => {
    readFile(els.fileInput.files[0]);
    els.fileInput.value = "";
  });

  ["dragenter", "dragover"].forEach((type) => els.dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    els.dropzone.classList.add("dragging");
  }));
  ["dragleave", "dragend"].forEach((type) => els.dropzone.addEventListener(type, () => {
    els.dropzone.classList.remove("dragging");
  }));
  els.dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    els.dropzone.classList.remove("dragging");
    readFile(event.dataTransfer.files[0]);
  });
  // A file dropped beside the zone must not make the browser navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  document.addEventListener("paste", (event) => {
    const file = [...(event.clipboardData?.files || [])].find((f) => f.type.startsWith("image/"));
    if (file) {
      selectTab(0);
      readFile(file);
    }
  });

  // ---- tabs (WAI-ARIA tabs pattern: arrows move, the selected tab is the one tab stop) ----------

  function selectTab(index, focus = false) {
    els.tabs.forEach((tab, i) => {
      const selected = i === index;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      $(tab.getAttribute("aria-controls")).hidden = !selected;
      if (selected && focus) tab.focus();
    });
  }

  els.tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => selectTab(index));
    tab.addEventListener("keydown", (event) => {
      const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: els.tabs.length - 1 - index };
      if (!(event.key in moves)) return;
      event.preventDefault();
      selectTab((index + moves[event.key] + els.tabs.length) % els.tabs.length, true);
    });
  });

  // ---- drawing --------------------------------------------------------------------------------

  const context = els.pad.getContext("2d");
  const strokes = []; // [{size, points: [[x, y], ...]}], replayed on undo and on theme change
  let current = null;
  let timer = null;
  let dark = false;

  function colours() {
    return dark ? { paper: "#0b0d16", ink: "#ffffff" } : { paper: "#ffffff", ink: "#111111" };
  }

  function paintStroke(stroke) {
    const { points, size } = stroke;
    context.strokeStyle = colours().ink;
    context.fillStyle = colours().ink;
    context.lineWidth = size;
    context.lineCap = "round";
    context.lineJoin = "round";
    if (points.length === 1) {
      context.beginPath();
      context.arc(points[0][0], points[0][1], size / 2, 0, Math.PI * 2);
      context.fill();
      return;
    }
    context.beginPath();
    context.moveTo(points[0][0], points[0][1]);
    for (const [x, y] of points.slice(1)) context.lineTo(x, y);
    context.stroke();
  }

  function repaint() {
    context.fillStyle = colours().paper;
    context.fillRect(0, 0, els.pad.width, els.pad.height);
    strokes.forEach(paintStroke);
    els.undo.disabled = els.clear.disabled = strokes.length === 0;
  }

  function position(event) {
    const box = els.pad.getBoundingClientRect();
    return [
      ((event.clientX - box.left) * els.pad.width) / box.width,
      ((event.clientY - box.top) * els.pad.height) / box.height,
    ];
  }

  function readDrawingSoon(delay) {
    clearTimeout(timer);
    timer = setTimeout(readDrawing, delay);
  }

  function readDrawing() {
    if (strokes.length === 0) {
      ++sequence;
      lastSource = null;
      if (inFlight) inFlight.abort();
      els.result.hidden = true;
      els.error.hidden = true;
      setStatus("Draw some digits to start.");
      return;
    }
    const dataUrl = els.pad.toDataURL("image/png");
    recognise({ dataUrl }, dataUrl);
  }

  els.pad.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    els.pad.setPointerCapture(event.pointerId);
    current = { size: Number(els.brush.value), points: [position(event)] };
    strokes.push(current);
    repaint();
  });

  els.pad.addEventListener("pointermove", (event) => {
    if (!current) return;
    current.points.push(position(event));
    repaint();
    readDrawingSoon(DRAW_DELAY_MS);
  });

  const endStroke = () => {
    if (!current) return;
    current = null;
    readDrawingSoon(LIFT_DELAY_MS);
  };
  els.pad.addEventListener("pointerup", endStroke);
  els.pad.addEventListener("pointercancel", endStroke);

  els.undo.addEventListener("click", () => {
    strokes.pop();
    repaint();
    readDrawingSoon(LIFT_DELAY_MS);
  });

  els.clear.addEventListener("click", () => {
    strokes.length = 0;
    repaint();
    readDrawingSoon(0);
  });

  els.canvasTheme.addEventListener("click", () => {
    dark = !dark;
    els.canvasTheme.setAttribute("aria-pressed", String(dark));
    els.pad.classList.toggle("dark", dark);
    repaint();
    if (strokes.length) readDrawingSoon(LIFT_DELAY_MS);
  });

  els.brush.addEventListener("input", () => {
    els.brushValue.textContent = `${els.brush.value} px`;
  });

  document.addEventListener("keydown", (event) => {
    const drawing = !$("panel-draw").hidden;
    if (drawing && (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z" && strokes.length) {
      event.preventDefault();
      els.undo.click();
    }
  });

  // ---- options --------------------------------------------------------------------------------

  els.minConfidence.addEventListener("input", () => {
    els.minConfidenceValue.textContent = `${els.minConfidence.value}%`;
  });
  els.minConfidence.addEventListener("change", () => {
    if (lastSource) recognise(lastSource, els.preview.src);
  });

  function describeModel() {
    const chosen = els.model.selectedOptions[0];
    const linear = chosen.dataset.arch === "linear";
    els.explain.disabled = linear;
    if (linear) els.explain.checked = false;
    els.modelHint.textContent = chosen.dataset.summary || "";
  }

  async function loadModels() {
    let payload;
    try {
      payload = await (await fetch("/api/models")).json();
    } catch (error) {
      return; // the default model still reads; the picker keeps its one entry
    }
    if (!payload.success) return;
    els.model.replaceChildren(...payload.models.map((model) => {
      const option = document.createElement("option");
      option.value = model.default ? "" : model.name;
      const accuracy = model.test_accuracy == null ? "" : `, ${(model.test_accuracy * 100).toFixed(2)}% on MNIST`;
      option.textContent = `${model.name}${model.default ? " (default)" : ""}`;
      option.dataset.arch = model.arch || "";
      option.dataset.summary = `${model.arch || "unknown"} network, `
        + `${(model.parameters || 0).toLocaleString("en")} parameters${accuracy}.`;
      return option;
    }));
    describeModel();
  }

  [els.model, els.explain].forEach((control) => control.addEventListener("change", () => {
    describeModel();
    if (lastSource) recognise(lastSource, els.preview.src);
  }));

  loadModels();

  repaint();
})();
