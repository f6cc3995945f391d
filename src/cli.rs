//! The command line: `originchats-server [--config PATH] [--data-dir DIR] [COMMAND …]`.

use std::path::PathBuf;

pub const HELP: &str = "\
originchats-server — an OriginChats chat server for small boards

USAGE:
    originchats-server [--config PATH] [--data-dir DIR]            run the server
    originchats-server [--config PATH] [--data-dir DIR] admin ...  manage accounts (see `admin --help`)

OPTIONS:
    --config PATH     configuration file (default: config.json; if it does not exist the
                      built-in defaults are used)
    --data-dir DIR    where the database lives (default: data)
    -h, --help        this help
    -V, --version     the version

ENVIRONMENT:
    RUST_LOG          log level: error, warn, info (default), debug, trace
";

pub const ADMIN_HELP: &str = "\
originchats-server admin — manage the server from its own machine

Works on the data directory whether the server is running or not; a running server
picks the change up within a few seconds.

USAGE:
    originchats-server [--data-dir DIR] admin COMMAND

COMMANDS:
    users                     list accounts with their roles
    grant-role USER ROLE      give USER the role ROLE (e.g. `grant-role alice owner`)
    revoke-role USER ROLE     take ROLE away from USER
    ban USER                  ban USER (their open connections are closed)
    unban USER                lift the ban

USER is a local name (alice), a username (USR:local_alice) or an account id.
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run,
    Help,
    Version,
    Admin(Vec<String>),
}

/// Parsed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub config: PathBuf,
    pub data_dir: PathBuf,
    pub command: Command,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut config = PathBuf::from("config.json");
    let mut data_dir = PathBuf::from("data");
    let mut args = args.into_iter();
    let mut command = Command::Run;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = args.next().ok_or("--config needs a path")?.into(),
            "--data-dir" => data_dir = args.next().ok_or("--data-dir needs a directory")?.into(),
            "-h" | "--help" => command = Command::Help,
            "-V" | "--version" => command = Command::Version,
            "run" => command = Command::Run,
            "admin" => {
                command = Command::Admin(args.by_ref().collect());
            }
            other => {
                if let Some(p) = other.strip_prefix("--config=") {
                    config = p.into();
                } else if let Some(d) = other.strip_prefix("--data-dir=") {
                    data_dir = d.into();
                } else {
                    return Err(format!("unknown argument `{other}` (see --help)"));
                }
            }
        }
    }
    Ok(Args {
        config,
        data_dir,
        command,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_options() {
        let a = p(&[]).unwrap();
        assert_eq!(
            (a.config, a.data_dir, a.command),
            ("config.json".into(), "data".into(), Command::Run)
        );
        let a = p(&[
            "--config",
            "c.json",
            "--data-dir=/var/lib/x",
            "admin",
            "grant-role",
            "a",
            "owner",
        ])
        .unwrap();
        assert_eq!(a.config, PathBuf::from("c.json"));
        assert_eq!(a.data_dir, PathBuf::from("/var/lib/x"));
        assert_eq!(
            a.command,
            Command::Admin(vec!["grant-role".into(), "a".into(), "owner".into()])
        );
        assert!(p(&["--bogus"]).unwrap_err().contains("--bogus"));
        assert!(p(&["--config"]).is_err());
    }
}
