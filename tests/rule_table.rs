//! Every rule id (P1, C2, S3, R4, T1, ...) that the code, the docs or an error message cites is
//! defined in the rule table of docs/domain.md, and every rule of the table is cited by the code
//! (a Rust file: the docs alone do not count).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The prefixes of the rule families: Product, Customer, Service contract, paRts, Technician.
const FAMILIES: [char; 5] = ['P', 'C', 'S', 'R', 'T'];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The rule ids in `text`: a family letter and digits, standing alone as a word.
fn rule_ids(text: &str) -> BTreeSet<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut ids = BTreeSet::new();
    for start in 0..chars.len() {
        if !FAMILIES.contains(&chars[start]) {
            continue;
        }
        if start > 0 && (chars[start - 1].is_alphanumeric() || chars[start - 1] == '_') {
            continue;
        }
        let digits = chars[start + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let end = start + 1 + digits;
        let word_ends = chars
            .get(end)
            .is_none_or(|c| !c.is_alphanumeric() && *c != '_');
        if digits > 0 && digits <= 2 && word_ends {
            ids.insert(chars[start..end].iter().collect());
        }
    }
    ids
}

/// The ids that have a row in the rule table: lines `| P1 | ... |`.
fn table_ids(guide: &str) -> BTreeSet<String> {
    guide
        .lines()
        .filter_map(|line| {
            let first = line.strip_prefix('|')?.split('|').next()?.trim();
            (rule_ids(first).len() == 1 && rule_ids(first).contains(first)).then(|| first.into())
        })
        .collect()
}

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != ".git" {
                sources(&path, found);
            }
        } else if path
            .extension()
            .is_some_and(|ext| ext == "rs" || ext == "md")
        {
            found.push(path);
        }
    }
}

#[test]
fn every_rule_id_cited_anywhere_is_defined_in_the_rule_table() {
    let guide = std::fs::read_to_string(root().join("docs/domain.md")).expect("docs/domain.md");
    let defined = table_ids(&guide);
    assert!(
        defined.contains("P1") && defined.contains("T2"),
        "{defined:?}"
    );
    let mut files = Vec::new();
    for dir in ["crates", "src", "tests", "examples", "benches", "docs"] {
        sources(&root().join(dir), &mut files);
    }
    files.push(root().join("README.md"));
    let mut cited = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for id in rule_ids(&text) {
            assert!(
                defined.contains(&id),
                "{} cites rule {id}, which docs/domain.md's rule table does not define",
                file.display()
            );
            if file.extension().is_some_and(|ext| ext == "rs") {
                cited.insert(id);
            }
        }
    }
    let uncited: Vec<_> = defined.difference(&cited).collect();
    assert!(uncited.is_empty(), "rules nothing cites: {uncited:?}");
}

#[test]
fn rule_ids_are_found_as_words_only() {
    let ids = rule_ids("P1, (S3) and R4: not PR1, XP2, P1a, a_T1 or S100");
    let expected: BTreeSet<String> = ["P1", "R4", "S3"].into_iter().map(String::from).collect();
    assert_eq!(ids, expected);
}
