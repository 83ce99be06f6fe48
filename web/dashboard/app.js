// nsm dashboard page: draws the view the server pushes over /events (graph elements, connection
// rows, summary) with cytoscape, keeps a log of state changes, and filters by client or service.
// window.nsmDashboard exposes the latest view, the event log and the graph (used by the e2e test).
/* global window, document, EventSource, cytoscape */
'use strict';

const STATE_COLOR = { UP: '#2e7d32', DOWN: '#b71c1c', HEALING: '#ef6c00' };
const KIND_COLOR = { client: '#1565c0', nsmgr: '#6a1b9a', forwarder: '#00838f', endpoint: '#2e7d32', registry: '#5d4037', etcd: '#5d4037', external: '#757575' };

const cy = cytoscape({
  container: document.getElementById('graph'),
  layout: { name: 'preset' },
  style: [
    { selector: 'node.mesh-node', style: { label: 'data(label)', 'text-valign': 'top', 'background-color': '#eef2f7', 'border-color': '#9aa8b8', 'border-width': 1, shape: 'round-rectangle', padding: 24, 'font-weight': 'bold' } },
    {
      selector: 'node.component',
      style: {
        label: 'data(label)', 'text-valign': 'bottom', 'text-margin-y': 4, 'font-size': 11, width: 34, height: 34,
        'background-color': (n) => KIND_COLOR[n.data('kind')] || '#455a64', 'border-width': 3, 'border-color': '#fff',
      },
    },
    { selector: 'node.component.stopped', style: { 'background-color': '#b71c1c', 'border-style': 'dashed', 'border-color': '#b71c1c', opacity: 0.6 } },
    { selector: 'node.client, node.external', style: { shape: 'ellipse' } },
    { selector: 'node.endpoint', style: { shape: 'round-rectangle' } },
    { selector: 'node.nsmgr, node.registry', style: { shape: 'hexagon' } },
    { selector: 'node.forwarder', style: { shape: 'diamond' } },
    { selector: 'edge.control', style: { width: 1, 'line-style': 'dotted', 'line-color': '#b0bac6', 'curve-style': 'straight' } },
    {
      selector: 'edge.hop',
      style: {
        width: 3, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', label: 'data(label)', 'font-size': 9, 'text-background-color': '#fff', 'text-background-opacity': 0.8,
        'line-color': (e) => STATE_COLOR[e.data('state')] || '#999', 'target-arrow-color': (e) => STATE_COLOR[e.data('state')] || '#999',
      },
    },
    { selector: 'edge.hop.HEALING', style: { 'line-style': 'dashed' } },
    { selector: '.dim', style: { opacity: 0.15 } },
    { selector: 'edge.hop.selected', style: { width: 6 } },
  ],
});

const state = { view: null, events: [], updates: 0, selected: null, lastStates: new Map() };
window.nsmDashboard = state;
state.cy = cy;

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const bytes = (n) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

function updateGraph(elements) {
  const keep = new Set(elements.map((e) => e.data.id));
  cy.batch(() => {
    cy.elements().filter((e) => !keep.has(e.id())).remove();
    // Parents before children, nodes before edges.
    const order = (e) => (e.group === 'edges' ? 2 : e.data.parent ? 1 : 0);
    for (const el of [...elements].sort((a, b) => order(a) - order(b))) {
      const have = cy.getElementById(el.data.id);
      if (have.length === 0) {
        cy.add(el);
        continue;
      }
      have.data(el.data);
      have.classes(el.classes || '');
    }
  });
  if (!state.fitted && cy.nodes().length > 0) {
    cy.fit(undefined, 30);
    state.fitted = true;
  }
}

function summaryHtml(s) {
  const item = (label, value) => `<span>${label}: <b>${value}</b></span>`;
  return [
    item('phase', esc(s.phase)),
    item('components running', `${s.running}/${s.components}`),
    item('restarts', s.restarts),
    item('connections', s.connections),
    item('UP', s.up),
    item('HEALING', s.healing),
    item('DOWN', s.down),
    item('traffic rx/tx', `${bytes(s.rxBytes)} / ${bytes(s.txBytes)}`),
  ].join('');
}

function rowHtml(c) {
  const mech = c.remoteMechanism ? `${esc(c.mechanism)} + ${esc(c.remoteMechanism)}` : esc(c.mechanism);
  const traffic = c.traffic ? `${bytes(c.traffic.rxBytes)} / ${bytes(c.traffic.txBytes)}` : '-';
  return `<tr class="conn" data-conn-id="${esc(c.id)}" data-state="${esc(c.state)}" data-client="${esc(c.client)}" data-service="${esc(c.service)}">`
    + `<td><span class="state ${esc(c.state)}">${esc(c.state)}</span></td><td>${esc(c.client)}</td><td>${esc(c.service)}</td><td>${esc(c.endpoint)}</td><td>${mech}</td><td>${traffic}</td></tr>`;
}

function detailText(c) {
  if (!c) return '';
  const lines = [
    `connection ${c.id} (${c.source})`,
    `path: ${c.path.join(' > ')}`,
    `mechanism: ${c.mechanism}${c.remoteMechanism ? `, between nodes ${c.remoteMechanism}` : ''}`,
    `interface: ${c.interface || '-'}  ${c.srcIp || ''} -> ${c.dstIp || ''}`,
    'counters:',
    ...Object.entries(c.counters).map(([k, v]) => `  ${k} = ${v}`),
  ];
  return lines.join('\n');
}

function applyFilter() {
  const q = $('search').value.trim().toLowerCase();
  const match = (c) => !q || c.client.toLowerCase().includes(q) || c.service.toLowerCase().includes(q);
  const shown = new Set((state.view?.connections ?? []).filter(match).map((c) => c.id));
  for (const tr of document.querySelectorAll('tr.conn')) tr.classList.toggle('hidden', !shown.has(tr.dataset.connId));
  cy.batch(() => {
    cy.elements().removeClass('dim');
    if (!q) return;
    cy.edges('.hop').filter((e) => !shown.has(e.data('conn'))).addClass('dim');
    const onPath = new Set((state.view?.connections ?? []).filter((c) => shown.has(c.id)).flatMap((c) => c.path.map((n) => `c:${n}`)));
    cy.nodes('.component').filter((n) => !onPath.has(n.id())).addClass('dim');
  });
}

function select(id) {
  state.selected = id;
  cy.edges().removeClass('selected');
  if (id) cy.edges('.hop').filter((e) => e.data('conn') === id).addClass('selected');
  for (const tr of document.querySelectorAll('tr.conn')) tr.classList.toggle('selected', tr.dataset.connId === id);
  $('detail').textContent = detailText(state.view?.connections.find((c) => c.id === id));
}

function logChanges(view) {
  const now = new Date(view.time).toISOString().slice(11, 23);
  for (const c of view.connections) {
    const key = c.id || `${c.client}/${c.interface}`;
    const before = state.lastStates.get(key);
    if (before === c.state) continue;
    state.lastStates.set(key, c.state);
    state.events.push({ time: view.time, id: c.id, client: c.client, service: c.service, state: c.state });
    const li = document.createElement('li');
    li.innerHTML = `${now} <span class="state ${esc(c.state)}">${esc(c.state)}</span> ${esc(c.client)} → ${esc(c.service)}${before ? ` (was ${esc(before)})` : ''}`;
    $('events').prepend(li);
  }
}

function render(view) {
  state.view = view;
  state.updates += 1;
  $('mesh').textContent = view.name;
  $('summary').innerHTML = summaryHtml(view.summary);
  updateGraph(view.elements);
  $('conns').tBodies[0].innerHTML = view.connections.map(rowHtml).join('');
  $('errors').textContent = view.errors.join('; ');
  logChanges(view);
  applyFilter();
  select(state.selected);
}

$('search').addEventListener('input', applyFilter);
$('conns').addEventListener('click', (ev) => {
  const tr = ev.target.closest('tr.conn');
  if (tr) select(tr.dataset.connId === state.selected ? null : tr.dataset.connId);
});
cy.on('tap', 'edge.hop', (ev) => select(ev.target.data('conn')));

const events = new EventSource('/events');
events.addEventListener('view', (ev) => render(JSON.parse(ev.data)));
events.onopen = () => { $('live').textContent = 'live'; $('live').className = ''; };
events.onerror = () => { $('live').textContent = 'reconnecting'; $('live').className = 'off'; };
