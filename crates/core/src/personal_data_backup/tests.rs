use std::io::Cursor;

use super::*;
use crate::kernel::{CommandContext, MemoryStore, MemoryVault};
use crate::registration::Registration;
use crate::testing::time::scenario_day as day;
use crate::ServiceLifecycle;

fn customer(n: u128) -> CustomerId {
    CustomerId::from_uuid(uuid::Uuid::from_u128(n))
}

fn anna() -> PersonalData {
    PersonalData::new("Анна Петрова", "+7 900 000 00 00, \"flat 3\"")
}

/// A store with customers 1 and 2 registered (their data in `vault`), and the application.
fn two_customers() -> (
    MemoryStore<ServiceEvent>,
    std::sync::Arc<MemoryVault>,
    ServiceLifecycle<MemoryStore<ServiceEvent>>,
) {
    let store = MemoryStore::new();
    let vault = std::sync::Arc::new(MemoryVault::new());
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(vault.clone())
        .open()
        .unwrap();
    for (n, data) in [
        (1, anna()),
        (2, PersonalData::new("Boris", "boris@example.invalid")),
    ] {
        service
            .register_customer(
                Registration::new(customer(n), data, day(0)),
                &CommandContext::new(),
            )
            .unwrap();
    }
    (store, vault, service)
}

fn export(store: &MemoryStore<ServiceEvent>, vault: &dyn Vault) -> Vec<u8> {
    let mut file = Vec::new();
    export_personal_data(store, vault, &mut file).unwrap();
    file
}

fn personal(vault: &dyn Vault, n: u128) -> Option<PersonalData> {
    PersonalDataRecord::of(vault, customer(n)).get().unwrap()
}

#[test]
fn a_backup_restores_every_customers_personal_data() {
    let (store, vault, _) = two_customers();
    let file = export(&store, &*vault);
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(
        text.starts_with("{\"format\":\"service-lifecycle-personal-data\",\"format_version\":1}\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4, "header, two records, trailer");
    let restored = MemoryVault::new();
    let summary = restore_personal_data(&store, &restored, Cursor::new(file)).unwrap();
    assert_eq!(summary.records, 2);
    assert_eq!(personal(&restored, 1), Some(anna()));
    assert_eq!(
        personal(&restored, 2).map(|data| data.name),
        Some("Boris".to_owned())
    );
}

#[test]
fn an_erased_customer_is_never_exported_and_never_restored() {
    let (store, vault, service) = two_customers();
    let before_erasure = export(&store, &*vault);
    service
        .erase_customer(customer(1), day(5), &CommandContext::new())
        .unwrap();
    let after = String::from_utf8(export(&store, &*vault)).unwrap();
    assert!(!after.contains("Анна"), "{after}");
    // An old backup restored after the erasure: the erased record is left out, and a record
    // the vault still held is erased again.
    let restored = MemoryVault::new();
    PersonalDataRecord::of(&restored, customer(1))
        .put(&anna())
        .unwrap();
    let summary = restore_personal_data(&store, &restored, Cursor::new(before_erasure)).unwrap();
    assert_eq!(
        (summary.records, summary.skipped_erased, summary.erased),
        (1, 1, 1)
    );
    assert_eq!(personal(&restored, 1), None);
    assert!(personal(&restored, 2).is_some());
}

#[test]
fn a_damaged_or_foreign_file_is_refused_naming_the_line_and_nothing_is_restored() {
    let (store, vault, _) = two_customers();
    let file = String::from_utf8(export(&store, &*vault)).unwrap();
    let lines: Vec<&str> = file.lines().collect();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "line 1"),
        (
            "{\"format\":\"other\",\"format_version\":1}\n".to_owned(),
            "line 1",
        ),
        (file.replace("Boris", "Borya"), "CRC-32"),
        (format!("{}\n{}\n", lines[0], lines[1]), "cut short"),
        (
            format!("{}\n{}\n{}\n", lines[0], lines[1], lines[3]),
            "counts 2 records",
        ),
        (
            format!("{}\n{}\n{}\n{}\n", lines[0], lines[1], lines[1], lines[3]),
            "a second time",
        ),
        (format!("{}\nnot json\n{}\n", lines[0], lines[3]), "line 2"),
        (format!("{file}{{}}\n"), "follows the trailer"),
    ];
    for (bad, expected) in cases {
        let target = MemoryVault::new();
        let error = restore_personal_data(&store, &target, Cursor::new(bad.clone())).unwrap_err();
        assert!(error.to_string().contains(expected), "{bad:?}: {error}");
        assert!(
            personal(&target, 1).is_none() && personal(&target, 2).is_none(),
            "nothing restored"
        );
    }
    // A file of another store: its customers are unknown here.
    let other = MemoryStore::new();
    let target = MemoryVault::new();
    let error = restore_personal_data(&other, &target, Cursor::new(file)).unwrap_err();
    assert!(
        matches!(
            error,
            PersonalDataBackupError::UnknownCustomer { line: 2, .. }
        ),
        "{error}"
    );
}
