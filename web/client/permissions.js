// The server's channel permission rules (PROTOCOL.md §7.3), so that the page offers only
// what the server will allow (the server still decides).

/** Keys checked by plain membership, with the list used when the channel has none. */
const MEMBERSHIP_DEFAULTS = { delete_own: ['user'], edit_own: ['user'], react: ['user'], pin: ['owner'] };

/** Keys checked in role order with `!role` denials; used when a channel has no permissions. */
const ORDERED_DEFAULT = ['owner'];

/** May a user with `roles` (in stored order) do `action` in `channel`? */
export function allowed(channel, action, roles) {
  if (!channel || !Array.isArray(roles)) return false;
  const perms = channel.permissions && typeof channel.permissions === 'object'
    && Object.keys(channel.permissions).length ? channel.permissions : null;
  if (action in MEMBERSHIP_DEFAULTS) {
    const list = Array.isArray(perms?.[action]) ? perms[action] : MEMBERSHIP_DEFAULTS[action];
    return roles.some((r) => list.includes(r));
  }
  const list = perms ? perms[action] : ORDERED_DEFAULT;
  if (!Array.isArray(list)) return false;
  for (const role of roles) {
    if (list.includes('!' + role)) return false;
    if (list.includes(role)) return true;
  }
  return false;
}

/** Server permission `perm` (PROTOCOL.md §7.3 A) for a user with `roles`, given the role
 * definitions `defs` (the `roles_list` map): `owner`, or a role granting it or
 * `administrator`. */
export function hasServerPermission(roles, defs, perm) {
  if (!Array.isArray(roles) || !roles.length) return false;
  if (roles.includes('owner')) return true;
  return roles.some((r) => {
    const granted = defs?.[r]?.permissions;
    return Array.isArray(granted) && (granted.includes('administrator') || granted.includes(perm));
  });
}
