// pixelfes web app: choose or capture a photo, send it to /api/edit, show before/after.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  config: null, photo: null, photoName: "photo", resultUrl: null, beforeUrl: null,
  faces: [], imageSize: null, face: null,
};

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function setStatus(message) {
  $("status").textContent = message;
}

function formatBytes(size) {
  return `${(size / (1024 * 1024)).toFixed(size < 1024 * 1024 ? 2 : 1)} MB`;
}

function selectedExpression() {
  const checked = document.querySelector('input[name="expression"]:checked');
  return checked ? checked.value : "";
}

function updateApply() {
  $("apply").disabled = !state.photo || !selectedExpression() || document.body.classList.contains("busy");
  const to = selectedExpression();
  $("apply").textContent = to ? `Make it ${to}` : "Apply";
}

function clearResult() {
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.resultUrl = null;
  const after = $("after");
  after.hidden = true;
  after.removeAttribute("src");
  after.removeAttribute("data-faces");
  $("after-empty").hidden = false;
  $("download").hidden = true;
  $("download").removeAttribute("href");
  setStatus("");
}

function setPhoto(blob, name) {
  showError("");
  clearResult();
  const limit = state.config ? state.config.max_upload_bytes : Infinity;
  if (blob.size > limit) {
    state.photo = null;
    showError(`The file is too large (${formatBytes(blob.size)}): the limit is ${formatBytes(limit)}.`);
    updateApply();
    return;
  }
  if (blob.type && !blob.type.startsWith("image/")) {
    state.photo = null;
    showError("This file is not an image: choose a PNG, JPEG or WebP photo.");
    updateApply();
    return;
  }
  state.photo = blob;
  state.photoName = (name || "photo").replace(/\.[^.]*$/, "") || "photo";
  if (state.beforeUrl) URL.revokeObjectURL(state.beforeUrl);
  state.beforeUrl = URL.createObjectURL(blob);
  const before = $("before");
  before.src = state.beforeUrl;
  before.hidden = false;
  $("before-empty").hidden = true;
  $("dz-name").textContent = name ? `${name} (${formatBytes(blob.size)})` : formatBytes(blob.size);
  findFaces(blob);
  updateApply();
}

// --- face picker ------------------------------------------------------------------------------
async function findFaces(blob) {
  state.faces = [];
  state.face = null;
  drawFaces();
  try {
    const response = await fetch("/api/faces", {
      method: "POST",
      body: blob,
      headers: { "Content-Type": blob.type || "application/octet-stream" },
    });
    if (!response.ok || blob !== state.photo) return;
    const found = await response.json();
    state.faces = found.faces;
    state.imageSize = [found.width, found.height];
    drawFaces();
  } catch (_) { /* the picker is optional: editing still works on every face */ }
}

function drawFaces() {
  const layer = $("face-boxes");
  layer.textContent = "";
  const before = $("before");
  const chosen = state.faces.length > 1 && state.face !== null;
  $("face-choice").textContent = chosen
    ? `Face ${state.face} only. Click it again to edit every face.`
    : state.faces.length > 1
      ? `All ${state.faces.length} faces. Click a face in the photo to edit only that one.`
      : "All faces. Click a face in the photo to edit only that one.";
  if (!state.imageSize || before.hidden || !before.naturalWidth) return;
  const scale = before.offsetWidth / state.imageSize[0];
  for (const face of state.faces) {
    const [x, y, w, h] = face.box;
    const pick = document.createElement("button");
    pick.type = "button";
    pick.className = "face-pick" + (state.face === face.index ? " selected" : "");
    pick.dataset.index = face.index;
    pick.title = `Edit only face ${face.index}`;
    pick.style.left = `${before.offsetLeft + x * scale}px`;
    pick.style.top = `${before.offsetTop + y * scale}px`;
    pick.style.width = `${w * scale}px`;
    pick.style.height = `${h * scale}px`;
    const label = document.createElement("span");
    label.textContent = face.index;
    pick.append(label);
    pick.addEventListener("click", () => {
      state.face = state.face === face.index ? null : face.index;
      drawFaces();
    });
    layer.append(pick);
  }
}

function regionQuery() {
  const doses = [];
  for (const slider of document.querySelectorAll("#regions input")) {
    if (slider.classList.contains("touched")) doses.push(`${slider.dataset.region}=${slider.value}`);
  }
  return doses.join(",");
}

async function applyEdit() {
  if (!state.photo) return;
  const to = selectedExpression();
  const intensity = $("intensity").value;
  showError("");
  clearResult();
  document.body.classList.add("busy");
  updateApply();
  setStatus(`Making the face ${to}…`);
  $("after-empty").textContent = "Working…";
  try {
    const query = new URLSearchParams({ to, intensity });
    if (state.face !== null) query.set("face", state.face);
    const regions = regionQuery();
    if (regions) query.set("regions", regions);
    const response = await fetch(`/api/edit?${query}`, {
      method: "POST",
      body: state.photo,
      headers: { "Content-Type": state.photo.type || "application/octet-stream" },
    });
    if (!response.ok) {
      let message = `The server answered ${response.status}.`;
      try {
        const body = await response.json();
        if (body && body.error) message = body.error;
      } catch (_) { /* not JSON: keep the status message */ }
      setStatus("");
      showError(message);
      return;
    }
    const blob = await response.blob();
    const faces = Number(response.headers.get("X-Pixelfes-Faces") || "0");
    state.resultUrl = URL.createObjectURL(blob);
    const after = $("after");
    after.dataset.faces = response.headers.get("X-Pixelfes-Boxes") || "[]";
    after.src = state.resultUrl;
    after.hidden = false;
    $("after-empty").hidden = true;
    const link = $("download");
    link.href = state.resultUrl;
    link.download = `${state.photoName}_${to}.png`;
    link.hidden = false;
    const noun = faces === 1 ? "face" : "faces";
    const extra = regions ? ` (${regions.replaceAll(",", ", ")})` : "";
    setStatus(`${faces} ${noun} edited: ${to}, intensity ${Number(intensity).toFixed(2)}${extra}.`);
    if (window.matchMedia("(max-width: 860px)").matches) {
      after.scrollIntoView({ behavior: "smooth", block: "center" });
    }
  } catch (error) {
    setStatus("");
    showError(`Could not reach the pixelfes server (${error.message}). Is it still running?`);
  } finally {
    document.body.classList.remove("busy");
    $("after-empty").textContent = "The result appears here";
    updateApply();
  }
}

// --- webcam ---------------------------------------------------------------------------------
let stream = null;

function stopCamera() {
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  $("camera-video").srcObject = null;
  $("camera").hidden = true;
  $("camera-start").hidden = false;
}

async function startCamera() {
  showError("");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError("The webcam is not available here (the page must be opened from localhost or 127.0.0.1).");
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 } }, audio: false });
  } catch (error) {
    showError(`Could not open the webcam: ${error.message || error.name}.`);
    return;
  }
  $("camera-video").srcObject = stream;
  $("camera").hidden = false;
  $("camera-start").hidden = true;
}

function capturePhoto() {
  const video = $("camera-video");
  if (!video.videoWidth) {
    showError("The webcam has not delivered a picture yet; try again in a second.");
    return;
  }
  const canvas = $("camera-canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  canvas.toBlob((blob) => {
    stopCamera();
    if (blob) setPhoto(blob, "webcam.png");
    else showError("Could not capture a picture from the webcam.");
  }, "image/png");
}

// --- set-up ---------------------------------------------------------------------------------
function buildExpressions(config) {
  const group = $("expressions");
  group.textContent = "";
  for (const name of config.expressions) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "expression";
    input.value = name;
    input.checked = name === config.default_expression;
    input.addEventListener("change", updateApply);
    label.append(input, name);
    group.append(label);
  }
  if (!config.expressions.length) showError("No expression model is installed.");
}

async function init() {
  const slider = $("intensity");
  slider.addEventListener("input", () => {
    $("intensity-value").textContent = Number(slider.value).toFixed(2);
    for (const region of document.querySelectorAll("#regions input:not(.touched)")) {
      region.value = slider.value;
      $(`${region.id}-value`).textContent = Number(region.value).toFixed(2);
    }
  });
  for (const region of document.querySelectorAll("#regions input")) {
    region.addEventListener("input", () => {
      region.classList.add("touched");
      $(`${region.id}-value`).textContent = Number(region.value).toFixed(2);
    });
  }
  $("before").addEventListener("load", drawFaces);
  window.addEventListener("resize", drawFaces);
  $("after-frame").addEventListener("click", () => {
    if (!$("after").hidden) $("after-frame").classList.toggle("actual");
  });
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) setPhoto(file, file.name);
    event.target.value = "";
  });
  const zone = $("dropzone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const file = event.dataTransfer.files[0];
    if (file) setPhoto(file, file.name);
  });
  $("apply").addEventListener("click", applyEdit);
  $("camera-start").addEventListener("click", startCamera);
  $("camera-stop").addEventListener("click", stopCamera);
  $("camera-capture").addEventListener("click", capturePhoto);

  try {
    const response = await fetch("/api/config");
    const config = await response.json();
    if (!response.ok) throw new Error(config.error || `status ${response.status}`);
    state.config = config;
    slider.min = config.intensity.min;
    slider.max = config.intensity.max;
    slider.value = config.intensity.default;
    $("intensity-value").textContent = Number(slider.value).toFixed(2);
    buildExpressions(config);
    document.body.dataset.ready = "true";
  } catch (error) {
    showError(`Could not load the settings from the server: ${error.message}`);
  }
  updateApply();
}

document.addEventListener("DOMContentLoaded", init);
