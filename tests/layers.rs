//! The layer map of `src/lib.rs` is true: no module uses (`crate::…`) a module of its own
//! or a higher layer, and every module has a layer. Unit tests inside a module (a
//! `#[cfg(test)] mod tests` at the end of a file) may use anything.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Module → layer, from the table in `src/lib.rs` (rows `//! | N | `a`, `b` | … |`).
fn layers() -> HashMap<String, u32> {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut map = HashMap::new();
    for line in lib.lines() {
        let Some(row) = line.strip_prefix("//! |") else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Some(layer) = cells.first().and_then(|c| c.parse::<u32>().ok()) else {
            continue;
        };
        for module in cells[1].split(',') {
            let name = module.trim().trim_matches('`');
            assert!(
                map.insert(name.to_string(), layer).is_none(),
                "`{name}` is in two rows of the table in src/lib.rs"
            );
        }
    }
    assert!(!map.is_empty(), "no layer table found in src/lib.rs");
    map
}

/// The top-level module a file belongs to (`src/commands/x.rs` → `commands`).
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its unit tests.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every top-level module named after `crate::` (also inside `crate::{a, b::c}`).
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `my_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group, up to its matching brace.
            let mut depth = 0;
            let mut item = String::new();
            let mut names = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => names.push(std::mem::take(&mut item)),
                    _ => item.push(c),
                }
            }
            names.push(item);
            found.extend(names.iter().filter_map(|n| first_ident(n)));
        } else if let Some(name) = first_ident(rest) {
            found.push(name);
        }
    }
    found
}

fn first_ident(s: &str) -> Option<String> {
    let name: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[test]
fn modules_use_only_lower_layers() {
    let layers = layers();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let Some(me) = module_of(file) else {
            continue;
        };
        let shown = file.strip_prefix(src()).unwrap().display().to_string();
        let Some(&my_layer) = layers.get(&me) else {
            wrong.push(format!(
                "src/{shown}: module `{me}` has no layer in src/lib.rs"
            ));
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        for used in crate_paths(&code(&text)) {
            if used == me {
                continue;
            }
            let Some(&layer) = layers.get(&used) else {
                continue; // not a module (e.g. a macro at the crate root)
            };
            if layer <= my_layer {
                wrong.push(format!(
                    "src/{shown}: `crate::{used}` (layer {layer}) from `{me}` (layer {my_layer}): \
                     a module may use only lower layers"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn every_module_has_a_layer() {
    let layers = layers();
    for entry in fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        if let Some(module) = module_of(&path) {
            assert!(
                layers.contains_key(&module),
                "module `{module}` has no layer in the table of src/lib.rs"
            );
        }
    }
}

#[test]
fn paths_are_found() {
    let code =
        "use crate::app::App;\nuse crate::{hub::{Session, Target}, model};\nx(crate::store::Db)";
    assert_eq!(crate_paths(code), ["app", "hub", "model", "store"]);
    assert_eq!(code_without_tests(), 1);
}

/// The unit-test cut works on this very shape.
fn code_without_tests() -> usize {
    let text = "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\n";
    crate_paths(&code(text)).len()
}
