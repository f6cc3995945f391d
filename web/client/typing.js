// "… is typing": each `typing` packet shows its sender for a few seconds, and their message
// arriving ends it at once.

import { $ } from './dom.js';
import { state } from './state.js';
import { nameOf } from './people.js';

const TYPING_SHOW_MS = 6000;
const MAX_NAMED = 3;

export function onTyping(channel, user) {
  if (!channel || !user || user === state.me?.username) return;
  let people = state.typing.get(channel);
  if (!people) {
    people = new Map();
    state.typing.set(channel, people);
  }
  clearTimeout(people.get(user));
  people.set(user, setTimeout(() => clearTyping(channel, user), TYPING_SHOW_MS));
  if (channel === state.current) renderTyping();
}

export function clearTyping(channel, user) {
  const people = state.typing.get(channel);
  if (!people || !people.has(user)) return;
  clearTimeout(people.get(user));
  people.delete(user);
  if (channel === state.current) renderTyping();
}

export function renderTyping() {
  const names = [...(state.typing.get(state.current)?.keys() ?? [])].map(nameOf);
  const el = $('typing');
  if (!names.length) el.textContent = '';
  else if (names.length === 1) el.textContent = `${names[0]} is typing…`;
  else if (names.length <= MAX_NAMED) el.textContent = `${names.join(', ')} are typing…`;
  else el.textContent = 'Several people are typing…';
}

/** Forgets everyone's typing (the reader logged out). */
export function clearAllTyping() {
  for (const people of state.typing.values()) for (const timer of people.values()) clearTimeout(timer);
  state.typing.clear();
  renderTyping();
}
