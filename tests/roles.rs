//! Roles (§8.11): create, update, delete, reorder, user_roles_set with the hierarchy,
//! self-assignable roles; live sessions see changes at once.

mod common;

use common::{Server, err, until, with_role};
use serde_json::json;

#[test]
fn create_update_delete_with_broadcasts() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    owner.sync();
    owner.send(json!({"cmd": "role_create", "name": "helper", "color": "#00AA00", "description": "helps", "permissions": ["manage_messages"]}));
    let list = owner.expect("roles_list");
    assert_eq!(
        list["roles"]["helper"],
        json!({"id": list["roles"]["helper"]["id"], "description": "helps", "color": "#00AA00", "hoisted": false,
               "permissions": ["manage_messages"], "self_assignable": false, "category": null, "position": 4})
    );
    let created = owner.recv();
    assert_eq!(created["cmd"], "role_create");
    assert_eq!(created["name"], "helper");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        bob.expect("roles_list")["roles"]["helper"]["color"],
        "#00AA00"
    );
    for (fields, text) in [
        (json!({}), "Role name is required"),
        (json!({"name": "helper"}), "Role already exists"),
        (
            json!({"name": "moderator", "self_assignable": true}),
            "Role 'moderator' cannot be made self-assignable",
        ),
    ] {
        let mut req = fields.clone();
        req["cmd"] = json!("role_create");
        assert_eq!(owner.request(req), err("role_create", text), "{fields}");
    }
    assert_eq!(
        bob.request(json!({"cmd": "role_create", "name": "x"})),
        err(
            "role_create",
            "Access denied: 'manage_roles' permission required"
        )
    );
    owner.send(json!({"cmd": "role_update", "id": id, "name": "helpers", "hoisted": true}));
    assert_eq!(
        owner.expect("roles_list")["roles"]["helpers"]["hoisted"],
        true
    );
    assert_eq!(
        owner.recv(),
        json!({"cmd": "role_update", "id": id, "name": "helpers", "updated": true})
    );
    bob.sync();
    owner.send(json!({"cmd": "role_update", "name": "user", "description": "regulars"}));
    assert_eq!(
        owner.expect("roles_list")["roles"]["user"]["description"],
        "regulars"
    );
    assert_eq!(owner.recv()["name"], "user");
    // Renaming a role that channels use is refused.
    assert_eq!(
        owner.request(json!({"cmd": "role_update", "id": "user", "name": "member"})),
        err(
            "role_update",
            "Cannot rename role: it is used in channel 'general' permissions"
        )
    );
    assert_eq!(
        owner.request(json!({"cmd": "role_delete", "name": "user"})),
        err("role_delete", "Cannot delete system roles")
    );
    assert_eq!(
        owner.request(json!({"cmd": "role_delete", "name": "moderator"})),
        err(
            "role_delete",
            "Role is used in channel 'general' permissions"
        )
    );
    assert_eq!(
        owner.request(json!({"cmd": "role_delete", "name": "ghost"})),
        err("role_delete", "Role not found")
    );
    // Deleting takes the role away from its holders.
    owner.request(
        json!({"cmd": "user_roles_set", "user": "USR:local_bob", "roles": ["user", "helpers"]}),
    );
    owner.sync();
    bob.sync();
    owner.send(json!({"cmd": "role_delete", "id": id}));
    assert!(owner.expect("roles_list")["roles"].get("helpers").is_none());
    assert_eq!(
        owner.recv(),
        json!({"cmd": "role_delete", "id": id, "name": "helpers", "deleted": true})
    );
    bob.send(json!({"cmd": "user_roles_get", "user": "USR:local_bob"}));
    assert_eq!(until(&mut bob, "user_roles_get")["roles"], json!(["user"]));
}

#[test]
fn user_roles_set_respects_the_hierarchy() {
    let server = Server::start();
    let mut admin = with_role(&server, "ada", "admin");
    let mut bob = server.register("bob");
    admin.sync();
    // An admin may hand out moderator, not admin or owner.
    admin.send(json!({"cmd": "user_roles_set", "user": "usr:local_bob", "roles": ["moderator", "user"], "listener": "s"}));
    let expected = json!({"cmd": "user_roles_get", "user": "USR:local_bob", "roles": ["moderator", "user"], "color": "#FFFF00", "global": true});
    assert_eq!(bob.recv(), expected);
    let mut mine = expected.clone();
    mine["listener"] = json!("s");
    assert_eq!(admin.recv(), mine);
    for roles in [json!(["owner", "user"]), json!(["admin", "user"])] {
        assert_eq!(
            admin
                .request(json!({"cmd": "user_roles_set", "user": "USR:local_bob", "roles": roles})),
            err(
                "user_roles_set",
                "Cannot manage roles at or above your position"
            )
        );
    }
    assert_eq!(
        admin.request(
            json!({"cmd": "user_roles_set", "user": "USR:local_bob", "roles": ["wizard"]})
        ),
        err("user_roles_set", "Role 'wizard' does not exist")
    );
    assert_eq!(
        admin.request(json!({"cmd": "user_roles_set", "user": "USR:local_bob", "roles": []})),
        err("user_roles_set", "Roles list is required")
    );
    assert_eq!(
        admin.request(json!({"cmd": "user_roles_set", "user": "ghost", "roles": ["user"]})),
        err("user_roles_set", "User not found")
    );
    assert_eq!(
        bob.request(json!({"cmd": "user_roles_set", "user": "USR:local_ada", "roles": ["user"]})),
        err(
            "user_roles_set",
            "Access denied: 'manage_users' permission required"
        )
    );
    assert_eq!(
        admin.request(json!({"cmd": "role_update", "name": "owner", "color": "#000000"})),
        err(
            "role_update",
            "Cannot manage roles at or above your position"
        )
    );
    // bob's live session has moderator powers at once: deleting others' messages in general.
    let posted =
        admin.request(json!({"cmd": "message_new", "channel": "general", "content": "delete me"}));
    until(&mut bob, "message_new");
    bob.send(json!({"cmd": "message_delete", "channel": "general", "id": posted["message"]["id"]}));
    assert_eq!(until(&mut bob, "message_delete")["global"], true);
}

#[test]
fn reorder_and_self_assignable_roles() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    owner.sync();
    owner.request(
        json!({"cmd": "role_create", "name": "gamer", "self_assignable": true, "color": "#00ff00"}),
    );
    owner.sync();
    bob.sync();
    let list = bob.request(json!({"cmd": "self_roles_list"}));
    assert_eq!(list["roles"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&list["roles"][0]["name"], &list["roles"][0]["assigned"]),
        (&json!("gamer"), &json!(false))
    );
    bob.send(json!({"cmd": "self_role_add", "role": "gamer"}));
    assert_eq!(
        owner.recv(),
        json!({"cmd": "user_roles_get", "user": "USR:local_bob", "roles": ["user", "gamer"], "color": null})
    );
    bob.expect("user_roles_get");
    assert_eq!(
        bob.recv(),
        json!({"cmd": "self_role_add", "role": "gamer", "success": true, "roles": ["user", "gamer"]})
    );
    assert_eq!(
        bob.request(json!({"cmd": "self_role_add", "role": "gamer"})),
        err("self_role_add", "You already have this role")
    );
    assert_eq!(
        bob.request(json!({"cmd": "self_role_add", "role": "admin"})),
        err("self_role_add", "This role is not self-assignable")
    );
    assert_eq!(
        bob.request(json!({"cmd": "self_role_add", "role": "nope"})),
        err("self_role_add", "Role not found")
    );
    bob.request(json!({"cmd": "self_role_remove", "role": "gamer"}));
    assert_eq!(bob.recv()["roles"], json!(["user"]));
    assert_eq!(
        bob.request(json!({"cmd": "self_role_remove", "role": "gamer"})),
        err("self_role_remove", "You don't have this role")
    );
    owner.sync();
    owner.send(
        json!({"cmd": "role_reorder", "roles": ["owner", "admin", "gamer", "moderator", "user"]}),
    );
    let list = owner.expect("roles_list");
    let order: Vec<&String> = list["roles"].as_object().unwrap().keys().collect();
    assert_eq!(order, ["owner", "admin", "gamer", "moderator", "user"]);
    assert_eq!(list["roles"]["gamer"]["position"], 2);
    assert_eq!(owner.recv()["cmd"], "role_reorder");
    assert_eq!(
        owner.request(json!({"cmd": "role_reorder", "roles": ["ghost"]})),
        err("role_reorder", "Failed to reorder roles")
    );
}

#[test]
fn role_permissions_get_and_set() {
    let server = Server::start();
    let mut admin = with_role(&server, "ada", "admin");
    let mut bob = server.register("bob");
    admin.sync();
    let got = bob.request(json!({"cmd": "role_permissions_get", "name": "moderator"}));
    assert_eq!(got["cmd"], "role_permissions_get");
    assert_eq!(got["name"], "moderator");
    assert_eq!(got["permissions"][0], "manage_messages");
    assert_eq!(
        bob.request(json!({"cmd": "role_permissions_get"})),
        err("role_permissions_get", "Role id or name is required")
    );
    assert_eq!(
        bob.request(json!({"cmd": "role_permissions_get", "name": "ghost"})),
        err("role_permissions_get", "Role not found")
    );
    assert_eq!(
        bob.request(json!({"cmd": "role_permissions_set", "name": "user", "permissions": []})),
        err(
            "role_permissions_set",
            "Access denied: 'manage_roles' permission required"
        )
    );
    admin.send(json!({"cmd": "role_permissions_set", "name": "moderator", "permissions": ["manage_messages", "manage_channels"]}));
    assert_eq!(
        admin.expect("roles_list")["roles"]["moderator"]["permissions"],
        json!(["manage_messages", "manage_channels"])
    );
    let reply = admin.recv();
    assert_eq!(
        (&reply["cmd"], &reply["updated"]),
        (&json!("role_permissions_set"), &json!(true))
    );
    assert_eq!(
        admin.request(json!({"cmd": "role_permissions_set", "name": "admin", "permissions": []})),
        err(
            "role_permissions_set",
            "Cannot manage roles at or above your position"
        )
    );
    assert_eq!(
        admin.request(
            json!({"cmd": "role_permissions_set", "name": "moderator", "permissions": "all"})
        ),
        err("role_permissions_set", "Permissions must be an array")
    );
}
