// The messages the page keeps per channel: a run of history, grown at the top by scroll-back
// paging and at the bottom by live messages, and bounded. `loaded`: the newest page has
// arrived; `complete`: nothing older exists; `stale`: kept from before a reconnect, to be
// replaced by a fresh newest page when the channel is shown; `detached`: scrolled back so
// far that the newest messages were dropped, to be fetched again by scrolling down.

import { state } from './state.js';

/** What a channel keeps while nobody reads far back in it; older messages are dropped and
 * fetched again by scrolling up. */
export const KEPT = 500;
/** The most a channel keeps even while its reader scrolls back: a busy channel left open
 * for days, or a long scroll-back, stays this size. */
export const MAX_KEPT = 2000;
/** Trimming to `KEPT` waits for this many more, so that the log is redrawn once per that
 * many live messages rather than for each. */
const TRIM_SLACK = 50;

/** The kept history of `channel`, created empty on first use. */
export function history(channel) {
  let hist = state.history.get(channel);
  if (!hist) {
    hist = { list: [], loaded: false, complete: false, loading: false, stale: false, detached: false };
    state.history.set(channel, hist);
  }
  return hist;
}

/** The kept messages of the open channel. */
export function currentList() {
  return state.current ? history(state.current).list : [];
}

export function findMessage(channel, id) {
  const hist = state.history.get(channel);
  return hist ? hist.list.find((m) => m.id === id) ?? null : null;
}

/** After a reconnect: everything kept may have missed edits, deletes and new messages. */
export function markAllStale() {
  for (const hist of state.history.values()) hist.stale = true;
}

/** Drops the oldest messages beyond `keep`; whether any went. */
export function dropOldest(hist, keep) {
  if (hist.list.length <= keep) return false;
  hist.list = hist.list.slice(-keep);
  hist.complete = false;
  return true;
}

/** Drops the newest messages beyond `keep` (the reader is far back); whether any went. */
export function dropNewest(hist, keep) {
  if (hist.list.length <= keep) return false;
  hist.list = hist.list.slice(0, keep);
  hist.detached = true;
  return true;
}

/** After a live message: back to `KEPT` unless the reader is reading further up, and never
 * more than `MAX_KEPT`. Whether any message went. */
export function trimAfterLive(hist, readingBack) {
  if (!readingBack && hist.list.length > KEPT + TRIM_SLACK) return dropOldest(hist, KEPT);
  return dropOldest(hist, MAX_KEPT);
}

/** The reader leaves `channel`: it keeps its newest `KEPT`, or, when scrolled back away
 * from the newest, nothing (it is fetched afresh when opened again). */
export function settle(channel) {
  const hist = state.history.get(channel);
  if (!hist) return;
  if (hist.detached) state.history.delete(channel);
  else dropOldest(hist, KEPT);
}
