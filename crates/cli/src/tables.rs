//! The seven reports (and the policy refusals) as a person reads them and as programs take
//! them, in three formats ([`Format`]): aligned text tables, CSV and JSON. Each is built once as
//! [`Table`]s with names, serial numbers and short ids unique within the report
//! ([`report_tables`]); the CLI's `report` and the dealership example print them.

use std::collections::BTreeSet;
use std::io::{self, Write};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use service_lifecycle_core::kernel::Vault;
use service_lifecycle_core::reports::{Names, Reports, ShortIds, UnitRow};

use crate::table::{Align, Table};

/// One of the seven reports, or the policy refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportName {
    /// Units per model and status, damage, units ready for sale.
    PreSale,
    /// Units waiting for delivery or installation.
    Backlog,
    /// Preventive visits due and missed.
    ServiceDue,
    /// Response, arrival and resolution times, breaches, calls at risk.
    Sla,
    /// Units under warranty, expiring, the seller's cost.
    Warranty,
    /// Parts: obligation, stock, consumption, cover.
    Parts,
    /// Obligations per level, customers per level and group.
    Outreach,
    /// The policy commands the rules refused, and why.
    PolicyRefusals,
}

impl ReportName {
    /// The seven of §9 of docs/domain.md, in its order, then the policy refusals of §7.
    pub const ALL: [Self; 8] = [
        Self::PreSale,
        Self::Backlog,
        Self::ServiceDue,
        Self::Sla,
        Self::Warranty,
        Self::Parts,
        Self::Outreach,
        Self::PolicyRefusals,
    ];

    /// The report's name on the command line and in its JSON document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreSale => "pre-sale",
            Self::Backlog => "backlog",
            Self::ServiceDue => "service-due",
            Self::Sla => "sla",
            Self::Warranty => "warranty",
            Self::Parts => "parts",
            Self::Outreach => "outreach",
            Self::PolicyRefusals => "policy-refusals",
        }
    }
}

/// How a report is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text tables for a person (long tables show their first rows).
    #[default]
    Table,
    /// One JSON document: the report with every row and its ids, and the names shown for them.
    Json,
    /// CSV, every row: one header and its rows per table, tables separated by an empty line.
    Csv,
}

/// What a report answers for: the day, the warranty report's horizon, and how many rows a text
/// table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOptions {
    /// The day the report answers for.
    pub today: NaiveDate,
    /// For the warranty report: how many days ahead counts as expiring.
    pub within_days: u32,
    /// The most rows a text table shows (CSV and JSON show every row).
    pub max_rows: usize,
    /// Ids in full instead of short forms (CSV: what a program joins on).
    pub full_ids: bool,
}

impl ReportOptions {
    /// As of `today`, 60 days of warranty horizon, 25 rows per text table.
    pub fn new(today: NaiveDate) -> Self {
        Self {
            today,
            within_days: 60,
            max_rows: 25,
            full_ids: false,
        }
    }
}

/// The instant a report of `day` answers for where it needs one (the SLA report: the calls
/// opened by then, those at risk then): the close of that business day, 18:00 UTC.
pub fn close_of_business(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(18, 0, 0).unwrap_or_default().and_utc()
}

/// Writes report `name` in `format`; customers' names come from `vault` (without one, or when it
/// has no name for a customer, they are shown by id; an erased customer as "(erased)").
pub fn write_report(
    out: &mut dyn Write,
    reports: &Reports,
    vault: Option<&dyn Vault>,
    name: ReportName,
    format: Format,
    options: ReportOptions,
) -> io::Result<()> {
    let names = Names::new(reports, vault);
    let options = ReportOptions {
        full_ids: options.full_ids || format == Format::Csv,
        ..options
    };
    let tables = report_tables(reports, &names, name, options);
    match format {
        Format::Table => {
            for table in &tables {
                table.write_text(out, options.max_rows)?;
            }
            Ok(())
        }
        Format::Csv => {
            for (index, table) in tables.iter().enumerate() {
                if index > 0 {
                    writeln!(out)?;
                }
                table.write_csv(out)?;
            }
            Ok(())
        }
        Format::Json => write_json(out, reports, &names, name, options),
    }
}

/// The JSON document of `service_lifecycle_core::reports::write_report_with_names`: the report
/// with every row and the names shown for its ids.
fn write_json(
    out: &mut dyn Write,
    reports: &Reports,
    names: &Names,
    name: ReportName,
    options: ReportOptions,
) -> io::Result<()> {
    use service_lifecycle_core::reports::write_report_with_names as write;
    let (today, shown) = (options.today, names.shown());
    let (report, day) = (name.as_str(), Some(options.today));
    match name {
        ReportName::PreSale => write(report, None, &reports.pre_sale_board(), &shown, out),
        ReportName::Backlog => write(report, day, &reports.backlog(today), &shown, out),
        ReportName::ServiceDue => write(report, day, &reports.service_due(today), &shown, out),
        ReportName::Sla => {
            let sla = reports.sla(close_of_business(today));
            write(report, day, &sla, &shown, out)
        }
        ReportName::Warranty => {
            let warranty = reports.warranty(today, options.within_days);
            write(report, day, &warranty, &shown, out)
        }
        ReportName::Parts => write(report, day, &reports.parts_horizon(today), &shown, out),
        ReportName::Outreach => write(report, day, &reports.outreach(today), &shown, out),
        ReportName::PolicyRefusals => write(report, None, &reports.policy_refusals(), &shown, out),
    }
}

/// The serde name of a value (the names JSON documents use: `in_service`, `critical`).
fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The ids of one table as it shows them: short unless asked in full.
fn short_ids(options: ReportOptions, ids: impl IntoIterator<Item = uuid::Uuid>) -> ShortIds {
    if options.full_ids {
        ShortIds::full()
    } else {
        ShortIds::new(ids)
    }
}

const L: Align = Align::Left;
const R: Align = Align::Right;

/// Report `name` as tables, with names for ids.
pub fn report_tables(
    reports: &Reports,
    names: &Names,
    name: ReportName,
    options: ReportOptions,
) -> Vec<Table> {
    let today = options.today;
    let unit = |row: &UnitRow| {
        row.serial
            .as_ref()
            .map_or_else(|| names.unit(row.product), ToString::to_string)
    };
    let model = |model: Option<service_lifecycle_core::ModelId>| {
        model.map_or_else(|| "(unknown)".to_owned(), |model| names.model(model))
    };
    match name {
        ReportName::PreSale => {
            let board = reports.pre_sale_board();
            let mut by_status = Table::new(
                format!("1. Pre-sale board (as of {today}): units per model and status"),
                &[("model", L), ("status", L), ("units", R)],
            );
            for row in &board.units_by_model_and_status {
                by_status.row(vec![
                    model(row.model),
                    row.status.clone(),
                    row.units.to_string(),
                ]);
            }
            let mut ready = Table::new("   Ready for sale", &[("serial", L), ("model", L)]);
            for row in &board.ready_for_sale {
                ready.row(vec![unit(row), model(row.model)]);
            }
            let mut damaged = Table::new(
                "   Open transport damage",
                &[("serial", L), ("model", L), ("open damages", L)],
            );
            for row in &board.open_transport_damage {
                let numbers: Vec<String> = row.open_damages.iter().map(u32::to_string).collect();
                damaged.row(vec![
                    unit(&row.unit),
                    model(row.unit.model),
                    numbers.join(", "),
                ]);
            }
            vec![by_status, ready, damaged]
        }
        ReportName::Backlog => {
            let backlog = reports.backlog(today);
            let mut table = Table::new(
                format!("2. Delivery and installation backlog (as of {today})"),
                &[
                    ("serial", L),
                    ("model", L),
                    ("customer", L),
                    ("waiting for", L),
                    ("since", L),
                    ("days", R),
                ],
            );
            for (what, rows) in [
                ("delivery", &backlog.awaiting_delivery),
                ("installation", &backlog.awaiting_installation),
            ] {
                for row in rows {
                    table.row(vec![
                        unit(&row.unit),
                        model(row.unit.model),
                        names.customer_label(row.customer),
                        what.to_owned(),
                        row.since.to_string(),
                        row.age_days.to_string(),
                    ]);
                }
            }
            vec![table]
        }
        ReportName::ServiceDue => {
            let due = reports.service_due(today);
            let short = short_ids(
                options,
                due.due
                    .iter()
                    .chain(&due.missed)
                    .map(|row| row.contract.as_uuid()),
            );
            let mut table = Table::new(
                format!("3. Service due list (as of {today})"),
                &[
                    ("contract", L),
                    ("customer", L),
                    ("visit", R),
                    ("due", L),
                    ("window end", L),
                    ("status", L),
                ],
            );
            for (status, rows) in [("MISSED", &due.missed), ("due", &due.due)] {
                for row in rows {
                    table.row(vec![
                        short.of(row.contract.as_uuid()),
                        names.customer_label(row.customer),
                        row.visit.to_string(),
                        row.due.to_string(),
                        row.window_end.to_string(),
                        status.to_owned(),
                    ]);
                }
            }
            table.note(format!(
                "{} due, {} missed",
                due.due.len(),
                due.missed.len()
            ));
            vec![table]
        }
        ReportName::Sla => sla_tables(reports, names, options),
        ReportName::Warranty => {
            let warranty = reports.warranty(today, options.within_days);
            let mut expiring = Table::new(
                format!(
                    "5. Warranty (as of {today}): {} units under warranty; expiring within {} days",
                    warranty.units_under_warranty, options.within_days
                ),
                &[
                    ("serial", L),
                    ("model", L),
                    ("customer", L),
                    ("until", L),
                    ("days left", R),
                ],
            );
            for row in &warranty.expiring {
                expiring.row(vec![
                    unit(&row.unit),
                    model(row.unit.model),
                    row.customer
                        .map_or_else(|| "-".to_owned(), |c| names.customer_label(c)),
                    row.until.to_string(),
                    row.days_left.to_string(),
                ]);
            }
            let mut cost = Table::new(
                "   Service cost borne by the seller",
                &[("model", L), ("month", L), ("cost", R)],
            );
            for row in &warranty.seller_cost {
                let money = service_lifecycle_core::Money::new(row.minor_units, row.currency);
                cost.row(vec![
                    model(Some(row.model)),
                    row.month.clone(),
                    money.to_string(),
                ]);
            }
            vec![expiring, cost]
        }
        ReportName::Parts => {
            let mut table = Table::new(
                format!("6. Parts horizon (as of {today})"),
                &[
                    ("part", L),
                    ("obligation until", L),
                    ("on hand", R),
                    ("reserved", R),
                    ("backordered", R),
                    ("per month", R),
                    ("cover", R),
                    ("runs out first", L),
                ],
            );
            for row in reports.parts_horizon(today).parts {
                table.row(vec![
                    row.part.to_string(),
                    row.obligation_until
                        .map_or_else(|| "in production".to_owned(), |until| until.to_string()),
                    row.on_hand.to_string(),
                    row.reserved.to_string(),
                    row.backordered.to_string(),
                    format!("{:.1}", row.monthly_consumption),
                    row.months_of_cover
                        .map_or_else(|| "-".to_owned(), |months| format!("{months:.1} mo")),
                    if row.runs_out_before_obligation_end {
                        "YES".to_owned()
                    } else {
                        "no".to_owned()
                    },
                ]);
            }
            vec![table]
        }
        ReportName::Outreach => {
            let outreach = reports.outreach(today);
            let mut by_level = Table::new(
                format!("7. Outreach (as of {today}): obligations per relationship level"),
                &[
                    ("level", L),
                    ("open", R),
                    ("done", R),
                    ("missed", R),
                    ("withdrawn", R),
                ],
            );
            for row in &outreach.obligations_by_level {
                by_level.row(vec![
                    serde_name(&row.level),
                    row.open.to_string(),
                    row.done.to_string(),
                    row.missed.to_string(),
                    row.withdrawn.to_string(),
                ]);
            }
            let mut customers = Table::new(
                "   Customers per level and target group",
                &[("level", L), ("target group", L), ("customers", R)],
            );
            for row in &outreach.customers_by_level_and_group {
                customers.row(vec![
                    serde_name(&row.level),
                    row.target_group.clone(),
                    row.customers.to_string(),
                ]);
            }
            vec![by_level, customers]
        }
        ReportName::PolicyRefusals => {
            let refused = reports.policy_refusals().refusals;
            let mut table = Table::new(
                format!("8. Policy commands refused: {}", refused.len()),
                &[("day", L), ("policy", L), ("why", L)],
            );
            for refusal in &refused {
                table.row(vec![
                    refusal.at.date_naive().to_string(),
                    refusal.policy.clone(),
                    refusal.error.clone(),
                ]);
            }
            vec![table]
        }
    }
}

/// Report 4: the figures overall, per target group, technician and contract, and the calls at
/// risk at the close of business.
fn sla_tables(reports: &Reports, names: &Names, options: ReportOptions) -> Vec<Table> {
    let today = options.today;
    let sla = reports.sla(close_of_business(today));
    let contracts: BTreeSet<uuid::Uuid> = sla
        .by_contract
        .iter()
        .map(|row| row.contract.as_uuid())
        .chain(sla.at_risk.iter().map(|call| call.contract.as_uuid()))
        .collect();
    let short = short_ids(options, contracts);
    let calls = short_ids(options, sla.at_risk.iter().map(|call| call.call.as_uuid()));
    let mut table = Table::new(
        format!("4. SLA compliance (as of {today}, 18:00 UTC)"),
        &[
            ("scope", L),
            ("name", L),
            ("calls", R),
            ("breached", R),
            ("rate", R),
            ("response p50", R),
            ("arrival p50", R),
            ("resolution p90", R),
        ],
    );
    let minutes = |value: Option<i64>| value.map_or_else(|| "-".to_owned(), |m| format!("{m} min"));
    let mut rows = vec![("all", "all calls".to_owned(), &sla.overall)];
    rows.extend(
        sla.by_target_group
            .iter()
            .map(|group| ("target group", group.target_group.clone(), &group.stats)),
    );
    rows.extend(
        sla.by_technician
            .iter()
            .map(|row| ("technician", names.technician(row.technician), &row.stats)),
    );
    rows.extend(
        sla.by_contract
            .iter()
            .map(|row| ("contract", short.of(row.contract.as_uuid()), &row.stats)),
    );
    for (scope, name, stats) in rows {
        table.row(vec![
            scope.to_owned(),
            name,
            stats.calls.to_string(),
            stats.breached.to_string(),
            format!("{:.0}%", stats.breach_rate * 100.0),
            minutes(stats.response_minutes.median),
            minutes(stats.arrival_minutes.median),
            minutes(stats.resolution_minutes.p90),
        ]);
    }
    let mut at_risk = Table::new(
        format!("   Calls at risk: {}", sla.at_risk.len()),
        &[
            ("contract", L),
            ("call", L),
            ("serial", L),
            ("priority", L),
            ("overdue", L),
            ("next deadline", L),
        ],
    );
    for call in &sla.at_risk {
        let overdue: Vec<String> = call.overdue.iter().map(serde_name).collect();
        at_risk.row(vec![
            short.of(call.contract.as_uuid()),
            calls.of(call.call.as_uuid()),
            names.unit(call.unit),
            serde_name(&call.priority),
            if overdue.is_empty() {
                "-".to_owned()
            } else {
                overdue.join(", ")
            },
            call.next_deadline.map_or_else(
                || "-".to_owned(),
                |at| at.format("%Y-%m-%d %H:%M").to_string(),
            ),
        ]);
    }
    vec![table, at_risk]
}

#[cfg(test)]
mod tests {
    use super::ReportName;
    use clap::ValueEnum;

    #[test]
    fn a_report_is_named_alike_on_the_command_line_and_in_its_document() {
        for name in ReportName::ALL {
            let argument = name
                .to_possible_value()
                .expect("every report can be asked for");
            assert_eq!(argument.get_name(), name.as_str());
        }
        assert_eq!(ReportName::value_variants(), ReportName::ALL);
    }
}
