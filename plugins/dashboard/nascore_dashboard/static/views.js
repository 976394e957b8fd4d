// The pages: experiments, overview, trials table, trial detail, compare. Each renders once, then applies
// server-sent increments in place.
"use strict";
const fmt = v => charts.fmt(v);
const badge = s => `<span class="status ${esc(s)}">${esc(s)}</span>`;
const when = t => t ? new Date(t * 1000).toLocaleString() : "-";
function span(sec) {
  if (sec === null || sec === undefined) return "-";
  sec = Math.round(sec);
  return sec < 60 ? sec + "s" : sec < 3600 ? `${Math.floor(sec / 60)}m ${sec % 60}s` : `${Math.floor(sec / 3600)}h ${Math.floor(sec % 3600 / 60)}m`;
}
const metricName = m => m === "metric" ? "metric" : m;
// an early-stopped trial has no final metric: its best intermediate one (what strategies rank it by), marked
const earlyMetric = r => `${fmt(r.early.best)} <span class="muted">@${r.early.steps}</span>`;
const earlyTitle = r => `best intermediate metric; early stopped after ${r.early.steps} report(s)`;
function savedText(e) {  // the words of "nascore view": early stopping: 5 of 27 trial(s) stopped; ...
  return `${e.early_stopped} of ${e.trials} trial(s) stopped; ${e.steps_saved} of ${e.steps_run + e.steps_saved} step(s) saved ` +
    `(${Math.round(100 * e.saved_fraction)}%), ~${e.trial_seconds_saved.toFixed(1)} trial-second(s)`;
}

const views = {
  // ---- experiments ------------------------------------------------------------------------------------
  async experiments(main) {
    const data = await api("/api/experiments");
    const columns = [["id", "experiment"], ["status", "status"], ["finished", "progress"], ["best", "best metric"],
      ["start_time", "started"], ["elapsed", "elapsed"], ["strategy", "strategy"]];
    let sort = "start_time", desc = true;
    main.append(h(`<div><h1>Experiments <span class="muted">(${data.experiments.length})</span></h1><table id="experiments"><thead><tr>` +
      columns.map(([k, label]) => `<th data-k="${k}">${label}</th>`).join("") + `</tr></thead><tbody></tbody></table></div>`));
    const value = (e, k) => k === "best" ? (e.best ? e.best.metric : null) : e[k];
    const render = () => {
      const rows = data.experiments.slice().sort((a, b) => {
        const x = value(a, sort), y = value(b, sort);
        if (x === y) return 0; if (x === null || x === undefined) return 1; if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * (desc ? -1 : 1);
      });
      main.querySelectorAll("th").forEach(th => th.className = th.dataset.k === sort ? "sorted" + (desc ? " desc" : "") : "");
      main.querySelector("tbody").innerHTML = rows.map(e => {
        const budget = e.max_trials ? `${e.finished}/${e.max_trials}` : `${e.finished || 0}`;
        const pct = e.max_trials ? Math.min(100, 100 * e.finished / e.max_trials) : 0;
        return `<tr><td><a href="#/e/${encodeURIComponent(e.id)}">${esc(e.name || e.id)}</a>${e.name && e.name !== e.id ? ` <span class="muted">${esc(e.id)}</span>` : ""}</td>` +
          `<td>${badge(e.status)}</td><td>${budget} trials <div class="progress"><div style="width:${pct}%"></div></div></td>` +
          `<td class="num">${e.best ? fmt(e.best.metric) + ` <span class="muted">#${e.best.id}</span>` : "-"}</td>` +
          `<td>${when(e.start_time)}</td><td>${span(e.elapsed)}</td><td>${esc(e.strategy || "")}</td></tr>`;
      }).join("") || `<tr><td colspan="7" class="muted">no experiment stored here yet</td></tr>`;
    };
    main.querySelectorAll("th").forEach(th => th.onclick = () => { desc = th.dataset.k === sort ? !desc : true; sort = th.dataset.k; render(); });
    render();
  },

  // ---- overview -----------------------------------------------------------------------------------------
  async overview(main, id) {
    const e = await api(`/api/experiments/${encodeURIComponent(id)}`);
    const finals = new Map(e.finals.ids.map((i, k) => [i, e.finals.values[k]]));  // trained trials: id -> metric
    const stopped = new Map(e.stopped.ids.map((i, k) => [i, e.stopped.values[k]]));  // early-stopped: id -> best
    main.append(h(`<div><h1>${esc(e.name || e.id)} <span id="status">${badge(e.status)}</span>
      ${e.control ? `<button id="stop" class="danger">Stop experiment</button>` : ""}</h1>
      <div class="cards" id="cards"></div>
      <div class="grid2"><div class="panel"><h2>Metric per trial and best so far</h2><canvas class="chart" id="curve"></canvas></div>
      <div class="panel"><h2>Trials by status</h2><table id="counts"></table></div></div>
      <div class="grid2"><div class="panel"><h2>Strategy</h2><pre id="strategy"></pre></div>
      <div class="panel"><h2>Config</h2><pre id="config"></pre></div></div></div>`));
    main.querySelector("#config").textContent = JSON.stringify(e.config, null, 2);
    main.querySelector("#strategy").textContent = (e.strategy || "-") + (e.strategy_detail ? "\n" + JSON.stringify(e.strategy_detail, null, 2) : "");
    if (e.control) main.querySelector("#stop").onclick = () => control(`/api/experiments/${encodeURIComponent(id)}/stop`, "stop");
    let s = e, clockBase = Date.now() / 1000 - e.now;
    const drawCards = () => {
      const elapsed = s.status === "running" && s.start_time ? Date.now() / 1000 - clockBase - s.start_time : s.elapsed;
      const cards = [["status", s.status], ["trials", s.max_trials ? `${s.finished} / ${s.max_trials}` : s.finished],
        ["best " + (s.metric && s.metric !== "default" ? s.metric + " " : "") + (s.direction === "minimize" ? "(min)" : "(max)"), s.best ? `${fmt(s.best.metric)} #${s.best.id}` : "-"],
        ["elapsed", span(elapsed)], ["ETA", s.status === "running" ? span(s.eta) : "-"],
        ["budget", [s.max_trials ? s.max_trials + " trials" : null, s.max_duration ? span(s.max_duration) : null].filter(Boolean).join(", ") || "none"],
        ["engine", [s.engine, s.format, s.training_service].filter(Boolean).join(" / ")], ["started", when(s.start_time)]];
      main.querySelector("#cards").innerHTML = cards.map(([k, v]) => `<div class="card"><b>${esc(v)}</b><span>${k}</span></div>`).join("") +
        (s.early_stopping ? `<div class="card" id="early-card"><b>${Math.round(100 * s.early_stopping.saved_fraction)}% of steps saved</b>` +
          `<span>early stopping: ${esc(savedText(s.early_stopping))}</span></div>` : "");
      main.querySelector("#status").innerHTML = badge(s.status);
      main.querySelector("#counts").innerHTML = Object.entries(s.counts).sort().map(([k, n]) =>
        `<tr><td>${badge(k)}</td><td class="num" data-status="${esc(k)}">${n}</td></tr>`).join("") || `<tr><td class="muted">no trials yet</td></tr>`;
    };
    const drawCurve = () => {
      const pts = [...finals.entries()].sort((a, b) => a[0] - b[0]);
      const better = s.direction === "minimize" ? (a, b) => a < b : (a, b) => a > b;
      let best = null; const curve = pts.map(p => { if (best === null || better(p[1], best)) best = p[1]; return [p[0], best]; });
      const early = [...stopped.entries()].sort((a, b) => a[0] - b[0]);  // apart, never in the best-so-far curve
      charts.plot(main.querySelector("#curve"), [{name: "trial metric", points: pts, mode: "dots", color: "#9aa3ad"},
        {name: "best so far", points: curve, mode: "step", color: "#c8372d"}].concat(early.length ?
        [{name: "early stopped (best reported)", points: early, mode: "rings", color: "#6b46c1"}] : []), {xlabel: "trial id", empty: "no finished trials yet"});
    };
    drawCards(); drawCurve();
    const timer = setInterval(() => { if (!main.isConnected) clearInterval(timer); else if (s.status === "running") drawCards(); }, 1000);
    follow(main, id, {seq: e.seq, model: e.last_model}, update => {
      update.rows.concat(update.models).forEach(r => {  // a trial's row after its end: plotted once trained
        if (r.status === "trained" && typeof r.metrics[s.metric === "default" || !s.metric ? "metric" : s.metric] === "number")
          finals.set(r.id, r.metrics[s.metric === "default" || !s.metric ? "metric" : s.metric]); else finals.delete(r.id);
        if (r.early && r.early.best !== null) stopped.set(r.id, r.early.best); });
      if (update.summary) { s = Object.assign({}, s, update.summary); clockBase = Date.now() / 1000 - (update.summary.now || Date.now() / 1000); }
      drawCards(); drawCurve();
    });
  },

  // ---- trials table ---------------------------------------------------------------------------------------
  async trials(main, id, query) {
    const state = {sort: query.get("sort") || "id", desc: query.get("desc") !== "0", status: query.get("status") || "",
      filter: query.getAll("filter"), q: query.get("q") || "", offset: +(query.get("offset") || 0), limit: 50};
    main.append(h(`<div><h1>Trials</h1><div class="toolbar">
      <select id="status-filter"><option value="">every status</option></select>
      <input id="label-filter" placeholder="label=value, …" size="24" value="${esc(state.filter.join(", "))}">
      <input id="search" placeholder="search samples and reasons" size="24" value="${esc(state.q)}">
      <button id="compare" class="primary" disabled>Compare selected</button><span id="total" class="muted"></span></div>
      <div style="overflow:auto"><table id="trials"><thead></thead><tbody></tbody></table></div>
      <div class="pager"><button id="prev">‹ previous</button><span id="page" class="muted"></span><button id="next">next ›</button></div></div>`));
    const selected = new Set();
    let page = null, columns = [];
    const metricKeys = rows => [...new Set(["metric"].concat(...rows.map(r => Object.keys(r.metrics))))];
    const cell = (r, c) => {
      if (c.kind === "label") { const v = r.sample[c.key]; return `<td>${esc(typeof v === "object" ? JSON.stringify(v) : v)}</td>`; }
      if (c.kind === "metric") return r.early && r.early.metric === c.key && r.metrics[c.key] === null
        ? `<td class="num early" title="${earlyTitle(r)}">${earlyMetric(r)}</td>` : `<td class="num">${fmt(r.metrics[c.key])}</td>`;
      return {id: `<td><input type="checkbox" data-id="${r.id}" ${selected.has(r.id) ? "checked" : ""}> <a href="#/e/${encodeURIComponent(id)}/t/${r.id}">#${r.id}</a></td>`,
        status: `<td>${badge(r.status)}</td>`, params: `<td class="num">${r.profile && typeof r.profile.params === "number" ? r.profile.params.toLocaleString() : "-"}</td>`, duration: `<td class="num">${span(r.duration)}</td>`, worker: `<td title="${esc(r.trial || "")}">${esc(r.worker || "-")}</td>`,
        reason: `<td class="reason" title="${esc(r.reason || "")}">${esc(r.reason || "")}</td>`}[c.key];
    };
    const rowHtml = (r, fresh) => `<tr data-id="${r.id}" class="${[fresh ? "new" : "", r.early ? "early-stopped" : ""].join(" ").trim()}">${columns.map(c => cell(r, c)).join("")}</tr>`;
    const sortKey = c => c.kind === "label" ? "label:" + c.key : c.kind === "metric" ? (c.key === "metric" ? "metric" : "metric:" + c.key) : c.key;
    const footer = () => {
      main.querySelector("#total").textContent = `${page.total} trial(s)`;
      main.querySelector("#page").textContent = page.total ? `${state.offset + 1}–${Math.min(state.offset + state.limit, page.total)} of ${page.total}` : "";
      main.querySelector("#prev").disabled = state.offset === 0;
      main.querySelector("#next").disabled = state.offset + state.limit >= page.total;
    };
    const render = () => {
      columns = [{key: "id", title: "trial"}, {key: "status", title: "status"}]
        .concat(page.labels.map(l => ({kind: "label", key: l, title: l})))
        .concat(metricKeys(page.rows).map(m => ({kind: "metric", key: m, title: metricName(m)})))
        .concat(page.rows.some(r => r.profile && typeof r.profile.params === "number") ? [{key: "params", title: "params"}] : [])
        .concat([{key: "duration", title: "duration"}, {key: "worker", title: "worker / machine"}, {key: "reason", title: "reason"}]);
      main.querySelector("thead").innerHTML = "<tr>" + columns.map(c => { const k = sortKey(c);
        return `<th data-sort="${esc(k)}" class="${k === state.sort ? "sorted" + (state.desc ? " desc" : "") : ""}">${esc(c.title)}</th>`; }).join("") + "</tr>";
      main.querySelector("tbody").innerHTML = page.rows.map(r => rowHtml(r)).join("") ||
        `<tr><td colspan="${columns.length}" class="muted">no trial matches</td></tr>`;
      footer();
      const statuses = [...new Set(Object.keys(page.counts).concat(state.status ? [state.status] : []))].sort();
      main.querySelector("#status-filter").innerHTML = `<option value="">every status</option>` + statuses.map(s =>
        `<option value="${esc(s)}" ${s === state.status ? "selected" : ""}>${esc(s)} (${page.counts[s] || 0})</option>`).join("");
      main.querySelectorAll("th").forEach(th => th.onclick = () => {
        state.desc = th.dataset.sort === state.sort ? !state.desc : false; state.sort = th.dataset.sort; state.offset = 0; load(); });
    };
    const filtered = () => state.status || state.filter.length || state.q;
    let asked = 0;
    const load = async () => {  // only the latest request's answer is shown (an earlier one may arrive later)
      const ticket = ++asked;
      const params = new URLSearchParams({sort: state.sort, desc: state.desc ? "1" : "0", offset: state.offset, limit: state.limit});
      if (state.status) params.set("status", state.status);
      if (state.q) params.set("q", state.q);
      state.filter.forEach(f => params.append("filter", f));
      let answer;
      try { answer = await api(`/api/experiments/${encodeURIComponent(id)}/trials?${params}`); }
      catch (error) { if (ticket === asked && main.isConnected) notice(error.message); return; }
      if (ticket !== asked || !main.isConnected) return;
      page = answer; notice(""); render();
    };
    main.querySelector("#status-filter").onchange = e => { state.status = e.target.value; state.offset = 0; load(); };
    main.querySelector("#label-filter").onchange = e => { state.filter = e.target.value.split(",").map(s => s.trim()).filter(Boolean); state.offset = 0; load(); };
    main.querySelector("#search").oninput = e => { state.q = e.target.value; state.offset = 0; clearTimeout(state.t); state.t = setTimeout(load, 200); };
    main.querySelector("#prev").onclick = () => { state.offset = Math.max(0, state.offset - state.limit); load(); };
    main.querySelector("#next").onclick = () => { state.offset += state.limit; load(); };
    main.querySelector("tbody").onchange = e => { const i = +e.target.dataset.id; e.target.checked ? selected.add(i) : selected.delete(i);
      main.querySelector("#compare").disabled = !selected.size; };
    main.querySelector("#compare").onclick = () => { location.hash = `#/e/${encodeURIComponent(id)}/compare?ids=${[...selected].join(",")}`; };
    await load();
    const overview = await api(`/api/experiments/${encodeURIComponent(id)}`);
    let refetch = null;
    follow(main, id, {seq: overview.seq, model: overview.last_model}, update => {
      if (!page) return;
      const tbody = main.querySelector("tbody");
      // a changed row on this page is replaced in place; a new trial is inserted where the default view shows it
      update.rows.forEach(r => { const tr = tbody.querySelector(`tr[data-id="${r.id}"]`); if (tr) tr.outerHTML = rowHtml(r, true); });
      if (filtered() && update.rows.length) { clearTimeout(refetch); refetch = setTimeout(load, 300); }  // may leave the filter
      update.events.forEach(ev => { if (ev.type !== "end" && tbody.querySelector(`tr[data-id="${ev.id}"]`)) { clearTimeout(refetch); refetch = setTimeout(load, 300); } });
      if (!update.models.length) return;
      if (!filtered() && state.sort === "id" && state.desc && state.offset === 0) {
        // a reload (refetch) may already show a model whose "new" event arrives after it: replace, never add twice
        update.models.forEach(r => {
          const tr = tbody.querySelector(`tr[data-id="${r.id}"]`), at = page.rows.findIndex(x => x.id === r.id);
          if (tr) { tr.outerHTML = rowHtml(r, true); if (at >= 0) page.rows[at] = r; return; }
          const placeholder = tbody.querySelector("tr:not([data-id])");  // "no trial matches"
          if (placeholder) placeholder.remove();
          page.total += 1; page.rows.unshift(r); tbody.insertAdjacentHTML("afterbegin", rowHtml(r, true)); });
        while (page.rows.length > state.limit) { page.rows.pop(); tbody.lastElementChild.remove(); }
        footer();
      } else { clearTimeout(refetch); refetch = setTimeout(load, 300); }
    });
  },

  // ---- trial detail ----------------------------------------------------------------------------------------
  async trial(main, id, modelId) {
    const t = await api(`/api/experiments/${encodeURIComponent(id)}/trials/${modelId}`);
    const e = encodeURIComponent(id);
    main.append(h(`<div><h1>Trial #${t.id} <span id="status">${badge(t.status)}</span>
      ${t.control ? `<button id="cancel" class="danger">Cancel trial</button>` : ""}</h1>
      <div class="grid2"><div class="panel"><h2>Sample</h2><dl class="kv" id="sample"></dl><h2>Outcome</h2><dl class="kv" id="outcome"></dl></div>
      <div class="panel"><h2 id="curve-title">Intermediate metrics</h2><canvas class="chart" id="curve"></canvas></div></div>
      <div class="panel"><h2>Architecture</h2><div id="arch"></div></div>
      <div class="grid2"><div class="panel"><h2>stdout (tail)</h2><pre id="stdout"></pre></div><div class="panel"><h2>stderr (tail)</h2><pre id="stderr"></pre></div></div>
      <div class="panel" id="code-panel" hidden><h2>Generated code</h2><pre id="code"></pre></div></div>`));
    if (t.control) main.querySelector("#cancel").onclick = () => control(`/api/experiments/${e}/trials/${t.id}/cancel`, "cancel");
    main.querySelector("#sample").innerHTML = Object.entries(t.sample).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(JSON.stringify(v))}</dd>`).join("");
    const params = t.architecture.params !== null ? t.architecture.params : (t.profile && typeof t.profile.params === "number" ? t.profile.params : null);
    const outcome = () => {
      const rows = [["status", badge(t.status)]].concat(Object.entries(t.metrics).map(([k, v]) => [esc(metricName(k)), fmt(v)]))
        .concat(t.early ? [["early stopped", `after ${t.early.steps}${t.early.full_steps ? " of " + t.early.full_steps : ""} report(s); best ${esc(metricName(t.early.metric))} ${fmt(t.early.best)}`]] : [])
        .concat([["reason", esc(t.reason || "-")], ["duration", span(t.duration)], ["started", when(t.start)], ["worker / machine", esc(t.worker || "-")], ["trial folder", esc(t.trial || "-")],
          ["parameters", params === null ? "-" : params.toLocaleString()]]);
      if (t.merged_with.length) rows.push(["merged with", t.merged_with.map(m => `<a href="#/e/${e}/t/${m}">#${m}</a>`).join(" ")]);
      Object.entries(t.profile || {}).filter(([k]) => k !== "params").forEach(([k, v]) => rows.push(["profile: " + esc(k), typeof v === "number" ? v.toLocaleString() : esc(JSON.stringify(v))]));
      Object.entries(t.extra || {}).forEach(([k, v]) => v !== null && rows.push([esc(k), esc(typeof v === "string" ? v : JSON.stringify(v))]));
      main.querySelector("#outcome").innerHTML = rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("");
      main.querySelector("#status").innerHTML = badge(t.status);
      main.querySelector("#curve-title").textContent = "Intermediate metrics" + (t.early ? ` (stopped early after ${t.early.steps} report(s))` : "");
    };
    const curve = () => {
      const series = {};
      t.intermediates.forEach((v, i) => { const entries = typeof v === "object" && v !== null ? Object.entries(v) : [["metric", v]];
        entries.forEach(([k, x]) => (series[k] = series[k] || []).push([i + 1, typeof x === "number" ? x : null])); });
      charts.plot(main.querySelector("#curve"), Object.entries(series).map(([k, pts]) => ({name: metricName(k), points: pts})), {xlabel: "report"});
    };
    outcome(); curve();
    main.querySelector("#stdout").textContent = t.logs.stdout || "(no output)";
    main.querySelector("#stderr").textContent = t.logs.stderr || "(no output)";
    if (t.code) { main.querySelector("#code-panel").hidden = false; main.querySelector("#code").textContent = t.code; }
    const arch = main.querySelector("#arch");
    if (t.architecture.tree) {
      const node = (n, depth = 0) => n.children.length ? `<details ${depth < 2 ? "open" : ""}><summary>${esc(n.name)}: <b>${esc(n.type)}</b> <span class="muted">${n.params === null ? "" : n.params.toLocaleString() + " params"}</span></summary>${n.children.map(c => node(c, depth + 1)).join("")}</details>`
        : `<div class="leaf">${esc(n.name)}: <b>${esc(n.type)}</b> <span class="muted">${n.params === null ? "" : n.params.toLocaleString() + " params"}</span></div>`;
      arch.innerHTML = `<div class="tree">${node(t.architecture.tree)}</div>`;
    } else if (!t.graph) {
      arch.innerHTML = `<p class="muted">${esc(t.architecture.error || "no architecture recorded")}</p>`;
    }
    if (t.graph) {
      const pick = h(`<p>graph <select>${t.graph.graphs.map(g => `<option ${g.name === t.graph.top ? "selected" : ""}>${esc(g.name)}</option>`).join("")}</select></p>`);
      const box = h(`<div style="overflow:auto;max-height:520px"></div>`);
      arch.append(pick, box);
      const show = name => charts.drawGraph(box, t.graph.graphs.find(g => g.name === name));
      pick.querySelector("select").onchange = ev => show(ev.target.value);
      show(t.graph.top || t.graph.graphs[0].name);
    }
    const overview = await api(`/api/experiments/${e}`);
    follow(main, id, {seq: overview.seq, model: overview.last_model}, update => {
      let changed = false;
      update.events.forEach(ev => { if (ev.id !== t.id) return; changed = true;
        if (ev.type === "intermediate") t.intermediates.push(ev.value); });
      update.rows.forEach(r => { if (r.id === t.id) { Object.assign(t, {status: r.status, metrics: r.metrics, reason: r.reason, duration: r.duration,
        early: r.early ? Object.assign({}, r.early, {full_steps: t.early && t.early.full_steps}) : undefined}); changed = true; } });
      if (changed) { outcome(); curve(); if (t.control && t.status !== "training") main.querySelector("#cancel").disabled = true; }
    });
  },

  // ---- compare ---------------------------------------------------------------------------------------------
  async compare(main, id, query) {
    const e = encodeURIComponent(id), ids = (query.get("ids") || "").split(",").filter(Boolean).map(Number);
    const [curves, par, front] = await Promise.all([api(`/api/experiments/${e}/curves?ids=${ids.join(",")}`),
      api(`/api/experiments/${e}/parallel`), api(`/api/experiments/${e}/pareto`)]);
    main.append(h(`<div><h1>Compare</h1><div class="toolbar"><input id="ids" size="30" placeholder="trial ids, e.g. 1,4,7" value="${esc(ids.join(","))}">
      <button id="show" class="primary">Show</button><span class="muted">or pick trials in the Trials table</span></div>
      <div class="panel"><h2>Intermediate curves</h2><canvas class="chart" id="curves"></canvas><table id="picked"></table></div>
      <div class="panel" id="pareto-panel" hidden><h2 id="pareto-title"></h2><canvas class="chart" id="pareto"></canvas><p class="muted" id="pareto-front"></p></div>
      <div class="panel"><h2>Labels vs metric (parallel coordinates, ${par.points.length} trials)</h2><canvas class="chart" id="parallel" style="height:320px"></canvas></div></div>`));
    main.querySelector("#show").onclick = () => { location.hash = `#/e/${e}/compare?ids=${main.querySelector("#ids").value.replace(/\s/g, "")}`; };
    const series = ids.map(i => ({name: "#" + i, points: (curves.curves[i] || []).map((v, k) => [k + 1, typeof v === "object" && v !== null ? v.default : v])}));
    charts.plot(main.querySelector("#curves"), series, {xlabel: "report", empty: ids.length ? "no intermediate metrics" : "no trial selected"});
    main.querySelector("#picked").innerHTML = curves.rows.map(r => `<tr><td><a href="#/e/${e}/t/${r.id}">#${r.id}</a></td><td>${badge(r.status)}</td>${r.early && r.metrics.metric === null ? `<td class="num early" title="${earlyTitle(r)}">${earlyMetric(r)}</td>` : `<td class="num">${fmt(r.metrics.metric)}</td>`}<td>${esc(Object.entries(r.sample).map(([k, v]) => k + "=" + JSON.stringify(v)).join(" "))}</td></tr>`).join("");
    const axes = par.labels.map(l => { const vals = [...new Set(par.points.map(p => p[1][l]))];
      const numeric = vals.every(v => typeof v === "number");
      return {name: l, values: numeric && vals.length > 12 ? null : vals.sort((a, b) => a < b ? -1 : a > b ? 1 : 0).map(v => typeof v === "object" ? JSON.stringify(v) : v)}; })
      .concat([{name: "metric", values: null}]);
    const rows = par.points.map(p => par.labels.map(l => { const v = p[1][l]; return typeof v === "object" && v !== null ? JSON.stringify(v) : v; }).concat([p[2]]));
    const highlight = new Set(par.points.map((p, i) => ids.includes(p[0]) ? i : -1).filter(i => i >= 0));
    charts.parallel(main.querySelector("#parallel"), axes, rows, highlight);
    const p = front.pareto;
    if (p) {  // several objectives: the first two against each other, the front drawn through its models
      const [a, b] = p.objectives, onFront = new Set(p.front), byId = new Map(p.points.map(q => [q[0], q]));
      main.querySelector("#pareto-panel").hidden = false;
      main.querySelector("#pareto-title").textContent = `Pareto front: ${a.name} (${a.mode}) vs ${b.name} (${b.mode}), ${p.front.length} of ${p.points.length} trained models`;
      charts.plot(main.querySelector("#pareto"), [
        {name: "trained", points: p.points.filter(q => !onFront.has(q[0])).map(q => [q[1], q[2]]), mode: "dots", color: "#9aa3ad"},
        {name: "front", points: p.front.map(i => byId.get(i)).map(q => [q[1], q[2]]), mode: "line", color: "#c8372d"}], {xlabel: a.name, ylabel: b.name});
      main.querySelector("#pareto-front").innerHTML = "front: " + p.front.map(i => `<a href="#/e/${e}/t/${i}">#${i}</a>`).join(" ") +
        (p.constraints.length ? ` (constraints: ${esc(p.constraints.join(", "))})` : "");
    }
  },
};
window.views = views;
