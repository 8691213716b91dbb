// Media go through single-use tokens from POST /api/v1/tokens; the URL it returns is same-site and carries no session.
import { api } from './api.js';
import { reasonFor } from './reason.js';

/** A token URL for these calls, or null when the user cancelled the reason. */
export async function tokenUrl(me, ids, type, action) {
  const reason = await reasonFor(me, ids);
  if (reason === null) return null;
  const body = { ids, type, action };
  if (reason) body.reason = reason;
  const reply = await api('/api/v1/tokens', { method: 'POST', body });
  return reply.url;
}

/** Downloads through the browser's own download manager (it shows the size, and can resume: the zip has ranges). */
export async function download(me, ids, type) {
  const url = await tokenUrl(me, ids, type, 'download');
  if (!url) return false;
  const link = document.createElement('a');
  link.href = url;
  link.download = '';
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  return true;
}
