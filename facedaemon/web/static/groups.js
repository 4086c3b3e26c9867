// Unknown visitors, grouped (/api/unknowns/groups): each group's best shots, "This is …" (enrol the group as a
// person), merge with another group, ignore (a poster, a TV) or stop ignoring. Uses ui.js's and faces.js's
// helpers (both loaded first: element, button, image, nameInput, say; clock, send, show, load, act).
"use strict";

const groupsApi = document.body.dataset.groups;
const groupsList = document.getElementById("groups");
let groupIds = [];

function groupItem(group) {
  const item = element("li", "group");
  const url = groupsApi + "/" + encodeURIComponent(group.id);
  if (group.ignored) {
    item.appendChild(element("span", "", group.id + ": ignored, shown as \"face\" (" + group.kept + " faces kept)"));
    item.appendChild(button("Stop ignoring", () => groupAct(send(url + "/ignore", "DELETE"), "No longer ignored.")));
    return item;
  }
  const shots = element("div", "shots");
  for (const shot of group.best) shots.appendChild(image(shot.url, "unknown visitor"));
  item.appendChild(shots);
  const visits = group.size + " visit" + (group.size === 1 ? "" : "s");
  item.appendChild(element("span", "", group.id + ": " + visits + ", " + group.cameras.join(", ") + ", " +
                                       clock(group.first_seen) + " – " + clock(group.last_seen)));
  const name = nameInput();
  item.appendChild(name);
  item.appendChild(button("This is …", () => groupAct(send(url + "/name", "POST", {name: name.value.trim()}),
                                                      "Named " + name.value.trim() + ".")));
  const other = element("select");
  for (const id of groupIds) {
    if (id !== group.id) other.appendChild(element("option", "", id));
  }
  if (other.options.length) {
    item.appendChild(other);
    item.appendChild(button("Same person", () => groupAct(send(url + "/merge", "POST", {other: other.value}),
                                                          "Merged.")));
  }
  item.appendChild(button("Ignore", () => groupAct(send(url + "/ignore", "POST"), "Ignored: shown as \"face\".")));
  return item;
}

function groupAct(request, done) {
  return act(request, done).then(refreshGroups);  // act refreshes faces.js's lists
}

async function refreshGroups() {
  const found = await load(groupsApi, groupsList, groupItem);
  if (!found) return;
  groupIds = found.groups.filter((group) => !group.ignored).map((group) => group.id);
  show(groupsList, JSON.stringify(found.groups), found.groups, groupItem, "none");
}

refreshGroups();
setInterval(refreshGroups, 5000);
