// The safe markdown subset of messages: **bold**, *italic* / _italic_, `inline code`,
// ```code blocks```, [text](https://…) and bare http(s) links (opened in a new tab),
// @mentions, and custom emoji tokens. The result is built from elements and text nodes only: no HTML is parsed, so
// nothing a user types can become markup or script.

import { h } from './dom.js';

const INLINE = new RegExp(
  [
    '`([^`\\n]+)`', // 1 inline code
    '\\*\\*(.+?)\\*\\*', // 2 bold
    '\\*([^*\\s](?:[^*]*[^*\\s])?)\\*', // 3 italic
    '(?<![A-Za-z0-9])_([^_\\s](?:[^_]*[^_\\s])?)_(?![A-Za-z0-9])', // 4 italic
    '\\[([^\\]\\n]+)\\]\\((https?://[^\\s)]+)\\)', // 5, 6 link with text
    '(https?://[^\\s<>]+[^\\s<>.,;:!?)\\]\'"])', // 7 bare link
    '(?<![A-Za-z0-9_])@([A-Za-z0-9_]+(?::[A-Za-z0-9_]+)?)', // 8 mention
    'originChats:<emoji>//([^/\\s]+)/(\\S+)', // 9, 10 custom emoji: host, id
  ].join('|'),
  'g',
);

/** A link element, or null when `url` is not an http(s) URL. */
function link(url, label) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  return h('a', { href: parsed.href, target: '_blank', rel: 'noopener noreferrer nofollow' }, label);
}

/** Inline markup of one stretch of text (no code blocks), appended to `out`. */
function inline(text, out, opts, depth = 0) {
  let last = 0;
  INLINE.lastIndex = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.append(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] !== undefined) {
      out.append(h('code', {}, m[1]));
    } else if (m[2] !== undefined || m[3] !== undefined || m[4] !== undefined) {
      const el = h(m[2] !== undefined ? 'strong' : 'em');
      const inner = m[2] ?? m[3] ?? m[4];
      if (depth < 3) inline(inner, el, opts, depth + 1);
      else el.append(inner);
      out.append(el);
    } else if (m[5] !== undefined) {
      out.append(link(m[6], m[5]) ?? m[0]);
    } else if (m[7] !== undefined) {
      out.append(link(m[7], m[7]) ?? m[0]);
    } else if (m[8] !== undefined) {
      const me = opts.isMe?.(m[8]);
      out.append(h('span', { class: me ? 'mention self' : 'mention' }, '@' + (opts.nameOf?.(m[8]) ?? m[8])));
    } else if (m[9] !== undefined) {
      out.append(opts.emoji?.(m[9], m[10], m[0]) ?? m[0]);
    }
  }
  if (last < text.length) out.append(text.slice(last));
}

/**
 * Renders message content into a fragment. `opts.isMe(name)` says whether a mention names
 * the reader (highlighted); `opts.nameOf(name)` gives the display name of a mention;
 * `opts.emoji(host, id, token)` what a custom emoji token shows.
 */
export function render(content, opts = {}) {
  const out = document.createDocumentFragment();
  const parts = String(content).split('```');
  parts.forEach((part, i) => {
    // Odd parts are inside a fence (an unclosed fence stays text).
    if (i % 2 === 1 && i < parts.length - 1) {
      const body = part.replace(/^[A-Za-z0-9+#-]*\n/, '').replace(/\n$/, '');
      out.append(h('pre', {}, h('code', {}, body)));
    } else {
      inline(i % 2 === 1 ? '```' + part : part, out, opts);
    }
  });
  return out;
}
