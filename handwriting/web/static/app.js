// Digit Reader page: upload or draw, send to /api/digit_recognize, show what the model read.
// No inline script and no third-party code, so the page runs under a strict Content-Security-Policy.
// Each tab (upload, draw) keeps its own image and its own reading; the page shows the selected one's.
// Several files, or a ZIP, are read into a table whose rows fill as the answers arrive.
"use strict";

(() => {
  const API = "/api/digit_recognize";
  const PREVIEW_API = "/api/preview";
  const DRAW_DELAY_MS = 350; // debounce while the pen moves
  const LIFT_DELAY_MS = 120; // shorter wait once the pen is lifted
  const UNSURE = 0.6; // an answer without `doubtful` (an older server): below this a digit is flagged
  const LABEL_MIN_PX = 14; // the smallest digit label on screen that still reads well
  const COPIED_MS = 1500;
  const IN_FLIGHT = 2; // files sent at once: rows fill in order, and the server keeps slots for others
  const THUMB_PX = 48;
  const CSV_COLUMNS = ["file", "text", "digits_text", "confidence", "error"];
  const ZIP_TYPES = ["application/zip", "application/x-zip-compressed"];
  const TITLES = {
    not_an_image: "That file is not an image",
    corrupt_image: "The image could not be decoded",
    empty_file: "The file is empty",
    unsupported_type: "That format is not supported",
    too_large: "The file is too large",
    too_many_pixels: "The image has too many pixels",
    too_many_files: "Too many files at once",
    bad_zip: "The ZIP could not be read",
    zip_too_large: "The ZIP unpacks to too much",
    zip_bomb: "The ZIP is compressed suspiciously well",
    unsafe_entry_name: "The ZIP names a file outside itself",
    model_unavailable: "The model is not loaded",
    unknown_model: "That model is not available",
    not_explainable: "This model cannot show where it looked",
    network: "The server could not be reached",
    http: "The server answered with an error",
  };
  const HINTS = { // where the API's own message would only repeat the title
    not_explainable: "The linear baseline has no convolutional layers. Pick another model, or turn the heatmaps off.",
    not_an_image: "Choose a photo, scan or screenshot: JPEG, PNG, WebP, BMP, TIFF or GIF.",
    corrupt_image: "The file may be truncated or damaged. Try saving or exporting it again.",
    empty_file: "The file has no content. Choose another one.",
  };
  const START = { upload: "Upload an image or draw some digits to start.", draw: "Draw some digits to start." };

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
    resultPanel: $("result-panel"),
    status: $("status"),
    error: $("error"),
    errorTitle: $("error-title"),
    errorMessage: $("error-message"),
    result: $("result"),
    source: $("result-source"),
    text: $("result-text"),
    copy: $("copy"),
    meta: $("result-meta"),
    notes: $("result-notes"),
    stage: $("stage"),
    preview: $("preview"),
    noPreview: $("no-preview"),
    overlay: $("overlay"),
    cards: $("cards"),
    cardsCount: $("cards-count"),
    back: $("back"),
    batch: $("batch"),
    batchMeter: $("batch-meter"),
    rows: $("batch-rows"),
    csv: $("csv"),
  };
  const NO_PREVIEW = els.noPreview.textContent;

  // What each tab shows: its source (to re-read when an option changes), its last answer or error.
  const tabs = {
    upload: { name: "upload", source: null, preview: null, view: null, controller: null, sequence: 0 },
    draw: { name: "draw", source: null, preview: null, view: null, controller: null, sequence: 0 },
  };
  let active = tabs.upload;

  // ---- talking to the API -------------------------------------------------------------------

  function query() {
    const params = new URLSearchParams({ crops: "1" });
    if (els.model.value) params.set("model", els.model.value);
    if (els.explain.checked) params.set("explain", "1");
    const minimum = Number(els.minConfidence.value) / 100;
    if (minimum > 0) params.set("min_confidence", String(minimum));
    return `${API}?${params}`;
  }

  function requestBody(source) {
    if (source.blob) {
      const form = new FormData();
      form.append("file", source.blob, source.blob.name || "image");
      return { body: form, headers: {} };
    }
    return { body: JSON.stringify({ image: source.dataUrl }), headers: { "Content-Type": "application/json" } };
  }

  // The answer's JSON, or an error view for what is not the API's JSON (a proxy's HTML 502 page).
  async function answerOf(response) {
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("application/json")) {
      try {
        return await response.json();
      } catch (error) {
        if (error.name === "AbortError") throw error;
      }
    }
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    return {
      success: false,
      error: {
        code: "http",
        message: `${status}, and not the service's JSON: the service, or a proxy in front of it, failed before `
          + "it could answer. Try again in a moment; if it lasts, the server's log says why.",
      },
    };
  }

  async function recognise(tab, source) {
    const id = ++tab.sequence;
    if (tab.controller) tab.controller.abort();
    const controller = new AbortController();
    tab.controller = controller;
    tab.source = source;
    if (tab === active) setBusy("Reading…");
    let view;
    try {
      const { body, headers } = requestBody(source);
      const response = await fetch(query(), { method: "POST", body, headers, signal: controller.signal });
      const payload = await answerOf(response);
      view = payload.success ? { payload, preview: await tab.preview } : { error: payload.error };
    } catch (error) {
      if (error.name === "AbortError" || id !== tab.sequence) return;
      view = { error: { code: "network", message: "Check your connection and try again." } };
    }
    if (id !== tab.sequence) return;
    tab.controller = null;
    tab.view = view;
    if (tab === active) {
      render(tab);
      if (tab.name === "upload" && view.payload) bringIntoView();
    }
  }

  // A URL the page can show for the uploaded file: the file itself when the browser decodes it,
  // else the image as the server decoded it (TIFF, which browsers do not show), else null.
  async function previewOf(file) {
    try {
      const bitmap = await createImageBitmap(file);
      bitmap.close();
      return URL.createObjectURL(file);
    } catch (error) {
      return serverPreview(file);
    }
  }

  async function serverPreview(file) {
    const form = new FormData();
    form.append("file", file, file.name || "image");
    try {
      const response = await fetch(PREVIEW_API, { method: "POST", body: form });
      const type = response.headers.get("Content-Type") || "";
      return response.ok && type.startsWith("image/") ? URL.createObjectURL(await response.blob()) : null;
    } catch (failure) {
      return null;
    }
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

  function plural(count, word) {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
  }

  function render(tab) {
    const view = tab.view;
    if (!view) {
      els.result.hidden = true;
      els.error.hidden = true;
      els.batch.hidden = true;
      setStatus(tab.controller ? "Reading…" : START[tab.name]);
      if (tab.controller) els.status.classList.add("busy");
    } else if (view.error) {
      showError(view.error.code, view.error.message);
    } else if (view.batch && view.open) {
      showResult(view.open.payload, view.openPreview, view.open.name, { batch: view.batch, row: view.open });
    } else if (view.batch) {
      showBatch(view.batch);
    } else {
      showResult(view.payload, view.preview, tab.source.blob ? (tab.source.blob.name || "pasted image") : "your drawing");
    }
  }

  // The reading on show: the tab's own, or the one opened from the table.
  function shownPayload() {
    return active.view?.payload || active.view?.open?.payload || null;
  }

  function showError(code, message) {
    els.errorTitle.textContent = TITLES[code] || "The image could not be read";
    els.errorMessage.textContent = HINTS[code] || sentence(message);
    els.error.hidden = false;
    els.result.hidden = true;
    els.batch.hidden = true;
    setStatus("");
  }

  function percent(probability) {
    const value = probability * 100;
    return `${value >= 99.95 || value < 0.05 ? value.toFixed(0) : value.toFixed(1)}%`;
  }

  function doubtful(prediction) {
    return prediction.doubtful ?? prediction.probability < UNSURE;
  }

  function svg(name, attributes) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    return node;
  }

  function shared(a, b) {
    const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    return w > 0 && h > 0 ? w * h : 0;
  }

  // Where each digit's label goes, in image pixels, or null: above its box, else below, else over
  // its top, slid along the box to stay whole in the image, never over another label, hiding the
  // least of any box; a label with no such place is left out (its box and card remain).
  function labelPlaces(boxes, size, width, height) {
    const placed = [];
    return boxes.map((box) => {
      if (size > width || size > height) return null;
      const rows = [box.y - size, box.y + box.h].filter((y) => y >= 0 && y <= height - size);
      rows.push(Math.min(box.y, height - size));
      const spots = [];
      for (const y of rows) {
        for (const x of [box.x + (box.w - size) / 2, box.x, box.x + box.w - size]) {
          spots.push({ x: Math.min(Math.max(x, 0), width - size), y, w: size, h: size });
        }
      }
      let best = null;
      let hidden = Infinity;
      for (const spot of spots) {
        if (placed.some((label) => shared(spot, label) > 0)) continue;
        const covered = boxes.reduce((sum, other) => sum + shared(spot, other), 0);
        if (covered < hidden) [best, hidden] = [spot, covered];
      }
      if (best) placed.push(best);
      return best;
    });
  }

  function drawOverlay(payload) {
    const { width, height } = payload.image;
    const overlay = els.overlay;
    overlay.replaceChildren();
    overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
    els.stage.style.aspectRatio = `${width} / ${height}`;
    const shown = Math.min(els.stage.clientWidth / width, els.stage.clientHeight / height) || 1;
    const boxes = payload.predictions.map(({ box }) => ({ x: box.x, y: box.y, w: box.width, h: box.height }));
    const typical = boxes.map((b) => b.h).sort((a, b) => a - b)[Math.floor(boxes.length / 2)] || 0;
    const size = Math.max(LABEL_MIN_PX / shown, typical * 0.35);
    const places = labelPlaces(boxes, size, width, height);
    payload.predictions.forEach((prediction, index) => {
      const box = boxes[index];
      const unsure = doubtful(prediction) ? " doubtful" : "";
      const rect = svg("rect", {
        class: `box${unsure}`, x: box.x, y: box.y, width: box.w, height: box.h, rx: Math.min(box.w, box.h) * 0.08,
        "vector-effect": "non-scaling-stroke",
      });
      const title = svg("title", {});
      title.textContent = `${prediction.digit}, ${percent(prediction.probability)} sure`;
      rect.append(title);
      overlay.append(rect);
      const place = places[index];
      if (!place) return;
      overlay.append(svg("rect", { class: `tag${unsure}`, x: place.x, y: place.y, width: size, height: size }));
      const label = svg("text", {
        class: "tag-text", x: place.x + size / 2, y: place.y + size * 0.8, "font-size": size * 0.85,
        "text-anchor": "middle",
      });
      label.textContent = String(prediction.digit);
      overlay.append(label);
    });
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
    const unsure = doubtful(prediction);
    item.className = unsure ? "card doubtful" : "card";
    const best = { digit: prediction.digit, probability: prediction.probability };
    const ranked = [best, ...prediction.alternatives].slice(0, 3);
    item.setAttribute("aria-label", `Digit ${index + 1}: ${prediction.digit}, ${percent(prediction.probability)} sure`
      + `${unsure ? ", doubtful" : ""}. `
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
    head.append(strong, unsure ? " sure, check this one" : " sure");
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

  // The reading as written, each digit of `text` marked when doubtful: its digits are the shown
  // predictions in order ("?" stands for a hidden one), else the text is shown as it is.
  function writeReading(payload) {
    const text = payload.text;
    const digits = [...text].filter((c) => c >= "0" && c <= "9").length;
    if (digits !== payload.predictions.length || !payload.predictions.some(doubtful)) {
      els.text.textContent = text;
      return;
    }
    let next = 0;
    els.text.replaceChildren(...[...text].map((c) => {
      if (c < "0" || c > "9") return document.createTextNode(c);
      const prediction = payload.predictions[next++];
      if (!doubtful(prediction)) return document.createTextNode(c);
      const mark = document.createElement("mark");
      mark.className = "doubtful";
      mark.title = `${percent(prediction.probability)} sure: check this digit`;
      mark.textContent = c;
      return mark;
    }));
  }

  function notesOf(payload) {
    const notes = [];
    if (payload.hidden > 0) {
      notes.push(`${plural(payload.hidden, "digit")} hidden below ${els.minConfidence.value}% confidence`
        + (payload.count > 0 ? " (“?” in the number)." : "."));
    }
    if (payload.orientation) notes.push(`The image was read turned ${payload.orientation}° clockwise.`);
    if (payload.truncated && payload.message) notes.push(sentence(payload.message));
    return notes;
  }

  // `from`: the table row the reading was opened from ({batch, row}), which the back button returns to.
  function showResult(payload, preview, name, from = null) {
    els.error.hidden = true;
    els.batch.hidden = true;
    els.result.hidden = false;
    els.back.hidden = !from;
    if (from) els.back.textContent = `Back to all ${plural(from.batch.rows.length, "file")}`;
    const found = payload.count > 0;
    if (found) writeReading(payload);
    else els.text.textContent = payload.text || "–";  // "???": digits found, all hidden below min_confidence
    els.text.classList.toggle("empty", !found);
    els.copy.hidden = !found;
    els.source.textContent = name;
    const digits = plural(payload.count, "digit");
    const time = payload.elapsed_ms == null ? [] : [`${Math.round(payload.elapsed_ms)} ms`];
    els.meta.textContent = [digits, ...time, `model ${payload.model.name}`].join(" · ");
    els.notes.replaceChildren(...notesOf(payload).map((note) => {
      const item = document.createElement("li");
      item.textContent = note;
      return item;
    }));
    els.notes.hidden = els.notes.childElementCount === 0;
    if (preview) {
      if (els.preview.getAttribute("src") !== preview) els.preview.src = preview;
      els.preview.hidden = false;
      els.noPreview.hidden = true;
    } else {
      els.preview.removeAttribute("src");
      els.preview.hidden = true;
      els.noPreview.hidden = false;
      els.noPreview.textContent = from && !from.row.file
        ? "Images inside a ZIP are not shown here; the boxes show where the digits are." : NO_PREVIEW;
    }
    els.preview.alt = found ? `The image that was read, with a box around each of the ${digits}` : "The image that was read";
    drawOverlay(payload);
    els.cards.replaceChildren(...payload.predictions.map(card));
    els.cardsCount.textContent = found ? `(${payload.count})` : "";
    if (found) {
      setStatus(`Read ${payload.text.replace(/\n/g, ", then ")} (${digits}).`);
    } else {
      setStatus(payload.message || "No digits found.");
    }
  }

  // On a narrow screen the result starts below the upload panel: scroll to it once it is there.
  function bringIntoView() {
    const top = els.resultPanel.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.5) {
      const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      els.resultPanel.scrollIntoView({ block: "start", behavior: smooth ? "smooth" : "auto" });
    }
  }

  new ResizeObserver(() => {
    if (!els.result.hidden && shownPayload()) drawOverlay(shownPayload());
  }).observe(els.stage);

  async function copyReading() {
    const text = shownPayload()?.text;
    if (!text) return;
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) { // no clipboard API outside a secure context (http on another host)
      const range = document.createRange();
      range.selectNodeContents(els.text);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
      selection.removeAllRanges();
    }
    els.copy.textContent = "Copied";
    setStatus(`Copied ${text.replace(/\n/g, ", then ")} to the clipboard.`);
    setTimeout(() => { els.copy.textContent = "Copy"; }, COPIED_MS);
  }

  els.copy.addEventListener("click", copyReading);

  // ---- several files: a table whose rows fill as the answers arrive ----------------------------
  // Each picked file is its own request, IN_FLIGHT at a time in the list's order; a ZIP goes whole
  // and its batch answer becomes one row per file inside it. Rows: {name, file (null inside a ZIP),
  // state ("waiting", "reading", "done"), payload or error, tr}.

  function isZip(file) {
    return ZIP_TYPES.includes(file.type) || /\.zip$/i.test(file.name);
  }

  function tooLarge(file) {
    const megabytes = (bytes) => (bytes / 1048576).toFixed(1).replace(/\.0$/, "");
    return { code: "too_large", message: `the file is ${megabytes(file.size)} MB; the limit is ${megabytes(maxBytes)} MB` };
  }

  // Object URLs made for a batch, freed when another reading replaces it (or at once after that).
  function own(batch, url) {
    if (url && batch.released) {
      URL.revokeObjectURL(url);
      return null;
    }
    if (url) batch.urls.push(url);
    return url;
  }

  function placeholder() {
    const mark = document.createElement("span");
    mark.className = "thumb-none";
    mark.setAttribute("aria-hidden", "true");
    return mark;
  }

  // The large preview of a row's file, as a single upload gets it (the server's PNG for TIFF).
  function rowPreview(batch, row) {
    row.preview ??= row.file ? previewOf(row.file).then((url) => own(batch, url)) : Promise.resolve(null);
    return row.preview;
  }

  // The file itself where the browser shows it; a format it cannot (TIFF) gets the server's PNG once
  // the file has been read, so that nothing the service refused is sent to it twice.
  function showThumb(batch, row) {
    const cell = row.tr.cells[0];
    if (!row.file || !(row.file.type === "" || row.file.type.startsWith("image/"))) {
      cell.replaceChildren(placeholder());
      return;
    }
    const image = document.createElement("img");
    Object.assign(image, { alt: "", loading: "lazy", decoding: "async", width: THUMB_PX, height: THUMB_PX });
    image.addEventListener("error", () => {
      image.replaceWith(placeholder());
      row.thumbFailed = true;
      serverThumb(batch, row);
    }, { once: true });
    image.src = own(batch, URL.createObjectURL(row.file));
    cell.replaceChildren(image);
  }

  async function serverThumb(batch, row) {
    if (!row.thumbFailed || !row.payload || row.thumbAsked || batch.released) return;
    row.thumbAsked = true;
    const url = await rowPreview(batch, row);
    if (!url) return;
    const image = document.createElement("img");
    Object.assign(image, { alt: "", decoding: "async", width: THUMB_PX, height: THUMB_PX, src: url });
    row.tr.cells[0].replaceChildren(image);
  }

  function newRow(batch, name, file) {
    const row = { name, file, state: "waiting", payload: null, error: null };
    row.tr = document.createElement("tr");
    ["thumb", "name", "number", "confidence", "problem"].forEach((kind) => {
      const cell = document.createElement("td");
      cell.className = kind;
      row.tr.append(cell);
    });
    row.tr.cells[1].textContent = name;
    batch.byTr.set(row.tr, row);
    showThumb(batch, row);
    fillRow(row);
    return row;
  }

  function fillRow(row) {
    const [, nameCell, number, confidence, problem] = row.tr.cells;
    row.tr.className = row.error ? `${row.state} failed` : row.state;
    const payload = row.payload;
    if (payload && !nameCell.querySelector("button")) {
      const open = document.createElement("button");
      open.type = "button";
      open.className = "open";
      open.textContent = row.name;
      open.title = `Show the digits of ${row.name}`;
      nameCell.replaceChildren(open);
    }
    number.classList.toggle("quiet", !payload || payload.count === 0);
    if (row.state !== "done") number.textContent = row.state === "reading" ? "Reading…" : "Waiting";
    else if (!payload) number.textContent = "–";
    else number.textContent = payload.count > 0 ? payload.text : (payload.message || "No digits found");
    confidence.textContent = payload?.confidence == null ? "" : percent(payload.confidence);
    problem.textContent = row.error ? sentence(row.error.message) : "";
    problem.title = row.error ? TITLES[row.error.code] || "" : "";
  }

  function progress(batch) {
    const done = batch.rows.filter((row) => row.state === "done").length;
    const failed = batch.rows.filter((row) => row.error).length;
    els.batchMeter.max = Math.max(batch.rows.length, 1);
    els.batchMeter.value = done;
    els.csv.disabled = done === 0;
    const lone = batch.items.length === 1 && batch.items[0];
    if (lone && lone.zip && !lone.settled) {
      setBusy(`Reading the files in ${lone.file.name}…`);
    } else if (batch.running) {
      setBusy(`${done} of ${batch.rows.length} read`);
    } else if (lone && lone.zip && batch.rows.length === 0) {
      setStatus(`${lone.file.name} holds no files.`);
    } else {
      setStatus(`${done} of ${batch.rows.length} read${failed ? ` (${failed} failed)` : ""}.`);
    }
  }

  let tableOf = null; // the batch whose rows the table holds

  function showBatch(batch) {
    els.error.hidden = true;
    els.result.hidden = true;
    els.batch.hidden = false;
    if (tableOf !== batch) {
      els.rows.replaceChildren(...batch.rows.map((row) => row.tr));
      tableOf = batch;
    }
    progress(batch);
  }

  // What one file's request answered, or the error that kept it from being sent or answered.
  async function send(batch, item) {
    if (!item.zip && item.file.size > maxBytes) return { success: false, error: tooLarge(item.file) };
    const form = new FormData();
    form.append("file", item.file, item.file.name);
    try {
      return await answerOf(await fetch(batch.url, { method: "POST", body: form, signal: batch.signal }));
    } catch (error) {
      if (error.name === "AbortError") throw error;
      return { success: false, error: { code: "network", message: "the server could not be reached" } };
    }
  }

  // A ZIP's batch answer: its row gives way to one row per file inside it, named inside the ZIP.
  function expand(batch, item, payload) {
    const prefix = batch.items.length > 1 ? `${item.file.name}/` : "";
    const rows = payload.results.map((result) => {
      const row = newRow(batch, prefix + result.name, null);
      if (result.success) row.payload = { ...result, model: payload.model };
      else row.error = result.error;
      row.state = "done";
      fillRow(row);
      return row;
    });
    const [zipRow] = item.rows;
    batch.rows.splice(batch.rows.indexOf(zipRow), 1, ...rows);
    if (zipRow.tr.isConnected) zipRow.tr.replaceWith(...rows.map((row) => row.tr));
    item.rows = rows;
  }

  function settle(tab, batch, item, payload) {
    item.settled = true;
    if (payload.success && payload.batch) {
      expand(batch, item, payload);
    } else if (!payload.success && batch.items.length === 1) { // a lone ZIP refused whole, shown as any refusal
      tab.view = { error: payload.error };
      return;
    } else {
      const [row] = item.rows;
      row.state = "done";
      if (payload.success) row.payload = payload;
      else row.error = payload.error;
      fillRow(row);
      serverThumb(batch, row);
    }
  }

  async function readBatch(tab, source) {
    const id = ++tab.sequence;
    if (tab.controller) tab.controller.abort();
    const controller = new AbortController();
    tab.controller = controller;
    tab.source = source;
    release(tab);
    const batch = { items: [], rows: [], urls: [], byTr: new WeakMap(), url: query(), signal: controller.signal };
    for (const file of source.files) {
      const item = { file, zip: isZip(file), settled: false };
      item.rows = [newRow(batch, file.name, item.zip ? null : file)];
      batch.items.push(item);
      batch.rows.push(...item.rows);
    }
    batch.running = true;
    tab.view = { batch, open: null };
    if (tab === active) {
      render(tab);
      bringIntoView();
    }
    const current = () => id === tab.sequence;
    const shown = () => tab === active && tab.view.batch === batch && !tab.view.open;
    let next = 0;
    const worker = async () => {
      while (next < batch.items.length) {
        const item = batch.items[next++];
        item.rows.forEach((row) => {
          row.state = "reading";
          fillRow(row);
        });
        if (shown()) progress(batch);
        const payload = await send(batch, item);
        if (!current()) return;
        settle(tab, batch, item, payload);
        if (tab === active && !tab.view.batch) render(tab);
        else if (shown()) progress(batch);
      }
    };
    try {
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    } catch (error) {
      if (error.name === "AbortError") return;
      throw error;
    }
    if (!current()) return;
    tab.controller = null;
    batch.running = false;
    if (shown()) progress(batch);
  }

  // Frees what the upload tab's last reading holds: its preview, or its batch's object URLs.
  function release(tab) {
    tab.preview?.then((url) => url && URL.revokeObjectURL(url));
    tab.preview = null;
    const batch = tab.view?.batch;
    if (batch) {
      batch.released = true;
      batch.urls.forEach((url) => URL.revokeObjectURL(url));
    }
  }

  async function openRow(row) {
    const view = active.view;
    if (!view?.batch || !row.payload) return;
    const preview = await rowPreview(view.batch, row);
    if (active.view !== view) return;
    Object.assign(view, { open: row, openPreview: preview });
    render(active);
    els.back.focus();
    bringIntoView();
  }

  els.rows.addEventListener("click", (event) => {
    const tr = event.target.closest("tr");
    const row = tr && active.view?.batch?.byTr.get(tr);
    if (row) openRow(row);
  });

  els.back.addEventListener("click", () => {
    const view = active.view;
    const row = view?.open;
    if (!row) return;
    view.open = null;
    render(active);
    row.tr.querySelector("button.open")?.focus();
  });

  function csvField(value) {
    const text = value == null ? "" : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  // A name or message a spreadsheet would run as a formula (=, +, -, @ first) is kept as text.
  function inert(text) {
    return /^[=+\-@]/.test(text) ? `'${text}` : text;
  }

  let csvUrl = null;

  function downloadCsv() {
    const batch = active.view?.batch;
    if (!batch) return;
    const records = batch.rows.filter((row) => row.state === "done").map((row) => [
      inert(row.name), row.payload?.text, row.payload?.digits_text, row.payload?.confidence,
      row.error ? inert(row.error.message) : "",
    ]);
    const lines = [CSV_COLUMNS, ...records].map((fields) => fields.map(csvField).join(","));
    if (csvUrl) URL.revokeObjectURL(csvUrl);
    csvUrl = URL.createObjectURL(new Blob([`${lines.join("\r\n")}\r\n`], { type: "text/csv;charset=utf-8" }));
    const link = document.createElement("a");
    link.href = csvUrl;
    link.download = "digits.csv";
    link.click();
  }

  els.csv.addEventListener("click", downloadCsv);

  // ---- upload ---------------------------------------------------------------------------------

  // One image keeps the single view; several files, or a ZIP, fill the table.
  function readFiles(list) {
    const files = [...(list || [])];
    if (files.length === 1 && !isZip(files[0])) readFile(files[0]);
    else if (files.length > 0) readBatch(tabs.upload, { files });
  }

  function readFile(file) {
    if (!file) return;
    if (file.size > maxBytes) {
      ++tabs.upload.sequence; // what was being read is no longer wanted
      tabs.upload.controller?.abort();
      release(tabs.upload);
      Object.assign(tabs.upload, { source: null, controller: null, view: { error: tooLarge(file) } });
      if (active === tabs.upload) render(tabs.upload);
      return;
    }
    release(tabs.upload);
    tabs.upload.preview = previewOf(file);
    recognise(tabs.upload, { blob: file });
  }

  els.fileInput.addEventListener("change", () => {
    readFiles(els.fileInput.files);
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
    readFiles(event.dataTransfer.files);
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
    const chosen = index === 0 ? tabs.upload : tabs.draw;
    if (chosen !== active) {
      active = chosen;
      render(active);
    }
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
    const tab = tabs.draw;
    if (strokes.length === 0) {
      ++tab.sequence;
      if (tab.controller) tab.controller.abort();
      Object.assign(tab, { source: null, preview: null, view: null, controller: null });
      if (active === tab) render(tab);
      return;
    }
    const dataUrl = els.pad.toDataURL("image/png");
    tab.preview = Promise.resolve(dataUrl);
    recognise(tab, { dataUrl });
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

  // ---- options: they re-read the selected tab's image, and only its ----------------------------

  function reread() {
    if (active.source?.files) readBatch(active, active.source);
    else if (active.source) recognise(active, active.source);
  }

  els.minConfidence.addEventListener("input", () => {
    els.minConfidenceValue.textContent = `${els.minConfidence.value}%`;
  });
  els.minConfidence.addEventListener("change", reread);

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
    reread();
  }));

  loadModels();

  repaint();
})();
