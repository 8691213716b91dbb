// One call: who, when, how long; a player built for calls (waveform of the whole call, seek, skip, speed,
// keyboard); video in the same panel (prepared first when only an unmixed capture exists); downloads the
// user's rights allow; and, for auditors, who has listened to it.
import { api, el, timeZone, formatDateTime, formatDuration, formatBytes } from './api.js';
import { tokenUrl, download } from './tokens.js';
import { Waveform } from './waveform.js';

const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
const SKIP = 10;

export function showPlayer(panel, me, id, onClose) {
  let closed = false;
  let detail = null;
  let media = null;
  let wave = null;
  let loaded = null;
  let pendingSeek = null;
  let frame = 0;
  let pollTimer = 0;

  const title = el('h2', { tabindex: '-1', text: `Call ${id}` });
  const close = el('button', { type: 'button', class: 'quiet close', 'aria-label': 'Close call', text: '✕' });
  const facts = el('dl', { class: 'facts' });
  const stage = el('div', { class: 'stage' });
  const waveHost = el('div', { class: 'wave', role: 'slider', tabindex: '0', 'aria-label': 'Position in the call', 'aria-valuemin': '0', 'aria-valuenow': '0' });
  // Disabled until the call's details have come and there is something to play: a click before that would be lost.
  const playButton = el('button', { type: 'button', class: 'primary play', id: 'play', text: 'Play', disabled: true });
  const back = el('button', { type: 'button', title: `Back ${SKIP} seconds (←)`, text: `Back ${SKIP} s` });
  const forward = el('button', { type: 'button', title: `Forward ${SKIP} seconds (→)`, text: `Forward ${SKIP} s` });
  const current = el('span', { id: 'current-time', text: '0:00' });
  const total = el('span', { id: 'total-time', text: '–' });
  const speed = el('select', { id: 'speed' }, SPEEDS.map((s) => el('option', { value: String(s), text: `${s}×`, selected: s === 1 })));
  const controls = el('div', { class: 'controls', role: 'group', 'aria-label': 'Playback' },
    back, playButton, forward,
    el('span', { class: 'time' }, current, ' / ', total),
    el('label', { for: 'speed', class: 'speed-label', text: 'Speed' }), speed);
  const message = el('p', { class: 'error', role: 'alert' });
  const actions = el('div', { class: 'actions' });
  const prepareBox = el('div', { class: 'prepare', hidden: true });
  const shortcuts = el('details', { class: 'shortcuts' },
    el('summary', { text: 'Keyboard shortcuts' }),
    el('dl', {},
      el('dt', {}, el('kbd', { text: 'Space' })), el('dd', { text: 'Play or pause' }),
      el('dt', {}, el('kbd', { text: '←' }), ' ', el('kbd', { text: '→' })), el('dd', { text: `Back or forward ${SKIP} seconds` }),
      el('dt', {}, el('kbd', { text: 'Home' }), ' ', el('kbd', { text: 'End' })), el('dd', { text: 'Start or end of the call (on the waveform)' }),
      el('dt', {}, SPEEDS.map((s, i) => [el('kbd', { text: String(i + 1) }), ' '])), el('dd', { text: `Speed ${SPEEDS.join('×, ')}×` })));
  const access = el('section', { class: 'access', hidden: true, 'aria-labelledby': 'access-title' });
  panel.replaceChildren(
    el('div', { class: 'panel-head' }, title, close),
    facts, message, stage, waveHost, controls, prepareBox, actions, shortcuts, access);
  panel.hidden = false;
  close.addEventListener('click', () => onClose());

  const setMessage = (text) => { message.textContent = text || ''; };

  // Playback
  function duration() {
    if (media && Number.isFinite(media.duration) && media.duration > 0) return media.duration;
    return wave?.duration || detail?.durationSeconds || 0;
  }
  function showTime() {
    const t = media && loaded ? media.currentTime : (pendingSeek ?? 0);
    current.textContent = formatDuration(t);
    total.textContent = formatDuration(duration());
    waveHost.setAttribute('aria-valuemax', String(Math.round(duration())));
    waveHost.setAttribute('aria-valuenow', String(Math.round(t)));
    waveHost.setAttribute('aria-valuetext', `${formatDuration(t)} of ${formatDuration(duration())}`);
    wave?.setTime(t);
  }
  function tick() {
    showTime();
    frame = media && !media.paused ? requestAnimationFrame(tick) : 0;
  }

  function makeMedia(kind) {
    media?.pause();
    media?.removeAttribute('src');
    media?.load();
    media = el(kind, { preload: 'none', playsinline: true, class: kind, id: 'media' });
    if (kind === 'audio') media.hidden = true;
    stage.replaceChildren(media);
    loaded = null;
    media.playbackRate = Number(speed.value);
    playButton.disabled = false;
    media.addEventListener('play', () => { playButton.textContent = 'Pause'; tick(); });
    media.addEventListener('pause', () => { playButton.textContent = 'Play'; showTime(); });
    media.addEventListener('ended', () => { playButton.textContent = 'Play'; showTime(); });
    media.addEventListener('seeked', showTime);
    media.addEventListener('timeupdate', showTime);
    media.addEventListener('loadedmetadata', () => { wave?.setDuration(media.duration); showTime(); });
    media.addEventListener('ratechange', () => { speed.value = String(media.playbackRate); });
    media.addEventListener('error', () => {
      if (!media.getAttribute('src')) return;
      setMessage('The recording could not be played.');
      loaded = null;
    });
  }

  /** Asks for one token per play and points the element at it; seeks later go by Range under the token's lease. */
  function load() {
    if (loaded) return loaded;
    const video = detail.media.includes('video') && detail.actions.streamVideo;
    loaded = (async () => {
      const url = await tokenUrl(me, [id], video ? 16 : 1, 'stream');
      if (!url) throw new Error('cancelled');
      media.src = url;
      await new Promise((resolve, reject) => {
        media.addEventListener('loadedmetadata', resolve, { once: true });
        media.addEventListener('error', () => reject(new Error('The recording could not be loaded.')), { once: true });
        media.load();
      });
      if (pendingSeek !== null) {
        media.currentTime = pendingSeek;
        pendingSeek = null;
      }
    })();
    loaded.catch(() => { loaded = null; });
    return loaded;
  }

  async function play() {
    setMessage('');
    try {
      await load();
      await media.play();
    } catch (e) {
      if (e.message !== 'cancelled') setMessage(e.message);
    }
  }
  function toggle() {
    if (!media) return;
    if (media.paused) play();
    else media.pause();
  }
  function seek(seconds) {
    const t = Math.max(0, Math.min(duration() || 0, seconds));
    if (media && loaded && media.readyState > 0) media.currentTime = t;
    else pendingSeek = t;
    showTime();
  }
  const position = () => (media && loaded && media.readyState > 0 ? media.currentTime : pendingSeek ?? 0);
  function setSpeed(s) {
    speed.value = String(s);
    if (media) media.playbackRate = s;
  }

  playButton.addEventListener('click', toggle);
  back.addEventListener('click', () => seek(position() - SKIP));
  forward.addEventListener('click', () => seek(position() + SKIP));
  speed.addEventListener('change', () => setSpeed(Number(speed.value)));
  waveHost.addEventListener('keydown', (event) => {
    if (event.key === 'Home') seek(0);
    else if (event.key === 'End') seek(duration());
    else return;
    event.preventDefault();
  });

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || !media) return;
    const target = event.target;
    if (target.closest('input, textarea, select, dialog, [contenteditable]')) return;
    const onControl = target.closest('button, a, summary');
    if (event.key === ' ' && !onControl) toggle();
    else if (event.key === 'ArrowLeft') seek(position() - SKIP);
    else if (event.key === 'ArrowRight') seek(position() + SKIP);
    else if (/^[1-7]$/.test(event.key)) setSpeed(SPEEDS[Number(event.key) - 1]);
    else return;
    event.preventDefault();
  }
  document.addEventListener('keydown', onKey);

  // Video preparation (an unmixed capture: mix it with the sound first)
  async function prepare() {
    prepareBox.hidden = false;
    const bar = el('progress', { max: '100', value: '0', id: 'prepare-progress', 'aria-label': 'Preparing video' });
    const label = el('span', { role: 'status', text: 'Preparing video…' });
    prepareBox.replaceChildren(bar, label);
    try {
      let job = await api(`/api/v1/calls/${id}/prepare`, { method: 'POST', body: {} });
      while (!closed && job.state !== 'done') {
        if (job.state === 'failed') throw new Error(job.error ? `Preparing failed: ${job.error}` : 'Preparing the video failed.');
        bar.value = job.progress || 0;
        label.textContent = `Preparing video… ${job.progress || 0} %`;
        await new Promise((resolve) => { pollTimer = setTimeout(resolve, 500); });
        job = await api(`/api/v1/jobs/${job.id}`);
      }
      if (!closed) await refresh();
      prepareBox.hidden = false;
      bar.value = 100;
      label.textContent = 'Video ready.';
    } catch (e) {
      label.textContent = e.message;
    }
  }

  // The call
  function fact(name, value) {
    return [el('dt', { text: name }), el('dd', {}, value)];
  }
  function partyText(p) {
    return p ? [el('span', { class: 'number', text: p.number || '' }), p.name ? el('span', { class: 'name', text: ` ${p.name}` }) : null] : '';
  }

  async function refresh() {
    detail = await api(`/api/v1/calls/${id}?tz=${encodeURIComponent(timeZone)}`);
    if (closed) return;
    const a = detail.actions || {};
    const hasVideo = detail.media.includes('video');
    const unmixed = !hasVideo && detail.media.includes('recd');
    facts.replaceChildren(
      ...fact('Start', el('time', { datetime: detail.start, text: formatDateTime(detail.start) })),
      ...fact('Caller', partyText(detail.calling)),
      ...fact('Callee', partyText(detail.called)),
      ...fact('Duration', formatDuration(detail.durationSeconds)),
      ...fact('Media', (detail.files || []).map((f) => `${f.format.toUpperCase()} ${formatBytes(f.size)}${f.available === false ? ' (missing)' : ''}`).join(', ') || 'none'));
    makeMedia(hasVideo && a.streamVideo ? 'video' : 'audio');
    const canPlay = hasVideo && a.streamVideo ? true : a.stream;
    controls.hidden = !canPlay;
    waveHost.hidden = !a.stream;
    actions.replaceChildren();
    const downloadButton = (label, type) => {
      const b = el('button', { type: 'button', text: label });
      b.addEventListener('click', async () => {
        b.disabled = true;
        setMessage('');
        try {
          await download(me, [id], type);
        } catch (e) {
          setMessage(e.message);
        } finally {
          b.disabled = false;
        }
      });
      return b;
    };
    if (a.download) actions.append(downloadButton('Download audio', 1));
    if (a.downloadVideo && hasVideo) actions.append(downloadButton('Download video', 16));
    prepareBox.hidden = true;
    if (unmixed && a.prepare) {
      const b = el('button', { type: 'button', class: 'primary', id: 'prepare', text: 'Prepare video' });
      b.addEventListener('click', () => { b.disabled = true; prepare(); });
      actions.prepend(b);
    }
    if (!(detail.files || []).length) {
      setMessage('No recording of this call is stored any more (recordings past their retention are deleted).');
    } else if (!canPlay && !a.download) {
      setMessage('Your rights do not allow listening to or downloading this call.');
    }
    showTime();
  }

  async function loadPeaks() {
    wave = new Waveform(waveHost, (t) => seek(t));
    try {
      const peaks = await api(`/api/v1/calls/${id}/peaks`);
      if (!closed) {
        wave.setPeaks(peaks);
        waveHost.classList.add('ready');
      }
      showTime();
    } catch {
      waveHost.classList.add('empty');
    }
  }

  async function loadAccess() {
    const rights = me.rights || [];
    if (!(rights.includes('audit') || rights.includes('admin'))) return;
    try {
      const log = await api(`/api/v1/calls/${id}/access`);
      const rows = log.items.map((r) => el('tr', {},
        el('td', {}, el('time', { datetime: r.at, text: formatDateTime(r.at) })),
        el('td', { text: r.user }), el('td', { text: r.action }),
        el('td', { class: 'num', text: r.bytes == null ? '' : formatBytes(r.bytes) }),
        el('td', { text: r.outcome }), el('td', { text: r.reason || '' })));
      access.replaceChildren(
        el('h3', { id: 'access-title', text: 'Who listened or downloaded' }),
        rows.length
          ? el('div', { class: 'table-wrap' }, el('table', { class: 'compact' },
            el('thead', {}, el('tr', {}, ['When', 'User', 'Action', 'Bytes', 'Outcome', 'Reason'].map((h) => el('th', { scope: 'col', text: h })))),
            el('tbody', {}, rows)))
          : el('p', { text: 'Nobody yet.' }));
      access.hidden = false;
    } catch {
      access.hidden = true;
    }
  }

  (async () => {
    try {
      await refresh();
      title.textContent = `Call ${id} · ${formatDateTime(detail.start)}`;
    } catch (e) {
      setMessage(e.status === 404 ? 'This call does not exist or is not yours to see.' : e.message);
      controls.hidden = true;
      waveHost.hidden = true;
      return;
    }
    loadPeaks();
    loadAccess();
  })();

  return {
    close() {
      closed = true;
      document.removeEventListener('keydown', onKey);
      cancelAnimationFrame(frame);
      clearTimeout(pollTimer);
      wave?.destroy();
      if (media) {
        media.pause();
        media.removeAttribute('src');
        media.load();
      }
    },
  };
}
