// Every packet from the server to the module that handles it (PROTOCOL.md). Unknown ones
// are ignored, as a client of a newer server should.

import { state } from './state.js';
import { toast } from './notices.js';
import { onServerUpdate } from './identity.js';
import { onAuthError, onHandshake, onReady, onSessionToken } from './auth.js';
import { onChannels, onRead, onUnreads, onVoice } from './channels.js';
import {
  onNickname, onRoles, onStatus, onUserConnect, onUserDisconnect, onUserLeave, onUsersList,
  onUsersOnline,
} from './members.js';
import { onHistory } from './paging.js';
import { onMessageDelete, onMessageEdit, onMessageNew, onPin, onReaction } from './live.js';
import { showPanel } from './panels.js';
import { onTyping } from './typing.js';
import { restoreUnconfirmed, updateComposer } from './composer.js';
import { markNicknameInvalid } from './profile.js';
import { onAttachmentDeleted } from './attachments.js';
import { onEmojiPacket } from './emojis.js';
import { refreshEmojiPanel } from './emoji-admin.js';
import { renderMessages } from './log.js';

export function onPacket(p) {
  const cmd = p.cmd ?? p.type;
  switch (cmd) {
    case 'handshake': return onHandshake(p.val ?? {});
    case 'auth_error': return onAuthError(p.val);
    case 'auth_success': return undefined;
    case 'ready': return onReady(p);
    case 'session_token_create': return onSessionToken(p.token);
    case 'ping': case 'pong': return undefined;
    case 'channels_get': return onChannels(p.val);
    case 'users_list': return onUsersList(p.users);
    case 'users_online': return onUsersOnline(p.users);
    case 'user_join': case 'user_connect': return onUserConnect(p.user, cmd === 'user_connect');
    case 'user_disconnect': return onUserDisconnect(p.username);
    case 'user_leave': return onUserLeave(p.username);
    case 'status_get': case 'status': return onStatus(p.username, p.status);
    case 'status_set': return onStatus(state.me?.username, p.status);
    case 'nickname_update': case 'nickname_remove': case 'user_updated':
      return onNickname(p.username, cmd === 'nickname_remove' ? null : p.nickname);
    case 'user_roles_get': return onRoles(p.user, p.roles, p.color);
    case 'unreads_get': return onUnreads(p.unreads);
    case 'unreads_update': return onRead(p.channel);
    case 'messages_get': return onHistory(p);
    case 'message_new': return onMessageNew(p);
    case 'message_edit': return onMessageEdit(p);
    case 'message_delete': return onMessageDelete(p);
    case 'message_react_add': case 'message_react_remove':
      return onReaction(p, cmd === 'message_react_add');
    case 'message_pin': case 'message_unpin': return onPin(p);
    case 'messages_pinned': return showPanel('Pinned messages', p.messages, 'No pinned messages.');
    case 'messages_search':
      return showPanel(`Search: ${p.query}`, p.results, 'No messages found.');
    case 'typing': return onTyping(p.channel, p.user);
    case 'voice_user_joined': return onVoice(p.channel, p.user, 'joined');
    case 'voice_user_left': return onVoice(p.channel, { username: p.username }, 'left');
    case 'voice_user_updated': return onVoice(p.channel, p.user, 'updated');
    case 'server_update': return onServerUpdate(p);
    case 'rate_limit':
      restoreUnconfirmed();
      return toast(`Slow down: try again in ${Math.ceil(Number(p.length || 1000) / 1000)} s.`);
    case 'disconnect': return toast(String(p.reason ?? 'Disconnected by the server'));
    case 'attachment_deleted': return onAttachmentDeleted(p);
    case 'roles_list': return onRoleDefinitions(p.roles);
    case 'emoji_get_all': case 'emoji_add': case 'emoji_update': case 'emoji_delete':
      return onEmojis(p);
    case 'error': return onError(p);
    default: return undefined;
  }
}

/** The role definitions: what the reader's roles allow on the server may have changed. */
function onRoleDefinitions(roles) {
  if (!roles || typeof roles !== 'object') return;
  state.roles = roles;
  updateComposer();
  renderMessages('keep');
}

function onEmojis(p) {
  if (!onEmojiPacket(p)) return;
  renderMessages('keep');
  refreshEmojiPanel();
}

function onError(p) {
  const text = String(p.val ?? 'Something went wrong');
  // Staying logged in is a convenience: its failures fall back to the login form quietly.
  if (p.src === 'session_token_create' || p.src === 'token_login') return;
  // Files the server no longer has are not put back.
  if (p.src === 'message_new') restoreUnconfirmed(!/^Attachment/.test(text));
  if (p.src === 'nickname_update') markNicknameInvalid();
  toast(text);
}
