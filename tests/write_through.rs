//! Changes reach the store before the directory: two connections registering the same
//! name at the same moment end with one account, and the other is told the name is taken
//! (whether it lost at the directory check or at the store's unique constraint).

mod common;

use common::Server;
use serde_json::json;

#[test]
fn simultaneous_registrations_of_one_name_make_one_account() {
    let server = Server::start();
    for round in 0..5 {
        let name = format!("twin{round}");
        let mut a = server.connected();
        let mut b = server.connected();
        let register = json!({"cmd": "register", "username": name, "password": "secret123"});
        a.send(register.clone());
        b.send(register);
        let answers = [a.recv(), b.recv()];
        let won = answers
            .iter()
            .filter(|p| p["cmd"] == "auth_success")
            .count();
        let lost: Vec<_> = answers
            .iter()
            .filter(|p| p["cmd"] == "auth_error")
            .collect();
        assert_eq!(won, 1, "{answers:?}");
        assert_eq!(
            lost,
            [&json!({"cmd": "auth_error", "val": "Username already taken"})]
        );
    }
    // The account exists once, and logs in.
    let out = server.admin(&["users"]);
    let users = String::from_utf8_lossy(&out.stdout);
    assert_eq!(users.matches("USR:local_twin0\t").count(), 1, "{users}");
    let mut c = server.connected();
    c.login("twin0", "secret123");
}
