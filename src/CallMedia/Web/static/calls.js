// The call log: filters (kept in the page URL, so a reload or a new sign-in comes back to them), newest first,
// paged through the API's cursor; selecting calls for one zip; opening a call in the player.
import { api, el, query, timeZone, formatDateTime, formatDuration } from './api.js';
import { download } from './tokens.js';

const PAGE = 100;

export function showCalls(main, me) {
  document.title = 'Calls · CallMedia';
  const rights = me.rights || [];
  const canZip = rights.includes('audio.download');
  const selected = new Set();
  let next = null;
  let loading = null;
  let player = null;

  // Filters
  const input = (id, label, attrs = {}) => el('div', { class: 'field' }, el('label', { for: id, text: label }), el('input', { id, name: id, ...attrs }));
  const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Find calls' },
    el('fieldset', { class: 'dates' },
      el('legend', { text: 'Date' }),
      input('from', 'From', { type: 'date' }),
      input('to', 'To', { type: 'date' }),
      el('div', { class: 'presets' },
        el('button', { type: 'button', 'data-preset': 'today', text: 'Today' }),
        el('button', { type: 'button', 'data-preset': 'yesterday', text: 'Yesterday' }),
        el('button', { type: 'button', 'data-preset': 'week', text: 'Last 7 days' }),
        el('button', { type: 'button', 'data-preset': 'any', text: 'Any date' }))),
    input('number', 'Number', { type: 'search', inputmode: 'tel', autocomplete: 'off' }),
    input('name', 'Name', { type: 'search', autocomplete: 'off' }),
    input('min', 'Min. duration (s)', { type: 'number', min: '0', step: '1', inputmode: 'numeric' }),
    input('max', 'Max. duration (s)', { type: 'number', min: '0', step: '1', inputmode: 'numeric' }),
    el('div', { class: 'field check' }, el('input', { id: 'video', name: 'video', type: 'checkbox' }), el('label', { for: 'video', text: 'Has video' })),
    el('div', { class: 'field submit' }, el('button', { type: 'submit', class: 'primary', text: 'Search' })));

  const filterError = el('p', { class: 'error', role: 'alert', id: 'filter-error' });
  const status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const body = el('tbody');
  const table = el('table', { class: 'calls' },
    el('caption', { class: 'visually-hidden', text: 'Calls, newest first' }),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col', class: 'sel' }, el('span', { class: 'visually-hidden', text: 'Select' })),
      el('th', { scope: 'col', text: 'Date and time' }),
      el('th', { scope: 'col', text: 'Caller' }),
      el('th', { scope: 'col', text: 'Callee' }),
      el('th', { scope: 'col', class: 'num', text: 'Duration' }),
      el('th', { scope: 'col', text: 'Media' }))),
    body);
  const more = el('button', { type: 'button', class: 'more', text: 'Load more', hidden: true });
  const zipButton = el('button', { type: 'button', class: 'primary', id: 'download-zip', text: 'Download selected (.zip)' });
  const clear = el('button', { type: 'button', text: 'Clear selection' });
  const bulkText = el('span', { id: 'selected-count' });
  const bulkError = el('span', { class: 'error', role: 'alert' });
  const bulk = el('div', { class: 'bulk', hidden: true, role: 'region', 'aria-label': 'Selected calls' }, bulkText, zipButton, clear, bulkError);
  const panel = el('section', { class: 'player-panel', id: 'player', 'aria-label': 'Call', hidden: true });
  const list = el('section', { class: 'results', 'aria-label': 'Calls' }, bulk, el('div', { class: 'table-wrap' }, table), more, status);
  main.replaceChildren(el('h1', { class: 'visually-hidden', text: 'Calls' }), form, filterError, el('div', { class: 'workspace' }, list, panel));

  // Filters <-> URL
  const fields = ['from', 'to', 'number', 'name', 'min', 'max'];
  function readUrl() {
    const q = new URLSearchParams(location.search);
    for (const f of fields) form.elements[f].value = q.get(f) || '';
    form.elements.video.checked = q.get('video') === '1';
  }
  function filterQuery() {
    const v = {};
    for (const f of fields) v[f] = form.elements[f].value.trim();
    v.video = form.elements.video.checked ? '1' : '';
    return query(v);
  }
  const localDay = (value, plusDays = 0) => {
    const [y, m, d] = value.split('-').map(Number);
    return new Date(y, m - 1, d + plusDays).toISOString();
  };
  function apiQuery(cursor) {
    const f = form.elements;
    return query({
      tz: timeZone,
      limit: PAGE,
      from: f.from.value ? localDay(f.from.value) : '',
      to: f.to.value ? localDay(f.to.value, 1) : '',
      number: f.number.value.trim(),
      name: f.name.value.trim(),
      minDuration: f.min.value,
      maxDuration: f.max.value,
      has: f.video.checked ? 'video' : '',
      cursor,
    });
  }

  form.addEventListener('click', (event) => {
    const preset = event.target.closest('[data-preset]')?.dataset.preset;
    if (!preset) return;
    const day = (offset) => {
      const d = new Date();
      d.setDate(d.getDate() + offset);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    };
    const [from, to] = { today: [day(0), day(0)], yesterday: [day(-1), day(-1)], week: [day(-6), day(0)], any: ['', ''] }[preset];
    form.elements.from.value = from;
    form.elements.to.value = to;
    form.requestSubmit();
  });

  // Filters that cannot match anything are said at once, in the form's words; no search runs, and no rows of the
  // previous search stay on screen as if they matched.
  function filterProblem() {
    const f = form.elements;
    if (f.from.value && f.to.value && f.from.value > f.to.value) return 'The From date is after the To date.';
    if (f.min.value !== '' && f.max.value !== '' && Number(f.min.value) > Number(f.max.value)) {
      return 'The minimum duration is longer than the maximum duration.';
    }
    return '';
  }
  function clearResults(message) {
    body.replaceChildren();
    next = null;
    more.hidden = true;
    status.textContent = message;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    filterError.textContent = filterProblem();
    if (filterError.textContent) {
      loading = null; // a search still on its way must not fill the table afterwards
      clearResults('No search: correct the filters above.');
      return;
    }
    history.pushState(null, '', location.pathname + filterQuery());
    search();
  });

  // Results
  const mediaText = (media) => {
    const m = media || [];
    const parts = [];
    if (m.includes('audio')) parts.push('audio');
    if (m.includes('video')) parts.push('video');
    else if (m.includes('recd')) parts.push('unmixed video');
    return parts.join(', ') || 'none';
  };
  const party = (p) => el('td', { class: 'party' }, el('span', { class: 'number', text: p?.number || '' }), p?.name ? el('span', { class: 'name', text: p.name }) : null);

  function row(call) {
    const check = el('input', { type: 'checkbox', 'aria-label': `Select call ${call.id}`, 'data-id': String(call.id) });
    check.checked = selected.has(call.id);
    check.addEventListener('change', () => {
      if (check.checked) selected.add(call.id);
      else selected.delete(call.id);
      showBulk();
    });
    const link = el('a', { href: `/calls/${call.id}${location.search}`, 'data-call': String(call.id) },
      el('time', { datetime: call.start, text: formatDateTime(call.start) }));
    return el('tr', { 'data-id': String(call.id) },
      el('td', { class: 'sel' }, canZip ? check : null),
      el('td', {}, link),
      party(call.calling),
      party(call.called),
      el('td', { class: 'num', text: formatDuration(call.durationSeconds) }),
      el('td', { class: 'media', text: mediaText(call.media) }));
  }

  async function load(reset) {
    const mine = {};
    loading = mine;
    more.disabled = true;
    status.textContent = 'Loading calls…';
    try {
      const page = await api('/api/v1/calls' + apiQuery(reset ? '' : next));
      if (loading !== mine) return;
      if (reset) body.replaceChildren();
      const fragment = document.createDocumentFragment();
      for (const call of page.items) fragment.append(row(call));
      body.append(fragment);
      next = page.next;
      more.hidden = !next;
      const shown = body.rows.length;
      status.textContent = shown > 0 ? `${shown} call${shown === 1 ? '' : 's'} shown${next ? '' : ', all loaded'}.`
        : rights.length === 0 ? 'Your account has no rights yet, so it sees no calls: ask an administrator for a role.'
        : Array.isArray(me.scope) && me.scope.length === 0 ? 'Your account\'s call scope is empty, so it sees no calls: ask an administrator.'
        : 'No calls match.';
      markOpen();
    } catch (e) {
      if (loading === mine) {
        if (reset) clearResults('');
        status.textContent = e.message;
      }
    } finally {
      if (loading === mine) {
        more.disabled = false;
        loading = null;
      }
    }
  }
  const search = () => load(true);
  more.addEventListener('click', () => load(false));
  // Infinite scroll: the "Load more" button loads itself when it comes into view.
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && next && !loading) load(false);
  }, { rootMargin: '400px' }).observe(more);

  // Selection and zip
  function showBulk() {
    bulk.hidden = selected.size === 0;
    bulkText.textContent = `${selected.size} selected`;
    bulkError.textContent = '';
  }
  clear.addEventListener('click', () => {
    selected.clear();
    body.querySelectorAll('input[type=checkbox]').forEach((c) => { c.checked = false; });
    showBulk();
  });
  zipButton.addEventListener('click', async () => {
    zipButton.disabled = true;
    bulkError.textContent = '';
    try {
      await download(me, [...selected], 1);
    } catch (e) {
      bulkError.textContent = e.message;
    } finally {
      zipButton.disabled = false;
    }
  });

  // The open call
  const openId = () => {
    const m = /^\/calls\/(\d+)$/.exec(location.pathname);
    return m ? Number(m[1]) : null;
  };
  function markOpen() {
    const id = openId();
    body.querySelectorAll('tr[aria-current]').forEach((r) => r.removeAttribute('aria-current'));
    if (id) body.querySelector(`tr[data-id="${id}"]`)?.setAttribute('aria-current', 'true');
  }
  async function showOpen(focus) {
    const id = openId();
    player?.close();
    player = null;
    panel.hidden = !id;
    markOpen();
    if (!id) return;
    const { showPlayer } = await import('./player.js');
    player = showPlayer(panel, me, id, () => {
      history.pushState(null, '', '/' + location.search);
      showOpen(false);
      body.querySelector('a[data-call]')?.focus();
    });
    if (focus) panel.querySelector('h2')?.focus();
  }
  body.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-call]');
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    history.pushState(null, '', `/calls/${link.dataset.call}${location.search}`);
    showOpen(true);
  });
  window.addEventListener('popstate', () => {
    readUrl();
    search();
    showOpen(false);
  });

  readUrl();
  search();
  showOpen(false);
}
