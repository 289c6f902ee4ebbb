//! The dashboard a service manager opens in the morning: the seven reports (and the policy
//! refusals) as HTML tables with names, what needs attention marked, and a date picker for a
//! past day. Server-rendered, no JavaScript, readable on a laptop and a phone.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;
use chrono::Utc;
use service_lifecycle::reports::Names;
use service_lifecycle_cli::table::{Align, Table};
use service_lifecycle_cli::tables::{report_tables, ReportName, ReportOptions};

use crate::api::{with_reports_as_of, AsOf};
use crate::desk::{Desk, DeskStore};
use crate::error::ApiError;

const STYLE: &str = "
:root { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2330; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem; background: #f6f7f9; }
header { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem; }
h1 { font-size: 1.4rem; margin: .2rem 0; }
section { background: #fff; border-radius: .5rem; padding: .6rem .9rem; margin: .8rem 0; box-shadow: 0 1px 2px #0002; }
h2 { font-size: 1.05rem; margin: .3rem 0 .5rem; }
h3 { font-size: .95rem; margin: .6rem 0 .3rem; color: #4a5265; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #e3e6ec; white-space: nowrap; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.alert td { background: #fde8e8; color: #8a1c1c; font-weight: 600; }
p.note { margin: .3rem 0; color: #4a5265; font-size: .85rem; }
p.empty { color: #7a8294; font-style: italic; margin: .2rem 0; }
form { display: flex; gap: .4rem; align-items: center; }
input, button { font: inherit; padding: .25rem .5rem; }
@media (max-width: 40rem) { body { padding: .5rem; } th, td { padding: .2rem .3rem; } }
";

/// `text` with the characters HTML gives a meaning escaped.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Whether a row needs attention: a visit missed, a part that runs out before its obligation,
/// a breached SLA, an overdue call.
fn needs_attention(table: &Table, row: &[String]) -> bool {
    table.columns.iter().zip(row).any(|((column, _), cell)| {
        matches!(cell.as_str(), "MISSED" | "YES")
            || (*column == "breached" && cell != "0")
            || (*column == "overdue" && cell != "-")
            || (*column == "missed" && cell != "0")
    })
}

/// The SLA figures per contract run to a row per contract: the dashboard keeps those with a
/// breach, and says how many it left out (the API's report lists them all).
fn keep_what_needs_a_look(table: &mut Table) {
    let column = |name: &str| table.columns.iter().position(|(column, _)| *column == name);
    let (Some(scope), Some(breached)) = (column("scope"), column("breached")) else {
        return;
    };
    let before = table.rows.len();
    table.rows.retain(|row| {
        row.get(scope).map(String::as_str) != Some("contract")
            || row.get(breached).map(String::as_str) != Some("0")
    });
    let left_out = before - table.rows.len();
    if left_out > 0 {
        table.note(format!(
            "{left_out} contracts without a breach are left out (GET /api/reports/sla lists them)"
        ));
    }
}

fn write_table(html: &mut String, table: &Table, first: bool) {
    let title = table.title.trim();
    let _ = if first {
        writeln!(html, "<h2>{}</h2>", escape(title))
    } else {
        writeln!(html, "<h3>{}</h3>", escape(title))
    };
    if table.rows.is_empty() {
        html.push_str("<p class=\"empty\">none</p>\n");
    } else {
        html.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
        for (column, align) in &table.columns {
            let class = if *align == Align::Right {
                " class=\"number\""
            } else {
                ""
            };
            let _ = write!(html, "<th{class}>{}</th>", escape(column));
        }
        html.push_str("</tr></thead>\n<tbody>\n");
        for row in &table.rows {
            let class = if needs_attention(table, row) {
                " class=\"alert\""
            } else {
                ""
            };
            let _ = write!(html, "<tr{class}>");
            for ((_, align), cell) in table.columns.iter().zip(row) {
                let class = if *align == Align::Right {
                    " class=\"number\""
                } else {
                    ""
                };
                let _ = write!(html, "<td{class}>{}</td>", escape(cell));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody></table></div>\n");
    }
    for note in &table.notes {
        let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(note));
    }
}

/// `GET /?as_of=YYYY-MM-DD`: the dashboard.
pub async fn dashboard<S: DeskStore>(
    State(desk): State<Arc<Desk<S>>>,
    as_of: AsOf,
) -> Result<Html<String>, ApiError> {
    let day = as_of.day()?;
    let html = desk
        .blocking(move |desk| {
            let today = day.unwrap_or_else(|| Utc::now().date_naive());
            let options = ReportOptions::new(today);
            let mut html = String::new();
            let _ = write!(
                html,
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                 <link rel=\"icon\" href=\"data:,\">\
                 <title>Service desk: the morning reports of {today}</title>\
                 <style>{STYLE}</style></head><body>\n<header><h1>Service desk: the morning \
                 reports of {today}</h1><form method=\"get\" action=\"/\"><label for=\"as_of\">As \
                 of</label><input type=\"date\" id=\"as_of\" name=\"as_of\" value=\"{today}\">\
                 <button type=\"submit\">Show</button></form></header>\n"
            );
            with_reports_as_of(desk, day, |reports| {
                let names = Names::new(reports, Some(desk.store()));
                for name in ReportName::ALL {
                    let _ = writeln!(html, "<section id=\"{}\">", name.as_str());
                    for (index, mut table) in report_tables(reports, &names, name, options)
                        .into_iter()
                        .enumerate()
                    {
                        keep_what_needs_a_look(&mut table);
                        write_table(&mut html, &table, index == 0);
                    }
                    html.push_str("</section>\n");
                }
            })?;
            html.push_str("</body></html>\n");
            Ok(html)
        })
        .await?;
    Ok(Html(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_html_gives_a_meaning_is_escaped() {
        assert_eq!(
            escape("<b>\"Tom & Jerry's\"</b>"),
            "&lt;b&gt;&quot;Tom &amp; Jerry&#39;s&quot;&lt;/b&gt;"
        );
    }

    #[test]
    fn a_missed_visit_or_a_breach_needs_attention() {
        let mut table = Table::new("t", &[("status", Align::Left), ("breached", Align::Right)]);
        table.row(vec!["due".into(), "0".into()]);
        table.row(vec!["MISSED".into(), "0".into()]);
        table.row(vec!["due".into(), "2".into()]);
        let marked: Vec<bool> = table
            .rows
            .iter()
            .map(|row| needs_attention(&table, row))
            .collect();
        assert_eq!(marked, [false, true, true]);
    }
}
