//! Real data in and out through the binary: master data loaded from CSV files (all or nothing,
//! errors naming file, line and column, a second load changing nothing), commands run from JSON
//! Lines with one result line each, reports with names in three formats, backups that carry
//! the personal data and never bring erased data back, and the data-subject commands.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{path, text, tool};

/// The dealership's spreadsheets: two models (one named in Cyrillic), two parts, a technician,
/// two customers (one with a comma in the name) and two units, one ready for sale.
fn spreadsheets(dir: &Path) -> PathBuf {
    let sheets = dir.join("sheets");
    std::fs::create_dir_all(&sheets).unwrap();
    let write = |name: &str, text: &str| std::fs::write(sheets.join(name), text).unwrap();
    // A spreadsheet's UTF-8 export begins with a byte-order mark.
    write(
        "models.csv",
        "\u{feff}name,manufacturer,category,warranty_months,warranty_starts\n\
         WM-7 washing machine,Volga Appliances,washing machines,24,on_installation\n\
         Холодильник RF-3,Ural Cold,refrigerators,12,on_sale\n",
    );
    write(
        "parts.csv",
        "part_number,models,reorder_point,stock\n\
         PUMP-220,WM-7 washing machine:1,2,5\n\
         COMP-9,Холодильник RF-3,1,3\n",
    );
    write(
        "technicians.csv",
        "name,certified_models,certified_until\n\
         Ivan Sidorov,WM-7 washing machine;Холодильник RF-3,2030-12-31\n",
    );
    write(
        "customers.csv",
        "customer_id,name,contact,target_group,level\n\
         0190a5b4-0000-7000-8000-0000000000c1,Анна Петрова,+7 900 000 00 00,household,accountable\n\
         0190a5b4-0000-7000-8000-0000000000c2,\"Boris, Ltd.\",boris@example.invalid,small_business,basic\n",
    );
    write(
        "units.csv",
        "serial,model,received_on,ready_for_sale\n\
         WM-0001,WM-7 washing machine,2026-11-01,yes\n\
         RF-0001,Холодильник RF-3,2026-11-02,no\n",
    );
    sheets
}

fn succeeded(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: exit {:?}\n{}{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn failed(output: &Output, what: &str) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{what}: {}",
        text(&output.stdout)
    );
    text(&output.stderr)
}

fn head(store: &Path) -> String {
    succeeded(&tool(&["stats", "--store", path(store)]), "stats")
        .lines()
        .next()
        .unwrap_or_default()
        .split(" events")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A store loaded from the spreadsheets.
fn loaded(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let sheets = spreadsheets(dir);
    let said = succeeded(
        &tool(&["load", "--store", path(&store), "--from", path(&sheets)]),
        "load",
    );
    assert!(
        said.contains("2 models, 2 parts, 1 technicians, 2 customers, 2 units"),
        "{said}"
    );
    store
}

#[test]
fn load_writes_master_data_once_and_reports_show_it_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = loaded(dir.path());
    let events = head(&store);
    // The same files again: nothing new.
    let again = succeeded(
        &tool(&[
            "load",
            "--store",
            path(&store),
            "--from",
            path(&dir.path().join("sheets")),
        ]),
        "load again",
    );
    assert!(again.contains("loaded nothing new (0 events)"), "{again}");
    assert_eq!(head(&store), events);
    // Columns in another order, and an empty optional one, are still the same rows.
    let reordered = dir.path().join("reordered.csv");
    std::fs::write(
        &reordered,
        "ready_for_sale,model,received_on,serial\n\
         yes,WM-7 washing machine,2026-11-01,WM-0001\n\
         no,Холодильник RF-3,2026-11-02,RF-0001\n",
    )
    .unwrap();
    let again = succeeded(
        &tool(&["load", "--store", path(&store), "--units", path(&reordered)]),
        "load reordered",
    );
    assert!(again.contains("loaded nothing new"), "{again}");
    assert_eq!(head(&store), events);
    succeeded(&tool(&["verify", "--store", path(&store)]), "verify");

    let board = succeeded(
        &tool(&["report", "pre-sale", "--store", path(&store)]),
        "report",
    );
    assert!(board.contains("WM-7 washing machine"), "{board}");
    assert!(board.contains("Холодильник RF-3"), "{board}");
    assert!(board.contains("WM-0001"), "the serial: {board}");
    // Aligned by display width: the model column ends at the same place in every row.
    let rows: Vec<&str> = board
        .lines()
        .filter(|line| line.contains("received") || line.contains("ready_for_sale"))
        .collect();
    let status_at: Vec<usize> = rows
        .iter()
        .map(|line| {
            let byte = line.find("re").unwrap();
            line[..byte].chars().count()
        })
        .collect();
    assert_eq!(status_at.len(), 2, "{board}");
    assert_eq!(status_at[0], status_at[1], "{board}");

    // CSV: every row, parseable.
    let csv = succeeded(
        &tool(&[
            "report",
            "pre-sale",
            "--store",
            path(&store),
            "--format",
            "csv",
        ]),
        "csv",
    );
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv.as_bytes());
    let first: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(
        first
            .iter()
            .any(|record| record.get(0) == Some("Холодильник RF-3")),
        "{csv}"
    );
    // JSON: ids with the names shown for them.
    let json: serde_json::Value = serde_json::from_str(&succeeded(
        &tool(&[
            "report",
            "pre-sale",
            "--store",
            path(&store),
            "--format",
            "json",
        ]),
        "json",
    ))
    .unwrap();
    let names: Vec<&str> = json["names"]["models"]
        .as_object()
        .unwrap()
        .values()
        .map(|name| name.as_str().unwrap())
        .collect();
    assert!(names.contains(&"WM-7 washing machine"), "{json}");
}

#[test]
fn a_bad_file_names_file_line_and_column_and_nothing_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let store = loaded(dir.path());
    let events = head(&store);
    let bad = dir.path().join("bad.csv");
    let cases: [(&str, &str, &str); 7] = [
        (
            "models",
            "name,manufacturer,category,warranty_months,warranty_starts\nDW-5,Neva,dishwashers,24,on_sale\nX,Y,Z,twelve,on_sale\n",
            "bad.csv, line 3, column warranty_months: \"twelve\" is not a whole number",
        ),
        (
            "models",
            "name,manufacturer,category,warranty_months,warranty_start\n",
            "line 1 (the header): \"warranty_start\" is not a column of models.csv",
        ),
        (
            "units",
            "serial,model\nWM 2,WM-7 washing machine\n",
            "bad.csv, line 2, column serial",
        ),
        (
            "units",
            "serial,model\nWM-0002,WM-9\n",
            "bad.csv, line 2, column model: no model is named \"WM-9\"",
        ),
        // The rules refuse it: a model's warranty of no months (M1).
        (
            "models",
            "name,manufacturer,category,warranty_months,warranty_starts\nDW-5,Neva,dishwashers,0,on_sale\n",
            "bad.csv, line 2: command rejected: the warranty of model",
        ),
        // The same model twice in one file.
        (
            "models",
            "name,manufacturer,category,warranty_months,warranty_starts\nDW-5,Neva,dishwashers,24,on_sale\ndw-5,Neva,dishwashers,12,on_sale\n",
            "bad.csv, line 3, column model_id: model ",
        ),
        // The store holds the model from other data.
        (
            "models",
            "name,manufacturer,category,warranty_months,warranty_starts\nWM-7 washing machine,Other maker,washing machines,24,on_sale\n",
            "bad.csv, line 2: the store holds model-",
        ),
    ];
    for (kind, content, expected) in cases {
        std::fs::write(&bad, content).unwrap();
        let said = failed(
            &tool(&[
                "load",
                "--store",
                path(&store),
                &format!("--{kind}"),
                path(&bad),
            ]),
            content,
        );
        assert!(said.contains(expected), "expected {expected:?} in {said}");
        assert!(said.contains("nothing was loaded"), "{said}");
        assert_eq!(head(&store), events, "nothing of {content:?} was written");
    }
}

#[test]
fn exec_runs_each_line_once_and_says_what_became_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = loaded(dir.path());
    let commands = dir.path().join("commands.jsonl");
    let inquiry = serde_json::json!({
        "id": "0190a5b4-0000-7000-8000-0000000000a4",
        "aggregate": "customer",
        "command": {"LogInquiry": {
            "customer": "0190a5b4-0000-7000-8000-0000000000c1",
            "topic": "which programme for wool",
            "at": "2026-12-01T10:00:00Z"
        }}
    });
    let lines = [
        serde_json::json!({
            "id": "0190a5b4-0000-7000-8000-0000000000a1",
            "aggregate": "technician",
            "command": {"Hire": {
                "technician": "0190a5b4-0000-7000-8000-000000000777",
                "at": "2026-12-01T09:00:00Z"
            }}
        })
        .to_string(),
        serde_json::json!({
            "id": "0190a5b4-0000-7000-8000-0000000000a2",
            "aggregate": "technician",
            "command": {"Hire": {
                "technician": "0190a5b4-0000-7000-8000-000000000777",
                "at": "2026-12-01T09:00:00Z"
            }}
        })
        .to_string(),
        "not a command".to_owned(),
        inquiry.to_string(),
        // The id of line 1 again, for another command: the sender's mistake, answered.
        serde_json::json!({
            "id": "0190a5b4-0000-7000-8000-0000000000a1",
            "aggregate": "customer",
            "command": {"LogInquiry": {
                "customer": "0190a5b4-0000-7000-8000-0000000000c2",
                "topic": "delivery times",
                "at": "2026-12-01T10:00:00Z"
            }}
        })
        .to_string(),
    ];
    let mut bytes = (lines.join("\n") + "\n").into_bytes();
    bytes.extend_from_slice(b"{\"id\": \"\xff\xfe\"}\n");
    std::fs::write(&commands, bytes).unwrap();
    let run = tool(&["exec", "--store", path(&store), "--input", path(&commands)]);
    assert_eq!(
        run.status.code(),
        Some(1),
        "a line was refused: {}",
        text(&run.stderr)
    );
    let results: Vec<serde_json::Value> = text(&run.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let outcomes: Vec<&str> = results
        .iter()
        .map(|result| result["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["recorded", "refused", "invalid", "recorded", "refused", "invalid"],
        "{results:?}"
    );
    assert!(results[4]["error"]
        .as_str()
        .unwrap()
        .contains("was executed on stream"));
    assert!(results[5]["error"].as_str().unwrap().contains("not UTF-8"));
    assert!(results[1]["error"]
        .as_str()
        .unwrap()
        .contains("is hired already"));
    assert_eq!(
        results[0]["events"],
        serde_json::json!(["technician.hired"])
    );
    let events = head(&store);
    // The same file again changes nothing: the recorded lines answer replayed.
    let again = tool(&["exec", "--store", path(&store), "--input", path(&commands)]);
    let outcomes: Vec<String> = text(&again.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["result"].to_string())
        .collect();
    assert_eq!(
        outcomes,
        [
            "\"replayed\"",
            "\"refused\"",
            "\"invalid\"",
            "\"replayed\"",
            "\"refused\"",
            "\"invalid\""
        ]
    );
    assert_eq!(head(&store), events);
}

#[test]
fn a_backup_carries_the_personal_data_and_a_restore_never_brings_an_erasure_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = loaded(dir.path());
    let anna = "0190a5b4-0000-7000-8000-0000000000c1";
    let boris = "0190a5b4-0000-7000-8000-0000000000c2";
    let backup = dir.path().join("backup.jsonl");
    let said = tool(&["export", "--store", path(&store), "--output", path(&backup)]);
    succeeded(&said, "export");
    let personal = dir.path().join("backup.personal-data.jsonl");
    let vault_file = std::fs::read_to_string(&personal).unwrap();
    assert!(vault_file.contains("Анна Петрова"), "{vault_file}");
    assert!(
        !std::fs::read_to_string(&backup).unwrap().contains("Анна"),
        "no personal data among the events"
    );
    // To standard output, the events go alone, and the tool says where the personal data would.
    let to_stdout = tool(&["export", "--store", path(&store)]);
    let events = succeeded(&to_stdout, "export to stdout");
    assert!(
        !events.contains("Анна"),
        "no personal data among the events"
    );
    let said = text(&to_stdout.stderr);
    assert!(said.contains("--personal-data FILE"), "{said}");
    // Restored: names and contacts are back.
    let copy = dir.path().join("copy");
    let restored = succeeded(
        &tool(&["import", "--store", path(&copy), "--input", path(&backup)]),
        "import",
    );
    assert!(
        restored.contains("restored the personal data of 2 customers"),
        "{restored}"
    );
    let document: serde_json::Value = serde_json::from_str(&succeeded(
        &tool(&["customer-export", anna, "--store", path(&copy)]),
        "customer-export",
    ))
    .unwrap();
    assert_eq!(document["personal_data"]["name"], "Анна Петрова");
    succeeded(
        &tool(&["verify", "--store", path(&copy)]),
        "verify the copy",
    );

    // Anna asks to be forgotten; the old backup restored afterwards keeps her erased.
    let erased = succeeded(
        &tool(&["customer-erase", anna, "--store", path(&store)]),
        "customer-erase",
    );
    assert!(erased.contains("erased the personal data"), "{erased}");
    let after = dir.path().join("after.jsonl");
    succeeded(
        &tool(&["export", "--store", path(&store), "--output", path(&after)]),
        "export after the erasure",
    );
    let events_after = dir.path().join("after-events.jsonl");
    std::fs::copy(&after, &events_after).unwrap();
    let restored_again = dir.path().join("restored-again");
    succeeded(
        &tool(&[
            "import",
            "--store",
            path(&restored_again),
            "--input",
            path(&events_after),
            "--personal-data",
            path(&personal),
        ]),
        "import the new events with the old personal data",
    );
    let document: serde_json::Value = serde_json::from_str(&succeeded(
        &tool(&["customer-export", anna, "--store", path(&restored_again)]),
        "customer-export",
    ))
    .unwrap();
    assert_eq!(document["personal_data"], serde_json::Value::Null);
    let document: serde_json::Value = serde_json::from_str(&succeeded(
        &tool(&["customer-export", boris, "--store", path(&restored_again)]),
        "customer-export",
    ))
    .unwrap();
    assert_eq!(document["personal_data"]["name"], "Boris, Ltd.");
    // Shared without personal data.
    let shared = dir.path().join("shared.jsonl");
    succeeded(
        &tool(&[
            "export",
            "--store",
            path(&store),
            "--output",
            path(&shared),
            "--without-personal-data",
        ]),
        "export without personal data",
    );
    assert!(!dir.path().join("shared.personal-data.jsonl").exists());
    // A customer the store never had.
    let said = failed(
        &tool(&[
            "customer-erase",
            "0190a5b4-0000-7000-8000-00000000dead",
            "--store",
            path(&store),
        ]),
        "erase an unknown customer",
    );
    assert!(said.contains("has no customer"), "{said}");
}

#[test]
fn a_damaged_personal_data_file_stops_the_import_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = loaded(dir.path());
    let backup = dir.path().join("backup.jsonl");
    succeeded(
        &tool(&["export", "--store", path(&store), "--output", path(&backup)]),
        "export",
    );
    let personal = dir.path().join("backup.personal-data.jsonl");
    let text_of = std::fs::read_to_string(&personal).unwrap();
    std::fs::write(&personal, text_of.replace("Boris", "Borya")).unwrap();
    let copy = dir.path().join("copy");
    let said = failed(
        &tool(&["import", "--store", path(&copy), "--input", path(&backup)]),
        "import a damaged backup",
    );
    assert!(said.contains("CRC-32"), "{said}");
    assert!(said.contains("nothing was imported"), "{said}");
}

/// The README's commands: the sample shop in `examples/data` loads, and its board shows names.
#[test]
fn the_sample_shop_of_the_readme_loads_and_shows_its_models_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("shop");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data");
    let said = succeeded(
        &tool(&["load", "--store", path(&store), "--from", path(&sample)]),
        "load the sample",
    );
    assert!(
        said.contains("loaded 3 models, 3 parts, 2 technicians, 3 customers, 4 units"),
        "{said}"
    );
    let board = succeeded(
        &tool(&["report", "pre-sale", "--store", path(&store)]),
        "the board",
    );
    for shown in ["RF-3 refrigerator", "DW-5 dishwasher", "WM-1001"] {
        assert!(board.contains(shown), "{shown}: {board}");
    }
    // The refrigerator left production in models.csv: its compressor is guaranteed ten years.
    let parts = succeeded(
        &tool(&[
            "report",
            "parts",
            "--store",
            path(&store),
            "--format",
            "csv",
        ]),
        "the parts",
    );
    assert!(parts.contains("COMPRESSOR-9,2036-06-30"), "{parts}");
}
