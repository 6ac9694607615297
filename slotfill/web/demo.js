// The demo page: POST the utterance to /parse and show its slots in place.
"use strict";

const $ = (id) => document.getElementById(id);

// One stable colour per slot type, so the same slot looks the same in every sentence.
function hue(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.codePointAt(0)) % 360;
  return h;
}

function confidence(value) {
  const span = document.createElement("span");
  span.className = "confidence";
  span.textContent = ` ${value.toFixed(2)}`;
  return span;
}

// The text with each slot wrapped in a <mark> labelled with its type and confidence.
// Offsets count Unicode code points, as Python's do.
function renderUtterance(result) {
  const target = $("utterance");
  target.replaceChildren();
  const chars = Array.from(result.text);
  let at = 0;
  for (const slot of result.slots) {
    target.append(chars.slice(at, slot.start).join(""));
    const mark = document.createElement("mark");
    mark.className = "slot";
    mark.dataset.slot = slot.slot;
    mark.dataset.confidence = slot.confidence.toFixed(2);
    mark.style.setProperty("--hue", hue(slot.slot));
    mark.title = `${slot.slot} (confidence ${slot.confidence.toFixed(2)})`;
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = chars.slice(slot.start, slot.end).join("");
    const label = document.createElement("span");
    label.className = "label";
    label.append(slot.slot, confidence(slot.confidence));
    mark.append(value, label);
    target.append(mark);
    at = slot.end;
  }
  target.append(chars.slice(at).join(""));
  $("slots-none").hidden = result.slots.length > 0;
}

function renderIntent(result) {
  const target = $("intent");
  target.replaceChildren();
  if (!("intent" in result)) {
    target.textContent = "(this model has no intent head)";
  } else {
    const name = document.createElement("strong");
    name.textContent = result.intent;
    target.append(name, confidence(result.intent_confidence));
  }
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

async function submit(event) {
  event.preventDefault();
  const text = $("text").value;
  $("error").hidden = true;
  $("submit").disabled = true;
  try {
    const response = await fetch("/parse", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text }),
    });
    const body = await response.json();
    if (!response.ok) {
      showError(body.error || `the server answered ${response.status}`);
      return;
    }
    renderUtterance(body);
    renderIntent(body);
    $("json").textContent = JSON.stringify(body, null, 2);
    $("result").hidden = false;
  } catch (err) {
    showError(`cannot reach the server: ${err}`);
  } finally {
    $("submit").disabled = false;
  }
}

async function describeModel() {
  try {
    const health = await (await fetch("/health")).json();
    $("model").textContent = `${health.arch} model ${health.model} · slotfill ${health.versions.slotfill}`;
  } catch (err) {
    $("model").textContent = "";
  }
}

$("form").addEventListener("submit", submit);
describeModel();
