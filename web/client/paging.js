// History from the server: the newest page when a channel is shown (after a reconnect it
// replaces what it overlaps, so edits and deletes missed while away show), older pages when
// the reader scrolls up to the top of the log, and the newest page again when the reader,
// scrolled back beyond what is kept, comes down to the bottom.

import { $ } from './dom.js';
import { conn, state } from './state.js';
import { MAX_KEPT, dropNewest, dropOldest, history } from './kept.js';
import { isAtBottom, renderMessages } from './log.js';
import { onRead } from './channels.js';

export const PAGE = 50;

/** How close to the top of the log (in pixels) scrolling asks for the older page. */
const LOAD_OLDER_WITHIN_PX = 150;

/** Asks for the newest page of `channel`. */
export function requestNewest(channel) {
  history(channel).loading = true;
  conn.send({ cmd: 'messages_get', channel, start: 0, limit: PAGE });
}

export function onHistory(p) {
  if (typeof p.channel !== 'string' || !Array.isArray(p.messages)) return;
  const hist = history(p.channel);
  const page = p.messages.filter((m) => m && typeof m.id === 'string');
  const older = typeof p.range?.start === 'string';
  hist.loading = false;
  if (older) {
    const known = new Set(hist.list.map((m) => m.id));
    hist.list = page.filter((m) => !known.has(m.id)).concat(hist.list);
    if (page.length < PAGE) hist.complete = true;
    dropNewest(hist, MAX_KEPT);
  } else {
    // The newest page: after a reconnect it replaces what it overlaps (edits and deletes
    // missed while away), keeping older pages when they join up.
    const at = page.length && hist.loaded ? hist.list.findIndex((m) => m.id === page[0].id) : -1;
    if (at >= 0) {
      hist.list = hist.list.slice(0, at).concat(page);
    } else {
      hist.list = page;
      hist.complete = page.length < PAGE;
    }
    dropOldest(hist, MAX_KEPT);
    hist.loaded = true;
    hist.stale = false;
    hist.detached = false;
  }
  if (p.channel === state.current) {
    renderMessages(older ? 'older' : (hist.list.length === page.length ? 'bottom' : 'keep'));
    onRead(p.channel);
    if (!older) maybeLoadOlder();
  }
}

/** Asks for the page before the oldest kept message when the log is scrolled to its top
 * (or too short to scroll). */
export function maybeLoadOlder() {
  const log = $('log');
  const hist = state.current ? history(state.current) : null;
  if (!hist || !hist.loaded || hist.complete || hist.loading || !state.authed) return;
  if (log.scrollTop > LOAD_OLDER_WITHIN_PX && log.scrollHeight > log.clientHeight) return;
  const oldest = hist.list[0];
  if (!oldest) return;
  hist.loading = true;
  conn.send({ cmd: 'messages_get', channel: state.current, start: oldest.id, limit: PAGE });
}

/** Asks for the newest page again when the reader, scrolled back beyond what is kept, has
 * come down to the bottom of the log. */
export function maybeLoadNewer() {
  const hist = state.current ? history(state.current) : null;
  if (!hist || !hist.detached || hist.loading || !state.authed || !isAtBottom()) return;
  requestNewest(state.current);
}
