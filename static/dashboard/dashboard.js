// jetserve dashboard: reads server-sent snapshots from /dashboard/api/events (fetch + a stream
// reader, so the admin token travels in an Authorization header, never in a URL), turns
// consecutive snapshots into rates and draws them as SVG polylines. Plain browser JavaScript: no
// build step, no dependencies. The token comes from the URL fragment (#token=…, never sent to the
// server) or the login form, and is kept in sessionStorage for this tab.
'use strict';

const HISTORY = 120;
const TOKEN_KEY = 'jetserve-admin-token';
const charts = {
  rate: chart('chart-rate', (v) => v.toFixed(v < 10 ? 1 : 0)),
  latency: chart('chart-latency', (v) => v.toFixed(v < 10 ? 2 : 1)),
  batch: chart('chart-batch', (v) => v.toFixed(1)),
};
let previous = null;
let token = takeToken();

function takeToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

function authHeaders() {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function setConnection(state, text) {
  const el = document.getElementById('connection');
  el.dataset.state = state;
  el.textContent = text;
}

async function connect() {
  let res;
  try {
    res = await fetch('/dashboard/api/events', { headers: authHeaders(), cache: 'no-store' });
  } catch (err) {
    return retry(`disconnected (${err.message})`);
  }
  if (res.status === 401) {
    const body = await res.json().catch(() => ({}));
    return askToken(body.error || 'an admin token is needed');
  }
  if (!res.ok || !res.body) return retry(`HTTP ${res.status}`);
  setConnection('live', 'live');
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch {
      break;
    }
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data) onSnapshot(JSON.parse(data));
    }
  }
  retry('disconnected');
}

function retry(why) {
  setConnection('error', `${why}; reconnecting`);
  setTimeout(connect, 2000);
}

function askToken(reason) {
  setConnection('error', 'not authorized');
  const dialog = document.getElementById('login');
  document.getElementById('login-reason').textContent = reason;
  dialog.addEventListener(
    'close',
    () => {
      token = document.getElementById('token').value.trim();
      sessionStorage.setItem(TOKEN_KEY, token);
      connect();
    },
    { once: true },
  );
  dialog.showModal();
}

// --- snapshots → rates ---------------------------------------------------------------------------

function onSnapshot(s) {
  if (previous) {
    const dt = (s.time - previous.time) / 1000;
    if (dt > 0) {
      const before = new Map(previous.models.map((m) => [m.name, m]));
      let requests = 0;
      let successCount = 0;
      let successNs = 0;
      for (const m of s.models) {
        const p = before.get(m.name);
        if (!p) continue;
        // a version that unloaded takes its counters along: never count a drop as negative traffic
        requests += Math.max(0, m.requests - p.requests);
        successCount += Math.max(0, m.successCount - p.successCount);
        successNs += Math.max(0, m.successNs - p.successNs);
      }
      charts.rate.push(requests / dt);
      charts.latency.push(successCount > 0 ? successNs / successCount / 1e6 : 0);
      const b = s.batching;
      const pb = previous.batching;
      const batches = b && pb ? b.batches - pb.batches : 0;
      charts.batch.push(batches > 0 ? (b.rows - pb.rows) / batches : 0);
    }
  }
  previous = s;
  renderProcess(s);
  renderModels(s);
}

/** Points shown at least across the chart's width: a young chart spreads its first points out. */
const MIN_WINDOW = 10;

function chart(id, format) {
  const root = document.getElementById(id);
  const svg = root.querySelector('svg');
  const line = svg.querySelector('polyline');
  const area = svg.querySelector('polygon');
  const values = [];
  return {
    push(v) {
      values.push(Number.isFinite(v) ? v : 0);
      if (values.length > HISTORY) values.shift();
      const max = Math.max(1e-9, ...values);
      const window = Math.max(MIN_WINDOW, values.length);
      const step = 300 / (window - 1);
      const offset = window - values.length;
      const points = values.map((x, i) => `${((offset + i) * step).toFixed(1)},${(98 - (x / max) * 90).toFixed(1)}`);
      line.setAttribute('points', points.join(' '));
      area.setAttribute('points', `${(offset * step).toFixed(1)},100 ${points.join(' ')} 300,100`);
      root.querySelector('.value').textContent = format(values[values.length - 1]);
      root.querySelector('.max').textContent = `max ${format(max)}`;
      svg.dataset.points = String(values.length);
      svg.dataset.last = String(values[values.length - 1]);
      svg.dataset.max = String(Math.max(...values));
    },
  };
}

// --- rendering -----------------------------------------------------------------------------------

function mib(bytes) {
  return bytes < 1048576 ? `${Math.round(bytes / 1024)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`;
}

function renderProcess(s) {
  const p = s.process;
  document.getElementById('process').textContent = `up ${Math.round(p.uptimeSeconds)} s · RSS ${mib(p.rssBytes)} · JS heap ${mib(p.heapUsedBytes)}`;
  const m = s.memory;
  document.getElementById('memory').textContent =
    m.budgetBytes > 0 ? `model memory: ${mib(m.usedBytes)} of the ${mib(m.budgetBytes)} budget` : `model memory: ${mib(m.usedBytes)} (no budget set)`;
}

function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function renderModels(s) {
  const body = document.querySelector('#models tbody');
  const rows = [];
  for (const m of s.models) {
    const labelsOf = (v) =>
      Object.entries(m.labels)
        .filter(([, version]) => version === v)
        .map(([label]) => label)
        .join(', ');
    const weightOf = (v) => {
      if (!m.trafficSplit) return '';
      const total = m.trafficSplit.reduce((sum, t) => sum + t.weight, 0);
      const t = m.trafficSplit.find((x) => x.version === v);
      return t && total > 0 ? `${Math.round((t.weight / total) * 100)} %` : '';
    };
    const versions = m.versions.length > 0 ? m.versions : [{ version: '–', state: 'none', error: null, memoryBytes: 0 }];
    versions.forEach((v, i) => {
      const tr = el('tr', undefined, { 'data-model': m.name, 'data-version': String(v.version) });
      if (i === 0) tr.className = 'first';
      tr.append(el('td', i === 0 ? m.name : ''));
      tr.append(el('td', String(v.version)));
      const state = el('td', undefined);
      state.append(el('span', v.state, { class: 'state', 'data-state': v.state }));
      if (v.error) state.append(el('div', v.error, { class: 'error' }));
      if (m.shadow && m.shadow.version === v.version) {
        const sm = m.shadowMetrics;
        state.append(
          el('div', `shadow ${m.shadow.percent} %: ${sm.compared} compared, ${sm.mismatches} mismatched, max |diff| ${Number(sm.maxAbsDiff).toPrecision(3)}`, {
            class: 'shadow',
          }),
        );
      }
      tr.append(state);
      tr.append(el('td', labelsOf(v.version)));
      tr.append(el('td', weightOf(v.version)));
      tr.append(el('td', v.memoryBytes ? mib(v.memoryBytes) : ''));
      tr.append(el('td', i === 0 ? String(m.inFlight) : ''));
      tr.append(el('td', i === 0 ? `${m.requests}${m.failures ? ` (${m.failures} failed)` : ''}` : ''));
      const actions = el('td');
      if (i === 0) {
        const available = m.versions.some((x) => x.state === 'AVAILABLE');
        const button = el('button', available ? 'unload' : 'load', { 'data-action': available ? 'unload' : 'load' });
        button.addEventListener('click', () => act(m.name, available ? 'unload' : 'load', button));
        actions.append(button);
      }
      tr.append(actions);
      rows.push(tr);
    });
  }
  body.replaceChildren(...rows);
}

async function act(model, action, button) {
  button.disabled = true;
  button.textContent = `${action}ing…`;
  const res = await fetch(`/dashboard/api/models/${encodeURIComponent(model)}/${action}`, { method: 'POST', headers: authHeaders() });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    alert(`${action} ${model}: ${body.error || res.status}`);
  }
}

connect();
