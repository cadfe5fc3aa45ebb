// lumi's dashboard: one page, no framework, no external assets.
// It reads /api/events (a snapshot, then live updates) and sends commands to
// /api/devices/<sid>/set and /api/bridge/request/<name>, in the bridge's MQTT vocabulary.
// Every text that came from the network is set with textContent, never as HTML.
'use strict';

const S = {
  bridge: {},
  gateways: [],
  devices: new Map(),
  problems: [],
  log: [],
  lastSeq: 0,
  // Server time minus browser time, so "3 s ago" is right even if the clocks differ.
  skew: 0,
  filter: '',
};
const LOG_MAX = 200;

// --- helpers -------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    // Through the CSSOM: the page's content security policy forbids style attributes.
    else if (k === 'style') Object.assign(el.style, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const $ = (id) => document.getElementById(id);

function ago(iso) {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '?';
  const s = Math.max(0, Math.round((Date.now() + S.skew - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
}

function timeEl(iso) {
  return h('time', { datetime: iso || '', 'data-ago': iso || '' }, ago(iso));
}

let toastTimer;
function toast(text, error) {
  const t = $('toast');
  t.textContent = text;
  t.className = 'toast show' + (error ? ' error' : '');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = 'toast'; }, error ? 6000 : 2500);
}

async function post(url, body, button) {
  if (button) button.disabled = true;
  try {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    });
    let answer = {};
    try { answer = await r.json(); } catch (_) { /* not JSON */ }
    if (!r.ok || answer.status !== 'ok') {
      toast(answer.error || `failed: HTTP ${r.status}`, true);
      return null;
    }
    return answer.data;
  } catch (e) {
    toast(`the bridge did not answer: ${e.message}`, true);
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

const setUrl = (sid) => `/api/devices/${encodeURIComponent(sid)}/set`;

// --- values --------------------------------------------------------------------------------

const UNITS = {
  temperature: '°C', humidity: '%', pressure: 'hPa', battery: '%', voltage: 'mV', power: 'W',
  energy: 'kWh', illuminance: 'lx', level: '%', brightness: '', volume: '%',
};

// Booleans that read better as words (the raw value stays in data-value).
const WORDS = {
  contact: ['closed', 'open'],
  occupancy: ['motion', 'no motion'],
  water_leak: ['leak', 'dry'],
  alarm: ['ALARM', 'quiet'],
  in_use: ['in use', 'idle'],
};

function valueNode(key, v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean' && WORDS[key]) return WORDS[key][v ? 0 : 1];
  if (typeof v === 'object' && 'r' in v && 'g' in v && 'b' in v) {
    const hex = toHex(v);
    return h('span', {}, h('span', { class: 'swatch', style: { backgroundColor: hex } }), hex);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  const unit = UNITS[key];
  return unit && typeof v === 'number' ? `${v} ${unit}` : String(v);
}

function toHex(c) {
  const x = (n) => Math.max(0, Math.min(255, Number(n) || 0)).toString(16).padStart(2, '0');
  return `#${x(c.r)}${x(c.g)}${x(c.b)}`;
}

// --- controls ------------------------------------------------------------------------------

// One control per writable property, as the bridge describes them (`controls`).
function controlsFor(d) {
  const list = d.controls || [];
  if (!list.length) return null;
  const box = h('div', { class: 'controls' });
  const byName = Object.fromEntries(list.map((c) => [c.property, c]));
  const hasSound = 'sound' in byName;
  for (const c of list) {
    const label = c.property.replace(/_/g, ' ');
    const current = d.state ? d.state[c.property] : undefined;
    if (c.control === 'switch') {
      const on = current === 'ON' || current === true;
      box.append(h('button', {
        role: 'switch', 'aria-checked': on ? 'true' : 'false', 'data-control': c.property,
        'aria-label': `${label} of ${d.name}`,
        onclick: (e) => post(setUrl(d.sid), { [c.property]: on ? 'OFF' : 'ON' }, e.currentTarget),
      }, `${label}: ${on ? 'ON' : 'OFF'}`));
    } else if (c.control === 'range') {
      if (c.property === 'volume' && hasSound) continue; // part of the sound control
      const v = typeof current === 'number' ? current : c.min;
      const out = h('output', {}, String(v));
      const input = h('input', {
        type: 'range', min: c.min, max: c.max, value: v, 'data-control': c.property,
        'aria-label': `${label} of ${d.name}`,
        oninput: (e) => { out.textContent = e.currentTarget.value; },
        onchange: (e) => post(setUrl(d.sid), { [c.property]: Number(e.currentTarget.value) }),
      });
      box.append(h('span', { class: 'ctl' }, h('label', {}, label, input, out)));
    } else if (c.control === 'color') {
      const v = current && typeof current === 'object' ? toHex(current) : '#ffffff';
      box.append(h('label', {}, label, h('input', {
        type: 'color', value: v, 'data-control': c.property, 'aria-label': `${label} of ${d.name}`,
        onchange: (e) => post(setUrl(d.sid), { [c.property]: e.currentTarget.value }),
      })));
    } else if (c.control === 'select' && c.property === 'sound') {
      const sel = h('select', { 'data-control': 'sound', 'aria-label': `sound of ${d.name}` },
        c.options.filter((o) => o !== 'stop').map((o) => h('option', { value: o }, o.replace(/_/g, ' '))));
      const vol = byName.volume;
      const volInput = vol ? h('input', {
        type: 'range', min: vol.min, max: vol.max, value: 30, 'data-control': 'volume',
        'aria-label': `volume of ${d.name}`,
      }) : null;
      const group = h('span', { class: 'ctl' }, h('label', {}, 'sound', sel));
      if (volInput) group.append(h('label', {}, 'volume', volInput));
      box.append(group);
      group.append(h('button', {
        'data-control': 'play',
        onclick: (e) => {
          const body = { sound: sel.value };
          if (volInput) body.volume = Number(volInput.value);
          post(setUrl(d.sid), body, e.currentTarget);
        },
      }, 'Play'));
      if (c.options.includes('stop')) {
        group.append(h('button', {
          'data-control': 'stop',
          onclick: (e) => post(setUrl(d.sid), { sound: 'stop' }, e.currentTarget),
        }, 'Stop'));
      }
    } else if (c.control === 'select') {
      if (c.options.length <= 4) {
        const group = h('span', { class: 'ctl' });
        box.append(group);
        for (const o of c.options) {
          group.append(h('button', {
            'data-control': `${c.property}:${o}`, 'aria-pressed': current === o ? 'true' : 'false',
            onclick: (e) => post(setUrl(d.sid), { [c.property]: o }, e.currentTarget),
          }, `${label}: ${o}`));
        }
      } else {
        const sel = h('select', { 'data-control': c.property, 'aria-label': `${label} of ${d.name}` },
          c.options.map((o) => h('option', { value: o, selected: current === o }, o.replace(/_/g, ' '))));
        box.append(h('span', { class: 'ctl' }, h('label', {}, label, sel), h('button', {
          'aria-label': `set ${label} of ${d.name}`,
          onclick: (e) => post(setUrl(d.sid), { [c.property]: sel.value }, e.currentTarget),
        }, 'Set')));
      }
    }
  }
  return box;
}

// --- rendering -----------------------------------------------------------------------------

function props(d, skip) {
  const dl = h('dl', { class: 'props' });
  for (const [k, v] of Object.entries(d.state || {})) {
    if (skip.includes(k)) continue;
    dl.append(h('dt', {}, k.replace(/_/g, ' ')),
      h('dd', { 'data-prop': k, 'data-value': JSON.stringify(v) }, valueNode(k, v)));
  }
  return dl;
}

function deviceCard(d) {
  const battery = d.state && typeof d.state.battery === 'number' ? d.state.battery : null;
  const head = h('div', { class: 'card-head' },
    h('div', {},
      h('h3', {}, d.name),
      h('div', { class: 'sub' }, d.description || `unsupported model ${d.model || '(empty)'}`),
      h('div', { class: 'sub' }, d.name !== d.sid ? `${d.sid} · ${d.model}` : d.model)),
    h('div', {},
      h('span', { class: `badge ${d.online ? 'online' : 'offline'}`, 'data-availability': '' },
        d.online ? 'online' : 'offline'),
      battery !== null ? h('div', {}, h('span', {
        class: `badge ${battery <= 20 ? 'battery-low' : 'battery'}`, title: 'battery',
      }, `battery ${battery} %`)) : null));
  return h('article', { class: 'card device', 'data-sid': d.sid, 'aria-label': d.name },
    head,
    props(d, ['battery', 'state_color_mode', 'color_mode']),
    h('div', { class: 'sub' }, 'last seen ', timeEl(d.last_seen)),
    controlsFor(d));
}

function gatewayCard(g) {
  const d = S.devices.get(g.sid) || { sid: g.sid, name: g.name || g.sid, state: {}, controls: [] };
  const pair = h('button', {
    'data-control': 'permit_join',
    onclick: async (e) => {
      const ok = await post('/api/bridge/request/permit_join', { value: true, gateway: g.sid }, e.currentTarget);
      if (ok) toast(`${g.sid}: pairing open for ${ok.time} s; press the new device's button now`);
    },
  }, 'Allow a device to join (30 s)');
  const facts = h('dl', { class: 'props' },
    h('dt', {}, 'address'), h('dd', {}, g.address),
    h('dt', {}, 'protocol'), h('dd', {}, g.protocol || 'not known yet'),
    h('dt', {}, 'heartbeat'), h('dd', {}, timeEl(g.last_heartbeat)),
    h('dt', {}, 'token age'), h('dd', {}, timeEl(g.token_time)),
    h('dt', {}, 'interface'), h('dd', {}, g.interface),
    h('dt', {}, 'devices'), h('dd', {}, String(g.devices)),
    h('dt', {}, 'password'), h('dd', {}, g.has_password ? 'configured' : 'none (writes fail)'));
  return h('article', { class: 'card gateway', 'data-sid': g.sid, 'aria-label': `gateway ${d.name}` },
    h('div', { class: 'card-head' },
      h('div', {}, h('h3', {}, d.name), h('div', { class: 'sub' }, `${g.sid} · ${g.model || 'gateway'}`)),
      h('span', { class: `badge ${g.online ? 'online' : 'offline'}`, 'data-availability': '' },
        g.online ? 'online' : 'offline')),
    facts,
    props(d, ['color_mode', 'state']),
    controlsFor(d),
    h('div', { class: 'controls' }, pair));
}

function matches(d) {
  if (!S.filter) return true;
  const f = S.filter.toLowerCase();
  return [d.name, d.sid, d.model, d.kind, d.description].some((x) => x && String(x).toLowerCase().includes(f));
}

function renderDevices() {
  const box = $('devices');
  const subs = [...S.devices.values()].filter((d) => d.gateway);
  subs.sort((a, b) => a.name.localeCompare(b.name));
  const shown = subs.filter(matches);
  box.replaceChildren(...shown.map(deviceCard));
  const online = subs.filter((d) => d.online).length;
  $('device-count').textContent = `(${subs.length}, ${online} online)`;
}

function renderDevice(d) {
  if (!d.gateway) return renderGateways();
  const old = document.querySelector(`#devices [data-sid="${CSS.escape(d.sid)}"]`);
  if (!old) return renderDevices();
  // Keep the focus on a control the user is operating.
  const focused = old.contains(document.activeElement) ? document.activeElement.getAttribute('data-control') : null;
  const card = matches(d) ? deviceCard(d) : null;
  if (card) old.replaceWith(card); else old.remove();
  if (focused && card) {
    const again = card.querySelector(`[data-control="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
  const subs = [...S.devices.values()].filter((x) => x.gateway);
  $('device-count').textContent = `(${subs.length}, ${subs.filter((x) => x.online).length} online)`;
}

function renderGateways() {
  $('gateways').replaceChildren(...S.gateways.map(gatewayCard));
  $('no-gateways').hidden = S.gateways.length > 0;
  $('gateway-count').textContent = `(${S.gateways.length})`;
}

function renderProblems() {
  const list = $('problem-list');
  list.replaceChildren(...S.problems.map((p) => h('li', { 'data-problem': p.id },
    h('strong', {}, p.message), h('br'), h('span', { class: 'fix' }, 'Fix: ', p.fix))));
  $('problems').hidden = S.problems.length === 0;
}

function logItem(e) {
  return h('li', { class: e.level, 'data-seq': e.seq },
    h('time', { datetime: e.time }, clock(e.time)),
    h('span', { class: 'who' }, e.name || e.sid || 'bridge'),
    h('span', { class: 'what' }, e.text));
}

function addLog(e) {
  if (e.seq <= S.lastSeq) return; // already shown (a snapshot and a live message overlap)
  S.lastSeq = e.seq;
  const list = $('log');
  list.prepend(logItem(e));
  while (list.children.length > LOG_MAX) list.lastChild.remove();
}

function renderBridge() {
  const m = S.bridge.mqtt || {};
  const el = $('mqtt-status');
  el.textContent = m.connected ? `connected (${m.broker || ''})` : 'disconnected';
  el.style.color = m.connected ? 'var(--ok)' : 'var(--bad)';
  $('interface').textContent = S.bridge.interface || '?';
}

// --- live updates --------------------------------------------------------------------------

function handle(m) {
  switch (m.type) {
    case 'snapshot':
      S.skew = Date.parse(m.now) - Date.now();
      S.bridge = m.bridge;
      S.gateways = m.gateways;
      S.problems = m.problems;
      S.devices = new Map(m.devices.map((d) => [d.sid, d]));
      S.lastSeq = 0;
      $('log').replaceChildren();
      for (const e of m.log) addLog(e);
      renderBridge(); renderProblems(); renderGateways(); renderDevices();
      document.body.dataset.ready = 'true';
      break;
    case 'device':
      S.devices.set(m.device.sid, m.device);
      renderDevice(m.device);
      break;
    case 'removed':
      S.devices.delete(m.sid);
      renderDevices();
      break;
    case 'gateways':
      S.skew = Date.parse(m.now) - Date.now();
      S.gateways = m.gateways;
      S.problems = m.problems;
      renderGateways(); renderProblems();
      break;
    case 'log':
      addLog(m.entry);
      break;
    case 'bridge':
      S.bridge = m.bridge;
      renderBridge();
      break;
    default:
      break;
  }
}

function connect() {
  const live = $('live');
  const es = new EventSource('/api/events');
  es.onopen = () => { live.textContent = 'live'; live.dataset.state = 'live'; };
  es.onmessage = (e) => {
    try { handle(JSON.parse(e.data)); } catch (err) { console.error('bad message', err); }
  };
  // EventSource reconnects by itself; the next snapshot brings the page up to date.
  es.onerror = () => { live.textContent = 'reconnecting…'; live.dataset.state = 'lost'; };
}

document.addEventListener('DOMContentLoaded', () => {
  $('filter').addEventListener('input', (e) => { S.filter = e.currentTarget.value.trim(); renderDevices(); });
  setInterval(() => {
    for (const t of document.querySelectorAll('time[data-ago]')) t.textContent = ago(t.dataset.ago);
  }, 1000);
  connect();
});
