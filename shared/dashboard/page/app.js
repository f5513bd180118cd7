// The Gatehouse dashboard: polls /admin/cluster on the admin listener that served it, once a second, and
// draws every edge and router it gathered. The instances send cumulative counts; rates here are the
// difference between two polls over the time between them. Plain script, no build step, no dependency:
// everything the page shows goes in as text, never as HTML (instance names and Consul check output come
// from other processes).
'use strict';

const POLL_MS = 1000;
const TOKEN_KEY = 'gatehouse-admin-token';
/** Attempt outcomes that are the instance's failures (not the client's aborts, nor attempts the gateway held back). */
const ATTEMPT_ERRORS = new Set(['5xx', 'timeout', 'connect_error', 'reset']);
/** Rate-limit outcomes that refused the request (fallback: counted locally while Redis failed; unavailable: a fail-closed 503). */
const LIMITED = new Set(['limited', 'fallback_limited', 'unavailable']);

let token = takeToken();
let timer;
/** Each member's previous snapshot and when it came: member id -> { at, snapshot }. */
let previous = new Map();

/** A token in the URL's fragment (#token=...) is moved to session storage and taken out of the address bar. */
function takeToken() {
  const found = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
  if (found) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(found[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, String(v));
    else if (k === 'title') node.title = String(v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c === undefined || c === null ? '' : String(c)));
  return node;
}

const badge = (text, kind, title) => el('span', { class: `badge ${kind}`, title }, text);
const sum = (counts, keep = () => true) => Object.entries(counts || {}).reduce((n, [k, v]) => (keep(k) ? n + v : n), 0);
const perSecond = (value) => (value === null ? '–' : value < 10 ? value.toFixed(1) : Math.round(value).toString());

function setStatus(kind, text) {
  const status = document.getElementById('status');
  status.className = `status ${kind}`;
  status.textContent = text;
}

function askToken(message) {
  document.getElementById('main').hidden = true;
  document.getElementById('token-form').hidden = false;
  setStatus('error', message || 'This admin listener needs its token.');
}

document.getElementById('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = document.getElementById('token-input').value.trim();
  if (!value) return;
  token = value;
  sessionStorage.setItem(TOKEN_KEY, value);
  document.getElementById('token-form').hidden = true;
  schedule(0);
});

// A link with a token opened in a tab that already shows the page changes only the fragment.
window.addEventListener('hashchange', () => {
  const given = takeToken();
  if (!given || given === token) return;
  token = given;
  document.getElementById('token-form').hidden = true;
  schedule(0);
});

/** One poll loop at a time, however often a token is given. */
function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(poll, ms);
}

async function poll() {
  if (!token) return askToken();
  try {
    const res = await fetch('/admin/cluster', { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (res.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      token = null;
      return askToken('The admin listener refused this token.');
    }
    if (!res.ok) throw new Error(`it answered ${res.status}`);
    const view = await res.json();
    render(view, performance.now());
    document.getElementById('main').hidden = false;
    setStatus('live', `live · updated ${new Date(view.generatedAt).toLocaleTimeString()}`);
  } catch (err) {
    setStatus('error', `Cannot reach this admin listener (${err.message}); retrying.`);
  }
  schedule(POLL_MS);
}

/** Rates of one member since its previous snapshot: rate(fn) is (fn(now) - fn(then)) / seconds, or null on the first poll. */
function ratesOf(member, now) {
  const snap = member.snapshot;
  const before = snap && previous.get(snap.instance.id);
  return (fn) => {
    if (!snap || !before) return null;
    const seconds = (now - before.at) / 1000;
    return seconds > 0 ? Math.max(0, fn(snap) - fn(before.snapshot)) / seconds : null;
  };
}

/** Adds rates that may be unknown: unknown only when every one is. */
function addRates(values) {
  const known = values.filter((v) => v !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}

function render(view, now) {
  const members = view.members.map((m) => ({ ...m, rate: ratesOf(m, now) }));
  const live = members.filter((m) => m.snapshot);
  renderSummary(view, live);
  renderMembers(members);
  renderRoutes(live);
  renderServices(live, view.health);
  renderRateLimits(live);
  renderFailures(live);
  previous = new Map(live.map((m) => [m.snapshot.instance.id, { at: now, snapshot: m.snapshot }]));
}

function renderSummary(view, live) {
  const count = (tier) => live.filter((m) => m.snapshot.instance.tier === tier).length;
  const versions = new Set(live.map((m) => (m.snapshot.config ? m.snapshot.config.hash : 'file')));
  const configs = [...new Set(live.map((m) => m.snapshot.config && m.snapshot.config.version).filter(Boolean))];
  const unreachable = view.members.length - live.length;
  const summary = document.getElementById('summary');
  summary.replaceChildren(
    badge(`${count('edge')} edge${count('edge') === 1 ? '' : 's'}`, 'info'),
    badge(`${count('router')} router${count('router') === 1 ? '' : 's'}`, 'info'),
    ...(unreachable > 0 ? [badge(`${unreachable} unreachable`, 'bad')] : []),
    badge(`config ${configs.join(', ') || 'from file'}`, versions.size > 1 ? 'warn' : 'info', versions.size > 1 ? 'instances run different configs' : undefined),
    ...(view.consul ? [badge(view.consul.ok ? 'Consul ok' : 'Consul failing', view.consul.ok ? 'ok' : 'bad', view.consul.error)] : []),
  );
}

function renderMembers(members) {
  const rows = members.map((m) => {
    const s = m.snapshot;
    if (!s) {
      return el('tr', { 'data-member': m.adminUrl, 'data-state': 'unreachable' },
        el('td', {}, '?'), el('td', {}, m.adminUrl), el('td', {}, badge('unreachable', 'bad', m.error), ' ', m.error),
        el('td', {}), el('td', {}), el('td', {}), el('td', {}), el('td', {}));
    }
    const i = s.instance;
    const requests = m.rate((x) => x.routes.reduce((n, r) => n + sum(r.requests), 0));
    const errors = m.rate((x) => x.routes.reduce((n, r) => n + (r.requests['5xx'] || 0), 0));
    const state = !i.ready ? badge('not ready', 'bad') : m.health && m.health !== 'passing' ? badge(`Consul: ${m.health}`, 'warn') : badge('ready', 'ok');
    const config = s.config
      ? [`${s.config.version} · ${s.config.hash.slice(0, 8)} · gen ${s.config.generation}`, ...(s.config.lastError ? [' ', badge('refused a config', 'warn', s.config.lastError.problems.join('\n'))] : [])]
      : ['from file'];
    return el('tr', { 'data-member': i.id, 'data-tier': i.tier, 'data-state': i.ready ? 'ready' : 'not-ready' },
      el('td', {}, badge(i.tier, i.tier)),
      el('td', {}, `${i.hostname} · pid ${i.pid} `, el('span', { class: 'muted' }, m.source === 'self' ? `${location.host} (serving this page)` : new URL(m.adminUrl).host)),
      el('td', {}, state),
      el('td', {}, ...config),
      el('td', { class: 'num' }, perSecond(requests)),
      el('td', { class: 'num' }, perSecond(errors)),
      el('td', {}, `${i.version} · node ${i.node}`),
      el('td', {}, since(i.startedAt)));
  });
  document.querySelector('#members tbody').replaceChildren(...rows);
}

function renderRoutes(live) {
  const routes = new Map();
  for (const m of live) {
    for (const r of m.snapshot.routes) {
      const row = routes.get(r.name) || { name: r.name, service: r.service, edge: [], e2: [], e4: [], e5: [], router: [] };
      const rate = (fn) => m.rate((x) => { const same = x.routes.find((y) => y.name === r.name); return same ? fn(same.requests) : 0; });
      if (m.snapshot.instance.tier === 'edge') {
        row.edge.push(rate((c) => sum(c)));
        row.e2.push(rate((c) => c['2xx'] || 0));
        row.e4.push(rate((c) => c['4xx'] || 0));
        row.e5.push(rate((c) => c['5xx'] || 0));
      } else {
        row.router.push(rate((c) => sum(c)));
      }
      routes.set(r.name, row);
    }
  }
  const rows = [...routes.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => el('tr', { 'data-route': r.name },
    el('td', {}, r.name, r.name.startsWith('published-') ? el('span', { class: 'muted' }, ' (published)') : ''),
    el('td', {}, r.service),
    el('td', { class: 'num' }, perSecond(addRates(r.edge))),
    el('td', { class: 'num' }, perSecond(addRates(r.e2))),
    el('td', { class: 'num' }, perSecond(addRates(r.e4))),
    el('td', { class: `num ${addRates(r.e5) > 0 ? 'bad-text' : ''}` }, perSecond(addRates(r.e5))),
    el('td', { class: 'num' }, perSecond(addRates(r.router)))));
  document.querySelector('#routes tbody').replaceChildren(...rows);
}

/** One block per service and tier: each instance with Consul's verdict and what each member of that tier sees. */
function renderServices(live, health) {
  const groups = new Map();
  for (const m of live) {
    for (const svc of m.snapshot.services) {
      const key = `${m.snapshot.instance.tier}\n${svc.name}`;
      const g = groups.get(key) || { tier: m.snapshot.instance.tier, name: svc.name, views: [] };
      g.views.push({ member: m, svc });
      groups.set(key, g);
    }
  }
  const blocks = [...groups.values()].sort((a, b) => (a.tier === b.tier ? a.name.localeCompare(b.name) : a.tier === 'edge' ? -1 : 1))
    .map((g) => serviceBlock(g, health[g.name]));
  document.getElementById('services').replaceChildren(...blocks);
}

function serviceBlock(g, consul) {
  const ids = new Map();
  for (const c of consul || []) ids.set(c.id, { id: c.id, address: c.address, consul: c });
  for (const { svc } of g.views) for (const i of svc.instances) if (!ids.has(i.id)) ids.set(i.id, { id: i.id, address: i.origin, consul: null });
  const seenBy = g.tier === 'edge' ? 'edges' : 'routers';
  const rows = [...ids.values()].sort((a, b) => a.id.localeCompare(b.id)).map((inst) => {
    const views = g.views.map(({ member, svc }) => ({ member, svc, status: svc.instances.find((i) => i.id === inst.id) }));
    const listing = views.filter((v) => v.status);
    const ejected = listing.filter((v) => v.status.ejected).length;
    const breakers = listing.map((v) => v.status.breaker);
    const attempts = addRates(views.map((v) => v.member.rate((x) => attemptsOf(x, g.name, inst.id, () => true))));
    const errors = addRates(views.map((v) => v.member.rate((x) => attemptsOf(x, g.name, inst.id, (o) => ATTEMPT_ERRORS.has(o)))));
    const state = instanceState(inst.consul, listing.length, ejected, breakers);
    return el('tr', { 'data-instance': inst.id, 'data-state': state.key },
      el('td', {}, inst.id),
      el('td', {}, inst.address),
      el('td', {}, badge(state.label, state.kind, state.title)),
      el('td', {}, inst.consul ? badge(inst.consul.status, inst.consul.status === 'passing' ? 'ok' : inst.consul.status === 'warning' ? 'warn' : 'bad', inst.consul.output) : el('span', { class: 'muted' }, 'static')),
      el('td', {}, `${listing.length} of ${views.length}`),
      el('td', {}, ejected ? badge(`ejected on ${ejected}`, 'warn') : '–'),
      el('td', {}, breakers.some((b) => b !== 'closed') ? badge(breakers.filter((b) => b !== 'closed').join(', '), 'bad') : 'closed'),
      el('td', { class: 'num' }, perSecond(attempts)),
      el('td', { class: `num ${errors > 0 ? 'bad-text' : ''}` }, perSecond(errors)));
  });
  return el('div', { class: 'service', 'data-service': g.name, 'data-tier': g.tier },
    el('h3', {}, g.name, el('span', { class: 'muted' }, ` as the ${seenBy} see it`)),
    el('table', {},
      el('thead', {}, el('tr', {}, ...['instance', 'address', 'state', 'Consul check', `listed by ${seenBy}`, 'ejected', 'circuit', 'attempts/s', 'errors/s'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows)));
}

function attemptsOf(snapshot, service, id, keep) {
  const svc = snapshot.services.find((s) => s.name === service);
  const inst = svc && svc.instances.find((i) => i.id === id);
  return inst ? sum(inst.attempts, keep) : 0;
}

/** The one word for an instance: Consul's failing check first, then what the gateway does about it. */
function instanceState(consul, listedBy, ejected, breakers) {
  if (consul && consul.status === 'critical') return { key: 'critical', label: 'critical', kind: 'bad', title: consul.output };
  if (consul && consul.status === 'warning') return { key: 'warning', label: 'warning', kind: 'warn', title: consul.output };
  if (breakers.includes('open')) return { key: 'circuit-open', label: 'circuit open', kind: 'bad' };
  if (ejected > 0) return { key: 'ejected', label: 'ejected', kind: 'warn' };
  if (breakers.includes('half-open')) return { key: 'half-open', label: 'probing', kind: 'warn' };
  if (listedBy === 0) return { key: 'unlisted', label: 'not in discovery', kind: 'warn' };
  return { key: 'healthy', label: 'healthy', kind: 'ok' };
}

function renderRateLimits(live) {
  const policies = new Map();
  for (const m of live) {
    for (const p of m.snapshot.rateLimits) {
      const row = policies.get(p.policy) || { policy: p.policy, admitted: [], limited: [], total: 0 };
      const pick = (keep) => (x) => { const same = x.rateLimits.find((y) => y.policy === p.policy); return same ? sum(same.decisions, keep) : 0; };
      row.admitted.push(m.rate(pick((o) => !LIMITED.has(o))));
      row.limited.push(m.rate(pick((o) => LIMITED.has(o))));
      row.total += sum(p.decisions, (o) => LIMITED.has(o));
      policies.set(p.policy, row);
    }
  }
  const rows = [...policies.values()].map((p) => el('tr', { 'data-policy': p.policy },
    el('td', {}, p.policy), el('td', { class: 'num' }, perSecond(addRates(p.admitted))),
    el('td', { class: `num ${addRates(p.limited) > 0 ? 'warn-text' : ''}` }, perSecond(addRates(p.limited))), el('td', { class: 'num' }, p.total)));
  document.querySelector('#ratelimits tbody').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'no rate-limit policy in use'))]));
}

function renderFailures(live) {
  const reasons = new Map();
  for (const m of live) {
    for (const reason of Object.keys(m.snapshot.authFailures.byReason)) {
      reasons.set(reason, [...(reasons.get(reason) || []), m.rate((x) => x.authFailures.byReason[reason] || 0)]);
    }
  }
  document.getElementById('failure-reasons').replaceChildren(...[...reasons].map(([reason, rates]) => badge(`${reason} ${perSecond(addRates(rates))}/s`, 'warn')));
  const recent = live.flatMap((m) => m.snapshot.authFailures.recent.map((f) => ({ ...f, tier: m.snapshot.instance.tier })))
    .sort((a, b) => b.at.localeCompare(a.at)).slice(0, 25);
  const rows = recent.map((f) => el('tr', { 'data-request-id': f.requestId },
    el('td', {}, new Date(f.at).toLocaleTimeString()), el('td', {}, `${f.status} (${f.tier})`), el('td', {}, f.reason),
    el('td', {}, f.route || '–'), el('td', { class: 'path' }, `${f.method} ${f.path}`), el('td', {}, f.client), el('td', { class: 'id' }, f.requestId)));
  document.querySelector('#failures tbody').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'none recently'))]));
}

function since(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

poll();
