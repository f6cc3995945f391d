// What the reader may do here and now: the channel's permission rules for their roles, and
// whether the server offers the command at all. The page offers only that; the server
// still decides.

import { allowed, hasServerPermission } from './permissions.js';
import { channelByName, state } from './state.js';

/** `allowed` for the reader. */
export function mayIn(channel, action) {
  return allowed(channel, action, state.me?.roles);
}

/** Whether the reader holds server permission `perm`. */
export function hasPermission(perm) {
  return hasServerPermission(state.me?.roles, state.roles, perm);
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
    case 'attachment_delete': return state.caps.has('attachment_delete') && (mine || hasPermission('manage_messages'));
    case 'emojis': return state.caps.has('emoji_add') && hasPermission('manage_server');
    default: return false;
  }
}
