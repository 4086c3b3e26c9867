// The history page: visits of one day (the viewer's own day, in the viewer's time zone) from /api/history,
// grouped by camera or by person, with thumbnails; "older visits" follows the API's cursor.
// ui.js (loaded first) gives element, image, errorText and say.
"use strict";

const api = document.body.dataset.api;
const csvBase = document.body.dataset.csv;
const form = document.getElementById("filters");
const groupsBox = document.getElementById("groups");
const more = document.getElementById("more");
let shown = [];
let nextCursor = null;

function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function query() {
  // The day from the viewer's local midnight to the next one, sent as Unix seconds.
  const [year, month, day] = form.day.value.split("-").map(Number);
  const start = new Date(year, month - 1, day);
  const end = new Date(year, month - 1, day + 1);
  const params = new URLSearchParams({from: start.getTime() / 1000, to: end.getTime() / 1000});
  if (form.camera.value) params.set("camera", form.camera.value);
  if (form.person.value.trim()) params.set("person", form.person.value.trim());
  if (form.unknown.checked) params.set("unknown", "1");
  return params;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"});
}

function length(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function visitItem(visit) {
  const item = element("li", "visit");
  item.append(visit.thumb ? image(visit.thumb, visit.person || "stranger") : element("span", "no-thumb"));
  const who = element("span", visit.person ? "who" : "who stranger", visit.person || "stranger");
  const when = element("span", "when", `${clock(visit.first_seen_ts)} – ${clock(visit.last_seen_ts)}`);
  const where = element("span", "where", `${visit.camera} · ${length(visit.duration)}`);
  item.append(who, when, where);
  return item;
}

function render() {
  groupsBox.replaceChildren();
  if (!shown.length) {
    groupsBox.append(element("p", "none panel", "no visits this day"));
    return;
  }
  const by = form.by.value;
  const groups = new Map();
  for (const visit of shown) {
    const key = by === "person" ? (visit.person || "strangers") : visit.camera;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(visit);
  }
  for (const [key, visits] of groups) {
    const section = element("section", "panel");
    section.append(element("h2", "", `${key} (${visits.length})`));
    const list = element("ul", "visits");
    list.append(...visits.map(visitItem));
    section.append(list);
    groupsBox.append(section);
  }
}

async function load(reset) {
  const params = query();
  if (!reset && nextCursor) params.set("cursor", nextCursor);
  document.getElementById("csv").href = `${csvBase}?${query()}`;
  try {
    const response = await fetch(`${api}?${params}`, {cache: "no-store"});
    if (!response.ok) throw new Error(await errorText(response));
    const body = await response.json();
    shown = reset ? body.visits : shown.concat(body.visits);
    nextCursor = body.next_cursor;
    more.hidden = !nextCursor;
    say("", false);
    render();
  } catch (error) {
    say(`cannot load the history: ${error.message}`, true);
  }
}

form.day.value = today();
document.getElementById("zone").textContent =
  `Times in your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}).`;
form.addEventListener("submit", (event) => {
  event.preventDefault();
  nextCursor = null;
  load(true);
});
form.by.addEventListener("change", render);
more.addEventListener("click", () => load(false));
load(true);
