// What the known-faces page (faces.js, groups.js) and the history page (history.js) share: building list items and
// saying how a request went. A plain script loaded first (defer keeps the order): its functions are the pages'
// globals. Only function declarations here, so no page's own names clash with it.
"use strict";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function image(url, alt) {
  const node = element("img");
  node.src = url;
  node.alt = alt;
  node.loading = "lazy";
  return node;
}

function button(text, onClick) {
  const node = element("button", "", text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

function nameInput() {
  // A person's name, as the enrol form takes it (its pattern is the server's to check).
  const node = element("input");
  node.placeholder = "name";
  node.maxLength = 64;
  return node;
}

async function errorText(response) {
  // The API's own words (detail), else the status: a proxy's error page is not JSON.
  try {
    const body = await response.json();
    return body.detail || body.error || response.statusText;
  } catch (e) {
    return response.status + " " + response.statusText;
  }
}

function say(text, failed) {
  // Into the page's status line (#message).
  const message = document.getElementById("message");
  message.textContent = text;
  message.className = failed ? "error" : "";
}
