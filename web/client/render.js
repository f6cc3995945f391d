// Turning protocol objects (messages, channels, members) into elements. Every name and
// every piece of content goes in as text; colours are set through the style object.

import { h } from './dom.js';
import { render } from './markdown.js';
import { attachmentsElement } from './attachments.js';
import { decodeEmojis } from './emojis.js';

/** Common reactions offered by the picker. */
export const EMOJI = [
  ['👍', 'thumbs up'], ['👎', 'thumbs down'], ['❤️', 'heart'], ['😂', 'laughing'],
  ['😮', 'surprised'], ['😢', 'sad'], ['😡', 'angry'], ['🎉', 'party'],
  ['🙏', 'thanks'], ['👀', 'eyes'], ['🔥', 'fire'], ['✅', 'check'],
  ['❌', 'cross'], ['🤔', 'thinking'], ['👋', 'wave'], ['💯', 'hundred'],
];

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});

/** A short, single-line preview of message content. */
export function snippet(content, max = 80) {
  const flat = decodeEmojis(content).replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

function colored(el, color) {
  if (typeof color === 'string' && /^#[0-9a-fA-F]{3,8}$/.test(color)) el.style.color = color;
  return el;
}

/**
 * One message. `ctx` knows the reader (`me`), names and colours (`nameOf`, `colorOf`),
 * what the reader may do (`can(action, msg)`), how to find the replied message (`find`),
 * and the action handlers (`act(action, msg, event)`).
 */
export function messageElement(msg, ctx) {
  const author = String(msg.user ?? '');
  const mine = author === ctx.me;
  const el = h('article', {
    class: 'msg' + (mine ? ' mine' : '') + (ctx.mentionsMe(msg) ? ' mentioned' : ''),
    'data-id': msg.id,
    'data-author': author,
    tabindex: '0',
  });
  if (msg.reply_to && typeof msg.reply_to === 'object') {
    const target = ctx.find(msg.reply_to.id);
    const who = target ? target.user : msg.reply_to.user;
    el.append(h('button', {
      type: 'button',
      class: 'msg-reply',
      'aria-label': `Replying to ${ctx.nameOf(who)}: go to the message`,
      onclick: () => ctx.act('jump', { id: msg.reply_to.id }),
    }, '↪ ', colored(h('span', { class: 'author' }, ctx.nameOf(who)), ctx.colorOf(who)), ' ',
    h('span', { class: 'snippet' }, target ? snippet(target.content) : 'an earlier message')));
  }
  const when = new Date(Number(msg.timestamp) * 1000);
  const head = h('header', { class: 'msg-head' },
    colored(h('span', { class: 'author' }, ctx.nameOf(author)), ctx.colorOf(author)),
    h('time', { datetime: isNaN(when) ? null : when.toISOString(), title: isNaN(when) ? null : dateFormat.format(when) },
      isNaN(when) ? '' : timeFormat.format(when)));
  if (msg.edited) head.append(h('span', { class: 'edited' }, '(edited)'));
  if (msg.pinned) head.append(h('span', { class: 'pinned', title: 'Pinned' }, '📌 pinned'));
  if (msg.interaction && msg.interaction.command) {
    head.append(h('span', { class: 'interaction' },
      `/${msg.interaction.command} by ${ctx.nameOf(msg.interaction.username)}`));
  }
  el.append(head);
  el.append(h('div', { class: 'content' }, render(msg.content ?? '', ctx.markdown)));
  const files = attachmentsElement(msg, ctx);
  if (files) el.append(files);

  const reactions = msg.reactions && typeof msg.reactions === 'object' ? Object.entries(msg.reactions) : [];
  if (reactions.length) {
    const row = h('div', { class: 'reactions' });
    for (const [emoji, users] of reactions) {
      if (!Array.isArray(users) || users.length === 0) continue;
      const reacted = users.includes(ctx.me);
      const face = ctx.reactionFace?.(emoji) ?? { node: emoji, label: emoji };
      row.append(h('button', {
        type: 'button',
        class: 'reaction' + (reacted ? ' reacted' : ''),
        'aria-pressed': reacted ? 'true' : 'false',
        'aria-label': `${face.label} ${users.length}`,
        title: users.map(ctx.nameOf).join(', '),
        disabled: !ctx.can('react', msg),
        onclick: () => ctx.act(reacted ? 'unreact' : 'react', msg, emoji),
      }, face.node, ` ${users.length}`));
    }
    el.append(row);
  }

  const tools = h('div', { class: 'msg-tools', role: 'group', 'aria-label': 'Message actions' });
  const tool = (label, action, extra = {}) =>
    tools.append(h('button', { type: 'button', onclick: (e) => ctx.act(action, msg, e), ...extra }, label));
  if (ctx.can('send', msg)) tool('Reply', 'reply');
  if (ctx.can('react', msg)) tool('React', 'picker', { 'aria-haspopup': 'dialog' });
  if (ctx.can('edit', msg)) tool('Edit', 'edit');
  if (ctx.can('delete', msg)) tool('Delete', 'delete');
  if (ctx.can('pin', msg)) tool(msg.pinned ? 'Unpin' : 'Pin', msg.pinned ? 'unpin' : 'pin');
  if (tools.childElementCount) el.append(tools);
  return el;
}

/** A date line shown between messages of different days. */
export function dayDivider(timestamp) {
  const d = new Date(Number(timestamp) * 1000);
  return h('div', { class: 'day', role: 'separator' },
    d.toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' }));
}

/** One entry of the channel list. */
export function channelItem(channel, ctx) {
  const name = String(channel.name ?? '');
  const label = String(channel.display_name || name);
  if (channel.type === 'separator') {
    return h('li', { class: 'separator', role: 'presentation' }, label);
  }
  if (channel.type === 'voice') {
    const people = Array.isArray(channel.voice_state) ? channel.voice_state : [];
    const li = h('li', { class: 'voice', 'data-channel': name },
      h('span', { class: 'channel-name' }, '🔊 ', label,
        h('span', { class: 'visually-hidden' }, `, voice channel, ${people.length} in it`)));
    if (people.length) {
      li.append(h('ul', { class: 'voice-people' }, people.map((p) =>
        h('li', {}, colored(h('span', {}, ctx.nameOf(p.username)), ctx.colorOf(p.username)),
          p.muted ? [h('span', { class: 'muted', 'aria-hidden': 'true' }, ' 🔇'),
            h('span', { class: 'visually-hidden' }, ', muted')] : null))));
    }
    return li;
  }
  if (channel.type !== 'text') return null;
  const unread = ctx.unread(name);
  const mentions = ctx.mentions(name);
  const current = ctx.current === name;
  const button = h('button', {
    type: 'button',
    class: 'channel' + (unread ? ' unread' : '') + (current ? ' current' : ''),
    'aria-current': current ? 'page' : null,
    'data-channel': name,
    onclick: () => ctx.open(name),
  }, h('span', { class: 'channel-name' }, '# ', label));
  if (mentions) {
    button.append(h('span', { class: 'badge mention-badge', 'aria-label': `${mentions} mentions` }, String(mentions)));
  } else if (unread) {
    button.append(h('span', { class: 'badge', 'aria-label': `${unread} unread` }, unread > 99 ? '99+' : String(unread)));
  }
  return h('li', {}, button);
}

const STATUS_LABEL = { online: 'online', idle: 'idle', dnd: 'do not disturb', offline: 'offline' };

/** One member of the member list. */
export function memberItem(user, status, ctx) {
  const text = user.status && typeof user.status.text === 'string' ? user.status.text : '';
  return h('li', { class: 'member', 'data-user': user.username, 'data-status': status },
    h('span', { class: `dot ${status}`, 'aria-hidden': 'true' }),
    h('span', { class: 'member-text' },
      colored(h('span', { class: 'member-name' }, ctx.nameOf(user.username)), user.color),
      h('span', { class: 'visually-hidden' }, `, ${STATUS_LABEL[status] ?? status}`),
      text ? h('span', { class: 'status-text' }, text) : null));
}
