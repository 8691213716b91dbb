// Entry point: shows the page for the current path. Each page is its own module, loaded when needed.
import { api, ApiError, startLeaving } from './api.js';

const main = document.getElementById('main');

async function start() {
  if (location.pathname === '/sign-in') {
    const { showSignIn } = await import('./signin.js');
    showSignIn(main);
    return;
  }
  let me;
  try {
    me = await api('/api/v1/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return; // on the way to the sign-in page
    main.replaceChildren(Object.assign(document.createElement('p'), { className: 'error', textContent: e.message }));
    return;
  }
  showHeader(me);
  if (location.pathname === '/audit') {
    const { showAudit } = await import('./audit.js');
    showAudit(main, me);
  } else {
    const { showCalls } = await import('./calls.js');
    showCalls(main, me);
  }
}

function showHeader(me) {
  document.getElementById('top').hidden = false;
  document.getElementById('who').textContent = me.name;
  const rights = me.rights || [];
  // The whole audit log is the administrators' (the API's rule); auditors see who accessed each call on its page.
  document.getElementById('nav-audit').hidden = !rights.includes('admin');
  const current = location.pathname === '/audit' ? 'nav-audit' : 'nav-calls';
  document.getElementById(current).setAttribute('aria-current', 'page');
  document.getElementById('sign-out').addEventListener('click', async () => {
    startLeaving();
    try {
      await api('/api/v1/session', { method: 'DELETE', signInOn401: false });
    } catch {
      // Already signed out: the sign-in page is where to go either way.
    }
    location.assign('/sign-in');
  });
}

start();
