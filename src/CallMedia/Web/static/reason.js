// Web:RequireReason: before the first play or download of a call the user says why; the reason goes with the
// token request and into the audit. A reason given once for a call on this page is reused for that call.
import { el } from './api.js';

const given = new Map();

/** The reason to send for these calls: undefined when none is required, null when the user cancelled. */
export function reasonFor(me, ids) {
  if (!me.requireReason) return Promise.resolve(undefined);
  const known = ids.map((id) => given.get(id));
  if (known.every((r) => r)) return Promise.resolve(known[0]);
  return ask(ids).then((reason) => {
    if (reason) ids.forEach((id) => given.set(id, reason));
    return reason;
  });
}

function ask(ids) {
  return new Promise((resolve) => {
    const text = el('textarea', { id: 'reason-text', rows: '3', required: true, maxlength: '500' });
    const error = el('p', { class: 'error', role: 'alert' });
    const ok = el('button', { type: 'submit', class: 'primary', text: 'Continue' });
    const cancel = el('button', { type: 'button', text: 'Cancel' });
    const what = ids.length === 1 ? `call ${ids[0]}` : `${ids.length} calls`;
    const form = el('form', { method: 'dialog' },
      el('h2', { id: 'reason-title', text: 'Reason for access' }),
      el('p', { text: `Your organisation records why calls are listened to or downloaded. Why do you need ${what}?` }),
      el('label', { for: 'reason-text', text: 'Reason' }), text, error,
      el('div', { class: 'buttons' }, ok, cancel));
    const dialog = el('dialog', { class: 'reason', 'aria-labelledby': 'reason-title' }, form);
    document.body.append(dialog);
    const done = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = text.value.trim();
      if (!value) {
        error.textContent = 'Type a reason, or cancel.';
        text.focus();
        return;
      }
      done(value);
    });
    cancel.addEventListener('click', () => done(null));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      done(null);
    });
    dialog.showModal();
    text.focus();
  });
}
