// Files waiting to go with the next message: chosen with the Attach control, pasted into
// the message box or dropped on the chat. Each is uploaded at once (PUT to
// /attachments/upload, the body the file itself, with this connection's upload token) and
// shown as a chip (uploading, ready or failed, with a Remove button) until the message
// that carries it is sent. Files are checked against the server's size and type limits
// first, so that nothing is sent only to be refused.

import { $, h, replace } from './dom.js';
import { state } from './state.js';
import { toast } from './notices.js';
import { formatSize } from './attachments.js';

/** The files of the composer: { file, channel, status, error, info, abort, done }. */
let pending = [];

/** Whether the server takes uploads (and the page has a token to give it). */
export function uploadsOffered() {
  return state.caps.has('attachment_upload') && state.attachments?.enabled !== false;
}

// Whether `type` matches one of the server's `allowed_types`: `*` or `*/*` (anything),
// `x/*` (a prefix) or a type exactly; no list means anything.
export function typeAllowed(type, allowed) {
  if (!Array.isArray(allowed)) return true;
  const t = String(type).toLowerCase();
  return allowed.some((pattern) => {
    const p = String(pattern).toLowerCase();
    return p === '*' || p === '*/*' || (p.endsWith('/*') ? t.startsWith(p.slice(0, -1)) : t === p);
  });
}

/** Takes `files` for the open channel: each that passes the checks starts uploading. */
export function addFiles(files) {
  if (!files?.length) return;
  if (!uploadsOffered() || !state.current) {
    toast(state.current ? 'This server does not take files.' : 'Open a channel first.');
    return;
  }
  const max = Number(state.attachments?.max_size);
  for (const file of files) {
    const type = file.type || 'application/octet-stream';
    if (Number.isFinite(max) && max > 0 && file.size > max) {
      toast(`${file.name} is too big: at most ${formatSize(max)}.`);
    } else if (!typeAllowed(type, state.attachments?.allowed_types)) {
      toast(`${file.name}: files of type ${type} are not allowed here.`);
    } else {
      start({ file, channel: state.current, status: 'uploading', error: '', info: null });
    }
  }
  renderUploads();
}

function start(entry) {
  const controller = new AbortController();
  entry.abort = () => controller.abort();
  entry.done = upload(entry, controller.signal).then(({ info, error }) => {
    entry.info = info;
    entry.error = error;
    entry.status = info ? 'ready' : 'failed';
    renderUploads();
  });
  pending.push(entry);
}

/** One upload; `{ info }` on success, `{ error }` (the server's words when it gave some). */
async function upload(entry, signal) {
  if (!state.uploadToken) return { error: 'Not connected: try again when the chat is back.' };
  const query = `channel=${encodeURIComponent(entry.channel)}&name=${encodeURIComponent(entry.file.name || 'file')}`;
  try {
    const res = await fetch(`/attachments/upload?${query}`, {
      method: 'PUT',
      headers: {
        Authorization: `Bearer ${state.uploadToken}`,
        'Content-Type': entry.file.type || 'application/octet-stream',
      },
      body: entry.file,
      credentials: 'same-origin',
      signal,
    });
    const body = await res.json().catch(() => null);
    if (res.ok && typeof body?.attachment?.id === 'string') return { info: body.attachment };
    return { error: typeof body?.error === 'string' ? body.error : `Upload failed (${res.status})` };
  } catch {
    return { error: signal.aborted ? 'Removed' : 'Upload failed: no connection' };
  }
}

/** The files the next message carries. */
export function pendingUploads() {
  return [...pending];
}

/** Takes `entries` out of the composer (their message was sent). */
export function takeUploads(entries) {
  pending = pending.filter((e) => !entries.includes(e));
  renderUploads();
}

/** Puts back the files of a message the server refused, unless others were added since. */
export function restoreUploads(entries) {
  if (pending.length || !entries?.length) return;
  pending = entries.filter((e) => e.channel === state.current);
  renderUploads();
}

/** Drops every pending file (another channel opened, logged out). */
export function clearUploads() {
  for (const e of pending) if (e.status === 'uploading') e.abort();
  pending = [];
  renderUploads();
}

function remove(entry) {
  if (entry.status === 'uploading') entry.abort();
  takeUploads([entry]);
  $('message-input').focus();
}

const STATUS_WORDS = { uploading: 'uploading…', ready: 'ready', failed: 'failed' };

function renderUploads() {
  const list = $('uploads');
  list.hidden = !pending.length;
  replace(list, pending.map((e) => h('li', { class: `upload ${e.status}`, 'data-status': e.status },
    h('span', { class: 'upload-name' }, e.file.name || 'file'),
    h('span', { class: 'upload-state' }, ` ${formatSize(e.file.size)}, ${STATUS_WORDS[e.status]}`,
      e.error ? `: ${e.error}` : ''),
    h('button', {
      type: 'button', class: 'upload-remove', 'aria-label': `Remove ${e.file.name || 'file'}`,
      onclick: () => remove(e),
    }, '✕'))));
}

export function wireUploads() {
  const input = $('attach-input');
  input.addEventListener('change', () => {
    addFiles([...input.files]);
    input.value = '';
  });
  $('message-input').addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (!files.length) return;
    e.preventDefault();
    addFiles(files);
  });
  // Files dropped anywhere on the open channel's part of the page are taken; dropped
  // elsewhere, they are ignored rather than opened in place of the chat.
  const area = $('composer').closest('section');
  const carriesFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  const taking = (e) => area.contains(e.target) && !$('attach-input').disabled && uploadsOffered();
  document.addEventListener('dragover', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    area.classList.toggle('dropping', taking(e));
  });
  document.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget) area.classList.remove('dropping');
  });
  document.addEventListener('drop', (e) => {
    area.classList.remove('dropping');
    if (!carriesFiles(e)) return;
    e.preventDefault();
    if (taking(e)) addFiles([...e.dataTransfer.files]);
  });
}
