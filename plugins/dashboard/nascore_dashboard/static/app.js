// The page shell: token handling, JSON fetches, hash routing, the live event stream.
"use strict";
const app = {token: null, stream: null, view: null};

(function takeToken() {  // ?token=... from the printed URL: kept for this tab, removed from the address bar
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    sessionStorage.setItem("nascore-token", params.get("token"));
    history.replaceState(null, "", location.pathname + location.hash);
  }
  app.token = sessionStorage.getItem("nascore-token");
})();

function h(html) { const t = document.createElement("template"); t.innerHTML = html.trim(); return t.content.firstChild; }
function esc(s) { return String(s === null || s === undefined ? "" : s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }
function notice(text, kind) {
  const el = document.getElementById("notice");
  el.hidden = !text; el.textContent = text || ""; el.className = kind || "";
}

async function api(path, options) {
  options = options || {};
  const headers = Object.assign({}, options.headers || {});
  if (app.token) headers["X-Nascore-Token"] = app.token;
  const response = await fetch(path, Object.assign({}, options, {headers}));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { const error = new Error(body.error || response.statusText); error.status = response.status; throw error; }
  return body;
}

function follow(view, experimentId, since, onUpdate) {  // server-sent increments of one experiment, for view
  if (!view.isConnected) return;  // the user moved on while this view was loading
  if (app.stream) app.stream.close();
  const query = new URLSearchParams({seq: since.seq || 0, model: since.model || 0});
  if (app.token) query.set("token", app.token);
  const source = new EventSource(`/api/experiments/${encodeURIComponent(experimentId)}/stream?${query}`);
  source.onmessage = e => { const update = JSON.parse(e.data);
    if (update.events.length) since.seq = update.events[update.events.length - 1].seq;
    if (update.models.length) since.model = update.models[update.models.length - 1].id;
    onUpdate(update); };
  source.onopen = () => { document.getElementById("live").hidden = false; };
  source.onerror = () => { document.getElementById("live").hidden = true; };
  app.stream = source;
}

function parseHash() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  return {parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query || "")};
}

function setNav(experimentId, active) {
  const nav = document.getElementById("nav");
  if (!experimentId) { nav.innerHTML = `<a class="on" href="#/">Experiments</a>`; return; }
  const e = encodeURIComponent(experimentId), items = [["overview", `#/e/${e}`, "Overview"], ["trials", `#/e/${e}/trials`, "Trials"],
    ["compare", `#/e/${e}/compare`, "Compare"]];
  nav.innerHTML = `<a href="#/">Experiments</a>` + items.map(([k, href, label]) =>
    `<a class="${k === active ? "on" : ""}" href="${href}">${label}</a>`).join("");
}

async function route() {
  if (app.stream) { app.stream.close(); app.stream = null; }
  document.getElementById("live").hidden = true;
  notice("");
  // each route renders into a container of its own: a view still loading when the user moves on works on a
  // detached container (harmless) and checks main.isConnected before it starts following the stream
  const {parts, query} = parseHash(), page = document.getElementById("main"), main = document.createElement("div");
  page.replaceChildren(main);
  try {
    if (parts[0] !== "e" || !parts[1]) { setNav(null); await views.experiments(main); return; }
    const id = parts[1], page = parts[2] || "overview";
    setNav(id, page === "t" ? "trials" : page);
    if (page === "trials") await views.trials(main, id, query);
    else if (page === "t") await views.trial(main, id, +parts[3]);
    else if (page === "compare") await views.compare(main, id, query);
    else await views.overview(main, id);
  } catch (error) {
    if (main.isConnected) notice(error.message);
  }
}

async function control(path, what) {  // stop / cancel: refused without the token printed at start
  try {
    await api(path, {method: "POST"});
    notice(what + " requested", "info");
  } catch (error) {
    notice(`${what} refused: ${error.message}`);
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
