// Files on messages: images inline (a click opens them in a new tab), video and audio with
// the browser's controls, anything else as a download link, each with its name, size and,
// for files that do not stay, when they expire. Files are always fetched from this server's
// own `/attachments/<id>` (the page's policy allows no other origin), never from `url`.

import { h } from './dom.js';
import { conn, state } from './state.js';
import { findMessage } from './kept.js';
import { replaceMessageNode } from './log.js';

const DAY_MS = 86400000;

/** A byte count for people. */
export function formatSize(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function expiry(info) {
  const at = Number(info.expires_at);
  if (info.permanent !== false || !Number.isFinite(at) || at <= 0) return null;
  const days = Math.ceil((at * 1000 - Date.now()) / DAY_MS);
  return days <= 0 ? 'expired' : days === 1 ? 'expires within a day' : `expires in ${days} days`;
}

/** The element that shows the file itself. `onSized`: the image has come in (and may
 * have grown the log). */
function preview(info, src, name, onSized) {
  const type = String(info.mime_type ?? '');
  if (type.startsWith('image/')) {
    const w = Number(info.width);
    const hgt = Number(info.height);
    const img = h('img', {
      src, alt: name, loading: 'lazy',
      width: w > 0 ? w : null, height: hgt > 0 ? hgt : null,
    });
    img.addEventListener('load', onSized, { once: true });
    // Expired or deleted since: say so rather than show a broken image.
    img.addEventListener('error', () => img.replaceWith(h('span', { class: 'note' }, `${name} is no longer available`)), { once: true });
    return h('a', { href: src, target: '_blank', rel: 'noopener', 'aria-label': `Open ${name} in a new tab` }, img);
  }
  if (type.startsWith('video/')) return h('video', { src, controls: true, preload: 'metadata', 'aria-label': name });
  if (type.startsWith('audio/')) return h('audio', { src, controls: true, preload: 'metadata', 'aria-label': name });
  return null;
}

/** The attachments of `msg`, or null when it has none. `ctx.can('attachment_delete', msg)`
 * offers deleting them; `ctx.sized()` is told when an image has loaded. */
export function attachmentsElement(msg, ctx) {
  const list = Array.isArray(msg.attachments)
    ? msg.attachments.filter((a) => a && typeof a === 'object' && typeof a.id === 'string') : [];
  if (!list.length) return null;
  return h('div', { class: 'attachments' }, list.map((info) => {
    const src = `/attachments/${encodeURIComponent(info.id)}`;
    const name = String(info.name || 'file');
    const shown = preview(info, src, name, () => ctx.sized?.());
    const facts = [formatSize(info.size), expiry(info)].filter(Boolean).join(' · ');
    return h('figure', { class: 'attachment', 'data-attachment': info.id },
      shown,
      h('figcaption', {},
        h('a', { href: src, download: name, class: 'file-name' }, name),
        facts ? h('span', { class: 'file-facts' }, ` ${facts}`) : null,
        ctx.can('attachment_delete', msg) ? h('button', {
          type: 'button', class: 'file-delete', 'aria-label': `Delete attachment ${name}`,
          onclick: () => conn.send({ cmd: 'attachment_delete', attachment_id: info.id }),
        }, 'Delete attachment') : null));
  }));
}

/** `attachment_deleted`: the file goes from its message (wherever that is kept). */
export function onAttachmentDeleted(p) {
  const id = p.attachment_id;
  if (typeof id !== 'string') return;
  const candidates = typeof p.channel === 'string' && typeof p.message_id === 'string'
    ? [findMessage(p.channel, p.message_id)]
    : [...state.history.values()].flatMap((hist) => hist.list);
  for (const msg of candidates) {
    if (!msg || !Array.isArray(msg.attachments) || !msg.attachments.some((a) => a?.id === id)) continue;
    msg.attachments = msg.attachments.filter((a) => a?.id !== id);
    replaceMessageNode(msg);
  }
}
