//! SECURITY.md's tables stay true: every command of the command table has a row, and every
//! test a row names (`file::test_name`) exists as `fn test_name` in `tests/file.rs`. A new
//! command without a row, or a renamed test, fails here.

use std::collections::BTreeSet;
use std::path::Path;

use originchats_server::router::table::COMMANDS;

/// The tables' rows: lines that start with `|`, except the header rules.
fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("| ---"))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect()
}

/// The `code spans` of a cell.
fn spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

fn security_md() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("SECURITY.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_command_has_a_row_with_a_test() {
    let text = security_md();
    let mut listed = BTreeSet::new();
    for row in rows(&text) {
        let [first, .., last] = row.as_slice() else {
            continue;
        };
        let names = spans(first);
        if names.iter().any(|n| COMMANDS.iter().any(|c| c.name == *n)) {
            assert!(
                spans(last).iter().any(|s| s.contains("::")),
                "row without a test: {row:?}"
            );
            listed.extend(names);
        }
    }
    let missing: Vec<&str> = COMMANDS
        .iter()
        .map(|c| c.name)
        .filter(|n| !listed.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "commands missing from SECURITY.md: {missing:?}"
    );
    let unknown: Vec<&&str> = listed
        .iter()
        .filter(|n| !COMMANDS.iter().any(|c| c.name == **n))
        .collect();
    assert!(unknown.is_empty(), "not commands: {unknown:?}");
}

#[test]
fn every_named_test_exists() {
    let text = security_md();
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut checked = 0;
    for row in rows(&text) {
        for cell in &row {
            for span in spans(cell) {
                let Some((file, name)) = span.split_once("::") else {
                    continue;
                };
                if file.contains(' ') || name.contains(' ') || file == "router" {
                    continue;
                }
                let path = tests.join(format!("{file}.rs"));
                let source = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{span}: {}: {e}", path.display()));
                assert!(
                    source.contains(&format!("fn {name}()")),
                    "{span}: no `fn {name}()` in {}",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 80, "only {checked} test names found");
}
