//! Domain names: lowercase LDH labels, internationalised names as A-labels.

/// Why `name` is not a valid DNS domain name, if it is not. Internationalised
/// names are rejected with their A-label (or the reason they have none).
pub(crate) fn domain_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if name.trim() != name {
        return Some("the name has leading or trailing white space".into());
    }
    if !name.is_ascii() {
        return Some(match idn_to_ascii(name) {
            Ok(a) => format!("internationalised names are written as their A-label here: `{a}`"),
            Err(why) => why,
        });
    }
    if name.len() > 253 {
        return Some(format!(
            "the name is {} characters long; at most 253 are allowed",
            name.len()
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!(
            "domain names are written in lowercase here: `{}`",
            name.to_ascii_lowercase()
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Some("a domain needs at least two labels, e.g. `example.com`".into());
    }
    for label in labels {
        if label.is_empty() {
            return Some(
                "the name has an empty label (two dots in a row, or a leading dot)".into(),
            );
        }
        if label.len() > 63 {
            return Some(format!(
                "the label `{label}` is {} characters long; at most 63 are allowed",
                label.len()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("the label `{label}` starts or ends with a hyphen"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Some(format!(
                "the label `{label}` holds `{c}`; only letters, digits and hyphens are allowed"
            ));
        }
    }
    None
}

/// Invisible and direction-changing characters that make two names look alike.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Other,
}

impl Script {
    fn of(c: char) -> Option<Script> {
        if !c.is_alphabetic() {
            return None;
        }
        Some(match c as u32 {
            0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F => {
                Script::Latin
            }
            0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
            0x400..=0x52F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
            _ => Script::Other,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Greek => "Greek",
            Script::Cyrillic => "Cyrillic",
            Script::Other => "other",
        }
    }
}

/// Converts an internationalised domain name to A-labels (UTS #46), refusing
/// invisible characters and labels that mix Latin, Greek and Cyrillic letters
/// (look-alikes such as `exаmple.com` with a Cyrillic `а`).
fn idn_to_ascii(name: &str) -> Result<String, String> {
    if let Some(c) = name.chars().find(|c| invisible(*c)) {
        return Err(format!(
            "the name holds the invisible character U+{:04X}; retype it without it",
            c as u32
        ));
    }
    for label in name.split('.') {
        let mut first: Option<Script> = None;
        for s in label.chars().filter_map(Script::of) {
            if s == Script::Other {
                continue;
            }
            match first {
                None => first = Some(s),
                Some(f) if f != s => {
                    return Err(format!(
                        "the label `{label}` mixes {} and {} letters, a look-alike of another name; use one script per label",
                        f.name(),
                        s.name()
                    ));
                }
                Some(_) => {}
            }
        }
    }
    match idna::domain_to_ascii_strict(name) {
        Ok(a) => match domain_problem(&a) {
            None => Ok(a),
            Some(why) => Err(format!("its A-label `{a}` is not valid: {why}")),
        },
        Err(_) => {
            Err("it is not a valid internationalised domain name (UTS #46 rejects it)".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_rules() {
        assert_eq!(domain_problem("example.com"), None);
        assert!(
            domain_problem("example..com")
                .unwrap()
                .contains("empty label")
        );
        assert!(domain_problem("com").unwrap().contains("two labels"));
        assert!(domain_problem("Example.com").unwrap().contains("lowercase"));
        assert!(
            domain_problem(&format!("{}.com", "a".repeat(64)))
                .unwrap()
                .contains("63")
        );
        let long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(domain_problem(&long).unwrap().contains("253"));
        assert!(domain_problem("-a.com").unwrap().contains("hyphen"));
        assert!(domain_problem("").unwrap().contains("empty"));
        assert!(domain_problem(" a.com").unwrap().contains("white space"));
    }

    #[test]
    fn idn_is_converted_or_rejected_with_reason() {
        assert_eq!(
            idn_to_ascii("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert!(
            domain_problem("bücher.example")
                .unwrap()
                .contains("`xn--bcher-kva.example`")
        );
        // Cyrillic а (U+0430) among Latin letters.
        let why = domain_problem("ex\u{0430}mple.com").unwrap();
        assert!(why.contains("mixes Latin and Cyrillic"), "{why}");
        let why = domain_problem("exam\u{200D}ple.com").unwrap();
        assert!(why.contains("U+200D"), "{why}");
        // An all-Cyrillic label is a real IDN.
        assert!(idn_to_ascii("пример.рф").unwrap().starts_with("xn--"));
    }
}
