//! Every file path the docs and the README name in backticks (`crates/core/src/product.rs`,
//! `tests/sled_domain.rs`, `crates/kernel/src/testing/`) exists, so a move or a rename cannot
//! leave the docs pointing at nothing.

use std::path::{Path, PathBuf};

/// Where the repository's files start: a path the docs name begins with one of these.
const ROOTS: [&str; 7] = [
    "crates/",
    "tests/",
    "docs/",
    "benches/",
    "examples/",
    "src/",
    ".ci/",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The backticked spans of `text` that name a repository path.
fn named_paths(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| ROOTS.iter().any(|root| span.starts_with(root)))
        .filter(|span| !span.contains(' ') && !span.contains('{'))
        .map(|span| span.trim_end_matches(['.', ',', ':']).to_owned())
        .collect()
}

/// Whether `path` exists, reading `dir/*.rs` as "some file of that kind in dir".
fn exists(path: &str) -> bool {
    if let Some((dir, pattern)) = path.rsplit_once('/') {
        if let Some(extension) = pattern.strip_prefix("*.") {
            return std::fs::read_dir(root().join(dir)).is_ok_and(|entries| {
                entries
                    .flatten()
                    .any(|entry| entry.path().extension().is_some_and(|ext| ext == extension))
            });
        }
    }
    root().join(path).exists()
}

fn documents() -> Vec<PathBuf> {
    let mut found = vec![root().join("README.md")];
    let docs = std::fs::read_dir(root().join("docs")).expect("docs/");
    found.extend(
        docs.flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "md")),
    );
    found
}

#[test]
fn every_path_the_docs_name_exists() {
    let mut missing = Vec::new();
    for document in documents() {
        let text = std::fs::read_to_string(&document).expect("a document is text");
        for path in named_paths(&text) {
            if !exists(&path) {
                missing.push(format!("{}: {path}", relative(&document)));
            }
        }
    }
    assert!(missing.is_empty(), "paths that do not exist: {missing:#?}");
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn named_paths_are_the_backticked_repository_paths() {
    let text = "see `crates/core/src/product.rs`, `tests/*.rs` and `cargo test`; not `a crates/x`.";
    assert_eq!(
        named_paths(text),
        vec![
            "crates/core/src/product.rs".to_owned(),
            "tests/*.rs".to_owned()
        ]
    );
    assert!(exists("tests/*.rs") && exists("crates/core/src/product.rs"));
    assert!(!exists("crates/core/src/domain/product.rs"));
}
