// The known-faces screen: list people from /api/faces, add photos (multipart POST), forget a person (DELETE),
// mark a recent recognition as "not this person", name or delete unknown faces, delete negative examples.
// ui.js (loaded first) gives element, image, button, nameInput, errorText and say.
"use strict";

const api = document.body.dataset.api;
const recentApi = document.body.dataset.recent;
const unknownsApi = document.body.dataset.unknowns;
const list = document.getElementById("people");
const recentList = document.getElementById("recent");
const unknownsList = document.getElementById("unknowns");
const unknownsState = document.getElementById("unknowns-state");
const shown = new Map();  // list element → JSON it shows: unchanged lists are not rebuilt (no image reloads)

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleString();
}

async function send(url, method, body) {
  const options = {method: method};
  if (body !== undefined) {
    options.headers = {"Content-Type": "application/json"};
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  if (!response.ok) throw new Error(await errorText(response));
  return response.json();
}

function show(target, key, items, render, empty) {
  if (shown.get(target) === key) return;
  shown.set(target, key);
  target.replaceChildren(...(items.length ? items.map(render) : [element("li", "none", empty)]));
}

function negativesList(person) {
  const items = element("ul", "negatives");
  for (const negative of person.negatives || []) {
    const item = element("li");
    const url = api + "/" + encodeURIComponent(person.name) + "/negatives/" + encodeURIComponent(negative.file);
    item.appendChild(image(url, "not " + person.name));
    if (negative.notes.length) item.appendChild(element("span", "flagged", negative.notes.join("; ")));
    item.appendChild(button("Delete", () => act(send(url, "DELETE"), "Negative example deleted.")));
    items.appendChild(item);
  }
  return items;
}

function personItem(person) {
  const item = element("li", "person");
  const head = element("div", "person-head");
  let summary = person.name + " — " + person.images + " photo" + (person.images === 1 ? "" : "s");
  if (person.usable !== person.images) summary += " (" + person.usable + " usable)";
  if (person.consistency !== null && person.consistency !== undefined) {
    summary += ", consistency " + person.consistency.toFixed(2) + " (mean distance between photos; lower is better)";
  }
  head.appendChild(element("strong", "", summary));
  const seen = element("span", "last-seen hint");  // filled by lastSeen() from the visit history
  seen.dataset.person = person.name;
  head.appendChild(seen);
  const forget = element("button", "forget", "Delete person");
  forget.type = "button";
  forget.addEventListener("click", () => forgetPerson(person.name));
  head.appendChild(forget);
  item.appendChild(head);
  const files = element("ul", "photos");
  for (const photo of person.files) {
    const notes = photo.notes.length ? photo.notes.join("; ") : "ok";
    files.appendChild(element("li", photo.ok && !photo.notes.length ? "ok" : "flagged", photo.file + ": " + notes));
  }
  item.appendChild(files);
  if ((person.negatives || []).length) {
    item.appendChild(element("p", "hint", "Not " + person.name + " (negative examples):"));
    item.appendChild(negativesList(person));
  }
  return item;
}

function recentItem(face) {
  const item = element("li");
  item.appendChild(image(face.crop, face.name));
  const percent = Math.round(face.confidence * 100);
  item.appendChild(element("span", "", face.name + " " + percent + "% — " + face.camera + ", " + clock(face.time)));
  const body = {camera: face.camera, track: face.track};
  const url = api + "/" + encodeURIComponent(face.name) + "/not";
  item.appendChild(button("Not " + face.name, () => act(send(url, "POST", body),
                                                        "Stored: this face is not " + face.name + ".")));
  return item;
}

function unknownItem(face) {
  const item = element("li");
  const url = unknownsApi + "/" + encodeURIComponent(face.id);
  item.appendChild(image(face.url, "unknown face"));
  const size = face.face_px ? ", " + face.face_px + " px, sharpness " + Math.round(face.sharpness) : "";
  item.appendChild(element("span", "", (face.camera || "?") + ", " + clock(face.time) + size));
  const name = nameInput();
  item.appendChild(name);
  item.appendChild(button("Assign", () => act(send(url + "/assign", "POST", {name: name.value.trim()}),
                                               "Added to " + name.value.trim() + ".")));
  item.appendChild(button("Delete", () => act(send(url, "DELETE"), "Unknown face deleted.")));
  return item;
}

async function act(request, done) {
  try {
    await request;
    say(done, false);
  } catch (error) {
    say(error.message, true);
  }
  refresh();
}

async function load(url, target, render) {
  try {
    const response = await fetch(url, {cache: "no-store"});
    if (!response.ok) throw new Error(await errorText(response));
    return await response.json();
  } catch (error) {
    show(target, "error " + error.message, [], render, "cannot load the list: " + error.message);
    return null;
  }
}

async function refresh() {
  const people = await load(api, list, personItem);
  if (people) show(list, JSON.stringify(people.people), people.people, personItem, "nobody yet");
  await lastSeen();
  const recent = await load(recentApi, recentList, recentItem);
  if (recent) show(recentList, JSON.stringify(recent.faces), recent.faces, recentItem, "nobody recognised lately");
  const unknowns = await load(unknownsApi, unknownsList, unknownItem);
  if (unknowns) {
    unknownsState.textContent = unknowns.save
      ? "Faces nobody is known as are kept for " + unknowns.retention_text + ". Assign a name to enrol one."
      : "Not kept (unknowns.save is off in the config); any listed here are left from before and expire.";
    show(unknownsList, JSON.stringify(unknowns.unknowns), unknowns.unknowns, unknownItem, "none");
  }
}

async function lastSeen() {
  // Each person's latest visit (the history's; nothing shown when it is off), in the viewer's time zone.
  const response = await fetch(document.body.dataset.lastSeen, {cache: "no-store"}).catch(() => null);
  if (!response || !response.ok) return;
  const people = (await response.json()).people;
  for (const span of list.querySelectorAll(".last-seen")) {
    const seen = people[span.dataset.person];
    span.textContent = seen
      ? "last seen " + new Date(seen.last_seen * 1000).toLocaleString() + " on " + seen.camera : "not seen yet";
  }
}

async function forgetPerson(name) {
  if (!window.confirm("Delete every photo and stored face encoding of " + name + "?")) return;
  const response = await fetch(api + "/" + encodeURIComponent(name), {method: "DELETE"});
  if (response.ok) {
    const body = await response.json();
    say("Deleted " + name + ": " + body.removed_files.length + " file(s), " + body.removed_encodings +
        " stored encoding(s).", false);
  } else {
    say("Could not delete " + name + ": " + await errorText(response), true);
  }
  refresh();
}

document.getElementById("enroll").addEventListener("submit", async (event) => {
  event.preventDefault();  // the page's CSP allows no form navigation: upload with fetch
  const form = event.target;
  const name = form.elements.name.value.trim();
  const data = new FormData();
  for (const file of form.elements.images.files) data.append("images", file, file.name);
  say("Checking " + form.elements.images.files.length + " photo(s)…", false);
  const response = await fetch(api + "/" + encodeURIComponent(name), {method: "POST", body: data});
  if (response.ok) {
    const body = await response.json();
    say("Added " + body.added.length + " photo(s) of " + name + ".", false);
    form.reset();
  } else {
    say("Not added: " + await errorText(response), true);
  }
  refresh();
});

refresh();
setInterval(refresh, 5000);
