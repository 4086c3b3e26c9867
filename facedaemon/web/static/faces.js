// The known-faces screen: list people from /api/faces, add photos (multipart POST), forget a person (DELETE).
"use strict";

const api = document.body.dataset.api;
const list = document.getElementById("people");
const message = document.getElementById("message");

function say(text, failed) {
  message.textContent = text;
  message.className = failed ? "error" : "";
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.detail || body.error || response.statusText;
  } catch (e) {
    return response.status + " " + response.statusText;
  }
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
  return item;
}

async function refresh() {
  try {
    const response = await fetch(api, {cache: "no-store"});
    if (!response.ok) throw new Error(await errorText(response));
    const body = await response.json();
    list.replaceChildren(...(body.people.length ? body.people.map(personItem)
                                                  : [element("li", "none", "nobody yet")]));
  } catch (error) {
    list.replaceChildren(element("li", "none", "cannot load the list: " + error.message));
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
