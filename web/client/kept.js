// The messages the page keeps per channel: a run of the newest history, grown at the top by
// scroll-back paging and at the bottom by live messages. `loaded`: the newest page has
// arrived; `complete`: nothing older exists; `stale`: kept from before a reconnect, to be
// replaced by a fresh newest page when the channel is shown.

import { state } from './state.js';

/** The kept history of `channel`, created empty on first use. */
export function history(channel) {
  let hist = state.history.get(channel);
  if (!hist) {
    hist = { list: [], loaded: false, complete: false, loading: false, stale: false };
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
