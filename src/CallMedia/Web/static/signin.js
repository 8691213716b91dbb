// The sign-in page: JSON sign-in, then back to where the user was going (a path on this site only).
import { api, ApiError, el, safeReturn } from './api.js';

export async function showSignIn(main) {
  const back = safeReturn(new URLSearchParams(location.search).get('return') || '/');
  document.title = 'Sign in · CallMedia';
  const message = el('p', { class: 'error', role: 'alert', id: 'sign-in-error' });
  const name = el('input', { id: 'login-name', name: 'loginName', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = el('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const form = el('form', { class: 'sign-in', 'aria-labelledby': 'sign-in-title', novalidate: true },
    el('h1', { id: 'sign-in-title', text: 'Sign in to CallMedia' }),
    el('label', { for: 'login-name', text: 'Name' }), name,
    el('label', { for: 'password', text: 'Password' }), password,
    message,
    submit);
  main.replaceChildren(el('div', { class: 'center' }, form));
  // The cursor goes to the name at once, not when the check below answers: by then the person may be typing, and
  // moving the cursor would send the rest of what they type into the wrong field.
  name.focus();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    if (!name.value || !password.value) {
      message.textContent = 'Enter your name and password.';
      (name.value ? password : name).focus();
      return;
    }
    submit.disabled = true;
    try {
      await api('/api/v1/session', { method: 'POST', body: { loginName: name.value, password: password.value }, signInOn401: false });
      location.assign(back);
      return;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        message.textContent = 'Wrong name or password.';
      } else if (e instanceof ApiError && e.status === 429) {
        const wait = e.retryAfter;
        message.textContent = wait ? `Too many failed sign-ins. Try again in ${wait} s.` : 'Too many failed sign-ins. Try again later.';
      } else {
        message.textContent = e.message;
      }
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });

  // Already signed in (a bookmark, a second tab): go straight on.
  try {
    await api('/api/v1/me', { signInOn401: false });
    location.replace(back);
  } catch {
    // Not signed in: the form is already there and in use.
  }
}
