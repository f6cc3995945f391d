// What the reader may do here and now: the channel's permission rules for their roles, and
// whether the server offers the command at all. The page offers only that; the server
// still decides.

import { allowed } from './permissions.js';
import { channelByName, state } from './state.js';

/** `allowed` for the reader. */
export function mayIn(channel, action) {
  return allowed(channel, action, state.me?.roles);
}

/** Whether the reader may do `action` (to `msg`, for message actions) in the open channel. */
export function can(action, msg) {
  const channel = channelByName(state.current);
  const mine = msg && state.me && msg.user === state.me.username;
  switch (action) {
    case 'send': return mayIn(channel, 'send');
    case 'react': return mayIn(channel, 'react') && state.caps.has('message_react_add');
    case 'edit': return mine && mayIn(channel, 'edit_own') && state.caps.has('message_edit');
    case 'delete': return (mine ? mayIn(channel, 'delete_own') : mayIn(channel, 'delete'))
      && state.caps.has('message_delete');
    case 'pin': return mayIn(channel, 'pin') && state.caps.has('message_pin');
    default: return false;
  }
}
