// The audit page (administrators): who did what to which call, filtered; the hash chain's status; CSV export.
import { api, el, query, formatDateTime, formatBytes } from './api.js';

export function showAudit(main, me) {
  document.title = 'Audit · CallMedia';
  const rights = me.rights || [];
  if (!rights.includes('admin')) {
    const note = rights.includes('audit')
      ? 'The audit log is for administrators. Who listened to or downloaded a call is shown on the call\'s own page.'
      : 'The audit log is for administrators.';
    main.replaceChildren(el('h1', { text: 'Audit' }), el('p', { class: 'error', text: note }));
    return;
  }
  const input = (id, label, attrs = {}) => el('div', { class: 'field' }, el('label', { for: id, text: label }), el('input', { id, name: id, ...attrs }));
  const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    input('user', 'User', { type: 'search', autocomplete: 'off' }),
    input('call', 'Call id', { type: 'search', inputmode: 'numeric', autocomplete: 'off' }),
    input('from', 'From', { type: 'date' }),
    input('to', 'To', { type: 'date' }),
    el('div', { class: 'field submit' }, el('button', { type: 'submit', class: 'primary', text: 'Filter' })));
  const chain = el('p', { class: 'chain', role: 'status', text: 'Checking the audit chain…' });
  const csv = el('a', { class: 'button', id: 'audit-csv', href: '/api/v1/audit.csv', download: '', text: 'Export CSV' });
  const body = el('tbody');
  const status = el('p', { class: 'status', role: 'status' });
  const more = el('button', { type: 'button', class: 'more', text: 'Load more', hidden: true });
  main.replaceChildren(
    el('h1', { text: 'Audit log' }),
    chain, form, el('p', {}, csv),
    el('div', { class: 'table-wrap' }, el('table', { class: 'compact audit' },
      el('thead', {}, el('tr', {}, ['#', 'When', 'User', 'Client', 'Action', 'Calls', 'Bytes', 'Outcome', 'Reason'].map((h) => el('th', { scope: 'col', text: h })))),
      body)),
    more, status);

  const day = (value, plus = 0) => {
    const [y, m, d] = value.split('-').map(Number);
    return new Date(y, m - 1, d + plus).toISOString();
  };
  let next = null;
  const filters = () => {
    const f = form.elements;
    return {
      user: f.user.value.trim(),
      call: f.call.value.trim(),
      from: f.from.value ? day(f.from.value) : '',
      to: f.to.value ? day(f.to.value, 1) : '',
    };
  };
  async function load(reset) {
    more.disabled = true;
    try {
      const page = await api('/api/v1/audit' + query({ ...filters(), limit: 200, cursor: reset ? '' : next }));
      if (reset) body.replaceChildren();
      for (const r of page.items) {
        body.append(el('tr', {},
          el('td', { class: 'num', text: String(r.seq) }),
          el('td', {}, el('time', { datetime: r.at, text: formatDateTime(r.at) })),
          el('td', { text: r.user || '' }), el('td', { text: r.client || '' }), el('td', { text: r.action }),
          el('td', { text: (r.coupleIds || []).join(', ') }),
          el('td', { class: 'num', text: r.bytes == null ? '' : formatBytes(r.bytes) }),
          el('td', { text: r.outcome || '' }), el('td', { text: r.reason || '' })));
      }
      next = page.next;
      more.hidden = !next;
      status.textContent = body.rows.length ? `${body.rows.length} records shown.` : 'No records match.';
    } catch (e) {
      status.textContent = e.message;
    } finally {
      more.disabled = false;
    }
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    csv.href = '/api/v1/audit.csv' + query(filters());
    load(true);
  });
  more.addEventListener('click', () => load(false));
  load(true);

  api('/api/v1/audit/verify').then((v) => {
    chain.className = v.ok ? 'chain ok' : 'chain bad';
    chain.textContent = v.ok
      ? `Audit chain intact: ${v.records} records, head ${v.head}.`
      : `Audit chain BROKEN at record ${v.firstBad?.seq ?? '?'}: records were changed or removed.`;
  }).catch((e) => {
    chain.textContent = `The audit chain could not be checked: ${e.message}`;
  });
}
