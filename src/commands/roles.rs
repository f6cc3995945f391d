//! Managing roles (docs/protocol.md#811-roles-and-moderation): `role_create`, `role_update`, `role_delete`, `role_reorder`,
//! `role_set` (the whole role replaced), `user_roles_set` (with the hierarchy check the
//! original server lacks), and the
//! self-assignable roles `self_role_add`, `self_role_remove`, `self_roles_list`.
//! Every change reaches live sessions at once: permissions read the current roles.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{CmdError, Ctx, Outcome, Reply, given};
use crate::app::App;
use crate::hub::Target;
use crate::model::{AuditEntry, Role, Roles, User};
use crate::protocol::errors::{
    ROLE_ALREADY_EXISTS, ROLE_ID_OR_NAME_REQUIRED, ROLE_NAME_REQUIRED, ROLE_NOT_FOUND,
    USER_NOT_FOUND, USER_PARAMETER_REQUIRED,
};
use crate::protocol::{Text, encode};

/// Roles nobody may delete.
const SYSTEM_ROLES: [&str; 3] = ["owner", "admin", "user"];
/// Roles that may never be self-assignable.
const PROTECTED: [&str; 3] = ["owner", "admin", "moderator"];

fn position(roles: &Roles, name: &str) -> i64 {
    roles.get(name).and_then(|r| r.position).unwrap_or(i64::MAX)
}

/// `can_manage_role` (docs/protocol.md#73-permissions): `manage_roles`, and the target strictly below the actor's best
/// role, unless the actor is an owner.
pub fn can_manage_role(roles: &Roles, actor: &[String], role: &str) -> Result<(), CmdError> {
    if !roles.has_permission(actor, "manage_roles") {
        return Err("Missing 'manage_roles' permission".into());
    }
    if actor.iter().any(|r| r == "owner") {
        return Ok(());
    }
    if roles.get(role).is_none() {
        return Err(format!("Role '{role}' not found").into());
    }
    let best = actor
        .iter()
        .map(|r| position(roles, r))
        .min()
        .unwrap_or(i64::MAX);
    if position(roles, role) <= best {
        return Err("Cannot manage roles at or above your position".into());
    }
    Ok(())
}

/// A non-owner gives a role only permissions they hold themselves: with `manage_roles`
/// alone, a new self-assignable role listing `administrator` (or that permission added to
/// a role below one's own) would make its holder an administrator. `before` is what the
/// role had: keeping a permission is no grant.
pub fn can_grant(
    roles: &Roles,
    actor: &[String],
    before: &[String],
    after: &[String],
) -> Result<(), CmdError> {
    if actor.iter().any(|r| r == "owner") {
        return Ok(());
    }
    match after
        .iter()
        .find(|p| !before.contains(p) && !roles.has_permission(actor, p))
    {
        Some(p) => Err(format!("Cannot grant the '{p}' permission: you do not have it").into()),
        None => Ok(()),
    }
}

/// The permissions `after` keeps from `before` without granting them anew: none when the
/// role becomes self-assignable, since then everyone (the actor too) may take them all.
fn kept<'r>(before: &'r Role, after: &Role) -> &'r [String] {
    if after.self_assignable && !before.self_assignable {
        &[]
    } else {
        &before.permissions
    }
}

/// All roles, and the sender's own role list, as they are now.
pub fn roles_and_actor(ctx: &Ctx<'_>) -> (Roles, Vec<String>) {
    let dir = ctx.app.dir();
    let actor = dir
        .user(ctx.user_id)
        .map(|u| u.roles.clone())
        .unwrap_or_default();
    (dir.roles.clone(), actor)
}

/// A role named by id or name.
fn find(roles: &Roles, id_or_name: &str) -> Option<String> {
    if roles.get(id_or_name).is_some() {
        return Some(id_or_name.to_string());
    }
    roles
        .iter()
        .find(|(_, r)| r.id.as_deref() == Some(id_or_name))
        .map(|(n, _)| n.to_string())
}

fn check_role_name(name: &str) -> Result<(), CmdError> {
    if name == "banned"
        || name.starts_with('!')
        || name.chars().count() > 50
        || name.chars().any(char::is_control)
    {
        return Err(
            "Invalid role name: at most 50 characters, not `banned`, not starting with `!`".into(),
        );
    }
    Ok(())
}

/// The channel whose permissions name `role` (also as `!role`), if any.
fn used_by_channel(app: &App, role: &str) -> Option<String> {
    let denial = format!("!{role}");
    app.dir().channels.iter().find_map(|c| {
        let perms = c.0.get("permissions")?.as_object()?;
        let used = perms
            .values()
            .filter_map(Value::as_array)
            .flatten()
            .any(|r| r == role || r == &denial);
        used.then(|| c.name().to_string())
    })
}

/// The checks of renaming role `current` to `new`, and the users whose role lists change
/// with it (`role_update`, `role_set`).
fn renamed_users(
    app: &App,
    roles: &Roles,
    current: &str,
    new: &str,
) -> Result<Vec<User>, CmdError> {
    check_role_name(new)?;
    if new.is_empty() || roles.get(new).is_some() {
        return Err(ROLE_ALREADY_EXISTS.into());
    }
    if let Some(c) = used_by_channel(app, current) {
        return Err(format!("Cannot rename role: it is used in channel '{c}' permissions").into());
    }
    Ok(app
        .dir()
        .users()
        .filter(|u| u.roles.iter().any(|r| r == current))
        .map(|u| {
            let mut u = u.clone();
            u.roles
                .iter_mut()
                .filter(|r| *r == current)
                .for_each(|r| *r = new.to_string());
            u
        })
        .collect())
}

/// Saves the role map, the users whose roles changed and the audit log entry, then makes
/// them live and sends everyone the new `roles_list`.
async fn save(
    ctx: &Ctx<'_>,
    roles: Roles,
    users: Vec<User>,
    entry: AuditEntry,
) -> Result<(), CmdError> {
    ctx.app.save_roles(roles, users, entry).await?;
    let list = encode(&json!({"cmd": "roles_list", "roles": ctx.app.dir().roles}));
    ctx.app.broadcast(Target::All, &list);
    Ok(())
}

#[derive(Deserialize)]
struct RoleRequest<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    description: Option<Value>,
    color: Option<Value>,
    permissions: Option<Value>,
    hoisted: Option<bool>,
    self_assignable: Option<bool>,
    category: Option<Value>,
    roles: Option<Value>,
}

/// Permission names from a request: an array of strings, else `None`.
fn permission_names(p: &Value) -> Option<Vec<String>> {
    p.as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Sets the optional fields a request gives (strings or null; an array of strings).
fn apply_fields(role: &mut Role, req: &RoleRequest<'_>) -> Result<(), CmdError> {
    for (key, value, field) in [
        ("description", &req.description, &mut role.description),
        ("color", &req.color, &mut role.color),
        ("category", &req.category, &mut role.category),
    ] {
        match value {
            None => {}
            Some(Value::String(s)) => *field = Some(s.clone()),
            Some(Value::Null) => *field = None,
            Some(_) => return Err(format!("{key} must be a string or null").into()),
        }
        if value.is_some() {
            // A stored value of another type is replaced.
            role.extras.shift_remove(key);
        }
    }
    if let Some(p) = &req.permissions {
        let Some(names) = permission_names(p) else {
            return Err("Permissions must be an array of permission names".into());
        };
        role.permissions = names;
        role.extras.shift_remove("permissions");
    }
    if let Some(h) = req.hoisted {
        role.hoisted = h;
        role.extras.shift_remove("hoisted");
    }
    if let Some(s) = req.self_assignable {
        role.self_assignable = s;
        role.extras.shift_remove("self_assignable");
    }
    Ok(())
}

pub async fn role_create(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_roles")?;
    let req: RoleRequest = ctx.fields()?;
    let Some(name) = given(&req.name).map(str::trim).filter(|n| !n.is_empty()) else {
        return Err(ROLE_NAME_REQUIRED.into());
    };
    if req.self_assignable == Some(true) && PROTECTED.contains(&name) {
        return Err(format!("Role '{name}' cannot be made self-assignable").into());
    }
    let mut roles = ctx.app.dir().roles.clone();
    if roles.get(name).is_some() {
        return Err(ROLE_ALREADY_EXISTS.into());
    }
    check_role_name(name)?;
    let id = crate::random::uuid_v4();
    let mut role = Role::new(id.clone(), roles.len());
    apply_fields(&mut role, &req)?;
    let actor = roles_and_actor(ctx).1;
    can_grant(&roles, &actor, &[], &role.permissions)?;
    let entry = ctx
        .audit("role_create")
        .target(&id, Some(name.to_string()))
        .details(json!({"color": role.color, "permissions": role.permissions}));
    roles.insert(name.to_string(), role);
    save(ctx, roles, Vec::new(), entry).await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "role_create", "id": id, "name": name}),
    ))
}

pub async fn role_update(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_roles")?;
    let req: RoleRequest = ctx.fields()?;
    let Some(key) = given(&req.id).or(given(&req.name)) else {
        return Err(ROLE_ID_OR_NAME_REQUIRED.into());
    };
    let (mut roles, actor) = roles_and_actor(ctx);
    let Some(current) = find(&roles, key) else {
        return Err(ROLE_NOT_FOUND.into());
    };
    can_manage_role(&roles, &actor, &current)?;
    // With an id, `name` is the new name.
    let new_name = given(&req.id)
        .and(given(&req.name))
        .map(str::trim)
        .filter(|n| *n != current);
    let name = new_name.unwrap_or(&current).to_string();
    let self_assignable = req.self_assignable.unwrap_or(false);
    if self_assignable && PROTECTED.contains(&name.as_str()) {
        return Err(format!("Role '{name}' cannot be made self-assignable").into());
    }
    let users = match new_name {
        Some(new) => renamed_users(ctx.app, &roles, &current, new)?,
        None => Vec::new(),
    };
    let Some(role) = roles.get(&current) else {
        return Err(ROLE_NOT_FOUND.into());
    };
    let mut changed = role.clone();
    apply_fields(&mut changed, &req)?;
    can_grant(&roles, &actor, kept(role, &changed), &changed.permissions)?;
    let Some(role) = roles.get_mut(&current) else {
        return Err(ROLE_NOT_FOUND.into());
    };
    *role = changed;
    let id = role.id.clone();
    let entry = ctx
        .audit("role_update")
        .target(
            id.clone().unwrap_or_else(|| name.clone()),
            Some(name.clone()),
        )
        .details(json!({"color": role.color, "permissions": role.permissions}));
    // Renaming keeps the role's place in the map.
    roles.rename(&current, name.clone());
    save(ctx, roles, users, entry).await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "role_update", "id": id, "name": name, "updated": true}),
    ))
}

pub async fn role_delete(ctx: &Ctx<'_>) -> Outcome {
    let req: RoleRequest = ctx.fields()?;
    let Some(key) = given(&req.id).or(given(&req.name)) else {
        return Err(ROLE_ID_OR_NAME_REQUIRED.into());
    };
    ctx.require_permission("manage_roles")?;
    let (mut roles, actor) = roles_and_actor(ctx);
    let Some(name) = find(&roles, key) else {
        return Err(ROLE_NOT_FOUND.into());
    };
    can_manage_role(&roles, &actor, &name)?;
    if SYSTEM_ROLES.contains(&name.as_str()) {
        return Err("Cannot delete system roles".into());
    }
    if let Some(c) = used_by_channel(ctx.app, &name) {
        return Err(format!("Role is used in channel '{c}' permissions").into());
    }
    let users: Vec<User> = ctx
        .app
        .dir()
        .users()
        .filter(|u| u.roles.contains(&name))
        .map(|u| {
            let mut u = u.clone();
            u.roles.retain(|r| *r != name);
            u
        })
        .collect();
    let id = roles.get(&name).and_then(|r| r.id.clone());
    let entry = ctx.audit("role_delete").target(
        id.clone().unwrap_or_else(|| name.clone()),
        Some(name.clone()),
    );
    roles.remove(&name);
    save(ctx, roles, users, entry).await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "role_delete", "id": id, "name": name, "deleted": true}),
    ))
}

pub async fn role_reorder(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_roles")?;
    let req: RoleRequest = ctx.fields()?;
    let Some(order) = req
        .roles
        .as_ref()
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return Err("Roles array is required".into());
    };
    let (mut roles, actor) = roles_and_actor(ctx);
    let mut names = Vec::new();
    for entry in order {
        let Some(name) = entry.as_str().and_then(|e| find(&roles, e)) else {
            return Err("Failed to reorder roles".into());
        };
        names.push(name);
    }
    for (i, name) in names.iter().enumerate() {
        if position(&roles, name) != i as i64 {
            can_manage_role(&roles, &actor, name)?;
        }
    }
    for (i, name) in names.iter().enumerate() {
        if let Some(r) = roles.get_mut(name) {
            r.position = Some(i as i64);
            r.extras.shift_remove("position");
        }
    }
    roles.sort_by_position();
    let entry = ctx.audit("role_reorder").details(json!({"roles": names}));
    save(ctx, roles, Vec::new(), entry).await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "role_reorder", "roles": order}),
    ))
}

#[derive(Deserialize)]
struct SetRoles<'a> {
    #[serde(borrow)]
    user: Option<Text<'a>>,
    roles: Option<Value>,
}

pub async fn user_roles_set(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_users")?;
    let req: SetRoles = ctx.fields()?;
    let Some(name) = given(&req.user) else {
        return Err(USER_PARAMETER_REQUIRED.into());
    };
    let Some(wanted) = req
        .roles
        .as_ref()
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return Err("Roles list is required".into());
    };
    let Some(mut user) = ctx.app.dir().resolve(name).cloned() else {
        return Err(USER_NOT_FOUND.into());
    };
    let (roles, actor) = roles_and_actor(ctx);
    let mut new_roles = Vec::new();
    for r in wanted {
        let Some(r) = r.as_str().filter(|r| roles.get(r).is_some()) else {
            return Err(format!(
                "Role '{}' does not exist",
                r.as_str().map_or_else(|| r.to_string(), str::to_string)
            )
            .into());
        };
        if !new_roles.iter().any(|n| n == r) {
            new_roles.push(r.to_string());
        }
    }
    // Nobody hands out or takes away a role at or above their own (owners excepted).
    let changed = new_roles
        .iter()
        .filter(|r| !user.roles.contains(r))
        .chain(user.roles.iter().filter(|r| !new_roles.contains(r)));
    for r in changed {
        can_manage_role(&roles, &actor, r)?;
    }
    // Giving a role gives its permissions: only those the actor holds.
    for r in new_roles.iter().filter(|r| !user.roles.contains(r)) {
        let given = roles
            .get(r)
            .map(|d| d.permissions.as_slice())
            .unwrap_or(&[]);
        can_grant(&roles, &actor, &[], given)?;
    }
    if user.is_banned() {
        new_roles.insert(0, "banned".into());
    }
    user.roles = new_roles;
    let entry = ctx
        .audit("user_roles_set")
        .target(&user.id, Some(user.username.clone()))
        .details(json!({"roles": user.roles}));
    ctx.app.save_user_logged(user.clone(), entry).await?;
    Ok(Reply::global(
        &json!({"cmd": "user_roles_get", "user": user.username, "roles": user.roles, "color": roles.color_of(&user.roles), "global": true}),
        None,
    ))
}

#[derive(Deserialize)]
struct SelfRole<'a> {
    #[serde(borrow)]
    role: Option<Text<'a>>,
}

pub async fn self_role(ctx: &Ctx<'_>, add: bool) -> Outcome {
    let req: SelfRole = ctx.fields()?;
    let Some(role) = given(&req.role) else {
        return Err(ROLE_NAME_REQUIRED.into());
    };
    let (mut user, roles) = {
        let dir = ctx.app.dir();
        (
            dir.user(ctx.user_id).cloned().ok_or(USER_NOT_FOUND)?,
            dir.roles.clone(),
        )
    };
    let Some(data) = roles.get(role) else {
        return Err(ROLE_NOT_FOUND.into());
    };
    if !data.self_assignable {
        return Err("This role is not self-assignable".into());
    }
    let has = user.roles.iter().any(|r| r == role);
    match (add, has) {
        (true, true) => return Err("You already have this role".into()),
        (false, false) => return Err("You don't have this role".into()),
        (true, false) => user.roles.push(role.to_string()),
        (false, true) => user.roles.retain(|r| r != role),
    }
    let action = if add {
        "self_role_add"
    } else {
        "self_role_remove"
    };
    let entry = ctx
        .audit(action)
        .target(&user.id, Some(user.username.clone()))
        .details(json!({"role": role}));
    ctx.app.save_user_logged(user.clone(), entry).await?;
    let color = roles.color_of(&user.roles);
    let update = encode(
        &json!({"cmd": "user_roles_get", "user": user.username, "roles": user.roles, "color": color}),
    );
    ctx.app.broadcast(Target::All, &update);
    let cmd = if add {
        "self_role_add"
    } else {
        "self_role_remove"
    };
    Ok(Reply::to_sender(
        &json!({"cmd": cmd, "role": role, "success": true, "roles": user.roles}),
    ))
}

pub fn self_roles_list(ctx: &Ctx<'_>) -> Outcome {
    let dir = ctx.app.dir();
    let mine = dir
        .user(ctx.user_id)
        .map(|u| u.roles.clone())
        .unwrap_or_default();
    let list: Vec<Value> = dir
        .roles
        .iter()
        .filter(|(_, r)| r.self_assignable)
        .map(|(name, r)| {
            let mut r = r.to_object();
            r.insert("name".into(), json!(name));
            r.insert("assigned".into(), json!(mine.iter().any(|m| m == name)));
            Value::Object(r)
        })
        .collect();
    Ok(Reply::to_sender(
        &json!({"cmd": "self_roles_list", "roles": list}),
    ))
}

pub fn role_permissions_get(ctx: &Ctx<'_>) -> Outcome {
    let req: RoleRequest = ctx.fields()?;
    let Some(key) = given(&req.id).or(given(&req.name)) else {
        return Err(ROLE_ID_OR_NAME_REQUIRED.into());
    };
    let dir = ctx.app.dir();
    let Some(name) = find(&dir.roles, key) else {
        return Err(ROLE_NOT_FOUND.into());
    };
    let role = dir.roles.get(&name).cloned().unwrap_or_default();
    let permissions = role
        .extras
        .get("permissions")
        .cloned()
        .unwrap_or_else(|| json!(role.permissions));
    Ok(Reply::to_sender(&json!({
        "cmd": "role_permissions_get", "id": role.id, "name": name, "permissions": permissions,
    })))
}

pub async fn role_permissions_set(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_roles")?;
    let req: RoleRequest = ctx.fields()?;
    let Some(key) = given(&req.id).or(given(&req.name)) else {
        return Err(ROLE_ID_OR_NAME_REQUIRED.into());
    };
    let (mut roles, actor) = roles_and_actor(ctx);
    let Some(name) = find(&roles, key) else {
        return Err(ROLE_NOT_FOUND.into());
    };
    can_manage_role(&roles, &actor, &name)?;
    let Some(permissions) = req.permissions.as_ref().and_then(permission_names) else {
        return Err("Permissions must be an array".into());
    };
    let before = roles
        .get(&name)
        .map(|r| r.permissions.clone())
        .unwrap_or_default();
    can_grant(&roles, &actor, &before, &permissions)?;
    let id = roles.get(&name).and_then(|r| r.id.clone());
    if let Some(r) = roles.get_mut(&name) {
        r.permissions = permissions.clone();
        r.extras.shift_remove("permissions");
    }
    let entry = ctx
        .audit("role_permissions_set")
        .target(
            id.clone().unwrap_or_else(|| name.clone()),
            Some(name.clone()),
        )
        .details(json!({"permissions": permissions}));
    save(ctx, roles, Vec::new(), entry).await?;
    Ok(Reply::to_sender(&json!({
        "cmd": "role_permissions_set", "id": id, "name": name, "permissions": permissions, "updated": true
    })))
}

#[derive(Deserialize)]
struct SetRequest<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    data: Option<Value>,
}

/// `data` of a `role_set` request, read as the fields of `role_update` (`name` renames).
#[derive(Deserialize)]
struct WholeRole<'a> {
    #[serde(borrow)]
    data: RoleRequest<'a>,
}

/// `role_set`: the role becomes exactly what `data` describes (a field `data` leaves out
/// goes back to its default); its id and position stay. The checks are `role_update`'s.
pub async fn role_set(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_roles")?;
    let req: SetRequest = ctx.fields()?;
    let Some(key) = given(&req.id).or(given(&req.name)) else {
        return Err(ROLE_ID_OR_NAME_REQUIRED.into());
    };
    let Some(Value::Object(raw)) = req
        .data
        .as_ref()
        .filter(|d| d.as_object().is_some_and(|m| !m.is_empty()))
    else {
        return Err("Role data is required".into());
    };
    let WholeRole { data } = ctx.fields()?;
    let (mut roles, actor) = roles_and_actor(ctx);
    let Some(current) = find(&roles, key) else {
        return Err(ROLE_NOT_FOUND.into());
    };
    can_manage_role(&roles, &actor, &current)?;
    let Some(old) = roles.get(&current) else {
        return Err(ROLE_NOT_FOUND.into());
    };
    // Moving a role is role_reorder's, which checks every role that moves.
    if raw
        .get("position")
        .is_some_and(|p| p.as_i64() != old.position)
    {
        return Err("A role's position is changed with role_reorder".into());
    }
    let new_name = given(&data.name).map(str::trim).filter(|n| *n != current);
    let name = new_name.unwrap_or(&current).to_string();
    if data.self_assignable == Some(true) && PROTECTED.contains(&name.as_str()) {
        return Err(format!("Role '{name}' cannot be made self-assignable").into());
    }
    let mut role = Role {
        id: old.id.clone(),
        position: old.position,
        ..Role::default()
    };
    apply_fields(&mut role, &data)?;
    can_grant(&roles, &actor, kept(old, &role), &role.permissions)?;
    let users = match new_name {
        Some(new) => renamed_users(ctx.app, &roles, &current, new)?,
        None => Vec::new(),
    };
    let id = role.id.clone();
    // As the original: a whole-role replace is logged as a `role_update` with the data.
    let entry = ctx
        .audit("role_update")
        .target(
            id.clone().unwrap_or_else(|| name.clone()),
            Some(name.clone()),
        )
        .details(Value::Object(raw.clone()));
    roles.insert(current.clone(), role);
    roles.rename(&current, name.clone());
    save(ctx, roles, users, entry).await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "role_set", "id": id, "name": name, "updated": true}),
    ))
}
