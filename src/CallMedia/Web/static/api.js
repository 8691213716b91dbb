// The one way the app talks to the server: JSON over fetch, with the session cookie, errors as ApiError.

export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.detail || problem.title)) || `The server answered ${status}.`);
    this.status = status;
    this.problem = problem || {};
    this.retryAfter = retryAfter == null ? null : Number(retryAfter);
  }
}

/** Where the user is now, so that signing in again brings them back here (filters and open call included). */
export function here() {
  return location.pathname + location.search;
}

export function signInUrl(back = here()) {
  return back && back !== '/' && back !== '/sign-in' ? '/sign-in?return=' + encodeURIComponent(back) : '/sign-in';
}

let left = false;

/**
 * The page is on its way out (signing out): a 401 answered to a request still in flight no longer sends the user
 * anywhere, so one navigation leaves the page instead of two racing (the first one cut off by the second).
 */
export function startLeaving() {
  left = true;
}

/** Sends the user to sign in again (the session expired or ended), keeping where they were; once per page. */
export function goSignIn() {
  if (left) return;
  left = true;
  location.assign(signInUrl());
}

export async function api(path, { method = 'GET', body, signInOn401 = true } = {}) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, { detail: 'The server cannot be reached; check the connection and try again.' });
  }
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      // Not JSON: the status says enough.
    }
    const error = new ApiError(response.status, problem, response.headers.get('Retry-After'));
    if (response.status === 401 && signInOn401) {
      goSignIn();
    }
    throw error;
  }
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : null;
}

/** A query string of the non-empty values. */
export function query(values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) {
    if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

/** A return path is followed only when it is a path on this site (never //host, /\host or a scheme). */
export function safeReturn(value) {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return '/';
  if (/[\u0000-\u001f\u007f]/.test(value)) return '/';
  try {
    const url = new URL(value, location.origin);
    // Dot segments fold away in parsing ('/.//host' is '//host'): the folded path must still be a path on this site.
    const path = url.pathname + url.search + url.hash;
    return url.origin === location.origin && !path.startsWith('//') && !path.startsWith('/\\') ? path : '/';
  } catch {
    return '/';
  }
}

/** Element builder: el('td', { class: 'x', text: 'y' }, child...). Text is always text, never HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
export function formatDateTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : '';
}

/** 83.2 → "1:23"; 4000 → "1:06:40". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

const size = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return '';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${size.format(v)} ${units[i]}`;
}
