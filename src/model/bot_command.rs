//! A slash command a bot registers (docs/protocol.md#813-slash-commands): its definition
//! read from `slash_register` with every field checked and bounded, its wire form for
//! `slash_list` / `slash_add`, and the check of a call's arguments against its options.
//!
//! The shape is the original server's: `name`, `description`, `options` (each `name`,
//! `description`, `type` one of `str`/`int`/`float`/`bool`/`enum`, `choices`, `required`,
//! default true), `whitelistRoles`, `blacklistRoles`, `ephemeral`. Unknown keys are
//! ignored, as the original's schema does.

use serde_json::{Map, Value, json};

/// At most this many commands per bot connection.
pub const MAX_COMMANDS_PER_BOT: usize = 50;
/// At most this many options per command, and choices per option.
pub const MAX_OPTIONS: usize = 25;
pub const MAX_CHOICES: usize = 25;
/// Names of commands and options: 1 to 32 characters of `[A-Za-z0-9_-]`, so that the
/// client's `/name` picker and argument fields can show and type them.
pub const MAX_NAME_CHARS: usize = 32;
/// Descriptions and choices, in code points.
pub const MAX_DESCRIPTION_CHARS: usize = 200;
pub const MAX_CHOICE_CHARS: usize = 100;
/// Role lists: at most this many names, each at most 50 code points (as role names).
pub const MAX_ROLES: usize = 50;
pub const MAX_ROLE_CHARS: usize = 50;

/// The type of an option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    Str,
    Int,
    Float,
    Bool,
    Enum,
}

impl OptionKind {
    fn parse(text: &str) -> Option<OptionKind> {
        Some(match text {
            "str" => OptionKind::Str,
            "int" => OptionKind::Int,
            "float" => OptionKind::Float,
            "bool" => OptionKind::Bool,
            "enum" => OptionKind::Enum,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            OptionKind::Str => "str",
            OptionKind::Int => "int",
            OptionKind::Float => "float",
            OptionKind::Bool => "bool",
            OptionKind::Enum => "enum",
        }
    }

    /// Whether `value` (not null) is of this type.
    fn accepts(self, value: &Value) -> bool {
        match self {
            OptionKind::Str | OptionKind::Enum => value.is_string(),
            OptionKind::Int => value.is_i64() || value.is_u64(),
            OptionKind::Float => value.is_number(),
            OptionKind::Bool => value.is_boolean(),
        }
    }
}

/// One option (argument) of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOption {
    pub name: String,
    pub description: String,
    pub kind: OptionKind,
    /// `null` or the list as registered.
    pub choices: Option<Vec<String>>,
    pub required: bool,
}

/// A command as a bot registered it.
#[derive(Debug, Clone, PartialEq)]
pub struct BotCommand {
    pub name: String,
    pub description: String,
    pub options: Vec<CommandOption>,
    pub whitelist: Option<Vec<String>>,
    pub blacklist: Option<Vec<String>>,
    pub ephemeral: bool,
}

/// Whether `name` may name a command or an option.
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn name_field(obj: &Map<String, Value>) -> Result<String, String> {
    match obj.get("name") {
        Some(Value::String(n)) if valid_name(n) => Ok(n.clone()),
        Some(Value::String(_)) => Err(format!(
            "name must be 1 to {MAX_NAME_CHARS} letters, digits, '_' or '-'"
        )),
        _ => Err("name is required and must be a string".into()),
    }
}

fn description_field(obj: &Map<String, Value>) -> Result<String, String> {
    match obj.get("description") {
        Some(Value::String(d)) if d.chars().count() <= MAX_DESCRIPTION_CHARS => Ok(d.clone()),
        Some(Value::String(_)) => Err(format!(
            "description is longer than {MAX_DESCRIPTION_CHARS} characters"
        )),
        _ => Err("description is required and must be a string".into()),
    }
}

/// An optional boolean (absent or null: `default`).
fn bool_field(obj: &Map<String, Value>, key: &str, default: bool) -> Result<bool, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{key} must be a boolean")),
    }
}

/// An optional list of strings (absent or null: `None`), bounded in count and length.
fn string_list(
    obj: &Map<String, Value>,
    key: &str,
    max_items: usize,
    max_chars: usize,
) -> Result<Option<Vec<String>>, String> {
    let list = match obj.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(format!("{key} must be a list of strings or null")),
    };
    if list.len() > max_items {
        return Err(format!("{key} has more than {max_items} entries"));
    }
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        match item {
            Value::String(s) if !s.is_empty() && s.chars().count() <= max_chars => {
                out.push(s.clone())
            }
            _ => {
                return Err(format!(
                    "{key} entries must be strings of 1 to {max_chars} characters"
                ));
            }
        }
    }
    Ok(Some(out))
}

impl CommandOption {
    fn parse(value: &Value) -> Result<CommandOption, String> {
        let Some(obj) = value.as_object() else {
            return Err("must be an object".into());
        };
        let name = name_field(obj)?;
        let description = description_field(obj)?;
        let kind = match obj.get("type") {
            Some(Value::String(t)) => OptionKind::parse(t),
            _ => None,
        }
        .ok_or("type must be one of str, int, float, bool, enum")?;
        let choices = string_list(obj, "choices", MAX_CHOICES, MAX_CHOICE_CHARS)?;
        if kind == OptionKind::Enum && choices.as_ref().is_none_or(Vec::is_empty) {
            return Err("enum options must define a non-empty 'choices' list".into());
        }
        let required = bool_field(obj, "required", true)?;
        Ok(CommandOption {
            name,
            description,
            kind,
            choices,
            required,
        })
    }

    /// The wire form, in the original's key order.
    fn view(&self) -> Value {
        json!({
            "name": self.name, "description": self.description, "type": self.kind.name(),
            "choices": self.choices, "required": self.required,
        })
    }
}

impl BotCommand {
    /// Reads and checks one command of a `slash_register` request; the error says which
    /// field is wrong.
    pub fn parse(value: &Value) -> Result<BotCommand, String> {
        let Some(obj) = value.as_object() else {
            return Err("must be an object".into());
        };
        let name = name_field(obj)?;
        let description = description_field(obj)?;
        let options = match obj.get("options") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) if list.len() <= MAX_OPTIONS => {
                let mut options: Vec<CommandOption> = Vec::with_capacity(list.len());
                for (i, o) in list.iter().enumerate() {
                    let option =
                        CommandOption::parse(o).map_err(|why| format!("options[{i}]: {why}"))?;
                    if options.iter().any(|known| known.name == option.name) {
                        return Err(format!("options[{i}]: duplicate option '{}'", option.name));
                    }
                    options.push(option);
                }
                options
            }
            Some(Value::Array(_)) => {
                return Err(format!("options has more than {MAX_OPTIONS} entries"));
            }
            Some(_) => return Err("options must be a list".into()),
        };
        Ok(BotCommand {
            name,
            description,
            options,
            whitelist: string_list(obj, "whitelistRoles", MAX_ROLES, MAX_ROLE_CHARS)?,
            blacklist: string_list(obj, "blacklistRoles", MAX_ROLES, MAX_ROLE_CHARS)?,
            ephemeral: bool_field(obj, "ephemeral", false)?,
        })
    }

    /// The wire form of `slash_list` and `slash_add`.
    pub fn view(&self, registered_by: &str) -> Value {
        let options: Vec<Value> = self.options.iter().map(CommandOption::view).collect();
        json!({
            "name": self.name, "description": self.description, "options": options,
            "whitelistRoles": self.whitelist, "blacklistRoles": self.blacklist,
            "ephemeral": self.ephemeral, "registeredBy": registered_by,
        })
    }

    /// Whether a user with `roles` may call it: a blacklisted role refuses (it wins over
    /// the whitelist), and a non-empty whitelist needs one of its roles. The error is the
    /// original's text.
    pub fn allows(&self, roles: &[String]) -> Result<(), String> {
        if let Some(role) = self.blacklist.iter().flatten().find(|b| roles.contains(*b)) {
            return Err(format!("Access denied: '{role}' role is forbidden"));
        }
        match self.whitelist.as_deref() {
            Some([first, ..]) if !roles.iter().any(|r| self.whitelist_has(r)) => {
                Err(format!("Access denied: '{first}' role required"))
            }
            _ => Ok(()),
        }
    }

    fn whitelist_has(&self, role: &str) -> bool {
        self.whitelist.iter().flatten().any(|w| w == role)
    }

    /// Checks a call's arguments against the options and returns them as the bot gets
    /// them. A null value counts as absent (the official client sends `null` for a
    /// number field it cannot parse).
    pub fn check_args(&self, args: &Map<String, Value>) -> Result<Map<String, Value>, String> {
        let mut given = Map::new();
        for (name, value) in args {
            let Some(option) = self.options.iter().find(|o| &o.name == name) else {
                return Err(format!("Unknown argument: {name}"));
            };
            if value.is_null() {
                continue;
            }
            if !option.kind.accepts(value) {
                return Err(format!(
                    "Invalid type for argument '{name}': expected {}, got {}",
                    option.kind.name(),
                    json_type(value)
                ));
            }
            if option.kind == OptionKind::Enum {
                let choices = option.choices.as_deref().unwrap_or_default();
                if !choices.iter().any(|c| Some(c.as_str()) == value.as_str()) {
                    return Err(format!(
                        "Invalid value for argument '{name}': expected one of [{}]",
                        choices.join(", ")
                    ));
                }
            }
            given.insert(name.clone(), value.clone());
        }
        if let Some(missing) = self
            .options
            .iter()
            .find(|o| o.required && !given.contains_key(&o.name))
        {
            return Err(format!("Missing required argument: {}", missing.name));
        }
        Ok(given)
    }
}

/// The name of a JSON value's type, as the error texts show it.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weather() -> BotCommand {
        BotCommand::parse(&json!({
            "name": "weather", "description": "Weather for a city",
            "options": [
                {"name": "city", "description": "City", "type": "str"},
                {"name": "days", "description": "Days", "type": "int", "required": false},
                {"name": "units", "description": "Units", "type": "enum",
                 "choices": ["metric", "imperial"], "required": false},
            ],
            "whitelistRoles": ["user"], "blacklistRoles": ["muted"],
        }))
        .unwrap()
    }

    #[test]
    fn parses_and_shows_the_original_shape() {
        assert_eq!(
            weather().view("USR:local_bot")["options"][0],
            json!({"name": "city", "description": "City", "type": "str", "choices": null, "required": true})
        );
        let minimal = BotCommand::parse(&json!({"name": "ping", "description": ""})).unwrap();
        assert_eq!(
            minimal.view("b"),
            json!({"name": "ping", "description": "", "options": [], "whitelistRoles": null,
                   "blacklistRoles": null, "ephemeral": false, "registeredBy": "b"})
        );
    }

    #[test]
    fn refuses_bad_fields() {
        let bad = |v: Value| BotCommand::parse(&v).unwrap_err();
        assert_eq!(
            bad(json!({"name": "a b", "description": ""})),
            "name must be 1 to 32 letters, digits, '_' or '-'"
        );
        assert_eq!(
            bad(json!({"name": "x"})),
            "description is required and must be a string"
        );
        assert_eq!(
            bad(
                json!({"name": "x", "description": "", "options": [{"name": "o", "description": "", "type": "enum"}]})
            ),
            "options[0]: enum options must define a non-empty 'choices' list"
        );
        assert_eq!(
            bad(
                json!({"name": "x", "description": "", "options": [{"name": "o", "description": "", "type": "text"}]})
            ),
            "options[0]: type must be one of str, int, float, bool, enum"
        );
        assert_eq!(
            bad(json!({"name": "x", "description": "", "ephemeral": "yes"})),
            "ephemeral must be a boolean"
        );
        assert_eq!(
            bad(json!({"name": "x", "description": "", "whitelistRoles": [""]})),
            "whitelistRoles entries must be strings of 1 to 50 characters"
        );
        assert_eq!(bad(json!("x")), "must be an object");
    }

    #[test]
    fn checks_roles_and_arguments() {
        let w = weather();
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(w.allows(&roles(&["user"])), Ok(()));
        assert_eq!(
            w.allows(&roles(&["user", "muted"])),
            Err("Access denied: 'muted' role is forbidden".into())
        );
        assert_eq!(
            w.allows(&roles(&["guest"])),
            Err("Access denied: 'user' role required".into())
        );
        let args = |v: Value| w.check_args(v.as_object().unwrap());
        assert_eq!(
            args(json!({"city": "Oslo", "days": null})),
            Ok(json!({"city": "Oslo"}).as_object().unwrap().clone())
        );
        assert_eq!(
            args(json!({"days": 2})),
            Err("Missing required argument: city".into())
        );
        assert_eq!(
            args(json!({"city": "Oslo", "days": 1.5})),
            Err("Invalid type for argument 'days': expected int, got float".into())
        );
        assert_eq!(
            args(json!({"city": "Oslo", "units": "kelvin"})),
            Err("Invalid value for argument 'units': expected one of [metric, imperial]".into())
        );
        assert_eq!(
            args(json!({"city": "Oslo", "x": 1})),
            Err("Unknown argument: x".into())
        );
    }
}
