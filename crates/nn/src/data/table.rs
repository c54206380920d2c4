//! A table uploaded as CSV: a header row, then one example per row; numeric
//! feature columns and one label column (classes by their distinct values, or
//! a number to regress). Every problem is refused with the row and column it
//! is in; features are standardised with the training split's statistics.

use nnlab_core::{Error, Result};
use serde::Serialize;

use super::{ArrayDataset, Splits, Target, split};

/// Bounds on an upload: what a browser tab handles comfortably.
pub const MAX_BYTES: usize = 1 << 20;
pub const MAX_ROWS: usize = 20_000;
pub const MAX_COLUMNS: usize = 100;
pub const MAX_CLASSES: usize = 50;

fn invalid(path: &str, reason: String) -> Error {
    Error::InvalidSpec { path: path.into(), reason }
}

/// The header and the records of a CSV text, with its size bounds checked.
fn records(csv: &str) -> Result<(Vec<String>, Vec<csv::StringRecord>)> {
    if csv.len() > MAX_BYTES {
        return Err(invalid("data.csv", format!("the file has {} bytes; the limit is {} (1 MiB)", csv.len(), MAX_BYTES)));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(csv.as_bytes());
    let header: Vec<String> =
        reader.headers().map_err(|e| invalid("data.csv", format!("the header row cannot be read: {e}")))?.iter().map(str::to_string).collect();
    if header.len() < 2 {
        return Err(invalid("data.csv", "needs a header row with at least two columns (features and a label), separated by commas".into()));
    }
    if header.len() > MAX_COLUMNS {
        return Err(invalid("data.csv", format!("{} columns; the limit is {MAX_COLUMNS}", header.len())));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| invalid("data.csv", format!("row {} cannot be read: {e}", i + 2)))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(invalid("data.csv", format!("more than {MAX_ROWS} rows; the limit is {MAX_ROWS}")));
        }
        if record.len() != header.len() {
            return Err(invalid("data.csv", format!("row {} has {} cells, the header has {}", i + 2, record.len(), header.len())));
        }
        rows.push(record);
    }
    if rows.len() < 4 {
        return Err(invalid("data.csv", format!("only {} rows of data; at least 4 are needed", rows.len())));
    }
    Ok((header, rows))
}

/// What the page shows before a table is used: the columns, the first rows,
/// the row count and, per column, whether every cell is a number and how
/// many distinct values it has (counted up to `MAX_CLASSES + 1`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub columns: Vec<String>,
    pub numeric: Vec<bool>,
    pub distinct: Vec<usize>,
    pub rows: Vec<Vec<String>>,
    pub count: usize,
}

pub fn preview(csv: &str) -> Result<Preview> {
    let (columns, rows) = records(csv)?;
    let numeric = (0..columns.len()).map(|c| rows.iter().all(|r| r[c].parse::<f32>().is_ok_and(f32::is_finite))).collect();
    let distinct = (0..columns.len())
        .map(|c| {
            let mut seen: Vec<&str> = Vec::new();
            for r in &rows {
                if seen.len() > MAX_CLASSES {
                    break;
                }
                if !seen.contains(&&r[c]) {
                    seen.push(&r[c]);
                }
            }
            seen.len()
        })
        .collect();
    Ok(Preview { numeric, distinct, count: rows.len(), rows: rows.iter().take(5).map(|r| r.iter().map(str::to_string).collect()).collect(), columns })
}

/// The examples of a table: [features] inputs and the label column's target.
pub fn load(csv: &str, label: &str, classify: bool, standardize: bool, train_ratio: f32, seed: u64) -> Result<Splits> {
    let (header, rows) = records(csv)?;
    let target = header
        .iter()
        .position(|h| h == label)
        .ok_or_else(|| invalid("data.label", format!("there is no column \"{label}\" (the columns are {})", header.join(", "))))?;
    let features = header.len() - 1;
    let mut x = Vec::with_capacity(rows.len() * features);
    for (i, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate().filter(|(c, _)| *c != target) {
            let where_ = || format!("row {}, column \"{}\"", i + 2, header[c]);
            if cell.is_empty() {
                return Err(invalid("data.csv", format!("{}: the value is missing", where_())));
            }
            let v: f32 =
                cell.parse().ok().filter(|v: &f32| v.is_finite()).ok_or_else(|| invalid("data.csv", format!("{}: \"{cell}\" is not a number", where_())))?;
            x.push(v);
        }
    }
    let labels: Vec<&str> = rows.iter().map(|r| &r[target]).collect();
    if let Some(i) = labels.iter().position(|l| l.is_empty()) {
        return Err(invalid("data.csv", format!("row {}, column \"{label}\": the label is missing", i + 2)));
    }
    let (y, kind) = if classify {
        let mut classes: Vec<&str> = labels.clone();
        classes.sort_by(|a, b| a.parse::<f64>().ok().zip(b.parse::<f64>().ok()).map_or(a.cmp(b), |(x, y)| x.total_cmp(&y)));
        classes.dedup();
        if classes.len() < 2 || classes.len() > MAX_CLASSES {
            return Err(invalid("data.label", format!("column \"{label}\" has {} distinct values; classification needs 2 to {MAX_CLASSES}", classes.len())));
        }
        (labels.iter().map(|l| classes.iter().position(|c| c == l).expect("listed") as f32).collect(), Target::Classes(classes.len()))
    } else {
        let y = labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| invalid("data.csv", format!("row {}, column \"{label}\": \"{l}\" is not a number to regress", i + 2)))
            })
            .collect::<Result<Vec<f32>>>()?;
        (y, Target::Regression)
    };
    let all = ArrayDataset { x, x_shape: vec![features], y, y_shape: vec![] };
    let mut splits = split(all, kind, train_ratio, seed);
    if standardize {
        standardise(&mut splits, features);
    }
    Ok(splits)
}

/// Each feature to mean 0 and standard deviation 1 on the training split
/// (constant columns are only centred); the test split gets the same shift and scale.
fn standardise(s: &mut Splits, features: usize) {
    let n = s.train.len().max(1) as f64;
    for f in 0..features {
        let column = || s.train.x.iter().skip(f).step_by(features).map(|&v| v as f64);
        let mean = column().sum::<f64>() / n;
        let std = (column().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let scale = if std > 1e-12 { std } else { 1.0 };
        for d in [&mut s.train, &mut s.test] {
            for v in d.x.iter_mut().skip(f).step_by(features) {
                *v = ((*v as f64 - mean) / scale) as f32;
            }
        }
    }
}
